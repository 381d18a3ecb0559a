// Every report sample in ../shared/abuse through the report reader: the findings each yields (or
// the reason it is rejected) must equal the golden file in tests/abuse/golden/reports/.
// BULWARK_UPDATE_GOLDEN=1 writes the golden files anew (review the diff before committing).

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../support/files.h"
#include "../support/golden.h"
#include "bulwark/abuse/report.h"
#include "bulwark/core/digest.h"
#include "bulwark/core/strings.h"
#include "bulwark/finding/intelmq.h"

namespace bulwark::abuse {
namespace {

namespace fs = std::filesystem;

const std::string kShared = BULWARK_SHARED_DIR "/abuse";
const TimeNs kReceived = *ParseTimestamp("2026-11-26T00:00:00Z");

ReaderFiles SharedFiles() {
  ReaderFiles files;
  files.shadowserver_schema = kShared + "/report_schema/intelmq.json";
  files.xarf_schemas = {kShared + "/xarf/schemas/3/xarf.schema.json",
                        kShared + "/xarf-spec/schemas/v3/xarf-v3-legacy.json",
                        kShared + "/xarf-spec/schemas/v4/xarf-v4-master.json"};
  return files;
}

class ReportsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto config = LoadReaderConfig(SharedFiles(), Env::Default());
    ASSERT_TRUE(config) << config.error().ToString();
    reader_ = new ReportReader(std::move(*config));
  }
  static void TearDownTestSuite() { delete reader_; }

  struct Outcome {
    Result<ReportSummary> summary;
    std::vector<model::Finding> findings;
    std::vector<Error> rejected;
  };
  static Outcome ReadBytes(std::string_view bytes, const std::string& name,
                           const std::string& type = "") {
    Outcome outcome;
    outcome.summary =
        reader_->Read(bytes, {name, type, kReceived},
                      {[&](model::Finding f) { outcome.findings.push_back(std::move(f)); },
                       [&](Error e) { outcome.rejected.push_back(std::move(e)); }});
    return outcome;
  }

  static ReportReader* reader_;
};
ReportReader* ReportsTest::reader_ = nullptr;

// The samples: abuse mails, X-ARF YAML, CERT-Bund CSV, XARF JSON (valid and invalid). The
// Shadowserver CSV test data has golden files of its own (shadowserver_test).
std::vector<fs::path> Samples() {
  std::vector<fs::path> samples;
  for (const auto& entry : fs::recursive_directory_iterator(kShared)) {
    if (!entry.is_regular_file()) continue;
    std::string relative = fs::relative(entry.path(), kShared).string();
    auto ext = entry.path().extension();
    bool sample = (relative.starts_with("AbuseIO/") && ext == ".eml") ||
                  relative.starts_with("python-xarf/") ||
                  relative.starts_with("intelmq/cert_bund/") ||
                  (relative.find("/samples/") != std::string::npos && ext == ".json");
    if (sample) samples.push_back(entry.path());
  }
  std::sort(samples.begin(), samples.end());
  return samples;
}

TEST_F(ReportsTest, EverySampleMatchesItsGoldenOutcome) {
  const fs::path golden_dir = std::string(BULWARK_SOURCE_DIR) + "/tests/abuse/golden/reports";
  auto samples = Samples();
  ASSERT_GE(samples.size(), 90u);
  for (const fs::path& sample : samples) {
    std::string relative = fs::relative(sample, kShared).string();
    auto outcome = ReadBytes(testing_support::ReadAll(sample), relative);
    std::string produced;
    if (!outcome.summary) {
      produced = "# rejected: " + outcome.summary.error().ToString() + "\n";
    } else {
      const ReportSummary& s = *outcome.summary;
      produced = "# " + s.format + (s.detail.empty() ? "" : " " + s.detail) + ": items " +
                 std::to_string(s.items) + ", findings " + std::to_string(s.findings) +
                 ", rejected " + std::to_string(s.rejected) + ", signature " +
                 mail::VerdictName(s.signature.verdict) + "\n";
      for (const std::string& note : s.notes) produced += "# note: " + note + "\n";
      for (const auto& finding : outcome.findings) {
        produced += finding::ToHarmonizedJson(finding) + "\n";
      }
      for (const auto& error : outcome.rejected) {
        produced += "# rejected row: " + error.ToString() + "\n";
      }
    }
    std::string name = relative;
    std::replace(name.begin(), name.end(), '/', '_');
    testing_support::ExpectGolden(golden_dir / (name + ".txt"), produced);
  }
}

