#include "bulwark/abuse/shadowserver.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <unordered_map>

#include "bulwark/core/csv.h"
#include "bulwark/core/json_writer.h"
#include "bulwark/core/strings.h"
#include "bulwark/event/ip.h"
#include "bulwark/finding/intelmq.h"
#include "bulwark/model/inventory.h"
#include "common.h"

namespace bulwark::abuse {

namespace {

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return out;
}

// "2022-01-10 02:20:37" (UTC) -> RFC 3339; nullopt when it is no time.
std::optional<std::string> UtcTime(std::string_view value) {
  auto parsed = ParseTimestamp(value);
  if (!parsed) return std::nullopt;
  return FormatTimestamp(*parsed);
}

// HTTP dates ("Mon, 10 Jan 2022 02:20:37 GMT") -> RFC 3339; other text as it is.
std::string HttpDate(std::string_view value) {
  auto parts = Split(value, ' ');
  if (parts.size() >= 5) {
    int month = MonthFromAbbrev(parts[2]);
    std::string iso = fmt::format("{}-{:02d}-{}T{}Z", parts[3], month, parts[1], parts[4]);
    if (month > 0) {
      if (auto parsed = ParseTimestamp(iso)) return FormatTimestamp(*parsed);
    }
  }
  return std::string(value);
}

// The value of field `f` converted, nullopt when it is empty or invalid (with `problem` set for
// invalid values).
std::optional<std::string> Convert(const SchemaField& f, std::string_view value,
                                   const std::unordered_map<std::string, std::string>& row,
                                   std::string& problem) {
  value = Trim(value);
  const std::string& c = f.converter;
  if (c == "scan_exchange_taxonomy" || c == "scan_exchange_type" ||
      c == "scan_exchange_identifier") {
    bool webshell = value.find("webshell") != std::string_view::npos;
    if (c == "scan_exchange_taxonomy") return std::string(webshell ? "intrusions" : "vulnerable");
    if (c == "scan_exchange_type") {
      return std::string(webshell ? "system-compromise" : "vulnerable-system");
    }
    return std::string(webshell ? "exchange-server-webshell" : "vulnerable-exchange-server");
  }
  if (value.empty()) return std::nullopt;
  if (c.empty() || c == "validate_to_none" || c == "category_or_detail") return std::string(value);
  if (c == "invalidate_zero") {
    if (value == "0") return std::nullopt;
    return std::string(value);
  }
  if (c == "convert_int") {
    if (!ParseInt(value)) {
      problem = fmt::format("'{}' is not a whole number", value);
      return std::nullopt;
    }
    return std::string(value);
  }
  if (c == "convert_float") {
    if (!ParseDouble(value)) {
      problem = fmt::format("'{}' is not a number", value);
      return std::nullopt;
    }
    return std::string(value);
  }
  if (c == "convert_bool") {
    std::string lower = AsciiLower(value);
    if (lower == "y" || lower == "yes" || lower == "true" || lower == "1") return "true";
    if (lower == "n" || lower == "no" || lower == "false" || lower == "0") return "false";
    problem = fmt::format("'{}' is not a yes/no value", value);
    return std::nullopt;
  }
  if (c == "validate_ip") {
    auto ip = event::IpAddress::Parse(value);
    if (!ip) {
      problem = fmt::format("'{}' is not an IP address", value);
      return std::nullopt;
    }
    return ip->ToString();
  }
  if (c == "validate_network") {
    if (!event::Cidr::Parse(value)) {
      problem = fmt::format("'{}' is not a network", value);
      return std::nullopt;
    }
    return std::string(value);
  }
  if (c == "validate_fqdn") {
    if (value.find_first_of(" \t/") != std::string_view::npos) return std::nullopt;
    return std::string(value);
  }
  if (c == "add_UTC_to_timestamp" || c == "convert_date_utc") {
    auto time = UtcTime(value);
    if (!time) problem = fmt::format("'{}' is not a time", value);
    return time;
  }
  if (c == "convert_date") return HttpDate(value);
  if (c == "force_base64") return Base64Encode(value);
  if (c == "extract_cve_from_tag") {
    std::vector<std::string> cves;
    for (std::string_view tag : Split(value, ';')) {
      tag = Trim(tag);
      if (Upper(tag).starts_with("CVE-")) cves.push_back(Upper(tag));
    }
    if (cves.empty()) return std::nullopt;
    std::string joined;
    for (const auto& cve : cves) joined += (joined.empty() ? "" : ",") + cve;
    return joined;
  }
  if (c == "convert_http_host_and_url") {
    if (value.starts_with("http://") || value.starts_with("https://")) return std::string(value);
    auto host = row.find("http_host");
    std::string scheme = "http://";
    if (auto s = row.find("protocol"); s != row.end() && AsciiLower(s->second) == "https") {
      scheme = "https://";
    }
    if (host == row.end() || host->second.empty()) return std::string(value);
    return scheme + host->second + std::string(value);
  }
  return std::string(value);  // a converter this version does not know: the value as it is
}

// The text of a JSON scalar (strings, booleans, integers); empty for anything else.
std::string ScalarText(simdjson::dom::element e) {
  std::string_view text;
  if (e.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
  bool flag;
  if (e.get_bool().get(flag) == simdjson::SUCCESS) return flag ? "true" : "false";
  int64_t number;
  if (e.get_int64().get(number) == simdjson::SUCCESS) return std::to_string(number);
  return {};
}

// The same for a lookup that may have failed (a missing key): empty then.
std::string StringOf(simdjson::simdjson_result<simdjson::dom::element> result) {
  simdjson::dom::element e;
  if (result.get(e) != simdjson::SUCCESS) return {};
  return ScalarText(e);
}

}  // namespace

Result<ShadowserverSchema> ShadowserverSchema::Parse(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    return Fail("the Shadowserver schema is not a JSON object");
  }
  ShadowserverSchema schema;
  for (auto [key, value] : root) {
    simdjson::dom::object entry;
    if (value.get_object().get(entry) != simdjson::SUCCESS) continue;
    ReportType type;
    type.name = std::string(key);
    type.feed_name = StringOf(entry["feed_name"]);
    type.file_name = StringOf(entry["file_name"]);
    if (type.feed_name.empty()) continue;  // "_meta" and the like
    if (type.file_name.empty()) type.file_name = type.name;
    simdjson::dom::object constants;
    if (entry["constant_fields"].get_object().get(constants) == simdjson::SUCCESS) {
      for (auto field : constants) {
        type.constants[std::string(field.key)] = ScalarText(field.value);
      }
    }
    for (const char* section : {"required_fields", "optional_fields"}) {
      simdjson::dom::array fields;
      if (entry[section].get_array().get(fields) != simdjson::SUCCESS) continue;
      for (simdjson::dom::element field : fields) {
        simdjson::dom::array parts;
        if (field.get_array().get(parts) != simdjson::SUCCESS || parts.size() < 2) continue;
        SchemaField f;
        f.target = StringOf(parts.at(0));
        f.column = StringOf(parts.at(1));
        if (parts.size() > 2) f.converter = StringOf(parts.at(2));
        f.required = std::string_view(section) == "required_fields";
        type.fields.push_back(std::move(f));
      }
    }
    schema.types_[type.name] = std::move(type);
  }
  if (schema.types_.empty()) return Fail("the Shadowserver schema names no report types");
  return schema;
}

