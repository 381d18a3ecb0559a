#include "bulwark/inventory/import.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <unordered_map>

#include "bulwark/core/csv.h"
#include "bulwark/core/strings.h"

namespace bulwark::inventory {

namespace {

using model::Assignment;
using model::Inventory;

std::string Where(const std::string& name, const YAML::Mark& mark) {
  if (mark.line < 0) return name;
  return fmt::format("{}:{}:{}", name, mark.line + 1, mark.column + 1);
}

// Reading one YAML record: every accessor records the first problem and the record is rejected.
class Record {
 public:
  Record(const YAML::Node& node, const std::string& name, std::string_view kind)
      : node_(node), name_(name), kind_(kind) {
    if (!node.IsMap()) Problem(node, fmt::format("a {} must be a mapping", kind));
  }

  std::string Text(const char* key, bool required, std::string fallback = {}) {
    if (!ok()) return fallback;
    YAML::Node value = node_[key];
    if (!value || value.IsNull()) {
      if (required) Problem(node_, fmt::format("{} without '{}'", kind_, key));
      return fallback;
    }
    if (!value.IsScalar()) {
      Problem(value, fmt::format("'{}' must be a single value", key));
      return fallback;
    }
    std::string text(Trim(value.Scalar()));
    if (text.empty() && required) Problem(value, fmt::format("'{}' is empty", key));
    return text;
  }

  bool Flag(const char* key) {
    if (!ok()) return false;
    YAML::Node value = node_[key];
    if (!value || value.IsNull()) return false;
    std::string text = AsciiLower(value.IsScalar() ? value.Scalar() : "");
    if (text == "true" || text == "yes" || text == "1") return true;
    if (text == "false" || text == "no" || text == "0") return false;
    Problem(value, fmt::format("'{}' must be true or false", key));
    return false;
  }

  TimeNs Time(const char* key, TimeNs fallback) {
    std::string text = Text(key, false);
    if (text.empty()) return fallback;
    auto parsed = ParseTimestamp(text);
    if (!parsed) {
      Problem(node_[key], fmt::format("'{}' is not an RFC 3339 time: '{}'", key, text));
      return fallback;
    }
    return *parsed;
  }

  model::Labels Labels(const char* key) {
    model::Labels labels;
    if (!ok()) return labels;
    YAML::Node value = node_[key];
    if (!value || value.IsNull()) return labels;
    if (!value.IsMap()) {
      Problem(value, fmt::format("'{}' must be a mapping of names to values", key));
      return labels;
    }
    for (const auto& entry : value) {
      if (!entry.second.IsScalar() && !entry.second.IsNull()) {
        Problem(entry.second,
                fmt::format("label '{}' must be a single value", entry.first.Scalar()));
        return labels;
      }
      labels[entry.first.Scalar()] = entry.second.IsNull() ? "" : entry.second.Scalar();
    }
    return labels;
  }

  // The sequence under `key` (absent: empty); a non-sequence is a problem.
  std::vector<YAML::Node> List(const char* key) {
    std::vector<YAML::Node> items;
    if (!ok()) return items;
    YAML::Node value = node_[key];
    if (!value || value.IsNull()) return items;
    if (!value.IsSequence()) {
      Problem(value, fmt::format("'{}' must be a list", key));
      return items;
    }
    for (const auto& item : value) items.push_back(item);
    return items;
  }

  // Reports the first key that is not in `known` (a typo would otherwise be ignored silently).
  void OnlyKeys(std::initializer_list<std::string_view> known) {
    if (!ok() || !node_.IsMap()) return;
    for (const auto& entry : node_) {
      std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      Problem(entry.first, fmt::format("unknown {} field '{}' (known: {})", kind_, key, list));
      return;
    }
  }

  void Problem(const YAML::Node& at, std::string message) {
    if (!ok()) return;
    error_ = Error{std::move(message), Where(name_, at.Mark())};
  }
  bool ok() const { return error_.message.empty(); }
  const Error& error() const { return error_; }
  std::string where() const { return Where(name_, node_.Mark()); }

