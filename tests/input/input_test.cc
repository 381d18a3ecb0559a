#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "../support/memory_env.h"
#include "bulwark/input/line_reader.h"
#include "bulwark/input/parser.h"

namespace bulwark::input {
namespace {

namespace fid = event::fid;

ParseOptions Options(int year = 2026) {
  ParseOptions options;
  options.year = year;
  options.reference_time = ToUnixNs(CivilTime{2026, 11, 26, 12, 0, 0, 0});
  return options;
}

struct Parsed {
  event::Event event;
  Reject reject;
  Repairs repairs;
};

Parsed Parse(LineParser& parser, std::string_view line) {
  Parsed p;
  p.reject = parser.Parse(line, p.event, p.repairs);
  return p;
}

std::string Get(const event::Event& e, event::FieldId id) {
  auto v = e.Get(id);
  return v ? std::string(*v) : "<absent>";
}

TEST(Syslog, Rfc3164DebianDefault) {
  LineParser parser(Options());
  auto p = Parse(parser, "Nov 26 10:00:01 web1 sshd[4242]: Failed password for root from 1.2.3.4");
  ASSERT_EQ(p.reject, Reject::kNone);
  EXPECT_EQ(Get(p.event, fid::kHostName), "web1");
  EXPECT_EQ(Get(p.event, fid::kProcessName), "sshd");
  EXPECT_EQ(Get(p.event, fid::kProcessPid), "4242");
  EXPECT_EQ(Get(p.event, fid::kMessage), "Failed password for root from 1.2.3.4");
  EXPECT_EQ(FormatTimestamp(p.event.timestamp()), "2026-11-26T10:00:01.000Z");
}

TEST(Syslog, WithoutHostnameAndWithPri) {
  LineParser parser(Options());
  auto p = Parse(parser, "<38>Jan  5 01:31:41 sshd[1643]: ROOT LOGIN REFUSED FROM 1.2.3.4");
  ASSERT_EQ(p.reject, Reject::kNone);
  EXPECT_EQ(Get(p.event, fid::kHostName), "<absent>");
  EXPECT_EQ(Get(p.event, fid::kProcessName), "sshd");
  EXPECT_EQ(Get(p.event, fid::kLogSyslogFacilityCode), "4");
  EXPECT_EQ(Get(p.event, fid::kLogSyslogSeverityCode), "6");
}

TEST(Syslog, HighPrecisionIso8601) {
  LineParser parser(Options());
  auto p = Parse(parser,
                 "2026-11-26T10:00:01.123456+01:00 web1 sudo: alice : TTY=pts/0 ; COMMAND=/bin/sh");
  ASSERT_EQ(p.reject, Reject::kNone);
  EXPECT_EQ(FormatTimestamp(p.event.timestamp()), "2026-11-26T09:00:01.123Z");
  EXPECT_EQ(Get(p.event, fid::kProcessName), "sudo");
  EXPECT_EQ(Get(p.event, fid::kMessage), "alice : TTY=pts/0 ; COMMAND=/bin/sh");
}

TEST(Syslog, ConfiguredZoneAppliesToZonelessTimes) {
  ParseOptions options = Options();
  options.zone_offset_seconds = 3600;
  LineParser parser(options);
  auto p = Parse(parser, "Nov 26 10:00:01 web1 sshd[1]: x");
  EXPECT_EQ(FormatTimestamp(p.event.timestamp()), "2026-11-26T09:00:01.000Z");
}

TEST(Syslog, YearRollsOverAtNewYear) {
  LineParser parser(Options(2025));
  auto dec = Parse(parser, "Dec 31 23:59:59 h cron[1]: a");
  auto jan = Parse(parser, "Jan  1 00:00:01 h cron[1]: b");
  EXPECT_EQ(FormatTimestamp(dec.event.timestamp()), "2025-12-31T23:59:59.000Z");
  EXPECT_EQ(FormatTimestamp(jan.event.timestamp()), "2026-01-01T00:00:01.000Z");
}

TEST(Syslog, InferredYearIsNotInTheFuture) {
  ParseOptions options = Options(0);  // reference: 2026-11-26
  LineParser parser(options);
  auto p = Parse(parser, "Dec 30 10:00:00 h x[1]: y");
  EXPECT_EQ(FromUnixNs(p.event.timestamp()).year, 2025);
}

TEST(Syslog, Rfc5424WithStructuredDataAndBom) {
  LineParser parser(Options());
  auto p = Parse(parser,
                 "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                 "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] \xEF\xBB\xBF"
                 "An application event");
  ASSERT_EQ(p.reject, Reject::kNone);
  EXPECT_EQ(Get(p.event, fid::kHostName), "mymachine.example.com");
  EXPECT_EQ(Get(p.event, fid::kProcessName), "evntslog");
  EXPECT_EQ(Get(p.event, fid::kLogSyslogMsgid), "ID47");
  EXPECT_EQ(Get(p.event, event::InternField("log.syslog.structured_data.exampleSDID@32473.iut")),
            "3");
  EXPECT_EQ(Get(p.event, fid::kMessage), "An application event");
  EXPECT_EQ(FormatTimestamp(p.event.timestamp()), "2003-10-11T22:14:15.003Z");
}

TEST(Syslog, StrictFormatRejectsNonSyslog) {
  ParseOptions options = Options();
  options.format = Format::kSyslog;
  LineParser parser(options);
  EXPECT_EQ(Parse(parser, "just some words").reject, Reject::kBadSyslog);
  EXPECT_EQ(Parse(parser, "   ").reject, Reject::kEmpty);
}

TEST(Auto, PlainLinesBecomeMessages) {
  LineParser parser(Options());
  auto p = Parse(parser, "203.0.113.5 - - [26/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 404 1");
  ASSERT_EQ(p.reject, Reject::kNone);
  EXPECT_EQ(Get(p.event, fid::kMessage),
            "203.0.113.5 - - [26/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 404 1");
}

TEST(Auto, Ipv6AtLineStartIsNoSyslogTag) {
  LineParser parser(Options());
  auto p = Parse(parser, "2001:db8::9 - - [26/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1");
  ASSERT_EQ(p.reject, Reject::kNone);
  EXPECT_FALSE(p.event.Has(fid::kProcessName));
  EXPECT_EQ(Get(p.event, fid::kMessage).substr(0, 11), "2001:db8::9");
}

TEST(Json, FlattensNestedObjectsAndArrays) {
  LineParser parser(Options());
  auto p = Parse(
      parser,
      R"({"Event":{"EventData":{"Image":"C:\\x.exe"}},"tags":["a","b"],"n":5,"ok":true,"none":null,"source":{"ip":"::ffff:1.2.3.4"}})");
  ASSERT_EQ(p.reject, Reject::kNone);
  EXPECT_EQ(Get(p.event, event::InternField("Event.EventData.Image")), "C:\\x.exe");
  EXPECT_EQ(Get(p.event, event::InternField("n")), "5");
  EXPECT_EQ(Get(p.event, event::InternField("ok")), "true");
  EXPECT_EQ(Get(p.event, fid::kSourceIp), "1.2.3.4");
  EXPECT_FALSE(p.event.Has(event::InternField("none")));
  int tags = 0;
  for (size_t i = 0; i < p.event.size(); ++i) tags += p.event.NameAt(i) == "tags";
  EXPECT_EQ(tags, 2);
}

TEST(Json, JournalctlOutput) {
  LineParser parser(Options());
  auto p = Parse(
      parser,
      R"({"__REALTIME_TIMESTAMP":"1700000000123456","MESSAGE":"Accepted publickey for bob from 1.2.3.4 port 5 ssh2","_PID":"77","SYSLOG_IDENTIFIER":"sshd","_HOSTNAME":"h1"})");
  ASSERT_EQ(p.reject, Reject::kNone);
  EXPECT_EQ(Get(p.event, fid::kProcessName), "sshd");
  EXPECT_EQ(Get(p.event, fid::kProcessPid), "77");
  EXPECT_EQ(Get(p.event, fid::kHostName), "h1");
  EXPECT_EQ(p.event.timestamp(), 1700000000123456000);
}

TEST(Json, InvalidJsonIsRejected) {
  LineParser parser(Options());
  EXPECT_EQ(Parse(parser, "{\"a\": ").reject, Reject::kInvalidJson);
  EXPECT_EQ(Parse(parser, "{not json}").reject, Reject::kInvalidJson);
  // One object per line, nothing after it but blanks.
  EXPECT_EQ(Parse(parser, "{\"a\": 1} {\"b\": 2}").reject, Reject::kInvalidJson);
  EXPECT_EQ(Parse(parser, "{\"a\": 1} x").reject, Reject::kInvalidJson);
  EXPECT_EQ(Parse(parser, "{\"a\": 1}  ").reject, Reject::kNone);
}

TEST(Repairs, InvalidUtf8AndNul) {
  LineParser parser(Options());
  auto p = Parse(parser, std::string("Nov 26 10:00:01 h sshd[1]: bad \xff byte \0 nul", 44));
  ASSERT_EQ(p.reject, Reject::kNone);
  EXPECT_TRUE(p.repairs.invalid_utf8);
  EXPECT_TRUE(p.repairs.nul_bytes);
  EXPECT_NE(Get(p.event, fid::kMessage).find("\xEF\xBF\xBD"), std::string::npos);
}

TEST(LineReader, LongLinesAreCutAndReadingGoesOn) {
  std::string data = "first\n" + std::string(kMaxLineBytes + 100, 'x') + "\nlast\r\n";
  auto reader = LineReader::FromString(data);
  Line line;
  ASSERT_TRUE(reader->Next(line));
  EXPECT_EQ(line.text, "first");
  ASSERT_TRUE(reader->Next(line));
  EXPECT_TRUE(line.too_long);
  EXPECT_EQ(line.text.size(), kMaxLineBytes);
  ASSERT_TRUE(reader->Next(line));
  EXPECT_EQ(line.text, "last");
  EXPECT_EQ(line.number, 3u);
  EXPECT_FALSE(reader->Next(line));
}

std::string TempPath(const char* name) {
  return (std::filesystem::temp_directory_path() / name).string();
}

// Lines kept together with the storage they lie in stay valid across the reader's refills
// (lines cross the boundaries of its chunks; the last line has no newline), also after the
// reader is gone.
TEST(LineReader, KeptLinesOutliveRefills) {
  std::string path = TempPath("bulwark_input_test_chunks.log");
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i) + " of a file over 256 KiB\n";
  text += "last line without newline";
  { std::ofstream(path, std::ios::binary) << text; }
  std::vector<std::string_view> lines;
  std::vector<std::shared_ptr<const char[]>> kept;
  {
    auto reader = LineReader::Open(path, Env::Default());
    ASSERT_TRUE(reader);
    Line line;
    while ((*reader)->Next(line)) {
      lines.push_back(line.text);
      if (kept.empty() || kept.back() != (*reader)->storage()) kept.push_back((*reader)->storage());
    }
  }
  EXPECT_GT(kept.size(), 1u);
  ASSERT_EQ(lines.size(), 20001u);
  for (int i = 0; i < 20000; ++i) {
    ASSERT_EQ(lines[i], "line " + std::to_string(i) + " of a file over 256 KiB") << i;
  }
  EXPECT_EQ(lines.back(), "last line without newline");
  std::filesystem::remove(path);
}

