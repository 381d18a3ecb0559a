// The intake: typed alerts make the same findings as alerts read back from JSON (the edge), and
// reports are bounded: archives that unpack too far, reports with too many rows and imports
// that take too long are stopped with the reason; lists in the outcome are capped.

#include "bulwark/intake/intake.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zip.h>

#include <filesystem>

#include "../support/files.h"
#include "../support/sample_inventory.h"
#include "bulwark/core/digest.h"
#include "bulwark/core/strings.h"
#include "bulwark/data/builtin_env.h"
#include "bulwark/finding/intelmq.h"
#include "bulwark/pipeline/replay.h"
#include "bulwark/pipeline/rules_loader.h"

namespace bulwark::intake {
namespace {

namespace fs = std::filesystem;

// Every alert both ways: the typed conversion and the JSON line read back.
class BothWays final : public pipeline::AlertSink {
 public:
  void Take(const pipeline::Alert& alert) override {
    auto typed = FindingOfAlert(alert, 42);
    std::string json;
    pipeline::WriteAlertJson(alert, json);
    auto parsed = FindingOfAlertJson(json, 42, flattener_);
    ASSERT_TRUE(typed) << typed.error().ToString();
    ASSERT_TRUE(parsed) << parsed.error().ToString() << "\n" << json;
    ASSERT_EQ(typed->has_value(), parsed->has_value()) << json;
    ++alerts;
    if (!*typed) return;
    ++findings;
    EXPECT_EQ(finding::ToHarmonizedJson(**typed), finding::ToHarmonizedJson(**parsed)) << json;
  }
  size_t alerts = 0, findings = 0;

 private:
  input::JsonFlattener flattener_;
};

// The bundled sample logs through the built-in rules: the typed path and the JSON edge agree
// on every alert.
TEST(AlertFindings, TypedAlertsMakeTheFindingsTheirJsonMakes) {
  detect::CompileOptions compile;
  auto rules = pipeline::LoadRules({"builtin"}, compile, bulwark::data::BuiltinEnv::Default());
  ASSERT_TRUE(rules.rejected.empty());
  auto decoders = decode::DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
  ASSERT_TRUE(decoders);
  pipeline::ReplayOptions options;
  options.parse.year = 2026;
  options.suppress_window = 0;
  std::vector<std::string> names = {"auth.log", "access.log", "firewall.log"};
  BothWays sink;
  pipeline::StreamDetector detector(options, rules.rules, *decoders, names, &sink);
  for (size_t i = 0; i < names.size(); ++i) {
    std::string text =
        testing_support::ReadAll(std::string(BULWARK_SOURCE_DIR) + "/data/samples/" + names[i]);
    std::vector<std::string> lines;
    for (std::string_view line : Split(text, '\n')) {
      if (!line.empty()) lines.emplace_back(line);
    }
    detector.Process(i, lines, 1);
  }
  EXPECT_GT(sink.alerts, 10u);
  EXPECT_GT(sink.findings, 5u);
}

TEST(AlertFindings, LevelsAndAddresses) {
  std::vector<std::string> tags = {"attack.credential-access", "attack.t1110.001"};
  std::vector<std::pair<std::string_view, std::string_view>> group = {
      {"source.ip", "198.51.100.20"}};
  pipeline::Alert alert;
  alert.timestamp = *ParseTimestamp("2026-11-20T10:00:00Z");
  alert.rule_id = "r-1";
  alert.rule_title = "SSH brute force";
  alert.rule_level = "low";
  alert.rule_tags = tags;
  alert.correlation = true;
  alert.count = 12;
  alert.group = group;
  AlertFindings sink("medium", [] { return TimeNs{7}; });
  sink.Take(alert);  // below medium
  alert.rule_level = "high";
  sink.Take(alert);
  group.clear();
  alert.group = group;
  sink.Take(alert);  // about no address
  auto findings = sink.Drain();
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].type, "brute-force");  // a sub-technique of T1110
  EXPECT_EQ(findings[0].fields["extra.count"], "12");
  EXPECT_EQ(findings[0].time_observation, 7);
  AlertTally tally = sink.DrainTally();
  EXPECT_EQ(tally.alerts, 3u);
  EXPECT_EQ(tally.below_level, 1u);
  EXPECT_EQ(tally.no_address, 1u);
}

