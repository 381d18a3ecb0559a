#pragma once
// A thin RAII layer over the SQLite C API: a connection and prepared statements with typed
// binding. The store's SQLite backend and the vulnerability database (vuln/vulndb.h) use it. Not
// thread-safe (one connection per thread).

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"

namespace bulwark::store::sqlite {

class Statement;

class Database {
 public:
  // Opens or creates `path` (`read_only`: opens an existing file for reading). Errors carry
  // SQLite's message.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, bool read_only = false);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements without results (schema, pragmas, transactions).
  Result<void> Exec(std::string_view sql);
  // A prepared statement, cached by its text for the life of the connection.
  Result<Statement*> Prepare(std::string_view sql);
  int64_t LastInsertId() const;
  std::string Message() const;  // the connection's last error message
  sqlite3* raw() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::vector<std::pair<std::string, std::unique_ptr<Statement>>> statements_;
};

// A prepared statement. Bind with 1-based indexes, then Step() until it returns false.
class Statement {
 public:
  Statement(Database& db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Clears bindings and rewinds; call before binding a new execution.
  Statement& Reset();
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& BindBlob(int index, const void* data, size_t size);
  Statement& BindNull(int index);
  // Binds text, or NULL when `text` is empty.
  Statement& BindOptional(int index, std::string_view text);

  // Advances: true when a row is available, false when done; an Error on failure.
  Result<bool> Step();
  // Runs a statement that returns no rows.
  Result<void> Run();

  int64_t Int(int column) const;
  std::string Text(int column) const;
  bool IsNull(int column) const;
  std::string_view Blob(int column) const;

 private:
  Database& db_;
  sqlite3_stmt* statement_;
};

// Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back when it returns an Error. Inside a
// transaction already, `body` runs in a savepoint: its Error undoes its own changes only.
template <typename F>
auto Transaction(Database& db, F&& body) -> decltype(body()) {
  bool nested = sqlite3_get_autocommit(db.raw()) == 0;
  if (auto begun = db.Exec(nested ? "SAVEPOINT nested" : "BEGIN IMMEDIATE"); !begun) {
    return tl::unexpected(begun.error());
  }
  auto result = body();
  if (!result) {
    (void)db.Exec(nested ? "ROLLBACK TO nested; RELEASE nested" : "ROLLBACK");
    return result;
  }
  if (auto committed = db.Exec(nested ? "RELEASE nested" : "COMMIT"); !committed) {
    (void)db.Exec(nested ? "ROLLBACK TO nested; RELEASE nested" : "ROLLBACK");
    return tl::unexpected(committed.error());
  }
  return result;
}

}  // namespace bulwark::store::sqlite