 private:
  const YAML::Node& node_;
  const std::string& name_;
  std::string_view kind_;
  Error error_;
};

bool ValidLanguage(std::string_view language) {
  return language == "de" || language == "en";
}

bool ValidEmail(std::string_view email) {
  size_t at = email.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < email.size() &&
         email.find_first_of(" \t<>,;") == std::string_view::npos;
}

// Checks an interval; "" when fine.
std::string IntervalProblem(TimeNs from, TimeNs until) {
  return from < until ? "" : "'until' must be later than 'from'";
}

void ParseYamlCustomers(const YAML::Node& list, const std::string& name, ParsedInventory& out) {
  for (const auto& node : list) {
    Record r(node, name, "customer");
    r.OnlyKeys({"id", "name", "language", "contacts", "openpgp_key"});
    model::Customer c;
    c.id = r.Text("id", true);
    c.name = r.Text("name", false, c.id);
    c.language = AsciiLower(r.Text("language", false, "en"));
    c.openpgp_key = r.Text("openpgp_key", false);
    c.origin = r.where();
    if (r.ok() && !ValidLanguage(c.language)) {
      r.Problem(node["language"], fmt::format("language must be de or en, not '{}'", c.language));
    }
    for (const auto& contact : r.List("contacts")) {
      Record cr(contact, name, "contact");
      cr.OnlyKeys({"email", "role"});
      model::Contact k{cr.Text("email", true), cr.Text("role", false, "security")};
      if (cr.ok() && !ValidEmail(k.email)) {
        cr.Problem(contact["email"], fmt::format("'{}' is not an e-mail address", k.email));
      }
      if (!cr.ok()) r.Problem(contact, cr.error().message);
      c.contacts.push_back(std::move(k));
    }
    if (r.ok()) {
      out.inventory.customers.push_back(std::move(c));
    } else {
      out.rejected.push_back(r.error());
    }
  }
}

void ParseYamlProjects(const YAML::Node& list, const std::string& name, ParsedInventory& out) {
  for (const auto& node : list) {
    Record r(node, name, "project");
    r.OnlyKeys({"id", "customer", "name", "labels"});
    model::Project p;
    p.id = r.Text("id", true);
    p.customer_id = r.Text("customer", true);
    p.name = r.Text("name", false, p.id);
    p.labels = r.Labels("labels");
    p.origin = r.where();
    if (r.ok()) {
      out.inventory.projects.push_back(std::move(p));
    } else {
      out.rejected.push_back(r.error());
    }
  }
}

void ParseYamlSystems(const YAML::Node& list, const std::string& name, ParsedInventory& out) {
  for (const auto& node : list) {
    Record r(node, name, "system");
    r.OnlyKeys({"id", "project", "name", "labels", "internet_exposed", "protected", "interfaces"});
    model::System s;
    s.id = r.Text("id", true);
    s.project_id = r.Text("project", true);
    s.name = r.Text("name", false, s.id);
    s.labels = r.Labels("labels");
    s.internet_exposed = r.Flag("internet_exposed");
    s.protected_system = r.Flag("protected");
    s.origin = r.where();
    std::vector<model::Interface> interfaces;
    std::vector<Assignment> assignments;
    std::set<std::string> keys;
    for (const auto& inode : r.List("interfaces")) {
      Record ir(inode, name, "interface");
      ir.OnlyKeys({"mac", "port", "from", "until", "addresses", "security_groups"});
      model::Interface i;
      i.system_id = s.id;
      std::string mac = ir.Text("mac", false);
      i.port = ir.Text("port", false);
      i.from = ir.Time("from", model::kBeginningOfTime);
      i.until = ir.Time("until", model::kEndOfTime);
      i.origin = ir.where();
      for (const auto& group : ir.List("security_groups")) {
        if (group.IsScalar()) i.security_groups.push_back(group.Scalar());
      }
      if (ir.ok() && !mac.empty()) {
        if (auto normal = model::NormalizeMac(mac)) {
          i.mac = *normal;
        } else {
          ir.Problem(inode["mac"], fmt::format("'{}' is not a MAC address", mac));
        }
      }
      if (ir.ok() && i.mac.empty() && i.port.empty()) {
        ir.Problem(inode, "an interface needs a 'mac' or a 'port'");
      }
      if (ir.ok() && !keys.insert(i.Key()).second) {
        ir.Problem(inode,
                   fmt::format("interface '{}' appears twice in system '{}'", i.Key(), s.id));
      }
      if (ir.ok()) {
        if (auto problem = IntervalProblem(i.from, i.until); !problem.empty()) {
          ir.Problem(inode, problem);
        }
      }
      for (const auto& anode : ir.List("addresses")) {
        Record ar(anode, name, "address");
        ar.OnlyKeys({"ip", "from", "until"});
        Assignment a;
        a.system_id = s.id;
        a.interface_key = i.Key();
        std::string ip = ar.Text("ip", true);
        a.from = ar.Time("from", model::kBeginningOfTime);
        a.until = ar.Time("until", model::kEndOfTime);
        a.origin = ar.where();
        if (ar.ok()) {
          if (auto prefix = model::Prefix::Parse(ip)) {
            a.prefix = *prefix;
          } else {
            ar.Problem(anode["ip"], fmt::format("'{}' is not an address or prefix (host bits "
                                                "must be zero)",
                                                ip));
          }
        }
        if (ar.ok()) {
          if (auto problem = IntervalProblem(a.from, a.until); !problem.empty()) {
            ar.Problem(anode, problem);
          }
        }
        if (ar.ok()) {
          assignments.push_back(std::move(a));
        } else {
          out.rejected.push_back(ar.error());  // one bad address does not cost the system
        }
      }
      if (!ir.ok()) r.Problem(inode, ir.error().message);
      interfaces.push_back(std::move(i));
    }
    if (!r.ok()) {
      out.rejected.push_back(r.error());
      continue;
    }
    out.inventory.systems.push_back(std::move(s));
    for (auto& i : interfaces) out.inventory.interfaces.push_back(std::move(i));
    for (auto& a : assignments) out.inventory.assignments.push_back(std::move(a));
  }
}

Result<ParsedInventory> ParseYaml(std::string_view text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Fail(e.msg, Where(name, e.mark));
  }
  if (root.IsNull()) return ParsedInventory{};
  if (!root.IsMap()) {
    return Fail("an inventory must be a mapping with customers, projects and systems",
                Where(name, root.Mark()));
  }
  ParsedInventory out;
  static const std::set<std::string> kSections = {"customers", "projects", "systems"};
  for (const auto& entry : root) {
    std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
    if (!kSections.count(key)) {
      out.rejected.push_back(Error{fmt::format("unknown section '{}' (expected customers, "
                                               "projects, systems)",
                                               key),
                                   Where(name, entry.first.Mark())});
      continue;
    }
    if (entry.second.IsNull()) continue;
    if (!entry.second.IsSequence()) {
      out.rejected.push_back(
          Error{fmt::format("'{}' must be a list", key), Where(name, entry.second.Mark())});
      continue;
    }
    if (key == "customers") ParseYamlCustomers(entry.second, name, out);
    if (key == "projects") ParseYamlProjects(entry.second, name, out);
    if (key == "systems") ParseYamlSystems(entry.second, name, out);
  }
  return out;
}

// CSV: one row per address (or per interface without addresses), columns by header name.
constexpr const char* kCsvColumns[] = {
    "customer_id",  "customer_name",
    "language",     "contact_email",
    "contact_role", "project_id",
    "project_name", "system_id",
    "system_name",  "internet_exposed",
    "protected",    "mac",
    "port",         "ip",
    "from",         "until",
    "labels",
};

Result<ParsedInventory> ParseCsv(std::string_view text, const std::string& name) {
  CsvReader reader(text);
  std::vector<std::string> header;
  if (!reader.Next(header)) return Fail("no header line", name);
  std::unordered_map<std::string, size_t> column;
  ParsedInventory out;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string key = AsciiLower(Trim(header[i]));
    if (std::find(std::begin(kCsvColumns), std::end(kCsvColumns), key) == std::end(kCsvColumns)) {
      out.rejected.push_back(Error{fmt::format("unknown column '{}' ignored", header[i]),
                                   fmt::format("{}:{}", name, reader.line())});
      continue;
    }
    column[key] = i;
  }
  for (const char* needed : {"customer_id", "project_id", "system_id"}) {
    if (!column.count(needed)) return Fail(fmt::format("no '{}' column", needed), name);
  }
  std::map<std::string, size_t> customers, projects, systems;
  std::set<std::pair<std::string, std::string>> interfaces, contacts;
  std::vector<std::string> row;
  while (reader.Next(row)) {
    std::string where = fmt::format("{}:{}", name, reader.line());
    auto get = [&](const char* key) -> std::string {
      auto it = column.find(key);
      if (it == column.end() || it->second >= row.size()) return {};
      return std::string(Trim(row[it->second]));
    };
    auto reject = [&](std::string message) {
      out.rejected.push_back(Error{std::move(message), where});
    };
    if (reader.unterminated()) {
      reject("a quoted field is not closed");
      continue;
    }
    if (row.size() != header.size()) {
      reject(fmt::format("{} fields, the header has {}", row.size(), header.size()));
      continue;
    }
    model::Customer c{
        get("customer_id"), get("customer_name"), AsciiLower(get("language")), {}, "", where};
    model::Project p{get("project_id"), c.id, get("project_name"), {}, where};
    model::System s{get("system_id"), p.id, get("system_name"), {}, false, false, where};
    if (c.id.empty() || p.id.empty() || s.id.empty()) {
      reject("customer_id, project_id and system_id are required");
      continue;
    }
    if (c.name.empty()) c.name = c.id;
    if (c.language.empty()) c.language = "en";
    if (!ValidLanguage(c.language)) {
      reject(fmt::format("language must be de or en, not '{}'", c.language));
      continue;
    }
    if (p.name.empty()) p.name = p.id;
    if (s.name.empty()) s.name = s.id;
    bool flags_ok = true;
    for (auto [key, target] : {std::pair{"internet_exposed", &s.internet_exposed},
                               std::pair{"protected", &s.protected_system}}) {
      std::string v = AsciiLower(get(key));
      if (v == "true" || v == "yes" || v == "1") {
        *target = true;
      } else if (!(v.empty() || v == "false" || v == "no" || v == "0")) {
        reject(fmt::format("'{}' must be true or false, not '{}'", key, v));
        flags_ok = false;
        break;
      }
    }
    if (!flags_ok) continue;
    std::string labels = get("labels");  // "k=v;k2=v2"
    for (std::string_view pair : Split(labels, ';')) {
      pair = Trim(pair);
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      s.labels[std::string(Trim(pair.substr(0, eq)))] =
          eq == std::string_view::npos ? "" : std::string(Trim(pair.substr(eq + 1)));
    }
    std::string email = get("contact_email");
    if (!email.empty() && !ValidEmail(email)) {
      reject(fmt::format("'{}' is not an e-mail address", email));
      continue;
    }
    std::string mac_text = get("mac");
    std::string mac;
    if (!mac_text.empty()) {
      auto normal = model::NormalizeMac(mac_text);
      if (!normal) {
        reject(fmt::format("'{}' is not a MAC address", mac_text));
        continue;
      }
      mac = *normal;
    }
    model::Interface i{s.id,  mac, get("port"), model::kBeginningOfTime, model::kEndOfTime,
                       where, {}};
    std::string ip = get("ip");
    std::optional<Assignment> assignment;
    if (!ip.empty()) {
      auto prefix = model::Prefix::Parse(ip);
      if (!prefix) {
        reject(fmt::format("'{}' is not an address or prefix (host bits must be zero)", ip));
        continue;
      }
      if (i.Key().empty()) {
        reject("an address needs the 'mac' or 'port' of its interface");
        continue;
      }
      Assignment a;
      a.system_id = s.id;
      a.interface_key = i.Key();
      a.prefix = *prefix;
      a.origin = where;
      bool times_ok = true;
      for (auto [key, target] : {std::pair{"from", &a.from}, std::pair{"until", &a.until}}) {
        std::string t = get(key);
        if (t.empty()) continue;
        auto parsed = ParseTimestamp(t);
        if (!parsed) {
          reject(fmt::format("'{}' is not an RFC 3339 time: '{}'", key, t));
          times_ok = false;
          break;
        }
        *target = *parsed;
      }
      if (!times_ok) continue;
      if (auto problem = IntervalProblem(a.from, a.until); !problem.empty()) {
        reject(problem);
        continue;
      }
      assignment = std::move(a);
    }
    // Entities repeat on every row of theirs: the first row defines them.
    if (customers.emplace(c.id, out.inventory.customers.size()).second) {
      out.inventory.customers.push_back(c);
    }
    if (!email.empty() && contacts.insert({c.id, email}).second) {
      std::string role = get("contact_role");
      out.inventory.customers[customers[c.id]].contacts.push_back(
          {email, role.empty() ? "security" : role});
    }
    if (projects.emplace(p.id, out.inventory.projects.size()).second) {
      out.inventory.projects.push_back(p);
    }
    if (systems.emplace(s.id, out.inventory.systems.size()).second) {
      out.inventory.systems.push_back(s);
    }
    if (!i.Key().empty() && interfaces.insert({s.id, i.Key()}).second) {
      out.inventory.interfaces.push_back(i);
    }
    if (assignment) out.inventory.assignments.push_back(std::move(*assignment));
  }
  return out;
}