// Who is affected (docs/rules.md): the role from the rule's tags, the address of that role, and
// the other one when the event lacks it.
TEST(AlertFindings, EachFindingIsAboutTheAffectedRole) {
  struct Case {
    std::vector<std::string> tags;
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    std::string ip, affected, system, attacker;  // expected; ip "" and affected "": no finding
  } cases[] = {
      // A web shell answered (persistence): the host that logged it.
      {{"attack.persistence", "attack.t1505.003"},
       {{"source.ip", "192.0.2.200"}, {"host.ip", "10.0.0.5"}, {"host.id", "s-web"}},
       "10.0.0.5",
       "host",
       "s-web",
       "192.0.2.200"},
      // The same with a probe tag that says source.
      {{"attack.persistence", "attack.t1505.003", "bulwark.affected.source"},
       {{"source.ip", "192.0.2.200"}, {"host.ip", "10.0.0.5"}, {"host.id", "s-web"}},
       "192.0.2.200",
       "source",
       "",
       ""},
      // Brute force (credential access): the source.
      {{"attack.credential-access", "attack.t1110.001"},
       {{"source.ip", "198.51.100.20"}, {"host.ip", "10.0.0.5"}},
       "198.51.100.20",
       "source",
       "",
       ""},
      // A login that worked after it (initial access with valid accounts): the host.
      {{"attack.credential-access", "attack.initial-access", "attack.t1078"},
       {{"source.ip", "198.51.100.20"}, {"host.ip", "10.0.0.5"}},
       "10.0.0.5",
       "host",
       "",
       "198.51.100.20"},
      // Exploit attempts (initial access without valid accounts): the source.
      {{"attack.initial-access", "attack.t1190"},
       {{"source.ip", "198.51.100.20"}, {"host.ip", "10.0.0.5"}},
       "198.51.100.20",
       "source",
       "",
       ""},
      // Host role without a host address: the system alone, from a file declared as its log.
      {{"attack.privilege-escalation"}, {{"host.id", "s-db"}}, "", "host", "s-db", ""},
      // Host role, no host known: the source, as before.
      {{"attack.execution"}, {{"source.ip", "192.0.2.7"}}, "192.0.2.7", "source", "", ""},
      // Source role without source.ip (a local log): the host.
      {{"attack.credential-access"}, {{"host.ip", "10.0.0.9"}}, "10.0.0.9", "host", "", ""},
      // Neither: no finding.
      {{"attack.credential-access"}, {{"user.name", "root"}}, "", "", "", ""},
      // A flood toward a customer address (flows): the destination, the sender as attacker.
      {{"attack.impact", "attack.t1498", "bulwark.affected.destination"},
       {{"source.ip", "198.51.100.20"}, {"destination.ip", "10.0.0.5"}},
       "10.0.0.5",
       "destination",
       "",
       "198.51.100.20"},
      // Destination role without destination.ip: the role the tactic gives (impact: source).
      {{"attack.impact", "bulwark.affected.destination"},
       {{"source.ip", "198.51.100.20"}},
       "198.51.100.20",
       "source",
       "",
       ""},
  };
  for (const auto& c : cases) {
    std::vector<std::pair<std::string_view, std::string_view>> group = c.fields;
    pipeline::Alert alert;
    alert.timestamp = *ParseTimestamp("2026-11-20T10:00:00Z");
    alert.rule_id = "r-1";
    alert.rule_level = "high";
    alert.rule_tags = c.tags;
    alert.group = group;
    auto finding = FindingOfAlert(alert, 7);
    ASSERT_TRUE(finding) << finding.error().ToString();
    std::string what = c.tags.front() + " " + c.affected;
    if (c.affected.empty()) {
      EXPECT_FALSE(*finding) << what;
      continue;
    }
    ASSERT_TRUE(*finding) << what;
    const model::Finding& f = **finding;
    EXPECT_EQ(f.source_ip ? f.source_ip->ToString() : "", c.ip) << what;
    auto field = [&](const char* name) {
      auto it = f.fields.find(name);
      return it == f.fields.end() ? std::string() : it->second;
    };
    EXPECT_EQ(field("extra.affected"), c.affected) << what;
    EXPECT_EQ(field("extra.system_id"), c.system) << what;
    EXPECT_EQ(field("extra.attacker_ip"), c.attacker) << what;
  }
}

