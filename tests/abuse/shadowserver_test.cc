// Shadowserver CSV reports against the published schema and real samples (../shared/abuse).

#include "bulwark/abuse/shadowserver.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../support/files.h"
#include "../support/golden.h"
#include "bulwark/finding/intelmq.h"

namespace bulwark::abuse {
namespace {

const std::string kShared = BULWARK_SHARED_DIR "/abuse";

class ShadowserverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto parsed = ShadowserverSchema::Parse(
        testing_support::ReadAll(kShared + "/report_schema/intelmq.json"));
    ASSERT_TRUE(parsed) << parsed.error().ToString();
    schema_ = new ShadowserverSchema(std::move(*parsed));
  }
  static void TearDownTestSuite() { delete schema_; }
  static ShadowserverSchema* schema_;
};
ShadowserverSchema* ShadowserverTest::schema_ = nullptr;

TEST_F(ShadowserverTest, TheSchemaIsData) {
  EXPECT_GT(schema_->size(), 150u);
  const ReportType* redis = schema_->Find("scan_redis");
  ASSERT_NE(redis, nullptr);
  EXPECT_EQ(redis->feed_name, "Open-Redis");
  EXPECT_EQ(redis->constants.at("classification.identifier"), "open-redis");
  EXPECT_EQ(schema_->ForPath("/in/2026-11-20-scan_redis-asn-64500.csv"), redis);
  EXPECT_EQ(schema_->ForPath("scan_redis.csv"), redis);
  EXPECT_EQ(schema_->ForPath("2026-11-20-no_such_report-asn.csv"), nullptr);
  EXPECT_FALSE(ShadowserverSchema::Parse("[]"));
}

// Every sample report: every row becomes a finding about the reported address.
TEST_F(ShadowserverTest, EverySampleReportIsRead) {
  size_t files = 0, findings = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(kShared + "/intelmq/shadowserver-testdata-2023")) {
    if (entry.path().extension() != ".csv") continue;
    const ReportType* type = schema_->ForPath(entry.path().string());
    ASSERT_NE(type, nullptr) << entry.path();
    auto report = ParseShadowserverCsv(testing_support::ReadAll(entry.path()), *type,
                                       entry.path().filename(), 0);
    ASSERT_TRUE(report) << entry.path() << ": " << report.error().ToString();
    ++files;
    EXPECT_GT(report->rows, 0u) << entry.path();
    EXPECT_EQ(report->findings.size() + report->rejected.size(), report->rows) << entry.path();
    for (const auto& rejected : report->rejected) {
      // Sandbox reports describe malware runs, not an address of the reporter's network.
      bool expected = entry.path().filename().string().starts_with("sandbox_") &&
                      rejected.message.find("source.ip: missing") != std::string::npos;
      if (!expected) ADD_FAILURE() << rejected.ToString();
    }
    for (const auto& finding : report->findings) {
      EXPECT_EQ(finding.feed_name, type->feed_name);
      EXPECT_TRUE(finding.source_ip) << entry.path();
      EXPECT_FALSE(finding.evidence.empty());
    }
    findings += report->findings.size();
  }
  EXPECT_GE(files, 40u);
  EXPECT_GT(findings, files);
}

// Golden files: the findings of every sample, as IntelMQ JSON lines (time.observation fixed),
// in tests/abuse/golden/<report>.jsonl. BULWARK_UPDATE_GOLDEN=1 writes them anew.
TEST_F(ShadowserverTest, EverySampleMatchesItsGoldenFindings) {
  const std::filesystem::path golden_dir = std::string(BULWARK_SOURCE_DIR) + "/tests/abuse/golden";
  size_t compared = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(kShared + "/intelmq/shadowserver-testdata-2023")) {
    if (entry.path().extension() != ".csv") continue;
    const ReportType* type = schema_->ForPath(entry.path().string());
    ASSERT_NE(type, nullptr);
    auto report = ParseShadowserverCsv(testing_support::ReadAll(entry.path()), *type,
                                       entry.path().filename(), 0);
    ASSERT_TRUE(report);
    std::string produced;
    for (const auto& finding : report->findings) {
      produced += finding::ToHarmonizedJson(finding) + "\n";
    }
    for (const auto& rejected : report->rejected)
      produced += "# rejected " + rejected.ToString() + "\n";
    testing_support::ExpectGolden(golden_dir / (entry.path().stem().string() + ".jsonl"), produced);
    ++compared;
  }
  EXPECT_GE(compared, 40u);
}

TEST_F(ShadowserverTest, ColumnsByHeaderAndBadRowsByReason) {
  const ReportType* redis = schema_->Find("scan_redis");
  ASSERT_NE(redis, nullptr);
  auto report = ParseShadowserverCsv(
      "port,ip,timestamp,protocol,tag,severity\n"
      "6379,203.0.113.7,2026-11-20 04:00:00,tcp,redis;cve-2022-0543,high\n"
      "6379,not-an-ip,2026-11-20 04:00:00,tcp,redis,high\n"
      "6379,203.0.113.8,yesterday,tcp,redis,high\n",
      *redis, "r.csv", 0);
  ASSERT_TRUE(report);
  ASSERT_EQ(report->findings.size(), 1u);
  const auto& f = report->findings[0];
  EXPECT_EQ(f.source_ip->ToString(), "203.0.113.7");
  EXPECT_EQ(f.source_port, 6379);
  EXPECT_EQ(f.time_source, *ParseTimestamp("2026-11-20T04:00:00Z"));
  EXPECT_EQ(f.type, "vulnerable-system");
  EXPECT_EQ(f.identifier, "open-redis");
  EXPECT_EQ(f.fields.at("extra.severity"), "high");
  EXPECT_EQ(f.cves, (std::vector<std::string>{"CVE-2022-0543"}));
  ASSERT_EQ(report->rejected.size(), 2u);
  EXPECT_EQ(report->rejected[0].where, "r.csv:3");
  EXPECT_NE(report->rejected[0].message.find("not an IP address"), std::string::npos);
  EXPECT_EQ(report->rejected[1].where, "r.csv:4");
  EXPECT_NE(report->rejected[1].message.find("timestamp"), std::string::npos);
  EXPECT_FALSE(ParseShadowserverCsv("", *redis, "empty.csv", 0));
}

}  // namespace
}  // namespace bulwark::abuse
