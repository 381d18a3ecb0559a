#include "random_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "bulwark/core/time.h"
#include "encoding.h"

namespace bulwark::oracle {

uint64_t Random::Next() {
  if (left_ > 0) {
    // Two bytes per draw: enough for every choice the generator makes.
    uint64_t drawn = data_[0];
    if (left_ > 1) drawn |= uint64_t{data_[1]} << 8;
    size_t used = left_ > 1 ? 2 : 1;
    data_ += used;
    left_ -= used;
    return drawn;
  }
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

namespace {

// Sigma field names rules use, and the event fields they may resolve to.
const std::vector<std::string> kRuleFields = {
    "CommandLine",  "Image",        "TargetFilename",
    "User",         "src_ip",       "message",
    "url.original", "event.action", "http.response.status_code",
    "process.pid",  "f1",           "f2",
    "EventTime"};
const std::map<std::string, std::vector<std::string>> kEventNames = {
    {"CommandLine", {"process.command_line", "CommandLine", "Event.EventData.CommandLine"}},
    {"Image", {"Image", "Event.EventData.Image"}},
    {"TargetFilename", {"TargetFilename", "Event.EventData.TargetFilename"}},
    {"User", {"user.name", "User"}},
    {"src_ip", {"source.ip", "src_ip"}},
    {"message", {"message"}},
    {"url.original", {"url.original"}},
    {"event.action", {"event.action"}},
    {"http.response.status_code", {"http.response.status_code"}},
    {"process.pid", {"process.pid"}},
    {"f1", {"f1"}},
    {"f2", {"f2"}},
    {"EventTime", {"EventTime"}},
};

// Literal fragments of rule values: plain words, case variants, path and dash characters,
// Sigma's special characters, UTF-8 of two, three and four bytes.
const std::vector<std::string> kAtoms = {"passwd",
                                         "shadow",
                                         ".vbs",
                                         ".wsf",
                                         "cmd.exe",
                                         "-enc",
                                         "/c",
                                         "powershell",
                                         "whoami",
                                         "root",
                                         "Admin",
                                         "AbCdEf",
                                         "x",
                                         "zz",
                                         "\xC3\xA9t\xC3\xA9",
                                         "\xE6\x97\xA5\xE6\x9C\xAC",
                                         "\xE2\x80\x94",
                                         "/",
                                         "-",
                                         "C:\\Windows\\",
                                         "\\\\",
                                         "%",
                                         "a b",
                                         "GET /",
                                         "404",
                                         "0",
                                         "1.5",
                                         "10.1.2.3",
                                         "wp-login.php",
                                         "..;/",
                                         "\xF0\x9F\x98\x80",
                                         "SELECT",
                                         "<script>",
                                         "'",
                                         "\"",
                                         "{x}",
                                         "a.b",
                                         "tab\there"};

const std::vector<std::string> kAddresses = {
    "10.1.2.3",        "10.200.0.1",   "192.168.7.9",     "203.0.113.5",
    "2001:db8::1",     "2001:db9::5",  "::ffff:10.1.2.4", "0.0.0.0",
    "255.255.255.255", "fe80::1%eth0", "010.001.002.003", "10.1.2"};
const std::vector<std::string> kPrefixes = {"10.0.0.0/8",    "10.1.2.0/24", "192.168.0.0/16",
                                            "2001:db8::/32", "0.0.0.0/0",   "10.1.2.3/32",
                                            "::ffff:0:0/96", "::/0"};
const std::vector<std::string> kNumbers = {"0", "1", "100", "404", "1.5", "-3", "65535", "1e3"};
const std::vector<std::string> kEventNumbers = {"0",     "1",    "99", "100", "404",   "500",
                                                " 404 ", "1.5",  "-3", "abc", "1e3",   "65535",
                                                "",      "0x10", "+5", "inf", "100.0", "4O4"};
const std::vector<std::string> kTimestamps = {
    "2026-03-01T10:15:00Z",          "2026-12-31T23:59:59Z", "2026-01-01T00:00:00Z",
    "2025-07-04T05:06:07.123+02:00", "not a time",           "2026-06-15 08:30:00"};

std::string Quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "''";
    else
      out.push_back(c);
  }
  out += "'";
  return out;
}

// A regex made of escaped atoms and a few constructs PCRE and RE2 read alike.
std::string RegexOf(Random& random, const std::string& atom) {
  std::string escaped;
  for (char c : atom) {
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                static_cast<unsigned char>(c) >= 0x80;
    if (!word) escaped.push_back('\\');
    escaped.push_back(c);
  }
  switch (random.Below(7)) {
    case 0:
      return "^" + escaped;
    case 1:
      return escaped + "$";
    case 2:
      return escaped + ".*[0-9]";
    case 3:
      return "(" + escaped + "|zz+)";
    case 4:
      return "[a-z]+" + escaped;
    case 5:
      return escaped + "\\s*$";
    default:
      return escaped;
  }
}

std::string ChangeCase(Random& random, std::string text) {
  switch (random.Below(4)) {
    case 0:
      for (char& c : text) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      }
      break;
    case 1:
      for (char& c : text) {
        if (((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) && random.Chance(50)) c ^= 0x20;
      }
      break;
    default:
      break;
  }
  return text;
}

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

detect::CompileOptions Vocabulary::Options() {
  detect::CompileOptions options;
  options.apply_routing = false;
  options.field_map.fields = {{"CommandLine", {"process.command_line"}},
                              {"User", {"user.name"}},
                              {"src_ip", {"source.ip"}},
                              {"Channel", {"winlog.channel", "Event.System.Channel"}}};
  options.field_map.prefixes = {"Event.EventData."};
  options.field_map.placeholders = {{"admins", {"root", "Administrator"}},
                                    {"tmp", {"/tmp/", "C:\\Temp\\"}},
                                    {"nets", kPrefixes},
                                    {"unset_list", {}}};
  return options;
}

detect::CompileOptions Vocabulary::RoutedOptions() {
  detect::CompileOptions options = Options();
  options.apply_routing = true;
  using Route = detect::LogSourceRoute;
  options.routing.routes = {
      Route{"linux", "", "sshd", {{{"process.name", {"sshd", "sshd-session"}}}}},
      Route{"windows", "", "", {{{"Channel", {"*"}}}}},
      Route{"windows",
            "process_creation",
            "",
            {{{"Channel", {"Microsoft-Windows-Sysmon/Operational"}}, {"EventID", {"1"}}},
             {{"Channel", {"Security"}}, {"EventID", {"4688"}}}}},
  };
  return options;
}

size_t CaseGenerator::Length() {
  static const std::vector<size_t> kEdges = {0,   1,   2,   3,   7,   8,   9,    15,
                                             16,  17,  31,  32,  33,  63,  64,   65,
                                             127, 128, 129, 255, 256, 257, 4095, 4096};
  switch (random_.Below(5)) {
    case 0:
      return random_.Pick(kEdges);
    case 1:
      return random_.Below(4097);
    case 2:
      return random_.Below(300);
    default:
      return random_.Below(40);
  }
}

std::string CaseGenerator::Filler(size_t length) {
  static const std::vector<std::string> kPieces = {
      "x", "y", "Z",  " ", "0", "_", ".", "q", "w", "\xC3\xA9", "\xE6\x97\xA5",
      "-", "/", "\\", "a", "A", "\n"};
  std::string out;
  while (out.size() < length) out += random_.Pick(kPieces);
  return out;
}

std::string CaseGenerator::Value(bool for_event) {
  std::string value;
  size_t parts = 1 + random_.Below(2);
  for (size_t i = 0; i < parts; ++i) {
    const std::string& atom =
        !atoms_.empty() && random_.Chance(30) ? random_.Pick(atoms_) : random_.Pick(kAtoms);
    if (for_event) {
      value += atom;
      continue;
    }
    if (i > 0 && random_.Chance(30)) value += random_.Chance(70) ? "*" : "?";
    std::string literal = atom;
    // Sigma's special characters in a literal must be escaped.
    std::string escaped;
    for (char c : literal) {
      if (c == '*' || c == '?') escaped.push_back('\\');
      escaped.push_back(c);
    }
    value += escaped;
  }
  if (!for_event && random_.Chance(10)) value = random_.Chance(50) ? "*" + value : value + "?";
  if (!for_event && random_.Chance(4)) value = "\\*" + value;
  return value;
}

std::string CaseGenerator::Item(std::string& field) {
  field = random_.Pick(kRuleFields);
  struct Kind {
    const char* modifiers;
    char values;  // s string, r regex, c cidr, l address list, n number, b bool, f field, e expand,
                  // h hour, m month
  };
  static const std::vector<Kind> kKinds = {
      {"", 's'},
      {"", 's'},
      {"|contains", 's'},
      {"|contains", 's'},
      {"|startswith", 's'},
      {"|endswith", 's'},
      {"|contains|all", 's'},
      {"|contains|cased", 's'},
      {"|cased", 's'},
      {"|endswith|cased", 's'},
      {"|windash", 's'},
      {"|contains|windash", 's'},
      {"|re", 'r'},
      {"|re|i", 'r'},
      {"|re|s", 'r'},
      {"|base64|contains", 's'},
      {"|base64offset|contains", 's'},
      {"|utf16le|contains", 's'},
      {"|wide|base64offset|contains", 's'},
      {"|cidr", 'c'},
      {"|expand|cidr", 'l'},
      {"|gt", 'n'},
      {"|lte", 'n'},
      {"|gte", 'n'},
      {"|lt", 'n'},
      {"|exists", 'b'},
      {"|neq", 's'},
      {"|contains|neq", 's'},
      {"|fieldref", 'f'},
      {"|fieldref|contains", 'f'},
      {"|expand", 'e'},
      {"|contains|expand", 'e'},
      {"|hour", 'h'},
      {"|month|gte", 'm'},
      {"|startswith|endswith", 's'},
      {"|utf16be|contains", 's'},
      {"|utf16|contains", 's'},
      {"|re|m", 'r'},
      {"", 'z'},  // null or ''
  };
  const Kind& kind = random_.Pick(kKinds);
  std::string modifiers = kind.modifiers;
  if ((kind.values == 'h' || kind.values == 'm') && random_.Chance(70)) field = "EventTime";
  std::vector<std::string> values;
  size_t count = kind.values == 'b' ? 1 : 1 + random_.Below(3);
  if (modifiers.find("|all") != std::string::npos) count = std::max<size_t>(count, 2);
  bool encoded = modifiers.find("base64") != std::string::npos ||
                 modifiers.find("utf16") != std::string::npos ||
                 modifiers.find("wide") != std::string::npos;
  for (size_t i = 0; i < count; ++i) {
    switch (kind.values) {
      case 's': {
        std::string value;
        if (encoded) {
          value = random_.Pick(kAtoms);
          if (value.find_first_of("*?\\") != std::string::npos) value = "powershell";
          atoms_.push_back(value);
        } else {
          value = Value(false);
          // Remember the literal text (unescaped) for events.
          std::string literal;
          for (size_t k = 0; k < value.size(); ++k) {
            if (value[k] == '\\' && k + 1 < value.size() &&
                (value[k + 1] == '*' || value[k + 1] == '?' || value[k + 1] == '\\')) {
              literal.push_back(value[++k]);
            } else if (value[k] != '*' && value[k] != '?') {
              literal.push_back(value[k]);
            }
          }
          if (!literal.empty()) atoms_.push_back(literal);
        }
        values.push_back(Quote(value));
        break;
      }
      case 'r':
        values.push_back(Quote(RegexOf(random_, random_.Pick(kAtoms))));
        break;
      case 'c':
        values.push_back(Quote(random_.Pick(kPrefixes)));
        break;
      case 'l':  // an address list, or one that is not configured
        values.push_back(Quote(random_.Chance(80) ? "%nets%" : "%unset_list%"));
        break;
      case 'n':
        values.push_back(random_.Pick(kNumbers));
        break;
      case 'b':
        values.push_back(random_.Chance(50) ? "true" : "false");
        break;
      case 'f':
        values.push_back(Quote(random_.Pick(kRuleFields)));
        break;
      case 'e':
        values.push_back(Quote(random_.Chance(50) ? "%admins%" : "x%tmp%" + random_.Pick(kAtoms)));
        break;
      case 'h':
        values.push_back(std::to_string(random_.Below(24)));
        break;
      case 'm':
        values.push_back(std::to_string(1 + random_.Below(12)));
        break;
      case 'z':
        values.push_back(random_.Chance(50) ? "null" : "''");
        break;
    }
  }
  std::string out = field + modifiers + ": ";
  if (values.size() == 1) return out + values[0];
  out += "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + values[i];
  return out + "]";
}

std::string CaseGenerator::Rules(size_t count) {
  std::string yaml;
  for (size_t r = 0; r < count; ++r) {
    std::string id = fmt::format("r{:04}", next_rule_++);
    static const std::vector<std::string> kSources = {
        "{product: test}", "{product: linux, service: sshd}", "{product: windows}",
        "{product: windows, category: process_creation}"};
    yaml += fmt::format("title: {}\nid: {}\nlogsource: {}\ndetection:\n", id, id,
                        random_.Pick(kSources));
    size_t selections = 1 + random_.Below(3);
    for (size_t s = 1; s <= selections; ++s) {
      if (random_.Chance(10)) {
        yaml += fmt::format("  sel{}:\n", s);
        size_t words = 1 + random_.Below(3);
        for (size_t w = 0; w < words; ++w) {
          std::string value = Value(false);
          atoms_.push_back(value);
          yaml += "    - " + Quote(value) + "\n";
        }
        continue;
      }
      bool alternatives = random_.Chance(20);
      yaml += fmt::format("  sel{}:\n", s);
      size_t groups = alternatives ? 2 : 1;
      for (size_t g = 0; g < groups; ++g) {
        size_t items = 1 + random_.Below(3);
        for (size_t i = 0; i < items; ++i) {
          std::string field;
          std::string item = Item(field);
          yaml += (alternatives ? (i == 0 ? "    - " : "      ") : "    ") + item + "\n";
        }
      }
    }
    bool filter = random_.Chance(30);
    if (filter) {
      std::string field;
      yaml += "  filter1:\n    " + Item(field) + "\n";
    }
    static const std::vector<std::string> kOne = {"sel1", "1 of sel*", "all of sel*", "1 of them"};
    std::string condition;
    if (selections == 1) {
      condition = random_.Chance(8) ? "not sel1" : "sel1";
    } else {
      static const std::vector<std::string> kMany = {"sel1 and sel2",     "sel1 or sel2",
                                                     "1 of sel*",         "all of sel*",
                                                     "sel2 and not sel1", "(sel1 or sel2) and sel2",
                                                     "1 of them",         "not (sel1 and sel2)"};
      condition = random_.Pick(kMany);
    }
    if (filter)
      condition =
          random_.Chance(80) ? "(" + condition + ") and not filter1" : condition + " or filter1";
    yaml += "  condition: " + condition + "\nlevel: medium\n---\n";
    if (random_.Chance(3)) {
      std::string field;
      yaml += fmt::format(
          "title: filter of {}\nid: f{}\nlogsource: {{product: test}}\nfilter:\n  rules: [{}]\n"
          "  selection:\n    {}\n  condition: selection\n---\n",
          id, id, id, Item(field));
    }
  }
  return yaml;
}

GeneratedEvent CaseGenerator::Event(bool json_safe) {
  GeneratedEvent event;
  event.timestamp = (1767225600 + static_cast<int64_t>(random_.Below(365 * 86400))) * kNsPerSecond;
  size_t fields = random_.Below(7);
  for (size_t f = 0; f < fields; ++f) {
    const std::string& sigma_name = random_.Pick(kRuleFields);
    const std::vector<std::string>& names = kEventNames.at(sigma_name);
    std::string name = random_.Pick(names);
    size_t values = random_.Chance(12) ? 2 + random_.Below(2) : 1;
    for (size_t v = 0; v < values; ++v) {
      std::string value;
      if (sigma_name == "src_ip") {
        value = random_.Pick(kAddresses);
      } else if (sigma_name == "http.response.status_code" || sigma_name == "process.pid") {
        value = random_.Pick(kEventNumbers);
      } else if (sigma_name == "EventTime") {
        value = random_.Pick(kTimestamps);
      } else if (random_.Chance(5)) {
        value = "";
      } else {
        std::string core = Value(true);
        bool ascii = std::all_of(core.begin(), core.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
        // Text stays valid UTF-8, as readers guarantee: only ASCII becomes UTF-16.
        if (!json_safe && ascii && random_.Chance(5)) core = Utf16(core, false, false);
        if (random_.Chance(7)) core = Base64(random_.Pick(kAtoms) + core);
        core = ChangeCase(random_, core);
        if (random_.Chance(15) && core.size() > 1) {  // a near miss: one character less
          core.pop_back();
          while (!core.empty() && (static_cast<unsigned char>(core.back()) & 0xC0) == 0x80) {
            core.pop_back();
          }
          if (!core.empty() && static_cast<unsigned char>(core.back()) >= 0xC0) core.pop_back();
        }
        size_t before = Length();
        size_t after = random_.Chance(40) ? random_.Below(12) : Length();
        if (random_.Chance(35)) before = 0;
        if (random_.Chance(35)) after = 0;
        value = Filler(before) + core + Filler(after);
      }
      event.fields.push_back(EventField{name, value});
    }
  }
  // Now and then the fields the routes of RoutedOptions() look at.
  if (random_.Chance(20)) {
    event.fields.push_back(EventField{"process.name", random_.Chance(70) ? "sshd" : "cron"});
  }
  if (random_.Chance(25)) {
    static const std::vector<std::string> kChannels = {"Microsoft-Windows-Sysmon/Operational",
                                                       "Security", "Application", "security"};
    event.fields.push_back(EventField{
        random_.Chance(50) ? "winlog.channel" : "Event.System.Channel", random_.Pick(kChannels)});
    if (random_.Chance(80)) {
      static const std::vector<std::string> kIds = {"1", "4688", "11", "4625"};
      event.fields.push_back(EventField{"EventID", random_.Pick(kIds)});
    }
  }
  event.raw = ToJson(event);
  return event;
}

std::string CaseGenerator::ToJson(const GeneratedEvent& event) {
  std::map<std::string, std::vector<std::string>> grouped;
  std::vector<std::string> order;
  for (const EventField& field : event.fields) {
    if (!grouped.count(field.name)) order.push_back(field.name);
    grouped[field.name].push_back(field.value);
  }
  std::string out = "{";
  AppendJsonString(out, "@timestamp");
  out += ":";
  AppendJsonString(out, FormatTimestamp(event.timestamp));
  for (const std::string& name : order) {
    out += ",";
    AppendJsonString(out, name);
    out += ":";
    const auto& values = grouped[name];
    if (values.size() == 1) {
      AppendJsonString(out, values[0]);
      continue;
    }
    out += "[";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) out += ",";
      AppendJsonString(out, values[i]);
    }
    out += "]";
  }
  return out + "}";
}

void CaseGenerator::Fill(const GeneratedEvent& generated, event::Event& event) {
  event.Clear();
  event.SetRaw(generated.raw);
  event.SetTimestamp(generated.timestamp);
  for (const EventField& field : generated.fields) event.Add(field.name, field.value);
}

}  // namespace bulwark::oracle