// CERT-Bund events.csv rows about Globex's shop (198.51.100.16/28).
std::string EventsCsv(size_t rows) {
  std::string csv = "asn,ip,timestamp,malware\n";
  for (size_t i = 0; i < rows; ++i) {
    csv += fmt::format("64496,198.51.100.{},2026-11-20 10:{:02d}:{:02d},mirai-{}\n", 16 + i % 14,
                       (i / 60) % 60, i % 60, i % 5);
  }
  return csv;
}

// A mail with `attachment` as a zipped events.csv.
std::string ZippedMail(const std::string& attachment) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  zip_source_keep(buffer);
  zip_source_t* file = zip_source_buffer_create(attachment.data(), attachment.size(), 0, &error);
  zip_file_add(archive, "events.csv", file, ZIP_FL_OVERWRITE);
  zip_close(archive);
  zip_source_open(buffer);
  zip_source_seek(buffer, 0, SEEK_END);
  zip_int64_t size = zip_source_tell(buffer);
  zip_source_seek(buffer, 0, SEEK_SET);
  std::string zipped(static_cast<size_t>(size), '\0');
  zip_source_read(buffer, zipped.data(), static_cast<zip_uint64_t>(size));
  zip_source_close(buffer);
  zip_source_free(buffer);
  std::string base64 = Base64Encode(zipped);
  std::string wrapped;
  for (size_t i = 0; i < base64.size(); i += 76) wrapped += base64.substr(i, 76) + "\r\n";
  return "From: reports@cert.example\r\nSubject: [CB-Report#20261120-1] infections\r\n"
         "Message-ID: <z1@cert.example>\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
         "--b\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n"
         "--b\r\nContent-Type: application/zip; name=\"events.zip\"\r\n"
         "Content-Disposition: attachment; filename=\"events.zip\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" +
         wrapped + "--b--\r\n";
}

class ReportLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::TestDataDir("bulwark-intake");
    ASSERT_TRUE(testing_support::SampleStore(dir_));
    config_.data_dir = dir_.string();
    config_.mail.print = (dir_ / "mails.txt").string();
  }
  void TearDown() override {
    intake_.reset();
    spine_.reset();
    fs::remove_all(dir_);
  }
  void Open() {
    auto spine = spine::Spine::Open(config_, Env::Default());
    ASSERT_TRUE(spine) << spine.error().ToString();
    spine_ = std::move(*spine);
    intake_ = std::make_unique<Intake>(*spine_);
  }
  // Findings stored (attributed or not).
  size_t StoredFindings() {
    size_t count = 0;
    auto read = spine_->Read([&](store::Store& store) -> Result<void> {
      auto incidents = store.ListIncidents({});
      if (!incidents) return tl::unexpected(incidents.error());
      for (const auto& incident : *incidents) {
        auto findings = store.FindingsOfIncident(incident.id);
        if (!findings) return tl::unexpected(findings.error());
        count += findings->size();
      }
      auto unattributed = store.Unattributed({});
      if (!unattributed) return tl::unexpected(unattributed.error());
      count += unattributed->size();
      return {};
    });
    EXPECT_TRUE(read);
    return count;
  }
  bool Kept(const std::string& bytes) {
    bool kept = false;
    auto read = spine_->Read([&](store::Store& store) -> Result<void> {
      auto report = store.GetReport(Sha256Hex(bytes));
      if (!report) return tl::unexpected(report.error());
      kept = report->has_value();
      return {};
    });
    EXPECT_TRUE(read);
    return kept;
  }

  fs::path dir_;
  config::Config config_;
  std::unique_ptr<spine::Spine> spine_;
  std::unique_ptr<Intake> intake_;
};

