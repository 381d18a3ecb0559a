#pragma once
// Reading inventories from files (YAML, JSON, CSV; docs/inventory.md) and importing them into the
// store with reference checks and conflict detection. Stateless functions, thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/model/inventory.h"
#include "bulwark/store/store.h"

namespace bulwark::inventory {

enum class FileFormat { kAuto, kYaml, kJson, kCsv };

// The format named by a file's extension (.yml/.yaml, .json, .csv); kYaml for anything else.
FileFormat FormatOfPath(std::string_view path);

// What a file held: the records that could be read and, per record that could not, the reason
// with its location ("inventory.yml:12:5", "hosts.csv:7").
struct ParsedInventory {
  model::Inventory inventory;
  std::vector<Error> rejected;
};

// Parses an inventory document. `name` is used in locations. A document that cannot be read at
// all (not YAML/JSON, no header line in a CSV) is an Error; a bad record is rejected and the
// others are kept. JSON uses the same shape as YAML.
Result<ParsedInventory> ParseInventory(std::string_view text, const std::string& name,
                                       FileFormat format);

// Two claims on the same address or prefix whose validity intervals overlap.
struct Conflict {
  model::Assignment incoming;
  model::Assignment existing;  // stored before, or an earlier record of the same file
  std::string ToString() const;
};

struct ImportReport {
  store::InventoryWriteStats written;
  std::vector<Error> rejected;      // records refused: parse errors, unknown references
  std::vector<Conflict> conflicts;  // claims refused because another holder overlaps
  bool clean() const { return rejected.empty() && conflicts.empty(); }
};

// Imports `parsed` into `store`: records that refer to unknown customers, projects or systems
// (neither in the file nor in the store) are rejected with their location, claims that overlap
// another holder's claim on the same prefix are refused and reported with both records, and
// everything else is written in one transaction. An Error only when the store fails.
Result<ImportReport> Import(store::Store& store, ParsedInventory parsed);

}  // namespace bulwark::inventory