const ReportType* ShadowserverSchema::Find(std::string_view name) const {
  if (auto it = types_.find(name); it != types_.end()) return &it->second;
  for (const auto& [key, type] : types_) {
    if (type.file_name == name) return &type;
  }
  return nullptr;
}

bool ShadowserverSchema::AddAlias(const std::string& legacy, const std::string& current) {
  if (!types_.count(current)) return false;
  aliases_[legacy] = current;
  return true;
}

const ReportType* ShadowserverSchema::ForPath(std::string_view path) const {
  std::string_view base = path.substr(
      path.find_last_of('/') == std::string_view::npos ? 0 : path.find_last_of('/') + 1);
  if (base.ends_with(".csv")) base.remove_suffix(4);
  if (const ReportType* exact = Find(base)) return exact;
  // YYYY-MM-DD-<type>-<anything>: the longest type name that follows the date.
  if (base.size() > 11 && base[4] == '-' && base[7] == '-' && base[10] == '-') {
    std::string_view rest = base.substr(11);
    const ReportType* best = nullptr;
    for (const auto& [key, type] : types_) {
      for (const std::string* candidate : {&type.file_name, &type.name}) {
        if (rest.starts_with(*candidate) &&
            (rest.size() == candidate->size() || rest[candidate->size()] == '-') &&
            (!best || candidate->size() > best->file_name.size())) {
          best = &type;
        }
      }
    }
    for (const auto& [legacy, current] : aliases_) {
      if (!best && rest.starts_with(legacy) &&
          (rest.size() == legacy.size() || rest[legacy.size()] == '-')) {
        best = Find(current);
      }
    }
    return best;
  }
  return nullptr;
}