// IntelMQ's head test data: two CSVs read with the 3-entry test schema that ships beside them.
TEST(ReportsWithTestSchema, TheHeadTestDataMatchesItsGoldenOutcome) {
  const std::string data = kShared + "/intelmq/shadowserver-testdata-head";
  ReaderFiles files;
  files.shadowserver_schema = data + "/schema.json.test";
  auto config = LoadReaderConfig(files, Env::Default());
  ASSERT_TRUE(config) << config.error().ToString();
  ReportReader reader(std::move(*config));
  const fs::path golden_dir = std::string(BULWARK_SOURCE_DIR) + "/tests/abuse/golden/reports";
  for (const char* name : {"test_smb.csv", "test_telnet.csv"}) {
    std::string produced;
    auto summary =
        reader.Read(testing_support::ReadAll(data + "/" + name), {name, "", kReceived},
                    {[&](model::Finding f) { produced += finding::ToHarmonizedJson(f) + "\n"; },
                     [&](Error e) { produced += "# rejected row: " + e.ToString() + "\n"; }});
    ASSERT_TRUE(summary) << summary.error().ToString();
    EXPECT_EQ(summary->format, "shadowserver");
    EXPECT_GT(summary->findings, 0u);
    produced = "# " + summary->format + " " + summary->detail + ": items " +
               std::to_string(summary->items) + "\n" + produced;
    testing_support::ExpectGolden(
        golden_dir / (std::string("intelmq_shadowserver-testdata-head_") + name + ".txt"),
        produced);
  }
}

TEST_F(ReportsTest, InvalidXarfSamplesAreRejectedWithTheSchemaReason) {
  size_t rejected = 0;
  for (const auto& entry : fs::directory_iterator(kShared + "/xarf/samples/negative/3")) {
    auto outcome = ReadBytes(testing_support::ReadAll(entry.path()), entry.path().filename());
    ASSERT_FALSE(outcome.summary) << entry.path();
    EXPECT_NE(outcome.summary.error().message.find("invalid against xarf.schema.json"),
              std::string::npos)
        << outcome.summary.error().message;
    ++rejected;
  }
  EXPECT_EQ(rejected, 8u);
  auto date = ReadBytes(
      testing_support::ReadAll(kShared + "/xarf/samples/negative/3/invalid_date.json"), "d.json");
  EXPECT_NE(date.summary.error().message.find("/Report/Date: 'This is not a date' is not a "
                                              "valid date-time"),
            std::string::npos)
      << date.summary.error().message;
}

TEST_F(ReportsTest, ValidXarfSamplesMakeFindings) {
  for (const char* folder : {"/xarf/samples/positive/3", "/xarf-spec/samples/v4"}) {
    for (const auto& entry : fs::directory_iterator(kShared + folder)) {
      auto outcome = ReadBytes(testing_support::ReadAll(entry.path()), entry.path().filename());
      if (!outcome.summary) {
        // Only reports naming a host instead of an address may fail: Bulwark attributes by
        // address.
        EXPECT_NE(outcome.summary.error().message.find("names no IP address"), std::string::npos)
            << entry.path() << ": " << outcome.summary.error().message;
        continue;
      }
      EXPECT_EQ(outcome.findings.size(), 1u) << entry.path();
    }
  }
}

TEST_F(ReportsTest, FindingsLinkToTheOriginalByContentHash) {
  std::string mail = testing_support::ReadAll(kShared + "/AbuseIO/feedback-loop/Cox_example_1.eml");
  auto outcome = ReadBytes(mail, "cox.eml");
  ASSERT_TRUE(outcome.summary) << outcome.summary.error().ToString();
  ASSERT_EQ(outcome.findings.size(), 1u);
  EXPECT_EQ(outcome.summary->sha256, Sha256Hex(mail));
  EXPECT_EQ(outcome.findings[0].fields.at("extra.report.sha256"), Sha256Hex(mail));
  EXPECT_EQ(outcome.findings[0].source_ip->ToString(), "10.17.18.7");
  EXPECT_EQ(outcome.findings[0].type, "spam");
}

TEST_F(ReportsTest, ArfWithoutSourceIpTakesTheReceivedHeaderAndSaysSo) {
  std::string mail = testing_support::ReadAll(kShared + "/AbuseIO/feedback-loop/Cox_example_1.eml");
  size_t at = mail.find("Source-IP: 10.17.18.7");
  ASSERT_NE(at, std::string::npos);
  mail.erase(at, std::string("Source-IP: 10.17.18.7\n").size());
  auto outcome = ReadBytes(mail, "cox-no-source.eml");
  ASSERT_TRUE(outcome.summary) << outcome.summary.error().ToString();
  ASSERT_EQ(outcome.findings.size(), 1u);
  bool said = false;
  for (const auto& note : outcome.summary->notes) {
    said = said || note.find("Source-IP missing") != std::string::npos;
  }
  EXPECT_TRUE(said);
  EXPECT_TRUE(outcome.findings[0].source_ip.has_value());
}

