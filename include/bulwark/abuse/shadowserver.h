#pragma once
// Shadowserver CSV reports, driven by Shadowserver's published schema (report_schema/intelmq.json:
// per report type the feed name, constant fields and [field, column, converter] triples), so that
// a new report type or column needs a schema update, not code. Columns are found by the header
// line. Immutable after loading; thread-safe.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/csv.h"
#include "bulwark/core/result.h"
#include "bulwark/model/finding.h"

namespace bulwark::abuse {

struct SchemaField {
  std::string target;     // harmonized key; "extra." means "extra.<column>"
  std::string column;     // CSV column
  std::string converter;  // "" = the value as is
  bool required = false;
};

struct ReportType {
  std::string name;       // the schema's key, e.g. "scan_redis"
  std::string file_name;  // the report's name in file names, e.g. "scan_redis"
  std::string feed_name;  // e.g. "Open-Redis"
  std::map<std::string, std::string> constants;  // classification.* and the like
  std::vector<SchemaField> fields;
  // Shadowserver's default severity of the type (severity.md: critical, high, medium, low,
  // info); a row's own severity column overrides it. Empty when unknown.
  std::string default_severity;
};

class ShadowserverSchema {
 public:
  // Parses intelmq.json. Errors: not JSON, no report types.
  static Result<ShadowserverSchema> Parse(std::string_view json);
  size_t size() const { return types_.size(); }
  const ReportType* Find(std::string_view name) const;
  // The report type of a file: "2026-11-20-scan_redis-asn-64500.csv" (Shadowserver's file names),
  // "scan_redis.csv" (named after the type), by schema name or file name. nullptr when none fits.
  const ReportType* ForPath(std::string_view path) const;
  // Makes file names with the legacy report name `legacy` (e.g. "dns_openresolver", before
  // Shadowserver renamed it "scan_dns") read as the type `current`. False when `current` is
  // not in the schema.
  bool AddAlias(const std::string& legacy, const std::string& current);
  // Reads Shadowserver's severity.md ("| report | subject | level |" table rows) into the types'
  // default severities. Returns how many types got one. Errors: no table row could be read.
  Result<size_t> LoadSeverities(std::string_view markdown);

 private:
  std::map<std::string, ReportType, std::less<>> types_;
  std::map<std::string, std::string, std::less<>> aliases_;  // legacy name -> type name
};

// What a report held: a finding per row that could be read, a reason per row that could not.
struct ParsedReport {
  std::vector<model::Finding> findings;
  std::vector<Error> rejected;  // where = "file:line"
  size_t rows = 0;
};

// Reads a Shadowserver CSV report of `type` row by row: `finding` gets each row that reads,
// `rejected` each that does not (where = "file:line"). Returns the number of rows. Errors: no
// header line, or the reader's source failed (after the rows before it were given). Memory stays
// that of one row (and of the reader's chunk when it reads in chunks).
Result<size_t> ForEachShadowserverRow(CsvReader& reader, const ReportType& type,
                                      const std::string& name, TimeNs received,
                                      const std::function<void(model::Finding)>& finding,
                                      const std::function<void(Error)>& rejected);
// The same over a text in memory.
Result<size_t> ForEachShadowserverRow(std::string_view text, const ReportType& type,
                                      const std::string& name, TimeNs received,
                                      const std::function<void(model::Finding)>& finding,
                                      const std::function<void(Error)>& rejected);

// Reads a Shadowserver CSV report of `type`. `name` is used in locations; `received` becomes
// time.observation. A row whose required fields are missing or invalid is rejected with the
// column and the reason; optional fields that do not convert are left out. Errors: no header.
Result<ParsedReport> ParseShadowserverCsv(std::string_view text, const ReportType& type,
                                          const std::string& name, TimeNs received);

}  // namespace bulwark::abuse