Result<size_t> ShadowserverSchema::LoadSeverities(std::string_view markdown) {
  size_t rows = 0, assigned = 0;
  for (std::string_view line : Split(markdown, '\n')) {
    line = Trim(line);
    if (!line.starts_with('|')) continue;
    std::vector<std::string_view> cells = Split(line, '|');
    // "| report | subject | level |" splits into "", report, subject, level, "".
    if (cells.size() < 4) continue;
    std::string report(Trim(cells[1]));
    std::string level = AsciiLower(Trim(cells[3]));
    if (!model::ParseSeverity(level)) continue;
    ++rows;
    for (auto& [key, type] : types_) {
      if (type.name == report || type.file_name == report) {
        type.default_severity = level;
        ++assigned;
      }
    }
  }
  if (rows == 0) return Fail("no '| report | subject | level |' rows in the severity table");
  return assigned;
}

Result<size_t> ForEachShadowserverRow(std::string_view text, const ReportType& type,
                                      const std::string& name, TimeNs received,
                                      const std::function<void(model::Finding)>& finding,
                                      const std::function<void(Error)>& rejected) {
  CsvReader reader(text);
  return ForEachShadowserverRow(reader, type, name, received, finding, rejected);
}

Result<size_t> ForEachShadowserverRow(CsvReader& reader, const ReportType& type,
                                      const std::string& name, TimeNs received,
                                      const std::function<void(model::Finding)>& finding,
                                      const std::function<void(Error)>& rejected) {
  std::vector<std::string> header;
  if (!reader.Next(header)) return Fail("no header line", name);
  for (auto& column : header) column = std::string(Trim(column));
  size_t rows = 0;
  std::vector<std::string> cells;
  std::unordered_map<std::string, std::string> row;
  while (reader.Next(cells)) {
    ++rows;
    row.clear();
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    finding::HarmonizedFields keys(type.constants.begin(), type.constants.end());
    keys["feed.name"] = type.feed_name;
    std::string problem;
    for (const SchemaField& f : type.fields) {
      auto cell = row.find(f.column);
      std::string field_problem;
      std::optional<std::string> value;
      if (cell != row.end()) value = Convert(f, cell->second, row, field_problem);
      // An address column holding a network (blocklists): the finding is about the network,
      // attributed by its first address.
      if (!value && f.target == "source.ip" && cell != row.end()) {
        if (auto network = model::Prefix::Parse(cell->second)) {
          value = network->network.ToString();
          keys["source.network"] = network->ToString();
        }
      }
      if (!value) {
        // Real reports leave "required" columns empty or out (ports of spoofers, URLs without a
        // port); only what a finding cannot do without - its address and time - rejects a row.
        bool essential = f.target == "source.ip" || f.target == "time.source";
        bool invalid = cell != row.end() && !field_problem.empty();
        if ((essential || (f.required && invalid)) && problem.empty()) {
          problem = cell == row.end()
                        ? fmt::format("column '{}' ({}) is missing", f.column, f.target)
                        : fmt::format("{} ({}): {}", f.column, f.target,
                                      field_problem.empty() ? "empty" : field_problem);
        }
        continue;
      }
      std::string target = f.target;
      if (target == "extra.") target = "extra." + f.column;
      if (target == "severity") target = "extra.severity";
      if (target == "product.vulnerabilities") target = "extra.cves";
      keys[target] = *value;
    }
    if (!keys.count("extra.severity") && !type.default_severity.empty()) {
      keys["extra.severity"] = type.default_severity;
    }
    std::string where = fmt::format("{}:{}", name, reader.line());
    if (!problem.empty()) {
      rejected(Error{problem, where});
      continue;
    }
    EmitRow(std::move(keys), header, cells, received, where, finding, rejected);
  }
  if (!reader.error().empty()) return Fail(reader.error(), name);
  return rows;
}

Result<ParsedReport> ParseShadowserverCsv(std::string_view text, const ReportType& type,
                                          const std::string& name, TimeNs received) {
  ParsedReport report;
  auto rows = ForEachShadowserverRow(
      text, type, name, received,
      [&](model::Finding f) { report.findings.push_back(std::move(f)); },
      [&](Error e) { report.rejected.push_back(std::move(e)); });
  if (!rows) return tl::unexpected(rows.error());
  report.rows = *rows;
  return report;
}

}  // namespace bulwark::abuse
