#include "bulwark/match/database.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <hs/hs.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

namespace bulwark::match {

namespace {

using ScanFunction = hs_error_t (*)(const hs_database_t*, const char*, unsigned int, unsigned int,
                                    hs_scratch_t*, match_event_handler, void*);

// A way to scan: the library's dispatching hs_scan, or one of its per-processor variants, with
// the platform its databases are compiled for (null: the host's).
struct ScanPath {
  std::string name;
  ScanFunction scan = nullptr;
  hs_platform_info_t platform{};
  bool host_platform = true;
  const hs_platform_info_t* compile_platform() const { return host_platform ? nullptr : &platform; }
};

// Variants of a fat-runtime build, best first, with the processor features they use.
struct Variant {
  const char* name;
  unsigned long long features;
};
// The SSE code comes first: the differential tests found the AVX2 code missing matches at the end
// of short buffers too (tests/match/vectorscan_tail_test.cc), never the SSE4.2 code.
constexpr Variant kVariants[] = {
    {"corei7", 0},
    {"core2", 0},
    {"avx2", HS_CPU_FEATURES_AVX2},
};

Result<ScanPath> FindPath(std::string_view name) {
  ScanPath path;
  path.name = std::string(name);
  if (name == "native") {
    path.scan = &hs_scan;
    return path;
  }
  for (const Variant& variant : kVariants) {
    if (name != variant.name) continue;
    std::string symbol = fmt::format("{}_hs_scan", variant.name);
    void* address = dlsym(RTLD_DEFAULT, symbol.c_str());
    if (!address) {
      return Fail(fmt::format("this build of vectorscan has no '{}' scan code", variant.name));
    }
    path.scan = reinterpret_cast<ScanFunction>(address);
    if (hs_populate_platform(&path.platform) != HS_SUCCESS) {
      return Fail("vectorscan cannot describe this processor");
    }
    path.platform.cpu_features &= variant.features;
    path.host_platform = false;
    return path;
  }
  return Fail(fmt::format("unknown scan engine '{}' (auto, native, avx2, corei7, core2)", name));
}

hs_database_t* CompileRaw(const std::vector<Pattern>& patterns, bool literal,
                          const hs_platform_info_t* platform, CompileError* failure) {
  std::vector<const char*> expressions;
  std::vector<size_t> lengths;
  std::vector<unsigned> flags;
  std::vector<unsigned> ids;
  for (const Pattern& pattern : patterns) {
    expressions.push_back(pattern.expression.c_str());
    lengths.push_back(pattern.expression.size());
    flags.push_back(pattern.flags);
    ids.push_back(pattern.id);
  }
  hs_database_t* database = nullptr;
  hs_compile_error_t* error = nullptr;
  hs_error_t status;
  auto count = static_cast<unsigned>(patterns.size());
  if (literal) {
    status = hs_compile_lit_multi(expressions.data(), flags.data(), ids.data(), lengths.data(),
                                  count, HS_MODE_BLOCK, platform, &database, &error);
  } else {
    status = hs_compile_multi(expressions.data(), flags.data(), ids.data(), count, HS_MODE_BLOCK,
                              platform, &database, &error);
  }
  if (status != HS_SUCCESS) {
    if (failure) {
      *failure = CompileError{error ? error->expression : -1,
                              error && error->message ? error->message : "compile failed"};
    }
    hs_free_compile_error(error);
    return nullptr;
  }
  return database;
}

// Scans `text` with `database` and tells whether pattern `id` was reported ending at `end`; false
// also when the scan fails.
bool Finds(const ScanPath& path, hs_database_t* database, hs_scratch_t* scratch,
           std::string_view text, unsigned id, unsigned long long end) {
  struct Expect {
    unsigned id;
    unsigned long long end;
    bool seen;
  } expect{id, end, false};
  auto on_match = [](unsigned int match_id, unsigned long long, unsigned long long to, unsigned int,
                     void* context) -> int {
    auto* e = static_cast<Expect*>(context);
    if (match_id == e->id && to == e->end) e->seen = true;
    return 0;
  };
  hs_error_t status = path.scan(database, text.data(), static_cast<unsigned>(text.size()), 0,
                                scratch, on_match, &expect);
  return status == HS_SUCCESS && expect.seen;
}

// The self-test. Two kinds of cases:
// - databases of the shapes the library builds different engines for (one literal, a few, many;
//   regexes with and without classes), each scanned over `x`*n "passwd" `y`*k for n < 300 and
//   k < 10; each buffer holds one "passwd" ending at n + 6, which pattern 0 must report there.
//   Debian 12's libvectorscan5 on an AVX-512 processor misses about 40 % of them;
// - regex databases and short texts on which the differential tests (tests/detect/
//   differential_test.cc) found the library's AVX2 and AVX-512 code missing a match that ends at
//   the end of the text.
SelfTestResult RunSelfTest(const ScanPath& path) {
  std::vector<std::string> many = {"passwd"};
  for (int i = 0; i < 119; ++i) many.push_back(fmt::format("w{:03}q", i));
  struct Shape {
    std::vector<std::string> patterns;  // the first one finds "passwd"
    unsigned flags;
    bool literal;
  };
  const std::vector<Shape> shapes = {
      {{"passwd"}, 0, true},
      {{"passwd", "shadow"}, kCaseless, true},
      {{"passwd", "shadow"}, 0, true},
      {many, 0, true},
      {many, kCaseless, true},
      {{"passwd", "shadow"}, kCaseless | kSingleMatch, false},
      {{"pass[wW]d", "sh.dow"}, 0, false},
      {{"(?:xx)?passw(?:or)?d", "sh[a-z]dow"}, 0, false},
  };
  struct Fixed {
    std::vector<std::string> patterns;
    std::string text;
    unsigned id;  // the pattern that must be reported at the end of the text
  };
  const std::vector<Fixed> fixed = {
      {{"Admin", "(C\\:\\\\Windows\\\\|zz+)", "a\\.b\\s*$"},
       "a\xC3\xA9"
       "a\xC3\xA9"
       "a\n_.y_ \xC3\xA9 AyZ\xF0\x9F\x98\x80"
       "a.b",
       2},
      {{"a\\.b\\s*$", "\\x2fc"}, "passwdwhoamipasswd-encwho/c", 1},
      {{"sh[a-z]dow", "^x+y", "\\x2fc"}, "x-encxwhoamiwho\nC:\\Windows\\a.b/c", 2},
      {{"a\\.b\\s*$", "Admin", "passwd", "\\x2fc"}, "1.vbsbar\nxwhoami/c", 3},
      {{"[0-9]+\\.vbs$", "who(ami)?"}, "yy/c\npasswdpasswdwho", 1},
      {{"-enc", "[0-9]+\\.vbs$", "who(ami)?"}, "shadowAdminpasswd_who", 2},
      {{"\\x2fc", "a\\.b\\s*$", "^x+y"}, "\n\xC3\xA9-enc_whoami-ency1.vbspasswd/c", 0},
  };
  SelfTestResult result;
  auto run = [&](const std::vector<std::string>& expressions, unsigned flags, bool literal,
                 auto&& scan_all) {
    std::vector<Pattern> patterns;
    for (size_t i = 0; i < expressions.size(); ++i) {
      patterns.push_back(Pattern{expressions[i], flags, static_cast<unsigned>(i)});
    }
    hs_database_t* database = CompileRaw(patterns, literal, path.compile_platform(), nullptr);
    hs_scratch_t* scratch = nullptr;
    if (!database || hs_alloc_scratch(database, &scratch) != HS_SUCCESS) {
      hs_free_database(database);
      result.cases += 1;
      result.missed += 1;
      return;
    }
    scan_all(database, scratch);
    hs_free_scratch(scratch);
    hs_free_database(database);
  };
  std::string buffer;
  for (const Shape& shape : shapes) {
    run(shape.patterns, shape.flags, shape.literal,
        [&](hs_database_t* database, hs_scratch_t* scratch) {
          for (size_t n = 0; n < 300; ++n) {
            for (size_t k = 0; k < 10; ++k) {
              buffer.assign(n, 'x');
              buffer += "passwd";
              buffer.append(k, 'y');
              ++result.cases;
              if (!Finds(path, database, scratch, buffer, 0, n + 6)) {
                ++result.missed;
              }
            }
          }
        });
  }
  for (const Fixed& c : fixed) {
    run(c.patterns, kCaseless | kSingleMatch | kAllowEmpty, false,
        [&](hs_database_t* database, hs_scratch_t* scratch) {
          // The text as given, and copies at every offset of a 64-byte block: the library's
          // misses depend on where a buffer lies in memory.
          for (size_t offset = 0; offset < 64; ++offset) {
            buffer.assign(offset, '\0');
            buffer += c.text;
            std::string_view text = std::string_view(buffer).substr(offset);
            ++result.cases;
            if (!Finds(path, database, scratch, text, c.id, text.size())) {
              ++result.missed;
            }
          }
        });
  }
  return result;
}

std::mutex selection_mutex;
std::string requested_engine = "auto";  // guarded by selection_mutex until Current() runs
bool engine_chosen = false;             // guarded by selection_mutex

struct Selection {
  ScanPath path;
  ScanEngine engine;
};

Selection Choose() {
  std::string requested;
  {
    std::lock_guard lock(selection_mutex);
    requested = requested_engine;
    engine_chosen = true;
  }
  Selection selection;
  auto native_path = FindPath("native");
  selection.engine.native = RunSelfTest(*native_path);
  const SelfTestResult& native = selection.engine.native;
  if (requested == "native") {
    selection.path = *native_path;
    selection.engine.name = "native";
    selection.engine.safe = native.missed == 0;
    selection.engine.reason = native.missed == 0
                                  ? "chosen by name; passed the self-test"
                                  : fmt::format(
                                        "chosen by name although it missed {} of {} self-test "
                                        "matches: results may miss matches",
                                        native.missed, native.cases);
    return selection;
  }
  if (requested == "auto" && native.missed == 0) {
    selection.path = *native_path;
    selection.engine.name = "native";
    selection.engine.reason =
        fmt::format("vectorscan's own choice passed the self-test ({} cases)", native.cases);
    return selection;
  }
  std::string tried;
  for (const Variant& variant : kVariants) {
    if (requested != "auto" && requested != variant.name) continue;
    auto path = FindPath(variant.name);
    if (!path) {
      tried += fmt::format("; {}: not in this build", variant.name);
      continue;
    }
    SelfTestResult result = RunSelfTest(*path);
    if (result.missed != 0) {
      tried += fmt::format("; {}: missed {} of {}", variant.name, result.missed, result.cases);
      continue;
    }
    selection.path = std::move(*path);
    selection.engine.name = variant.name;
    selection.engine.reason =
        requested != "auto"
            ? fmt::format("chosen by name; passed the self-test ({} cases)", result.cases)
            : fmt::format(
                  "vectorscan's own choice missed {} of {} self-test matches on this "
                  "processor; its {} code passed all",
                  native.missed, native.cases, variant.name);
    return selection;
  }
  throw std::runtime_error(fmt::format(
      "vectorscan misses matches on this processor (its own choice missed {} of {} self-test "
      "matches{}) and no scan path passes; refusing to run rather than miss detections",
      native.missed, native.cases, tried));
}

const Selection& Current() {
  static const Selection selection = Choose();
  return selection;
}

}  // namespace

const ScanEngine& Engine() {
  return Current().engine;
}

Result<void> SelectEngine(std::string_view name) {
  if (name != "auto") {
    auto path = FindPath(name);
    if (!path) return tl::unexpected(path.error());
    if (name != "native") {
      SelfTestResult result = RunSelfTest(*path);
      if (result.missed != 0) {
        return Fail(fmt::format("scan engine '{}' missed {} of {} self-test matches", name,
                                result.missed, result.cases));
      }
    }
  }
  std::lock_guard lock(selection_mutex);
  if (engine_chosen) return Fail("the scan engine has been chosen already");
  requested_engine = std::string(name);
  return {};
}

Result<SelfTestResult> SelfTest(std::string_view name) {
  auto path = FindPath(name);
  if (!path) return tl::unexpected(path.error());
  return RunSelfTest(*path);
}

Database::~Database() {
  hs_free_database(database_);
}

tl::expected<std::shared_ptr<const Database>, CompileError> Database::Compile(
    const std::vector<Pattern>& patterns, bool literal) {
  if (patterns.empty()) return tl::unexpected(CompileError{-1, "no patterns"});
  CompileError failure;
  hs_database_t* database =
      CompileRaw(patterns, literal, Current().path.compile_platform(), &failure);
  if (!database) return tl::unexpected(std::move(failure));
  return std::shared_ptr<const Database>(new Database(database));
}

Scratch::~Scratch() {
  hs_free_scratch(scratch_);
}

Result<void> Scratch::Prepare(const Database& database) {
  if (hs_alloc_scratch(database.raw(), &scratch_) != HS_SUCCESS) {
    return Fail("cannot allocate vectorscan scratch space");
  }
  return {};
}

namespace {
struct Trampoline {
  MatchHandler handler;
  void* context;
};

int OnMatch(unsigned int id, unsigned long long, unsigned long long to, unsigned int,
            void* context) {
  auto* trampoline = static_cast<Trampoline*>(context);
  return trampoline->handler(id, to, trampoline->context) ? 0 : 1;
}
}  // namespace

void Scan(const Database& database, Scratch& scratch, std::string_view text, MatchHandler handler,
          void* context) {
  Trampoline trampoline{handler, context};
  Current().path.scan(database.raw(), text.data(), static_cast<unsigned>(text.size()), 0,
                      scratch.raw(), OnMatch, &trampoline);
}

std::string EscapeRegex(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() * 2);
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == ' ' || u >= 0x80) {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace bulwark::match
