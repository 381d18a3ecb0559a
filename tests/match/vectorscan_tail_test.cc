// The vectorscan library this program is linked with, tested on the machine the test runs on.
//
// Debian 12's libvectorscan5 5.4.9 misses literal matches in the last bytes of buffers longer
// than about 64 bytes when it runs its AVX-512 code: a database of "passwd" and "shadow"
// (caseless) scanned over <n x> "passwd" <k more bytes>, n < 300, k < 10, misses about 1,300 of
// the 3,000 buffers on an AVX-512 processor and none under valgrind (which hides AVX-512). The
// first test repeats that reproduction with the library's own hs_scan and prints what it finds;
// the others prove that bulwark::match scans correctly whatever the library does here.

#include <gtest/gtest.h>
#include <hs/hs.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bulwark/match/database.h"

namespace bulwark::match {
namespace {

// Counts buffers <n x> "passwd" <k y> (n < 300, k < 10) in which `scan` finds no match of
// pattern 0 ending right after "passwd".
template <typename ScanOne>
size_t CountMisses(ScanOne scan) {
  size_t missed = 0;
  std::string buffer;
  for (size_t n = 0; n < 300; ++n) {
    for (size_t k = 0; k < 10; ++k) {
      buffer.assign(n, 'x');
      buffer += "passwd";
      buffer.append(k, 'y');
      if (!scan(buffer, n + 6)) ++missed;
    }
  }
  return missed;
}

struct Seen {
  unsigned long long to;
  bool seen = false;
};

int OnNativeMatch(unsigned int id, unsigned long long, unsigned long long to, unsigned int,
                  void* context) {
  auto* seen = static_cast<Seen*>(context);
  if (id == 0 && to == seen->to) seen->seen = true;
  return 0;
}

// The reproduction from the bug report, straight against the library (no bulwark code).
TEST(VectorscanLibrary, NativeScanOnThisProcessor) {
  const char* expressions[] = {"passwd", "shadow"};
  unsigned flags[] = {HS_FLAG_CASELESS, HS_FLAG_CASELESS};
  unsigned ids[] = {0, 1};
  size_t lengths[] = {6, 6};
  hs_database_t* database = nullptr;
  hs_compile_error_t* error = nullptr;
  ASSERT_EQ(hs_compile_lit_multi(expressions, flags, ids, lengths, 2, HS_MODE_BLOCK, nullptr,
                                 &database, &error),
            HS_SUCCESS);
  hs_scratch_t* scratch = nullptr;
  ASSERT_EQ(hs_alloc_scratch(database, &scratch), HS_SUCCESS);
  size_t missed = CountMisses([&](const std::string& buffer, unsigned long long to) {
    Seen seen{to};
    hs_scan(database, buffer.data(), static_cast<unsigned>(buffer.size()), 0, scratch,
            OnNativeMatch, &seen);
    return seen.seen;
  });
  hs_free_scratch(scratch);
  hs_free_database(database);
  std::printf("libvectorscan %s, its own scan code: missed %zu of 3000 buffers\n", hs_version(),
              missed);
  RecordProperty("native_missed", static_cast<int>(missed));
  // Whatever the library does, bulwark must know it: its self-test sees the same misses and
  // then scans with other code.
  auto native = SelfTest("native");
  ASSERT_TRUE(native.has_value());
  if (missed > 0) {
    EXPECT_GT(native->missed, 0u);
    EXPECT_NE(Engine().name, "native") << Engine().reason;
  }
  std::printf("bulwark scans with: %s (%s)\n", Engine().name.c_str(), Engine().reason.c_str());
}

// The same buffers through bulwark::match, for the database shapes the library builds different
// engines for, at every length up to 4,096 bytes around the match.
TEST(MatchScan, FindsMatchesAtTheEndOfLongBuffers) {
  std::vector<std::string> many = {"passwd"};
  for (int i = 0; i < 200; ++i) {
    std::string word = std::to_string(1000 + i);
    word += 'q';
    many.push_back(std::move(word));
  }
  struct Shape {
    std::vector<std::string> patterns;
    unsigned flags;
    bool literal;
  };
  const std::vector<Shape> shapes = {
      {{"passwd"}, 0, true},
      {{"passwd", "shadow"}, kCaseless, true},
      {many, kCaseless, true},
      {{"passwd", ".vbs", ".wsf"}, 0, true},
      {{"pass[wW]d", "sh.dow"}, 0, false},
      {{"passwd", "shadow"}, kCaseless | kSingleMatch, false},
  };
  for (const Shape& shape : shapes) {
    std::vector<Pattern> patterns;
    for (size_t i = 0; i < shape.patterns.size(); ++i) {
      patterns.push_back(Pattern{shape.patterns[i], shape.flags, static_cast<unsigned>(i)});
    }
    auto database = Database::Compile(patterns, shape.literal);
    ASSERT_TRUE(database.has_value()) << database.error().message;
    Scratch scratch;
    ASSERT_TRUE(scratch.Prepare(**database).has_value());
    auto scan = [&](const std::string& buffer, unsigned long long to) {
      Seen seen{to};
      Scan(
          **database, scratch, buffer,
          [](unsigned id, unsigned long long end, void* context) {
            auto* s = static_cast<Seen*>(context);
            if (id == 0 && end == s->to) s->seen = true;
            return true;
          },
          &seen);
      return seen.seen;
    };
    EXPECT_EQ(CountMisses(scan), 0u)
        << shape.patterns[0] << " (" << shape.patterns.size() << " patterns)";
    std::string buffer;
    for (size_t n : {0,  1,   7,   8,   9,   15,  16,  17,  31,   32,   33,   63,  64,
                     65, 127, 128, 129, 255, 256, 257, 511, 1023, 2047, 4089, 4090}) {
      for (size_t k = 0; k < 70; ++k) {
        buffer.assign(n, 'a');
        buffer += "passwd";
        buffer.append(k, 'b');
        EXPECT_TRUE(scan(buffer, n + 6)) << "n=" << n << " k=" << k << " " << shape.patterns[0];
      }
    }
  }
}

TEST(MatchScan, SelfTestOfTheChosenEngineIsClean) {
  const ScanEngine& engine = Engine();
  auto result = SelfTest(engine.name);
  ASSERT_TRUE(result.has_value());
  EXPECT_GT(result->cases, 10000u);
  EXPECT_EQ(result->missed, 0u) << engine.name << ": " << engine.reason;
  EXPECT_TRUE(engine.safe);
}

TEST(MatchScan, UnknownEnginesAreRefused) {
  EXPECT_FALSE(SelfTest("avx1024").has_value());
  EXPECT_FALSE(SelectEngine("").has_value());
  EXPECT_FALSE(SelectEngine("fastest").has_value());
  (void)Engine();
  EXPECT_FALSE(SelectEngine("auto").has_value());  // chosen already
}

}  // namespace
}  // namespace bulwark::match