std::string Describe(const Assignment& a) {
  auto time = [](TimeNs t, const char* open) {
    return t == model::kBeginningOfTime || t == model::kEndOfTime ? std::string(open)
                                                                  : FormatTimestamp(t);
  };
  return fmt::format("{} held by system '{}' interface '{}' from {} until {} ({})",
                     a.prefix.ToString(), a.system_id, a.interface_key, time(a.from, "the start"),
                     time(a.until, "further notice"), a.origin.empty() ? "stored" : a.origin);
}

}  // namespace

std::string Conflict::ToString() const {
  return fmt::format("overlapping claims: {}; and {}", Describe(incoming), Describe(existing));
}

FileFormat FormatOfPath(std::string_view path) {
  std::string lower = AsciiLower(path);
  if (lower.ends_with(".json")) return FileFormat::kJson;
  if (lower.ends_with(".csv")) return FileFormat::kCsv;
  return FileFormat::kYaml;
}

Result<ParsedInventory> ParseInventory(std::string_view text, const std::string& name,
                                       FileFormat format) {
  if (format == FileFormat::kAuto) format = FormatOfPath(name);
  if (format == FileFormat::kCsv) return ParseCsv(text, name);
  return ParseYaml(text, name);  // JSON is read by the YAML parser (same shape)
}

