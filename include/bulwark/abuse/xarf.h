#pragma once
// XARF reports: X-ARF 0.1/0.2 (a YAML part of an abuse mail) and XARF JSON v3 (abusix/xarf) and
// v4 (xarf/xarf-spec). JSON reports are validated against the published JSON Schemas when they
// are configured; a report the schemas reject is rejected with the schemas' reasons.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/finding/intelmq.h"

namespace bulwark::jsonschema {
class SchemaSet;
}

namespace bulwark::abuse {

// The harmonized fields of one report and what had to be guessed reading it.
struct ReportFields {
  finding::HarmonizedFields keys;
  std::vector<std::string> notes;
};

// The XARF JSON Schemas. Immutable after loading; thread-safe.
class XarfSchemas {
 public:
  // Loads schema files and the folders they sit in (for their $refs). A file whose name has
  // "v4" in it validates XARF 4 reports (xarf-spec's xarf-v4-master.json); any other validates
  // XARF 3 reports (abusix' schemas/3/xarf.schema.json, xarf-spec's xarf-v3-legacy.json): a v3
  // report is valid when one of them accepts it. Errors: a file or folder that cannot be read.
  static Result<std::shared_ptr<const XarfSchemas>> Load(const std::vector<std::string>& files);

  struct Schema {
    std::shared_ptr<const jsonschema::SchemaSet> set;
    std::string file;  // relative to the set's folder
    std::string path;  // as configured
  };
  std::vector<Schema> v3, v4;
};

// Reads an X-ARF 0.1/0.2 YAML report (Reported-From, Category, Report-Type, Date, Source,
// Source-Type, Port, ...). Errors: not YAML, no Source or no Date that reads as a time.
Result<ReportFields> ReadXarfYaml(std::string_view yaml);

// Whether `text` looks like an X-ARF YAML report (a YAML map with Report-Type and Source).
bool LooksLikeXarfYaml(std::string_view text);

// Reads an XARF JSON report, v3 ("Version": "3", a "Report" object) or v4 ("xarf_version").
// With `schemas`, the report is validated first. Errors: not JSON, an unknown version, schema
// violations (all of them, "; "-separated), no source address, no time.
Result<ReportFields> ReadXarfJson(std::string_view json, const XarfSchemas* schemas);

}  // namespace bulwark::abuse
