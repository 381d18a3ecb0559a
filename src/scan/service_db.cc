#include "bulwark/scan/service_db.h"

#include <fmt/format.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "bulwark/data/embedded.h"

namespace bulwark::scan {

namespace {

std::string WhereIn(const std::string& name, const YAML::Mark& mark) {
  return fmt::format("{}:{}:{}", name, mark.line + 1, mark.column + 1);
}

const std::set<std::string, std::less<>>& Severities() {
  static const std::set<std::string, std::less<>> names = {"critical", "high", "medium", "low",
                                                           "info"};
  return names;
}

// Reads a map, refusing keys it does not know.
class Fields {
 public:
  Fields(const YAML::Node& node, const std::string& name, std::set<std::string> known)
      : node_(node), name_(name), known_(std::move(known)) {}

  Result<void> Check() const {
    if (!node_.IsMap()) return Fail("expected a map", WhereIn(name_, node_.Mark()));
    for (const auto& entry : node_) {
      auto key = entry.first.as<std::string>();
      if (!known_.count(key)) {
        return Fail(fmt::format("unknown key '{}'", key), WhereIn(name_, entry.first.Mark()));
      }
    }
    return {};
  }
  std::string String(const char* key) const {
    return node_[key] && node_[key].IsScalar() ? node_[key].as<std::string>() : std::string();
  }
  bool Bool(const char* key) const { return node_[key] && node_[key].as<bool>(); }
  Result<std::string> Required(const char* key) const {
    std::string value = String(key);
    if (value.empty())
      return Fail(fmt::format("'{}' is missing", key), WhereIn(name_, node_.Mark()));
    return value;
  }
  std::vector<std::string> List(const char* key) const {
    std::vector<std::string> out;
    if (node_[key] && node_[key].IsSequence()) {
      for (const auto& item : node_[key]) out.push_back(item.as<std::string>());
    }
    return out;
  }
  std::string Where() const { return scan::WhereIn(name_, node_.Mark()); }

