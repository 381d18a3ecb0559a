#include "bulwark/abuse/xarf.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>

#include "bulwark/core/strings.h"
#include "bulwark/input/json_flatten.h"
#include "bulwark/jsonschema/validator.h"
#include "common.h"

namespace bulwark::abuse {
namespace {
namespace fs = std::filesystem;

// "abuse-team@blocklist.de" -> "blocklist.de"; the text itself when it is no address.
std::string DomainOf(std::string_view reporter) {
  reporter = Trim(reporter);
  size_t at = reporter.rfind('@');
  std::string domain(at == std::string_view::npos ? reporter : reporter.substr(at + 1));
  while (!domain.empty() && (domain.back() == '>' || domain.back() == ' ')) domain.pop_back();
  return AsciiLower(domain);
}

// "Report-ID" -> "report_id", "ReporterInfo.ReporterOrg" -> "reporter_info.reporter_org":
// harmonized extra.* keys are lower case with underscores.
std::string ExtraKey(std::string_view name) {
  std::string key = "extra.";
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool upper = c >= 'A' && c <= 'Z';
    bool after_lower = i > 0 && ((name[i - 1] >= 'a' && name[i - 1] <= 'z') ||
                                 (name[i - 1] >= '0' && name[i - 1] <= '9'));
    if (upper && after_lower) key += '_';
    key += c == '-' || c == ' ' ? '_' : static_cast<char>(upper ? c - 'A' + 'a' : c);
  }
  return key;
}

void Classify(std::string_view format, std::string_view report_type, ReportFields& out) {
  if (auto type = ClassificationType(format, report_type)) {
    out.keys["classification.type"] = *type;
  } else {
    out.keys["classification.type"] = "undetermined";
    out.notes.push_back(
        fmt::format("report type '{}' has no classification (data/abuse/"
                    "classification.yml); classified undetermined",
                    report_type));
  }
  out.keys["classification.identifier"] = AsciiLower(report_type);
}

// Collects flattened JSON fields; repeated paths (arrays) keep the first value.
class Collector : public input::JsonFlattener::Visitor {
 public:
  void Field(std::string_view path, std::string_view value) override {
    fields.emplace(std::string(path), std::string(value));
  }
  std::string Get(std::string_view path) const {
    auto it = fields.find(std::string(path));
    return it == fields.end() ? std::string() : it->second;
  }
  std::map<std::string, std::string> fields;
};

// Validates against every schema in `schemas`; empty when one accepts, else the first schema's
// reasons.
Result<std::string> Violations(std::string_view json,
                               const std::vector<XarfSchemas::Schema>& schemas) {
  std::string first;
  for (const auto& schema : schemas) {
    auto violations = schema.set->Validate(json, schema.file);
    if (!violations) return tl::unexpected(violations.error());
    if (violations->empty()) return std::string();
    if (first.empty()) {
      first = fmt::format("invalid against {}: ", fs::path(schema.path).filename().string());
      for (size_t i = 0; i < violations->size() && i < 5; ++i) {
        first += (i ? "; " : "") + (*violations)[i].ToString();
      }
      if (violations->size() > 5) first += fmt::format("; and {} more", violations->size() - 5);
    }
  }
  return first;
}

}  // namespace

Result<std::shared_ptr<const XarfSchemas>> XarfSchemas::Load(
    const std::vector<std::string>& files) {
  auto schemas = std::make_shared<XarfSchemas>();
  std::map<std::string, std::shared_ptr<const jsonschema::SchemaSet>> folders;
  for (const std::string& file : files) {
    std::error_code error;
    fs::path path = fs::weakly_canonical(file, error);
    if (error || !fs::is_regular_file(path)) return Fail("cannot read XARF schema " + file);
    std::string folder = path.parent_path().string();
    if (!folders.count(folder)) {
      auto set = jsonschema::SchemaSet::LoadDirectory(folder);
      if (!set) return tl::unexpected(set.error());
      folders[folder] = std::make_shared<const jsonschema::SchemaSet>(std::move(*set));
    }
    Schema schema{folders[folder], path.filename().string(), file};
    (path.filename().string().find("v4") != std::string::npos ? schemas->v4 : schemas->v3)
        .push_back(std::move(schema));
  }
  return std::shared_ptr<const XarfSchemas>(std::move(schemas));
}

