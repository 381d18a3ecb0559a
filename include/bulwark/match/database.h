#pragma once
// A thin, safe wrapper around vectorscan: many patterns compiled into one database, scanned in a
// single pass. A Database is immutable and shared across threads; a Scratch belongs to one thread.
//
// vectorscan picks its scan code by processor at run time. Debian 12's libvectorscan5 5.4.9 misses
// matches that end in the last bytes of a buffer longer than about 64 bytes when it runs its
// AVX-512 code (multi-literal and some regex engines; tests/match/vectorscan_tail_test.cc
// documents it on the machine it runs on). So before the first database is compiled, a self-test
// scans known cases with the library's own choice; when that misses any, every database is
// compiled for and scanned with the best variant of the library's code that passes the same test
// (a fat-runtime build carries avx2, corei7 and core2), and when none passes the program refuses
// to run. Engine() says which one this process uses and why.

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

// What a scan path did on the self-test's known cases: how many matches it should have reported
// and how many it missed (or reported at the wrong offset).
struct SelfTestResult {
  size_t cases = 0;
  size_t missed = 0;
};

// The scan path of this process.
struct ScanEngine {
  std::string name;       // "native" (the library's own choice) or a variant ("avx2", ...)
  std::string reason;     // why this one, in a sentence for logs and `bulwark version`
  SelfTestResult native;  // what the library's own choice did on the self-test
  bool safe = true;       // false only when "native" was forced although it failed the test
};

// The scan path, chosen on the first call (thread-safe; later calls return the same object).
// Throws std::runtime_error when neither the library's own choice nor any variant passes the
// self-test: scanning would miss matches silently, so the program must not start.
const ScanEngine& Engine();

// Chooses the scan path by name before the first database is compiled: "auto" (the default: the
// self-test decides), "native" (the library's own choice even when it fails the self-test, for
// measuring what the workaround costs; Engine().safe tells) or a variant ("avx2", "corei7",
// "core2"). Fails for an empty or unknown name, a variant this build of the library lacks, a
// variant that fails the self-test, or when the path has been chosen already.
Result<void> SelectEngine(std::string_view name);

// Runs the self-test with the scan path `name` ("native" or a variant) and returns what it
// found. Fails when the library has no such variant. For tests and diagnostics; thread-safe.
Result<SelfTestResult> SelfTest(std::string_view name);

// Escapes `text` so that it matches literally inside a vectorscan/PCRE regex.
std::string EscapeRegex(std::string_view text);

}  // namespace bulwark::match