Result<ImportReport> Import(store::Store& store, ParsedInventory parsed) {
  ImportReport report;
  report.rejected = std::move(parsed.rejected);
  auto stored = store.ReadInventory();
  if (!stored) return tl::unexpected(stored.error());
  Inventory& in = parsed.inventory;

  std::set<std::string> customers, projects, systems;
  std::set<std::pair<std::string, std::string>> interfaces;
  for (const auto& c : stored->customers) customers.insert(c.id);
  for (const auto& p : stored->projects) projects.insert(p.id);
  for (const auto& s : stored->systems) systems.insert(s.id);
  for (const auto& i : stored->interfaces) interfaces.insert({i.system_id, i.Key()});

  Inventory accepted;
  for (auto& c : in.customers) {
    customers.insert(c.id);
    accepted.customers.push_back(std::move(c));
  }
  for (auto& p : in.projects) {
    if (!customers.count(p.customer_id)) {
      report.rejected.push_back(Error{
          fmt::format("project '{}' names unknown customer '{}'", p.id, p.customer_id), p.origin});
      continue;
    }
    projects.insert(p.id);
    accepted.projects.push_back(std::move(p));
  }
  for (auto& s : in.systems) {
    if (!projects.count(s.project_id)) {
      report.rejected.push_back(Error{
          fmt::format("system '{}' names unknown project '{}'", s.id, s.project_id), s.origin});
      continue;
    }
    systems.insert(s.id);
    accepted.systems.push_back(std::move(s));
  }
  for (auto& i : in.interfaces) {
    if (!systems.count(i.system_id)) continue;  // its system was rejected, with the reason
    interfaces.insert({i.system_id, i.Key()});
    accepted.interfaces.push_back(std::move(i));
  }

  // Claims by prefix: stored ones first, then this file's in order.
  std::map<std::pair<std::array<uint8_t, 16>, int>, std::vector<Assignment>> claims;
  for (const auto& a : stored->assignments) {
    claims[{a.prefix.network.bytes(), a.prefix.length}].push_back(a);
  }
  for (auto& a : in.assignments) {
    if (!interfaces.count({a.system_id, a.interface_key})) continue;  // rejected with its system
    auto& held = claims[{a.prefix.network.bytes(), a.prefix.length}];
    const Assignment* clash = nullptr;
    bool same_record = false;
    for (const auto& other : held) {
      bool same_holder = other.system_id == a.system_id && other.interface_key == a.interface_key;
      if (same_holder && other.from == a.from) {
        same_record = true;  // the same claim again (its end may move): not a conflict
        continue;
      }
      if (!same_holder && a.Overlaps(other)) {
        clash = &other;
        break;
      }
    }
    if (clash) {
      report.conflicts.push_back(Conflict{a, *clash});
      continue;
    }
    if (!same_record) held.push_back(a);
    accepted.assignments.push_back(std::move(a));
  }

  auto written = store.WriteInventory(accepted);
  if (!written) return tl::unexpected(written.error());
  report.written = *written;
  return report;
}

}  // namespace bulwark::inventory
