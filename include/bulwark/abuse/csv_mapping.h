#pragma once
// CSV feeds without a parser of their own, read by a column mapping file (YAML; docs/reports.md):
//
//   name: cert-bund                 # how --type and reports name the mapping
//   feed: CERT-Bund                 # feed.name of the findings
//   columns: [asn, ip, timestamp]   # a CSV is recognised by these header columns (all present)
//   delimiter: ","                  # optional; "," by default, "\t" for tabs
//   classification:                 # constants; "{column}" is replaced by the row's value
//     type: infected-system         # classification.type (the taxonomy follows from it)
//     identifier: "{malware}"
//   fields:                         # harmonized key -> column name, or a text with {column}s
//     source.ip: ip
//     time.source: timestamp        # RFC 3339, "YYYY-MM-DD hh:mm:ss" (UTC) or RFC 2822 dates
//   other_columns: extra            # other columns become extra.<column> (default), or "drop"
//
// Mappings are immutable after loading; thread-safe.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/csv.h"
#include "bulwark/core/result.h"
#include "bulwark/model/finding.h"

namespace bulwark::abuse {

struct CsvMapping {
  std::string name;
  std::string feed;
  std::vector<std::string> columns;  // header columns that identify the feed
  char delimiter = ',';
  std::map<std::string, std::string> classification;  // "type", "taxonomy", "identifier"
  std::map<std::string, std::string> fields;          // harmonized key -> column or template
  bool keep_other_columns = true;

  // Whether a header (trimmed column names) carries every identifying column.
  bool Recognises(const std::vector<std::string>& header) const;
};

// Reads a mapping file. `where` names it in errors ("file:line:column: reason"). Errors: not
// YAML, name/feed/fields missing, no classification type, an unknown key.
Result<CsvMapping> ParseCsvMapping(std::string_view yaml, const std::string& where);

// The mappings that ship with Bulwark (data/abuse/mappings: cert-bund, abusehub).
const std::vector<CsvMapping>& BuiltinCsvMappings();

// Reads a CSV with `mapping`, row by row: `finding` gets each row that reads, `rejected` each
// that does not ("name:line" and why: a missing address or time, an invalid value). Returns the
// number of rows. Errors: no header line, or the header lacks a column the mapping reads for
// source.ip or time.source.
// A reader that reads in chunks may also fail (after the rows before it were given).
Result<size_t> ForEachMappedRow(CsvReader& reader, const CsvMapping& mapping,
                                const std::string& name, TimeNs received,
                                const std::function<void(model::Finding)>& finding,
                                const std::function<void(Error)>& rejected);
// The same over a text in memory.
Result<size_t> ForEachMappedRow(std::string_view text, const CsvMapping& mapping,
                                const std::string& name, TimeNs received,
                                const std::function<void(model::Finding)>& finding,
                                const std::function<void(Error)>& rejected);

// The first header line of a CSV text (trimmed column names); empty when there is none.
std::vector<std::string> CsvHeader(std::string_view text, char delimiter = ',');

}  // namespace bulwark::abuse
