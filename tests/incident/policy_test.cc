#include "bulwark/incident/policy.h"

#include <gtest/gtest.h>

namespace bulwark::incident {
namespace {

using model::Severity;

model::Finding Vulnerable(std::optional<double> cvss = std::nullopt) {
  model::Finding f;
  f.feed_name = "scan";
  f.taxonomy = "vulnerable";
  f.type = "vulnerable-system";
  f.cvss_score = cvss;
  return f;
}

TEST(Policy, CvssBands) {
  auto policy = Policy::Default();
  EXPECT_EQ(policy.Assess(Vulnerable(9.8), nullptr).severity, Severity::kCritical);
  EXPECT_EQ(policy.Assess(Vulnerable(7.0), nullptr).severity, Severity::kHigh);
  EXPECT_EQ(policy.Assess(Vulnerable(6.9), nullptr).severity, Severity::kMedium);
  EXPECT_EQ(policy.Assess(Vulnerable(3.9), nullptr).severity, Severity::kLow);
  EXPECT_EQ(policy.Assess(Vulnerable(0.0), nullptr).severity, Severity::kInfo);
  EXPECT_EQ(policy.Assess(Vulnerable(), nullptr).severity, Severity::kMedium);  // type default
}

// A vector without a score is scored by the policy: v3.1 by its base score, v4.0 by the score of
// every metric it gives; an invalid vector is named in the reasons and the type default applies.
TEST(Policy, CvssVectorsWithoutScore) {
  auto policy = Policy::Default();
  auto v31 = Vulnerable();
  v31.cvss_vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
  auto assessed = policy.Assess(v31, nullptr);
  EXPECT_EQ(assessed.severity, Severity::kCritical);
  EXPECT_EQ(assessed.reasons.front(), "CVSS base score 9.8: critical");
  auto v40 = Vulnerable();
  v40.cvss_vector = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U";
  assessed = policy.Assess(v40, nullptr);
  EXPECT_EQ(assessed.severity, Severity::kHigh);  // 9.3 without threat, 8.1 unreported exploit
  EXPECT_EQ(assessed.reasons.front(), "CVSS-BT 8.1: high");
  auto broken = Vulnerable();
  broken.cvss_vector = "CVSS:4.0/AV:N";
  assessed = policy.Assess(broken, nullptr);
  EXPECT_EQ(assessed.severity, Severity::kMedium);
  EXPECT_NE(assessed.reasons.front().find("CVSS vector ignored: base metric 'AC' is missing"),
            std::string::npos)
      << assessed.reasons.front();
}

TEST(Policy, KnownExploitationExposureAndConfidence) {
  auto policy = Policy::Default();
  auto loaded = policy.LoadKnownExploited(
      R"({"title": "CISA Catalog", "vulnerabilities": [{"cveID": "CVE-2024-6387"}, {"cveID": "cve-2021-44228"}]})");
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  EXPECT_EQ(*loaded, 2u);
  auto f = Vulnerable(5.0);
  f.cves = {"CVE-2021-44228"};
  auto assessed = policy.Assess(f, nullptr);
  EXPECT_EQ(assessed.severity, Severity::kHigh);  // medium raised, at least high
  EXPECT_EQ(assessed.reasons.size(), 2u);
  model::System exposed;
  exposed.internet_exposed = true;
  EXPECT_EQ(policy.Assess(Vulnerable(5.0), &exposed).severity, Severity::kHigh);
  EXPECT_EQ(policy.Assess(Vulnerable(9.5), &exposed).severity, Severity::kCritical);
  auto unsure = Vulnerable(5.0);
  unsure.confidence = 0.3;
  EXPECT_EQ(policy.Assess(unsure, nullptr).severity, Severity::kLow);
  auto reported = Vulnerable();
  reported.fields["extra.severity"] = "critical";
  EXPECT_EQ(policy.Assess(reported, nullptr).severity, Severity::kCritical);
  EXPECT_FALSE(policy.LoadKnownExploited(R"({"vulnerabilities": []})"));
}

TEST(Policy, DefaultsDeadlines) {
  auto policy = Policy::Default();
  const TimeNs day = 86400 * kNsPerSecond;
  EXPECT_EQ(policy.HandlingOf(Severity::kCritical).deadline, day);
  EXPECT_EQ(policy.HandlingOf(Severity::kHigh).deadline, 7 * day);
  EXPECT_EQ(policy.HandlingOf(Severity::kMedium).deadline, 30 * day);
  EXPECT_EQ(policy.HandlingOf(Severity::kLow).deadline, 90 * day);
  EXPECT_FALSE(policy.HandlingOf(Severity::kInfo).deadline);
  EXPECT_TRUE(policy.HandlingOf(Severity::kCritical).countermeasure_without_consultation);
  EXPECT_FALSE(policy.HandlingOf(Severity::kMedium).notify_at_once);
}

TEST(Policy, FileOverridesDefaults) {
  auto policy = Policy::Parse(R"(severity:
  cvss: {high: 6.5}
  classifications: {brute-force: high}
handling:
  high: {deadline: 3d, reminders: [1d, 2d], countermeasure_without_consultation: true}
)",
                              "policy.yml");
  ASSERT_TRUE(policy) << policy.error().ToString();
  EXPECT_EQ(policy->Assess(Vulnerable(6.6), nullptr).severity, Severity::kHigh);
  model::Finding brute;
  brute.taxonomy = "intrusion-attempts";
  brute.type = "brute-force";
  EXPECT_EQ(policy->Assess(brute, nullptr).severity, Severity::kHigh);
  EXPECT_EQ(policy->HandlingOf(Severity::kHigh).deadline, 3 * 86400 * kNsPerSecond);
  EXPECT_EQ(policy->HandlingOf(Severity::kHigh).reminders.size(), 2u);
  EXPECT_EQ(policy->HandlingOf(Severity::kCritical).deadline, 86400 * kNsPerSecond);  // kept
}

TEST(Policy, ErrorsCarryTheirLocation) {
  auto bad = Policy::Parse("handling:\n  high: {deadline: soon}\n", "p.yml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "p.yml:2:20");
  auto level = Policy::Parse("severity:\n  default: urgent\n", "p.yml");
  ASSERT_FALSE(level);
  EXPECT_NE(level.error().message.find("critical"), std::string::npos);
  auto section = Policy::Parse("nope: 1\n", "p.yml");
  ASSERT_FALSE(section);
  EXPECT_NE(section.error().message.find("unknown section"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::incident
