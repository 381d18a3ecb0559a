#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <unordered_map>

#include "bulwark/core/csv.h"
#include "bulwark/core/digest.h"
#include "bulwark/core/env.h"
#include "bulwark/core/flat_table.h"
#include "bulwark/core/hash.h"
#include "bulwark/core/json_writer.h"
#include "bulwark/core/strings.h"
#include "bulwark/core/time.h"

namespace bulwark {
namespace {

TEST(Time, CivilRoundTrip) {
  CivilTime c{2026, 11, 26, 15, 30, 8, 123'000'000};
  TimeNs ns = ToUnixNs(c);
  EXPECT_EQ(FormatTimestamp(ns), "2026-11-26T15:30:08.123Z");
  CivilTime back = FromUnixNs(ns);
  EXPECT_EQ(back.year, 2026);
  EXPECT_EQ(back.day, 26);
  EXPECT_EQ(ToUnixNs(CivilTime{1970, 1, 1, 0, 0, 0, 0}), 0);
}

TEST(Time, ParseTimestampWithZones) {
  auto utc = ParseTimestamp("2026-11-26T15:30:08Z");
  auto plus = ParseTimestamp("2026-11-26T16:30:08.000000+01:00");
  ASSERT_TRUE(utc && plus);
  EXPECT_EQ(*utc, *plus);
  EXPECT_FALSE(ParseTimestamp("2026-13-26T15:30:08Z"));
  EXPECT_FALSE(ParseTimestamp("yesterday"));
  EXPECT_EQ(*ParseTimestamp("2026-11-26 15:30:08"), *utc);
}

// Years whose instants do not fit in 64-bit nanoseconds are refused, not wrapped (a date in the
// year 3000 in a finding used to overflow).
TEST(Time, YearsOutsideTheRangeAreRefused) {
  EXPECT_FALSE(ParseTimestamp("3000-01-01T00:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("9999-12-31T23:59:59-23:59"));
  EXPECT_FALSE(ParseTimestamp("0001-01-01T00:00:00Z"));
  EXPECT_FALSE(ParseLogTimestamp("01/Jan/9999:00:00:00 +0000"));
  EXPECT_FALSE(ParseLogTimestamp("9999/01/01 00:00:00"));
  EXPECT_FALSE(ParseLogTimestamp("Fri Jan 01 00:00:00.5 9999"));
  auto last = ParseTimestamp("2261-12-31T23:59:59.999999999-23:59");
  auto first = ParseTimestamp("1678-01-01T00:00:00+23:59");
  ASSERT_TRUE(last && first);
  EXPECT_EQ(FromUnixNs(*last).year, 2262);
  EXPECT_EQ(FromUnixNs(*first).year, 1677);
  EXPECT_EQ(ToUnixNs(CivilTime{9999, 1, 1, 0, 0, 0, 0}), std::numeric_limits<TimeNs>::max());
  EXPECT_EQ(ToUnixNs(CivilTime{1, 1, 1, 0, 0, 0, 0}), std::numeric_limits<TimeNs>::min());
}

TEST(Time, CommonLogFormat) {
  EXPECT_EQ(FormatTimestamp(*ParseLogTimestamp("26/Nov/2026:10:00:00 +0100")),
            "2026-11-26T09:00:00.000Z");
  EXPECT_EQ(FormatTimestamp(*ParseLogTimestamp("2026-11-26T10:00:00Z")),
            "2026-11-26T10:00:00.000Z");
  EXPECT_FALSE(ParseLogTimestamp("26/Foo/2026:10:00:00 +0100"));
  // Apache httpd's and nginx's error logs (the server's zone, taken as UTC).
  EXPECT_EQ(FormatTimestamp(*ParseLogTimestamp("Thu Nov 26 10:00:00.123456 2026")),
            "2026-11-26T10:00:00.123Z");
  EXPECT_EQ(FormatTimestamp(*ParseLogTimestamp("Sat Jun  1 02:17:42 2013")),
            "2013-06-01T02:17:42.000Z");
  EXPECT_EQ(FormatTimestamp(*ParseLogTimestamp("2012/04/09 11:53:29")), "2012-04-09T11:53:29.000Z");
  EXPECT_FALSE(ParseLogTimestamp("Thu Nov 26 25:00:00 2026"));
  EXPECT_FALSE(ParseLogTimestamp("Thu Xyz 26 10:00:00 2026"));
  EXPECT_FALSE(ParseLogTimestamp("2012/13/09 11:53:29"));
}

TEST(Time, ZoneAndTimespan) {
  EXPECT_EQ(ParseZoneOffset("+01:00"), 3600);
  EXPECT_EQ(ParseZoneOffset("-0530"), -19800);
  EXPECT_EQ(ParseZoneOffset("UTC"), 0);
  EXPECT_FALSE(ParseZoneOffset("CET"));
  EXPECT_EQ(ParseTimespan("5m"), 300 * kNsPerSecond);
  EXPECT_EQ(ParseTimespan("2d"), 2 * 86400 * kNsPerSecond);
  EXPECT_FALSE(ParseTimespan("5x"));
  EXPECT_FALSE(ParseTimespan("m"));
}

TEST(Strings, Utf8Repair) {
  EXPECT_TRUE(IsValidUtf8("grüße"));
  EXPECT_FALSE(IsValidUtf8("\xff\xfe"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));  // overlong
  EXPECT_EQ(SanitizeUtf8("a\xffz"), "a\xEF\xBF\xBDz");
  EXPECT_EQ(SanitizeUtf8(std::string("a\0b", 3)),
            "a\xE2\x90\x80"
            "b");
}

// The ASCII fast path reads 32 and 8 bytes at a time and the last 8 bytes as one word: a bad
// or a multi-byte character is found at every position of every length around those sizes.
TEST(Strings, Utf8AtEveryPosition) {
  for (size_t length = 1; length <= 80; ++length) {
    std::string ascii(length, 'a');
    EXPECT_TRUE(IsValidUtf8(ascii)) << length;
    for (size_t at = 0; at < length; ++at) {
      std::string bad = ascii;
      bad[at] = '\xff';
      EXPECT_FALSE(IsValidUtf8(bad)) << length << " " << at;
      std::string truncated = ascii;
      truncated[at] = '\xc3';  // a two-byte sequence cut short by an ASCII byte or the end
      EXPECT_FALSE(IsValidUtf8(truncated)) << length << " " << at;
      std::string good = ascii.substr(0, at) + "\xc3\xa9" + ascii.substr(at + 1);
      EXPECT_TRUE(IsValidUtf8(good)) << length << " " << at;
    }
  }
}

TEST(Strings, Numbers) {
  EXPECT_EQ(ParseInt("-42"), -42);
  EXPECT_EQ(ParseInt("+7"), 7);
  EXPECT_FALSE(ParseInt("4x"));
  EXPECT_FALSE(ParseInt("99999999999999999999"));
  EXPECT_DOUBLE_EQ(*ParseDouble("2.5"), 2.5);
}

TEST(JsonWriter, EscapesAndNests) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  json.Key("a\"b");
  json.String("line\nnext\x01");
  json.Key("list");
  json.BeginArray();
  json.Int(1);
  json.Bool(false);
  json.Null();
  json.EndArray();
  json.EndObject();
  EXPECT_EQ(out, R"({"a\"b":"line\nnext\u0001","list":[1,false,null]})");
}

TEST(Digest, KnownVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HexEncode(std::string("\x00\xff", 2)), "00ff");
}

TEST(Env, SecretFilesLoseTheirSurroundingWhiteSpace) {
  auto path =
      std::filesystem::temp_directory_path() / ("bulwark-secret-" + std::to_string(::getpid()));
  std::ofstream(path) << "  s3cret value\n";
  auto secret = Env::Default().ReadSecretFile(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(secret) << secret.error().ToString();
  EXPECT_EQ(*secret, "s3cret value");
  auto missing = Env::Default().ReadSecretFile(path.string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().ToString().find(path.string()), std::string::npos);
}

TEST(FastHash, EveryByteAndLengthCounts) {
  // Strings of every length up to 40 bytes (all tail cases: 0, 1-3, 4-7, 8 and more), each also
  // with one byte changed at every position, must all hash differently.
  std::set<uint64_t> seen;
  size_t made = 0;
  for (size_t length = 0; length <= 40; ++length) {
    std::string text(length, 'a');
    seen.insert(FastHash(text));
    ++made;
    for (size_t i = 0; i < length; ++i) {
      std::string changed = text;
      changed[i] = 'b';
      seen.insert(FastHash(changed));
      ++made;
    }
  }
  EXPECT_EQ(seen.size(), made);
  EXPECT_NE(FastHash("sshd", 1), FastHash("sshd", 2));  // the seed counts
  EXPECT_EQ(FastHash(std::string("bastion")), FastHash(std::string_view("bastion")));
}

TEST(FastHash, FindsStringKeysByView) {
  std::unordered_map<std::string, int, FastStringHash, std::equal_to<>> map{{"root", 1}};
  std::string_view key = "root";
  ASSERT_NE(map.find(key), map.end());
  EXPECT_EQ(map.find(key)->second, 1);
}

TEST(FlatTable, KeepsEveryEntryAcrossGrowthAndErasure) {
  FlatTable<uint32_t> table;
  auto key_of = [](uint32_t i) { return FastHash(std::to_string(i)); };
  constexpr uint32_t kCount = 100000;  // many growths from 64 slots
  for (uint32_t i = 0; i < kCount; ++i) {
    bool inserted = false;
    table.FindOrInsert(key_of(i), inserted) = i;
    ASSERT_TRUE(inserted);
  }
  EXPECT_EQ(table.size(), kCount);
  EXPECT_GE(table.capacity() * 7, table.size() * 8 - 8);  // grown at 7/8 load
  for (uint32_t i = 0; i < kCount; ++i) {
    uint32_t* value = table.Find(key_of(i));
    ASSERT_NE(value, nullptr) << i;
    EXPECT_EQ(*value, i);
  }
  // Erase the odd ones one by one and a third of the rest by predicate; the others stay.
  for (uint32_t i = 1; i < kCount; i += 2) table.Erase(key_of(i));
  EXPECT_EQ(table.EraseIf([](uint32_t v) { return v % 3 == 0; }), (kCount / 2 + 2) / 3);
  for (uint32_t i = 0; i < kCount; ++i) {
    bool kept = i % 2 == 0 && i % 3 != 0;
    EXPECT_EQ(table.Find(key_of(i)) != nullptr, kept) << i;
  }
  size_t before = table.size();
  uint32_t evicted = UINT32_MAX;
  table.EvictOne(12345, [&](uint32_t& v) { evicted = v; });
  EXPECT_EQ(table.size(), before - 1);
  EXPECT_EQ(table.Find(key_of(evicted)), nullptr);
}

}  // namespace
// Every JSON written is valid: bytes that are not UTF-8 come out as U+FFFD.
TEST(Json, InvalidUtf8IsWrittenRepaired) {
  std::string out;
  AppendJsonString(out, std::string("ok \xff\xfe \xc3 end \xc3\xa9", 14));
  EXPECT_TRUE(IsValidUtf8(out));
  EXPECT_EQ(out, "\"ok \xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD end \xC3\xA9\"");
  std::string valid;
  AppendJsonString(valid, "caf\xC3\xA9 \"q\"\n");
  EXPECT_EQ(valid, "\"caf\xC3\xA9 \\\"q\\\"\\n\"");
}

// A text read in chunks reads as the same text in memory, wherever the chunks end: inside quoted
// fields, between \r and \n, inside doubled quotes, inside the byte order mark.
TEST(Csv, ChunksReadAsTheWholeText) {
  const std::vector<std::string> texts = {
      "\xEF\xBB\xBF"
      "a,b,c\r\n1,\"x, y\",3\r\n\r\n4,\"say \"\"hi\"\"\",6\n",
      "h1;h2\n\"multi\nline\";2\n\"open quote;3",
      "\n\n\nonly,one\rrow,two\r\n",
      "",
      "x\"y,\"\",z\n",
  };
  for (const std::string& text : texts) {
    char separator = text.find(';') != std::string::npos ? ';' : ',';
    for (size_t piece = 1; piece <= 8; ++piece) {
      size_t at = 0;
      CsvReader chunked(
          [&](char* buffer, size_t capacity) -> Result<size_t> {
            size_t n = std::min({piece, capacity, text.size() - at});
            std::memcpy(buffer, text.data() + at, n);
            at += n;
            return n;
          },
          separator);
      CsvReader whole(text, separator);
      std::vector<std::string> a, b;
      while (true) {
        bool more = whole.Next(a);
        ASSERT_EQ(chunked.Next(b), more) << text << " in pieces of " << piece;
        if (!more) break;
        EXPECT_EQ(a, b) << text << " in pieces of " << piece;
        EXPECT_EQ(whole.line(), chunked.line());
        EXPECT_EQ(whole.unterminated(), chunked.unterminated());
      }
      EXPECT_TRUE(chunked.error().empty());
    }
  }
}

// A source that fails stops the reader with its reason.
TEST(Csv, AFailingSourceIsReported) {
  int calls = 0;
  CsvReader reader([&](char* buffer, size_t) -> Result<size_t> {
    if (++calls > 1) return Fail("entry damaged");
    std::memcpy(buffer, "a,b\nc", 6);
    return size_t{6};
  });
  std::vector<std::string> fields;
  EXPECT_TRUE(reader.Next(fields));
  EXPECT_EQ(fields, (std::vector<std::string>{"a", "b"}));
  reader.Next(fields);
  EXPECT_FALSE(reader.Next(fields));
  EXPECT_EQ(reader.error(), "entry damaged");
}

}  // namespace bulwark

namespace bulwark {
namespace {

// The escaper appends runs of plain characters whole: against a character-by-character reference
// on random text of every kind of byte (valid UTF-8 only: invalid text is repaired first).
TEST(JsonString, AgreesWithAPlainEscaperOnRandomText) {
  auto reference = [](std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
      auto u = static_cast<unsigned char>(c);
      if (c == '"') {
        out += "\\\"";
      } else if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (u < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", u);
        out += escaped;
      } else {
        out.push_back(c);
      }
    }
    return out + "\"";
  };
  std::mt19937 random(11);
  const std::string pieces[] = {"a",  "Z",    " ",    "\"",   "\\",       "\n",           "\r",
                                "\t", "\x01", "\x1f", "\x7f", "\xc3\xa4", "\xe2\x82\xac", "/",
                                "{"};
  for (int round = 0; round < 5000; ++round) {
    std::string text;
    size_t length = random() % 40;
    for (size_t i = 0; i < length; ++i) text += pieces[random() % std::size(pieces)];
    std::string got;
    AppendJsonString(got, text);
    ASSERT_EQ(got, reference(text)) << round;
  }
}

}  // namespace
}  // namespace bulwark
