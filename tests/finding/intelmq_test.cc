#include "bulwark/finding/intelmq.h"

#include <gtest/gtest.h>

namespace bulwark::finding {
namespace {

constexpr TimeNs kReceived = 1'800'000'000LL * kNsPerSecond;

Result<model::Finding> Parse(std::string_view json) {
  input::JsonFlattener flattener;
  return ParseHarmonized(json, kReceived, flattener);
}

TEST(Harmonized, ReadsTheIntelMqExample) {
  // IntelMQ's documented example event.
  auto f = Parse(R"({"source.geolocation.cc": "JO", "malware.name": "qakbot",
    "source.ip": "82.212.115.188", "source.asn": 47887, "classification.type": "c2-server",
    "extra.status": "offline", "source.port": 443, "classification.taxonomy": "malicious-code",
    "feed.accuracy": 100, "time.observation": "2023-02-16T09:55:12+00:00",
    "time.source": "2023-02-15T14:19:09+00:00", "feed.name": "abusech-feodo-c2-tracker"})");
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->feed_name, "abusech-feodo-c2-tracker");
  EXPECT_EQ(f->taxonomy, "malicious-code");
  EXPECT_EQ(f->type, "c2-server");
  EXPECT_EQ(f->source_ip->ToString(), "82.212.115.188");
  EXPECT_EQ(f->source_port, 443);
  EXPECT_EQ(f->time_source, *ParseTimestamp("2023-02-15T14:19:09Z"));
  EXPECT_EQ(f->time_observation, *ParseTimestamp("2023-02-16T09:55:12Z"));
  EXPECT_DOUBLE_EQ(f->confidence.value_or(0), 1.0);
  EXPECT_EQ(f->fields.at("malware.name"), "qakbot");
  EXPECT_EQ(f->fields.at("source.asn"), "47887");
}

TEST(Harmonized, NestedObjectsAndDerivedTaxonomy) {
  auto f = Parse(R"({"feed": {"name": "scan"}, "classification": {"type": "vulnerable-system",
    "identifier": "cve-2024-6387"}, "source": {"ip": "::ffff:203.0.113.7"},
    "time": {"source": "2026-03-01T10:00:00Z"}, "extra": {"cves": ["CVE-2023-48795"]}})");
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->taxonomy, "vulnerable");
  EXPECT_EQ(f->source_ip->ToString(), "203.0.113.7");
  EXPECT_EQ(f->time_observation, kReceived);
  EXPECT_EQ(f->cves, (std::vector<std::string>{"CVE-2024-6387", "CVE-2023-48795"}));
}

TEST(Harmonized, RejectsWithTheKeyAndReason) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {R"({"classification.type": "scanner", "source.ip": "1.2.3.4", "time.source": "2026-01-01T00:00:00Z"})",
       "feed.name: missing"},
      {R"({"feed.name": "f", "source.ip": "1.2.3.4", "time.source": "2026-01-01T00:00:00Z"})",
       "classification.type: missing"},
      {R"({"feed.name": "f", "classification.type": "nope", "source.ip": "1.2.3.4", "time.source": "2026-01-01T00:00:00Z"})",
       "classification.type: 'nope'"},
      {R"({"feed.name": "f", "classification.type": "scanner", "classification.taxonomy": "vulnerable", "source.ip": "1.2.3.4", "time.source": "2026-01-01T00:00:00Z"})",
       "does not fit"},
      {R"({"feed.name": "f", "classification.type": "scanner", "time.source": "2026-01-01T00:00:00Z"})",
       "source.ip: missing"},
      {R"({"feed.name": "f", "classification.type": "scanner", "source.ip": "1.2.3.400", "time.source": "2026-01-01T00:00:00Z"})",
       "source.ip: '1.2.3.400'"},
      {R"({"feed.name": "f", "classification.type": "scanner", "source.ip": "1.2.3.4", "source.port": 70000, "time.source": "2026-01-01T00:00:00Z"})",
       "source.port"},
      {R"({"feed.name": "f", "classification.type": "scanner", "source.ip": "1.2.3.4", "time.source": "yesterday"})",
       "time.source: 'yesterday'"},
      {R"({"feed.name": "f", "classification.type": "scanner", "source.ip": "1.2.3.4"})",
       "time.source: missing"},
      {R"([1, 2])", "not a JSON object"},
      {R"({"feed.name": )", "not a JSON object"},
  };
  for (const auto& c : cases) {
    auto f = Parse(c.json);
    ASSERT_FALSE(f) << c.json;
    EXPECT_NE(f.error().message.find(c.message), std::string::npos)
        << c.json << " -> " << f.error().message;
  }
}

TEST(Harmonized, RoundTrips) {
  auto f = Parse(R"({"feed.name": "scan", "classification.type": "vulnerable-system",
    "classification.identifier": "x", "source.ip": "2001:db8::1", "source.port": 22,
    "protocol.transport": "TCP", "time.source": "2026-03-01T10:00:00Z", "extra.cvss_score": 9.8,
    "extra.cvss_vector": "CVSS:3.1/AV:N", "feed.accuracy": 50, "raw": "banner", "extra.note": "n"})");
  ASSERT_TRUE(f) << f.error().ToString();
  std::string json = ToHarmonizedJson(*f);
  auto again = Parse(json);
  ASSERT_TRUE(again) << again.error().ToString() << "\n" << json;
  EXPECT_EQ(ToHarmonizedJson(*again), json);
  EXPECT_EQ(again->transport, "tcp");
  EXPECT_DOUBLE_EQ(again->cvss_score.value_or(0), 9.8);
  EXPECT_EQ(again->fields.at("extra.note"), "n");
  EXPECT_EQ(again->Fingerprint(), f->Fingerprint());
}

}  // namespace
}  // namespace bulwark::finding
