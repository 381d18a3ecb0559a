#pragma once
// JSON Schema validation (the draft-07 and 2020-12 keywords that published report schemas use:
// type, enum, const, properties, required, additionalProperties, min/maxProperties, items,
// min/maxItems, uniqueItems, min/maxLength, pattern, format, minimum/maximum and their exclusive
// forms, allOf/anyOf/oneOf/not, if/then/else, $ref across files and JSON pointers, $defs and
// definitions). Unknown keywords are ignored, as the specification says. Formats checked:
// date-time, date, email, hostname, ipv4, ipv6, uri, uuid.
//
// A SchemaSet is immutable after loading and may be used from several threads at once.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"

namespace bulwark::jsonschema {

// One reason a document does not match.
struct Violation {
  std::string instance_path;  // JSON pointer into the document, "" = the whole document
  std::string message;        // e.g. "'This is not a date' is not a date-time"

  std::string ToString() const;  // "/Report/Date: 'This is not a date' is not a date-time"
};

class Checker;

class SchemaSet {
 public:
  SchemaSet();
  ~SchemaSet();
  SchemaSet(SchemaSet&&) noexcept;
  SchemaSet& operator=(SchemaSet&&) noexcept;

  // Loads every *.json file under `directory` (recursively). Errors: the folder cannot be read,
  // a file is not JSON (file and byte offset), a pattern does not compile (file and pointer).
  static Result<SchemaSet> LoadDirectory(const std::string& directory);

  size_t size() const;

  // Validates the JSON text `document` against the schema file `schema` (a path relative to the
  // loaded folder, e.g. "schemas/3/xarf.schema.json"), or a schema inside it named by a JSON
  // pointer ("openapi.json#/components/schemas/Incident"). Returns the violations; empty = valid.
  // Errors: `document` is not JSON (byte offset), the schema is not loaded, a $ref cannot be
  // resolved (with the reference).
  Result<std::vector<Violation>> Validate(std::string_view document, std::string_view schema) const;

 private:
  friend class Checker;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bulwark::jsonschema