bool LooksLikeXarfYaml(std::string_view text) {
  auto has_key = [&](std::string_view key) {
    size_t pos = 0;
    while ((pos = text.find(key, pos)) != std::string_view::npos) {
      if ((pos == 0 || text[pos - 1] == '\n') && pos + key.size() < text.size() &&
          text[pos + key.size()] == ':') {
        return true;
      }
      pos += key.size();
    }
    return false;
  };
  return has_key("Report-Type") && has_key("Source");
}

Result<ReportFields> ReadXarfYaml(std::string_view yaml) {
  ReportFields out;
  std::map<std::string, std::string> values;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) return Fail("X-ARF: the report part is not a YAML map");
    for (const auto& entry : root) {
      if (!entry.first.IsScalar() || !entry.second.IsScalar()) continue;
      values[entry.first.Scalar()] = std::string(Trim(entry.second.Scalar()));
    }
  } catch (const YAML::Exception& error) {
    // Real reporters write values YAML cannot take ("Schema-URL: http: //..."): X-ARF is
    // "Name: value" lines, so read it as such.
    out.notes.push_back(
        fmt::format("X-ARF: not valid YAML ({}, line {}); read as 'Name: value' "
                    "lines",
                    error.msg, error.mark.line + 1));
    for (std::string_view line : Split(yaml, '\n')) {
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || line.starts_with(' ') || line.starts_with('-')) {
        continue;
      }
      std::string value(Trim(line.substr(colon + 1)));
      if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') &&
          value.back() == value.front()) {
        value = value.substr(1, value.size() - 2);
      }
      values.emplace(std::string(Trim(line.substr(0, colon))), std::move(value));
    }
    if (values.empty()) return Fail("X-ARF: neither YAML nor 'Name: value' lines");
  }
  auto get = [&](const char* key) {
    auto it = values.find(key);
    return it == values.end() ? std::string() : it->second;
  };
  std::string version = get("Version");
  if (version.empty()) {
    out.notes.push_back("X-ARF: no Version; read as 0.2");
  } else if (version != "0.1" && version != "0.2") {
    out.notes.push_back("X-ARF: Version " + version + " is neither 0.1 nor 0.2; read as 0.2");
  }
  std::string source = get("Source");
  if (source.empty()) return Fail("X-ARF: no Source");
  std::string address = AddressIn(source);
  if (address.empty()) {
    return Fail(fmt::format("X-ARF: Source '{}' (Source-Type {}) names no IP address", source,
                            get("Source-Type").empty() ? "?" : get("Source-Type")));
  }
  std::string date = get("Date");
  auto time = ParseReportTime(date);
  if (!time) {
    return Fail(date.empty() ? std::string("X-ARF: no Date")
                             : fmt::format("X-ARF: Date '{}' is not a time", date));
  }
  std::string reporter = get("Reported-From");
  out.keys["feed.name"] = reporter.empty() ? "X-ARF" : "X-ARF " + DomainOf(reporter);
  if (!reporter.empty()) out.keys["feed.provider"] = reporter;
  std::string report_type = get("Report-Type");
  if (report_type.empty()) {
    report_type = "info";
    out.notes.push_back("X-ARF: no Report-Type");
  }
  Classify("xarf02", AsciiLower(report_type), out);
  out.keys["source.ip"] = address;
  if (address != source) out.keys["source.url"] = source;
  out.keys["time.source"] = FormatTimestamp(*time);
  if (auto port = ParseInt(get("Port")); port && *port > 0 && *port < 65536) {
    out.keys["source.port"] = std::to_string(*port);
  }
  static const std::set<std::string> used = {"Source", "Date", "Port", "Report-Type",
                                             "Reported-From"};
  for (const auto& [key, value] : values) {
    if (!used.count(key) && !value.empty()) out.keys[ExtraKey(key)] = value;
  }
  out.keys["raw"] = std::string(Trim(yaml));
  return out;
}