TEST_F(ReportLimitsTest, AReportWithinTheLimitsIsTakenInBatches) {
  Open();
  std::string mail = ZippedMail(EventsCsv(1000));
  auto taken = intake_->TakeReport(mail, {"cb.eml", "", 1}, "test");
  ASSERT_TRUE(taken) << taken.error().ToString();
  EXPECT_EQ(taken->summary.findings, 1000u);
  EXPECT_EQ(StoredFindings(), 1000u);
  EXPECT_TRUE(Kept(mail));
  uint64_t outcomes = 0;
  for (const auto& [outcome, count] : taken->outcomes) outcomes += count;
  EXPECT_EQ(outcomes, 1000u);
  EXPECT_EQ(taken->incidents_total, taken->incidents.size());
  EXPECT_GE(taken->incidents_total, 1u);
}

TEST_F(ReportLimitsTest, AnArchiveThatUnpacksTooFarIsRejectedWhole) {
  config_.reports.limits.max_unpacked_bytes = 1 << 20;
  Open();
  std::string csv = EventsCsv(30000);  // about 1.4 MB
  ASSERT_GT(csv.size(), size_t{1} << 20);
  std::string mail = ZippedMail(csv);
  auto taken = intake_->TakeReport(mail, {"big.eml", "", 1}, "test");
  ASSERT_FALSE(taken);
  EXPECT_NE(taken.error().message.find("max_unpacked_bytes"), std::string::npos)
      << taken.error().ToString();
  EXPECT_EQ(StoredFindings(), 0u);
  EXPECT_FALSE(Kept(mail));
  EXPECT_EQ((intake_->counts().reports[{"test", "rejected"}]), 1u);
}

TEST_F(ReportLimitsTest, AZipBombIsRejectedByItsRatio) {
  config_.reports.limits.max_ratio = 50;
  Open();
  std::string csv = "asn,ip,timestamp,malware\n" + std::string(4 << 20, ' ');
  std::string mail = ZippedMail(csv);
  ASSERT_LT(mail.size(), 100u * 1024);  // packs more than 50:1
  auto taken = intake_->TakeReport(mail, {"bomb.eml", "", 1}, "test");
  ASSERT_FALSE(taken);
  EXPECT_NE(taken.error().message.find("times its size"), std::string::npos)
      << taken.error().ToString();
}

TEST_F(ReportLimitsTest, TooManyRowsAreRejectedBeforeAnyIsTaken) {
  config_.reports.limits.max_rows = 100;
  Open();
  std::string csv = EventsCsv(101);
  auto taken = intake_->TakeReport(csv, {"events.csv", "", 1}, "test");
  ASSERT_FALSE(taken);
  EXPECT_NE(taken.error().message.find("more than 100 rows"), std::string::npos)
      << taken.error().ToString();
  EXPECT_EQ(StoredFindings(), 0u);
  std::string fits = EventsCsv(100);
  ASSERT_TRUE(intake_->TakeReport(fits, {"events.csv", "", 1}, "test"));
  EXPECT_EQ(StoredFindings(), 100u);
}

TEST_F(ReportLimitsTest, AnImportThatTakesTooLongStopsAndIsNotKept) {
  config_.reports.limits.max_duration = 0;
  Open();
  std::string csv = EventsCsv(3 * Intake::kBatch);
  auto taken = intake_->TakeReport(csv, {"events.csv", "", 1}, "test");
  ASSERT_FALSE(taken);
  EXPECT_NE(taken.error().message.find("max_duration"), std::string::npos)
      << taken.error().ToString();
  EXPECT_EQ(StoredFindings(), Intake::kBatch);  // the first batch, then it stopped
  EXPECT_FALSE(Kept(csv));                      // so it can be sent again
}

TEST_F(ReportLimitsTest, ListsInTheOutcomeAreCapped) {
  Open();
  std::string csv = "asn,ip,timestamp,malware\n";
  for (int i = 0; i < 300; ++i) csv += "64496,not-an-address,2026-11-20 10:00:00,x\n";
  csv += "64496,198.51.100.20,2026-11-20 10:00:00,x\n";
  auto taken = intake_->TakeReport(csv, {"events.csv", "", 1}, "test");
  ASSERT_TRUE(taken) << taken.error().ToString();
  EXPECT_EQ(taken->summary.rejected, 300u);
  EXPECT_EQ(taken->rejected_rows.size(), ReportOutcome::kListed);
  EXPECT_EQ(taken->summary.findings, 1u);
}

}  // namespace
}  // namespace bulwark::intake