TEST(LineReader, ReadsGzipAndReportsTruncation) {
  std::string path = TempPath("bulwark_input_test.gz");
  gzFile gz = gzopen(path.c_str(), "wb");
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "line " + std::to_string(i) + " with some padding text\n";
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  {
    auto reader = LineReader::Open(path, Env::Default());
    ASSERT_TRUE(reader);
    Line line;
    int count = 0;
    while ((*reader)->Next(line)) ++count;
    EXPECT_EQ(count, 5000);
    EXPECT_TRUE((*reader)->error().empty());
  }
  auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  {
    auto reader = LineReader::Open(path, Env::Default());
    ASSERT_TRUE(reader);
    Line line;
    int count = 0;
    while ((*reader)->Next(line)) ++count;
    EXPECT_GT(count, 0);
    EXPECT_LT(count, 5000);
    EXPECT_FALSE((*reader)->error().empty());
  }
  std::filesystem::remove(path);
  EXPECT_FALSE(LineReader::Open("/nonexistent/file.log", Env::Default()));
}

// Concatenated gzip members read as one text (as gzip -d does), a stream in memory through the
// Env like a file, and bytes after the last member that are not gzip are ignored.
TEST(LineReader, ReadsGzipMembersThroughTheEnv) {
  auto gzip = [](const std::string& text) {
    z_stream z{};
    deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, text.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
  };
  testing_support::MemoryEnv env;
  env.files["two.gz"] = gzip("first\nsec") + gzip("ond\nthird\n") + "trailing garbage";
  env.files["plain.log"] = "a\nb";
  std::vector<std::string> lines;
  for (const char* name : {"two.gz", "plain.log"}) {
    auto reader = LineReader::Open(name, env);
    ASSERT_TRUE(reader) << reader.error().ToString();
    Line line;
    while ((*reader)->Next(line)) lines.emplace_back(line.text);
    EXPECT_TRUE((*reader)->error().empty()) << (*reader)->error();
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"first", "second", "third", "a", "b"}));
  EXPECT_FALSE(LineReader::Open("missing.log", env));
  std::string many;
  for (int i = 0; i < 20000; ++i) many += std::to_string(i * 7919 % 10007) + "\n";
  std::string whole = gzip(many);
  env.files["cut.gz"] = whole.substr(0, whole.size() / 2);
  auto cut = LineReader::Open("cut.gz", env);
  ASSERT_TRUE(cut);
  Line line;
  while ((*cut)->Next(line)) {
  }
  EXPECT_NE((*cut)->error().find("unexpected end of input"), std::string::npos) << (*cut)->error();
}

}  // namespace
}  // namespace bulwark::input