Result<ReportFields> ReadXarfJson(std::string_view json, const XarfSchemas* schemas) {
  input::JsonFlattener flattener;
  Collector doc;
  if (!flattener.Flatten(json, doc)) return Fail("XARF: not a JSON object");
  bool v4 = !doc.Get("xarf_version").empty();
  bool v3 = !doc.Get("Version").empty() || doc.fields.count("Report.ReportType");
  if (!v4 && !v3) return Fail("XARF: neither xarf_version (v4) nor Version (v3) is given");
  ReportFields out;
  if (schemas) {
    const auto& list = v4 ? schemas->v4 : schemas->v3;
    if (list.empty()) {
      out.notes.push_back(
          fmt::format("XARF {}: not validated (no schema configured)", v4 ? "4" : "3"));
    } else {
      auto violations = Violations(json, list);
      if (!violations) return tl::unexpected(violations.error());
      if (!violations->empty())
        return Fail("XARF " + std::string(v4 ? "4" : "3") + " " + *violations);
    }
  } else {
    out.notes.push_back("XARF: not validated (no schemas configured)");
  }
  std::string source, port, date, reporter;
  std::set<std::string> used;
  auto take = [&](const char* path) {
    used.insert(path);
    return doc.Get(path);
  };
  if (v4) {
    source = take("source_identifier");
    port = take("source_port");
    date = take("timestamp");
    reporter = take("reporter.domain");
    if (reporter.empty()) reporter = DomainOf(doc.Get("reporter.contact"));
    std::string category = take("category"), type = take("type");
    Classify("xarf4", category + "/" + type, out);
    out.keys["classification.identifier"] = type;
    if (auto v = take("destination_ip"); !v.empty()) out.keys["destination.ip"] = v;
    if (auto v = take("destination_port"); !v.empty()) out.keys["destination.port"] = v;
    if (auto v = take("protocol"); !v.empty()) out.keys["protocol.transport"] = v;
    if (auto v = take("report_id"); !v.empty()) out.keys["extra.report_id"] = v;
  } else {
    source = take("Report.SourceIp");
    if (source.empty()) source = take("Report.Source.IP");
    port = take("Report.SourcePort");
    date = take("Report.Date");
    reporter = take("ReporterInfo.ReporterOrgDomain");
    if (reporter.empty()) reporter = DomainOf(doc.Get("ReporterInfo.ReporterOrgEmail"));
    Classify("xarf3", take("Report.ReportType"), out);
    if (auto v = take("Report.DestinationIp"); !v.empty()) out.keys["destination.ip"] = v;
    if (auto v = take("Report.DestinationPort"); !v.empty()) out.keys["destination.port"] = v;
    if (auto v = take("Report.SourceUrl"); !v.empty()) out.keys["source.url"] = v;
  }
  std::string address = AddressIn(source);
  if (address.empty() && source.empty()) {
    // Reports about accounts name the system that holds them as the destination.
    std::string url = doc.Get(v4 ? "source_url" : "Report.SourceUrl");
    std::string destination = doc.Get(v4 ? "destination_ip" : "Report.DestinationIp");
    if (!(address = AddressIn(url)).empty()) {
      out.notes.push_back("XARF: no source address; " + address + " taken from the source URL");
    } else if (!(address = AddressIn(destination)).empty()) {
      out.notes.push_back("XARF: no source address; the report is about the destination " +
                          address);
    }
    if (source.empty()) source = url;
  }
  if (address.empty()) {
    return Fail(source.empty()
                    ? std::string("XARF: the report names no IP address; Bulwark attributes "
                                  "reports by address")
                    : fmt::format("XARF: the report names no IP address (its source '{}' is a "
                                  "host name); Bulwark attributes reports by address",
                                  source));
  }
  auto time = ParseReportTime(date);
  if (!time) {
    return Fail(date.empty() ? std::string("XARF: no report time")
                             : fmt::format("XARF: '{}' is not a time", date));
  }
  out.keys["feed.name"] = reporter.empty() ? "XARF" : "XARF " + reporter;
  out.keys["source.ip"] = address;
  out.keys["time.source"] = FormatTimestamp(*time);
  if (auto number = ParseInt(port); number && *number > 0 && *number < 65536) {
    out.keys["source.port"] = std::to_string(*number);
  }
  // Other scalars of the report (not evidence payloads, which stay in raw) as extra.*.
  for (const auto& [path, value] : doc.fields) {
    if (used.count(path) || value.empty() || value.size() > 256) continue;
    if (path.find("payload") != std::string::npos || path.find("Payload") != std::string::npos ||
        path.starts_with("evidence") || path.starts_with("Report.Samples") ||
        path.starts_with("Report.Attachment")) {
      continue;
    }
    std::string key = path.starts_with("Report.") ? path.substr(7) : path;
    out.keys[ExtraKey(key)] = value;
  }
  out.keys["raw"] = std::string(Trim(json));
  return out;
}

}  // namespace bulwark::abuse