 private:
  const YAML::Node& node_;
  const std::string& name_;
  std::set<std::string> known_;
};

// The bytes a probe or check sends: `send` (text with YAML's escapes) or `send_hex` (bytes as
// hex digits, spaces allowed: for binary protocols, since YAML turns \x80 and above into UTF-8).
Result<std::string> SendBytes(const Fields& fields) {
  std::string hex = fields.String("send_hex");
  if (hex.empty()) return fields.String("send");
  if (!fields.String("send").empty())
    return Fail("give 'send' or 'send_hex', not both", fields.Where());
  std::string out, digits;
  for (char c : hex) {
    if (c == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return Fail(fmt::format("send_hex: '{}' is not a hex digit", c), fields.Where());
    }
    digits.push_back(c);
  }
  if (digits.size() % 2 != 0) return Fail("send_hex: an odd number of hex digits", fields.Where());
  for (size_t i = 0; i < digits.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

Result<std::shared_ptr<const re2::RE2>> Compile(const std::string& pattern,
                                                const std::string& where) {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_log_errors(false);
  auto re = std::make_shared<const re2::RE2>(pattern, options);
  if (!re->ok()) return Fail(fmt::format("pattern: {}", re->error()), where);
  return re;
}

Result<Classification> ClassificationOf(const Fields& fields) {
  Classification c;
  c.report = fields.String("report");
  for (auto [key, value] :
       {std::pair{"identifier", &c.identifier}, std::pair{"taxonomy", &c.taxonomy},
        std::pair{"type", &c.type}, std::pair{"severity", &c.severity}}) {
    auto given = fields.Required(key);
    if (!given) return tl::unexpected(given.error());
    *value = *given;
  }
  if (!Severities().count(c.severity)) {
    return Fail(fmt::format("severity '{}' is not critical, high, medium, low or info", c.severity),
                fields.Where());
  }
  return c;
}

}  // namespace

Result<ServiceDb> ServiceDb::Parse(std::string_view yaml, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    return Fail(e.msg, WhereIn(name, e.mark));
  }
  ServiceDb db;
  try {
    Fields top(root, name, {"probes", "services", "checks"});
    if (auto ok = top.Check(); !ok) return tl::unexpected(ok.error());
    for (const auto& node : root["probes"]) {
      Fields f(node, name,
               {"name", "send", "send_hex", "transport", "ports", "tls", "over_tls", "matches"});
      if (auto ok = f.Check(); !ok) return tl::unexpected(ok.error());
      Probe probe;
      auto probe_name = f.Required("name");
      if (!probe_name) return tl::unexpected(probe_name.error());
      probe.name = *probe_name;
      auto bytes = SendBytes(f);
      if (!bytes) return tl::unexpected(bytes.error());
      probe.send = *bytes;
      probe.transport = f.String("transport").empty() ? "tcp" : f.String("transport");
      if (probe.transport != "tcp" && probe.transport != "udp") {
        return Fail(fmt::format("transport '{}' is not tcp or udp", probe.transport), f.Where());
      }
      probe.tls = f.Bool("tls");
      probe.over_tls = f.Bool("over_tls");
      for (const auto& port : f.List("ports")) probe.ports.push_back(std::stoi(port));
      for (const auto& m : node["matches"]) {
        Fields mf(m, name,
                  {"pattern", "service", "product", "version", "info", "cpe", "ecosystem",
                   "package", "package_version"});
        if (auto ok = mf.Check(); !ok) return tl::unexpected(ok.error());
        auto pattern = mf.Required("pattern");
        if (!pattern) return tl::unexpected(pattern.error());
        auto service = mf.Required("service");
        if (!service) return tl::unexpected(service.error());
        auto compiled = Compile(*pattern, mf.Where());
        if (!compiled) return tl::unexpected(compiled.error());
        Match match;
        match.pattern = *compiled;
        match.identity = {*service,
                          mf.String("product"),
                          mf.String("version"),
                          mf.String("info"),
                          mf.String("cpe"),
                          mf.String("ecosystem"),
                          mf.String("package"),
                          mf.String("package_version")};
        match.line = m.Mark().line + 1;
        probe.matches.push_back(std::move(match));
      }
      db.probes_.push_back(std::move(probe));
    }
    for (const auto& entry : root["services"]) {
      Fields f(entry.second, name, {"report", "identifier", "taxonomy", "type", "severity"});
      if (auto ok = f.Check(); !ok) return tl::unexpected(ok.error());
      auto classification = ClassificationOf(f);
      if (!classification) return tl::unexpected(classification.error());
      db.services_.emplace_back(entry.first.as<std::string>(), *classification);
    }
    for (const auto& node : root["checks"]) {
      Fields f(node, name,
               {"name", "description", "services", "transport", "send", "send_hex", "read_banner",
                "pattern", "version", "report", "identifier", "taxonomy", "type", "severity"});
      if (auto ok = f.Check(); !ok) return tl::unexpected(ok.error());
      Check check;
      auto check_name = f.Required("name");
      if (!check_name) return tl::unexpected(check_name.error());
      check.name = *check_name;
      check.description = f.String("description");
      check.services = f.List("services");
      auto bytes = SendBytes(f);
      if (!bytes) return tl::unexpected(bytes.error());
      check.send = *bytes;
      check.transport = f.String("transport").empty() ? "tcp" : f.String("transport");
      check.read_banner = f.Bool("read_banner");
      check.version = f.String("version");
      auto pattern = f.Required("pattern");
      if (!pattern) return tl::unexpected(pattern.error());
      auto compiled = Compile(*pattern, f.Where());
      if (!compiled) return tl::unexpected(compiled.error());
      check.pattern = *compiled;
      auto classification = ClassificationOf(f);
      if (!classification) return tl::unexpected(classification.error());
      check.classification = *classification;
      check.line = node.Mark().line + 1;
      db.checks_.push_back(std::move(check));
    }
  } catch (const YAML::Exception& e) {
    return Fail(e.msg, WhereIn(name, e.mark));
  } catch (const std::exception& e) {
    return Fail(e.what(), name);
  }
  // Every service a match can name must make a finding.
  for (const auto& probe : db.probes_) {
    for (const auto& match : probe.matches) {
      if (!db.ServiceClassification(match.identity.service)) {
        return Fail(fmt::format("service '{}' has no entry under services", match.identity.service),
                    fmt::format("{}:{}", name, match.line));
      }
    }
  }
  return db;
}

const ServiceDb& ServiceDb::Builtin() {
  static const ServiceDb db = [] {
    auto parsed =
        Parse(data::EmbeddedFileContent("scan/services.yml"), "builtin:scan/services.yml");
    if (!parsed) throw std::runtime_error(parsed.error().ToString());
    return std::move(*parsed);
  }();
  return db;
}

const Classification* ServiceDb::ServiceClassification(std::string_view service) const {
  for (const auto& [name, classification] : services_) {
    if (name == service) return &classification;
  }
  return nullptr;
}

bool ServiceDb::ServiceIdentifier(std::string_view identifier) const {
  return std::any_of(services_.begin(), services_.end(),
                     [&](const auto& entry) { return entry.second.identifier == identifier; });
}

std::vector<const Probe*> ServiceDb::ProbesFor(int port, std::string_view transport) const {
  std::vector<const Probe*> first, rest;
  for (const auto& probe : probes_) {
    if (probe.transport != transport) continue;
    bool named = std::find(probe.ports.begin(), probe.ports.end(), port) != probe.ports.end();
    if (transport == "udp" && !named) continue;
    (named || (probe.send.empty() && !probe.tls) ? first : rest).push_back(&probe);
  }
  first.insert(first.end(), rest.begin(), rest.end());
  return first;
}

std::string ServiceDb::Expand(const re2::RE2& pattern, std::string_view input,
                              const std::string& text, bool cpe) {
  if (text.find('$') == std::string::npos) return text;
  int groups = std::min(pattern.NumberOfCapturingGroups(), 9);
  std::vector<re2::StringPiece> found(groups + 1);
  bool matched = pattern.Match(re2::StringPiece(input.data(), input.size()), 0, input.size(),
                               RE2::UNANCHORED, found.data(), groups + 1);
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] >= '1' && text[i + 1] <= '9') {
      int group = text[i + 1] - '0';
      std::string_view value;
      if (matched && group <= groups)
        value = std::string_view(found[group].data(), found[group].size());
      if (!cpe) {
        out.append(value);
      } else if (value.empty()) {
        out.push_back('*');
      } else {
        for (char c : value) {
          bool plain =
              std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
          if (!plain) out.push_back('\\');
          out.push_back(plain ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c);
        }
      }
      ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::optional<Identity> ServiceDb::Identify(const Probe& probe, std::string_view answer) {
  re2::StringPiece input(answer.data(), answer.size());
  for (const auto& match : probe.matches) {
    if (!RE2::PartialMatch(input, *match.pattern)) continue;
    const auto& re = *match.pattern;
    Identity out;
    out.service = match.identity.service;
    out.product = Expand(re, answer, match.identity.product);
    out.version = Expand(re, answer, match.identity.version);
    out.info = Expand(re, answer, match.identity.info);
    out.cpe = Expand(re, answer, match.identity.cpe, true);
    out.ecosystem = Expand(re, answer, match.identity.ecosystem);
    out.package = Expand(re, answer, match.identity.package);
    out.package_version = Expand(re, answer, match.identity.package_version);
    return out;
  }
  return std::nullopt;
}

std::string ProbeBytes(const std::string& send, const std::string& host, const std::string& agent) {
  std::string out = send;
  for (auto [name, value] :
       {std::pair<std::string_view, const std::string*>{"{host}", &host}, {"{agent}", &agent}}) {
    for (size_t at = out.find(name); at != std::string::npos; at = out.find(name, at)) {
      out.replace(at, name.size(), *value);
      at += value->size();
    }
  }
  return out;
}

}  // namespace bulwark::scan
