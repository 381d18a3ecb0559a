#pragma once
// A thin, safe wrapper around vectorscan: many patterns compiled into one database, scanned in a
// single pass. A Database is immutable and shared across threads; a Scratch belongs to one thread.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"

struct hs_database;
struct hs_scratch;

namespace bulwark::match {

struct Pattern {
  std::string expression;  // a regex, or the literal bytes when the database is literal
  unsigned flags = 0;      // vectorscan HS_FLAG_* bits
  unsigned id = 0;         // reported on match
};

// Flags re-exported so callers need not include <hs/hs.h>.
inline constexpr unsigned kCaseless = 1;
inline constexpr unsigned kDotAll = 2;
inline constexpr unsigned kMultiline = 4;
inline constexpr unsigned kSingleMatch = 8;
inline constexpr unsigned kAllowEmpty = 16;
inline constexpr unsigned kUtf8 = 32;
inline constexpr unsigned kPrefilter = 128;

// Why a pattern set did not compile: which pattern (index into the input) and vectorscan's reason.
// `index` is -1 when the failure is not tied to one pattern.
struct CompileError {
  int index = -1;
  std::string message;
};

class Database {
 public:
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Compiles regex patterns (literal = false) or literal patterns (literal = true) in block mode.
  static tl::expected<std::shared_ptr<const Database>, CompileError> Compile(
      const std::vector<Pattern>& patterns, bool literal);

  hs_database* raw() const { return database_; }

 private:
  explicit Database(hs_database* database) : database_(database) {}
  hs_database* database_;
};

// Per-thread scan scratch space, large enough for every database it was prepared for.
class Scratch {
 public:
  Scratch() = default;
  ~Scratch();
  Scratch(Scratch&& other) noexcept : scratch_(other.scratch_) { other.scratch_ = nullptr; }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // Grows the scratch for `database`; an Error only when vectorscan runs out of memory.
  Result<void> Prepare(const Database& database);
  hs_scratch* raw() const { return scratch_; }

 private:
  hs_scratch* scratch_ = nullptr;
};

// Called for each match with the pattern id and the end offset; return false to stop scanning.
using MatchHandler = bool (*)(unsigned id, unsigned long long to, void* context);

// Scans `text`; the scratch must have been prepared for `database`.
void Scan(const Database& database, Scratch& scratch, std::string_view text, MatchHandler handler,
          void* context);

// Escapes `text` so that it matches literally inside a vectorscan/PCRE regex.
std::string EscapeRegex(std::string_view text);

}  // namespace bulwark::match
