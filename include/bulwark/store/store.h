#pragma once
// Durable state behind one interface. The embedded implementation is SQLite in a data directory
// (OpenSqliteStore); a PostgreSQL implementation will satisfy the same interface and run the same
// conformance tests (tests/store). Nothing SQLite-specific appears here.
//
// Thread safety: a Store may be used from one thread at a time; open one per thread when needed.
// Every method returns an Error naming the operation and the database's reason on failure.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/model/inventory.h"

namespace bulwark::store {

// What WriteInventory changed.
struct InventoryWriteStats {
  size_t customers = 0, projects = 0, systems = 0, interfaces = 0;  // inserted or updated
  size_t assignments_added = 0;
  size_t assignments_updated = 0;  // same holder, prefix and start: the end moved
  size_t assignments_unchanged = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // The schema version the store is at (migrations are applied when it is opened).
  virtual int schema_version() const = 0;

  // Writes `inventory` in one transaction (all or nothing). Customers, projects, systems and
  // interfaces are inserted or replaced by id (interfaces by system and key); a customer's
  // contacts are replaced by the given list. Assignments are history: one with the same system,
  // interface, prefix and start as a stored one updates that one's end; any other is added.
  // Referential errors (a project of an unknown customer, ...) fail the whole write.
  virtual Result<InventoryWriteStats> WriteInventory(const model::Inventory& inventory) = 0;

  // The whole inventory, assignments ordered by prefix and start.
  virtual Result<model::Inventory> ReadInventory() = 0;

  // Assignments of exactly `prefix` (all holders, all times), ordered by start.
  virtual Result<std::vector<model::Assignment>> AssignmentsOf(const model::Prefix& prefix) = 0;
};

// Opens (creating when missing) the SQLite store in `data_dir`/bulwark.db, in WAL mode, and
// applies pending schema migrations. Errors: the directory cannot be created, the file is not a
// Bulwark database, or its schema is newer than this program knows.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& data_dir);

}  // namespace bulwark::store
