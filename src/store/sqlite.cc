#include "bulwark/store/sqlite.h"

#include <fmt/format.h>

namespace bulwark::store::sqlite {

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Fail(fmt::format("cannot open database: {}", message), path);
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Database>(new Database(db));
}

Database::~Database() {
  statements_.clear();  // finalize before closing
  sqlite3_close(db_);
}

Result<void> Database::Exec(std::string_view sql) {
  char* error = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : Message();
    sqlite3_free(error);
    return Fail(message);
  }
  return {};
}

Result<Statement*> Database::Prepare(std::string_view sql) {
  for (auto& [text, statement] : statements_) {
    if (text == sql) return &statement->Reset();
  }
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &raw, nullptr) != SQLITE_OK) {
    return Fail(fmt::format("cannot prepare statement: {}", Message()));
  }
  statements_.emplace_back(std::string(sql), std::make_unique<Statement>(*this, raw));
  return statements_.back().second.get();
}

int64_t Database::LastInsertId() const {
  return sqlite3_last_insert_rowid(db_);
}

std::string Database::Message() const {
  return sqlite3_errmsg(db_);
}

Statement::~Statement() {
  sqlite3_finalize(statement_);
}

Statement& Statement::Reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(statement_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindBlob(int index, const void* data, size_t size) {
  sqlite3_bind_blob(statement_, index, data, static_cast<int>(size), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(statement_, index);
  return *this;
}

Statement& Statement::BindOptional(int index, std::string_view text) {
  return text.empty() ? BindNull(index) : Bind(index, text);
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string message = db_.Message();
  sqlite3_reset(statement_);
  return Fail(message);
}

Result<void> Statement::Run() {
  auto stepped = Step();
  if (!stepped) return tl::unexpected(stepped.error());
  return {};
}

int64_t Statement::Int(int column) const {
  return sqlite3_column_int64(statement_, column);
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(statement_, column);
  if (!text) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(statement_, column)));
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

std::string_view Statement::Blob(int column) const {
  const void* data = sqlite3_column_blob(statement_, column);
  if (!data) return {};
  return std::string_view(static_cast<const char*>(data),
                          static_cast<size_t>(sqlite3_column_bytes(statement_, column)));
}

}  // namespace bulwark::store::sqlite