TEST_F(ReportsTest, CertBundMailWithInlineCsvOrAttachment) {
  std::string csv = testing_support::ReadAll(kShared + "/intelmq/cert_bund/example.csv");
  std::string inline_mail =
      "From: reports@reports.cert-bund.de\r\n"
      "To: abuse@provider.example\r\n"
      "Subject: [CB-Report#20201117-10000030] Schadprogramm-Infektionen in AS64500\r\n"
      "Message-ID: <cb-1@cert-bund.de>\r\n"
      "Date: Tue, 17 Nov 2020 08:00:00 +0100\r\n"
      "Content-Type: text/plain; charset=iso-8859-1\r\n"
      "\r\n"
      "Sehr geehrte Damen und Herren,\r\n\r\nbetroffene Systeme / affected systems:\r\n\r\n" +
      csv +
      "\r\nMit freundlichen Gr\xfc\xdf"
      "en\r\n";
  auto inline_outcome = ReadBytes(inline_mail, "cb-inline.eml");
  ASSERT_TRUE(inline_outcome.summary) << inline_outcome.summary.error().ToString();
  EXPECT_EQ(inline_outcome.summary->format, "cert-bund");
  EXPECT_EQ(inline_outcome.summary->detail, "CB-Report#20201117-10000030");
  ASSERT_EQ(inline_outcome.findings.size(), 2u);
  EXPECT_EQ(inline_outcome.findings[0].identifier, "andromeda");
  EXPECT_EQ(inline_outcome.findings[0].fields.at("extra.report.id"), "CB-Report#20201117-10000030");

  std::string attached_mail =
      "From: reports@reports.cert-bund.de\r\n"
      "Subject: [CB-Report#20201117-10000031] Malware infections in AS64500\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
      "\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee events.csv.\r\n"
      "--b1\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=events.csv\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      Base64Encode(csv) + "\r\n--b1--\r\n";
  auto attached = ReadBytes(attached_mail, "cb-attached.eml");
  ASSERT_TRUE(attached.summary) << attached.summary.error().ToString();
  EXPECT_EQ(attached.summary->format, "cert-bund");
  EXPECT_EQ(attached.findings.size(), 2u);
}

TEST_F(ReportsTest, BadInputIsRejectedWithAReasonAndNeverCrashes) {
  // Truncated, wrong charset, broken MIME, a CSV with missing and extra columns.
  std::string mail =
      testing_support::ReadAll(kShared + "/AbuseIO/blocklistde/Blocklistde_Example_1.eml");
  for (size_t cut : {size_t{10}, mail.size() / 3, mail.size() / 2, mail.size() - 40}) {
    auto outcome = ReadBytes(mail.substr(0, cut), "cut.eml");
    if (!outcome.summary) {
      EXPECT_FALSE(outcome.summary.error().message.empty());
    }
  }
  auto broken = ReadBytes(
      "From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/mixed\r\n\r\nno boundary\r\n",
      "broken.eml");
  ASSERT_FALSE(broken.summary);
  EXPECT_NE(broken.summary.error().message.find("no report in the mail"), std::string::npos);

  auto csv = ReadBytes(
      "asn,ip,timestamp,malware\n"
      "64500,192.0.2.1,2020-08-11 22:53:53,andromeda\n"
      "64500,192.0.2.2,2020-08-11 22:53:53\n"
      "64500,192.0.2.3,2020-08-11 22:53:53,tinba,extra\n"
      "64500,not-an-address,2020-08-11 22:53:53,tinba\n"
      "64500,192.0.2.4,the day before,tinba\n",
      "events.csv");
  ASSERT_TRUE(csv.summary) << csv.summary.error().ToString();
  EXPECT_EQ(csv.findings.size(), 1u);
  ASSERT_EQ(csv.rejected.size(), 4u);
  EXPECT_EQ(csv.rejected[0].where, "events.csv:3");
  EXPECT_NE(csv.rejected[0].message.find("3 columns where the header has 4"), std::string::npos);
  EXPECT_NE(csv.rejected[2].message.find("source.ip"), std::string::npos)
      << csv.rejected[2].message;
  EXPECT_NE(csv.rejected[3].message.find("not a time"), std::string::npos);

  auto unknown = ReadBytes("a,b,c\n1,2,3\n", "feed.csv");
  ASSERT_FALSE(unknown.summary);
  EXPECT_NE(unknown.summary.error().message.find("no mapping recognises the columns (a,b,c)"),
            std::string::npos)
      << unknown.summary.error().message;
}

TEST_F(ReportsTest, ShadowserverSeverityComesFromTheTypeUnlessTheRowHasOne) {
  const ReportType* redis = reader_->config().shadowserver->Find("scan_redis");
  ASSERT_NE(redis, nullptr);
  EXPECT_FALSE(redis->default_severity.empty());
  auto outcome = ReadBytes(
      "timestamp,ip,port,severity\n"
      "2026-11-20 04:00:00,203.0.113.7,6379,\n"
      "2026-11-20 04:00:00,203.0.113.8,6379,low\n",
      "2026-11-20-scan_redis-asn-64500.csv");
  ASSERT_TRUE(outcome.summary) << outcome.summary.error().ToString();
  ASSERT_EQ(outcome.findings.size(), 2u);
  EXPECT_EQ(outcome.findings[0].fields.at("extra.severity"), redis->default_severity);
  EXPECT_EQ(outcome.findings[1].fields.at("extra.severity"), "low");
}

}  // namespace
}  // namespace bulwark::abuse
