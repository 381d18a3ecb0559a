// The vulnerability database: sample files written from the published formats (NVD CVE API 2.0,
// OSV with the Debian:12 ecosystem, the CISA KEV catalog, EPSS) are imported; products match by
// NVD's CPE ranges, and a Debian package version that carries the fix is not flagged for the
// upstream CVE. Debian's version order is checked against dpkg itself.

#include "bulwark/vuln/vulndb.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "../support/files.h"
#include "bulwark/vuln/versions.h"

namespace bulwark::vuln {
namespace {

std::string Sample(const std::string& file) {
  return testing_support::ReadAll(std::string(BULWARK_SOURCE_DIR) + "/tests/vuln/data/" + file);
}

class VulnDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::TestDataDir("bulwark-vulndb");
    std::filesystem::create_directories(dir_);
    auto db = VulnDb::Open((dir_ / "vulndb.sqlite").string());
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    for (const char* file :
         {"nvd-openssh.json", "osv-debian12-openssh.json", "kev-sample.json", "epss-sample.csv"}) {
      auto stats = db_->Import(Sample(file), file);
      ASSERT_TRUE(stats) << stats.error().message;
      stats_.push_back(*stats);
    }
  }
  void TearDown() override {
    db_.reset();
    testing_support::RemoveTree(dir_);
  }

  std::vector<std::string> Cves(const Product& product) {
    auto matches = db_->Match(product);
    EXPECT_TRUE(matches) << matches.error().message;
    std::vector<std::string> out;
    for (const auto& m : *matches) out.push_back(m.cve);
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<VulnDb> db_;
  std::vector<ImportStats> stats_;
};

const char* kOpenSsh = "cpe:2.3:a:openbsd:openssh:9.2:p1:*:*:*:*:*:*";

TEST_F(VulnDbTest, ImportsEachFormat) {
  EXPECT_EQ(stats_[0].kind, "nvd");
  EXPECT_EQ(stats_[0].records, 3u);
  EXPECT_EQ(stats_[1].kind, "osv");
  EXPECT_EQ(stats_[1].records, 2u);
  EXPECT_EQ(stats_[2].kind, "kev");
  EXPECT_EQ(stats_[2].records, 2u);
  EXPECT_EQ(stats_[2].rejected, 1u);  // the entry without cveID
  EXPECT_EQ(stats_[2].problems.at(0), "kev-sample.json: vulnerabilities[2] has no cveID");
  EXPECT_EQ(stats_[3].kind, "epss");
  EXPECT_EQ(stats_[3].records, 2u);
  EXPECT_EQ(stats_[3].problems.at(0), "epss-sample.csv:5: not 'cve,epss,percentile'");
  auto counts = db_->Counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->cves, 3u);
  EXPECT_EQ(counts->cpe_ranges, 6u);
  EXPECT_EQ(counts->osv_ranges, 3u);
  // Importing again replaces; nothing is doubled.
  ASSERT_TRUE(db_->Import(Sample("nvd-openssh.json"), "again"));
  ASSERT_TRUE(db_->Import(Sample("osv-debian12-openssh.json"), "again"));
  EXPECT_EQ(db_->Counts()->cpe_ranges, 6u);
  EXPECT_EQ(db_->Counts()->osv_ranges, 3u);
}

TEST_F(VulnDbTest, UpstreamVersionsMatchNvdRanges) {
  auto matches = db_->Match({kOpenSsh, "9.2p1", "", "", ""});
  ASSERT_TRUE(matches);
  ASSERT_EQ(matches->size(), 2u);
  const auto& agent = (*matches)[0];
  EXPECT_EQ(agent.cve, "CVE-2023-38408");
  EXPECT_EQ(agent.basis, "nvd: openssh 9.2p1 in (-inf, 9.3)");
  EXPECT_EQ(agent.cvss_vector, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
  EXPECT_EQ(agent.cvss_score, 9.8);
  EXPECT_TRUE(agent.known_exploited);
  EXPECT_DOUBLE_EQ(*agent.epss, 0.6187);
  const auto& regresshion = (*matches)[1];
  EXPECT_EQ(regresshion.cve, "CVE-2024-6387");
  EXPECT_EQ(regresshion.basis, "nvd: openssh 9.2p1 in [8.5, 9.8)");
  EXPECT_FALSE(regresshion.known_exploited);
  EXPECT_EQ(regresshion.fixed, "9.8");
  // Listed versions (version and update in the criteria), and versions outside every range.
  EXPECT_EQ(Cves({kOpenSsh, "9.3p1", "", "", ""}),
            (std::vector<std::string>{"CVE-2023-38408", "CVE-2024-6387"}));
  EXPECT_EQ(Cves({kOpenSsh, "9.9", "", "", ""}), (std::vector<std::string>{"CVE-2025-99999"}));
  EXPECT_TRUE(Cves({kOpenSsh, "9.8p1", "", "", ""}).empty());
  EXPECT_EQ(Cves({kOpenSsh, "4.5", "", "", ""}), (std::vector<std::string>{"CVE-2023-38408"}));
  EXPECT_EQ(Cves({kOpenSsh, "4.3p2", "", "", ""}),
            (std::vector<std::string>{"CVE-2023-38408", "CVE-2024-6387"}));
  EXPECT_TRUE(Cves({kOpenSsh, "", "", "", ""}).empty());  // no version: nothing to say
  EXPECT_TRUE(Cves({"cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*", "1.22.1", "", "", ""}).empty());
}

// The issue's case: OpenSSH_9.2p1 Debian-2+deb12u3 carries the backported fixes; it is not
// flagged for the upstream CVEs. An older Debian build is, for what it lacks.
TEST_F(VulnDbTest, DebianBackportsDecideForTheCvesTheyKnow) {
  EXPECT_TRUE(Cves({kOpenSsh, "9.2p1", "Debian:12", "openssh", "1:9.2p1-2+deb12u3"}).empty());
  auto older = db_->Match({kOpenSsh, "9.2p1", "Debian:12", "openssh", "1:9.2p1-2+deb12u2"});
  ASSERT_TRUE(older);
  ASSERT_EQ(older->size(), 1u);
  EXPECT_EQ((*older)[0].cve, "CVE-2024-6387");
  EXPECT_EQ((*older)[0].basis,
            "osv DEBIAN-CVE-2024-6387: Debian:12 openssh 1:9.2p1-2+deb12u2 is before the fix "
            "1:9.2p1-2+deb12u3");
  EXPECT_EQ((*older)[0].fixed, "1:9.2p1-2+deb12u3");
  EXPECT_EQ((*older)[0].cvss_score, 8.1);  // details from NVD all the same
  EXPECT_EQ(Cves({kOpenSsh, "9.2p1", "Debian:12", "openssh", "1:9.2p1-2"}),
            (std::vector<std::string>{"CVE-2023-38408", "CVE-2024-6387"}));
  // Another release's data says nothing about Debian 12's build: NVD decides.
  EXPECT_EQ(Cves({kOpenSsh, "9.2p1", "Debian:13", "openssh", "1:9.2p1-2+deb12u3"}).size(), 2u);
}

// What an import newly knows: every CVE of a first import, none of the same file again; a KEV
// entry that is new to the catalog.
TEST_F(VulnDbTest, ImportsTellWhatIsNew) {
  EXPECT_EQ(stats_[0].fresh,
            (std::vector<std::string>{"CVE-2023-38408", "CVE-2024-6387", "CVE-2025-99999"}));
  EXPECT_EQ(stats_[1].fresh.size(), 2u);
  EXPECT_EQ(stats_[2].fresh, (std::vector<std::string>{"CVE-2022-0543", "CVE-2023-38408"}));
  EXPECT_TRUE(stats_[3].fresh.empty());
  for (const char* file : {"nvd-openssh.json", "osv-debian12-openssh.json", "kev-sample.json"}) {
    auto again = db_->Import(Sample(file), file);
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->fresh.empty()) << file;
  }
  // A catalog that lists one more CVE: that one is new.
  std::string kev = Sample("kev-sample.json");
  kev.replace(kev.find("CVE-2022-0543"), 13, "CVE-2024-6387");
  auto grown = db_->Import(kev, "kev-2.json");
  ASSERT_TRUE(grown);
  EXPECT_EQ(grown->fresh, (std::vector<std::string>{"CVE-2024-6387"}));
  // NVD publishes a CVE before its analysis names products: new then, and new again when the
  // products come (that is when a service can be exposed to it); not when nothing changed.
  const std::string bare =
      R"({"format": "NVD_CVE", "vulnerabilities": [{"cve": {"id": "CVE-2026-0001"}}]})";
  const std::string analysed =
      R"({"format": "NVD_CVE", "vulnerabilities": [{"cve": {"id": "CVE-2026-0001",)"
      R"( "configurations": [{"nodes": [{"cpeMatch": [{"vulnerable": true, "criteria":)"
      R"( "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*", "versionEndExcluding": "9.9"}]}]}]}}]})";
  for (const auto& [content, expected] : {std::pair{bare, 1u}, std::pair{bare, 0u},
                                          std::pair{analysed, 1u}, std::pair{analysed, 0u}}) {
    auto imported = db_->Import(content, "nvd-2026.json");
    ASSERT_TRUE(imported) << imported.error().message;
    EXPECT_EQ(imported->fresh.size(), expected) << content;
  }
}

// Sightings: the latest replaces, old ones are forgotten, and only those whose product is
// exposed to the asked CVEs come back (a Debian build with the fix is not).
TEST_F(VulnDbTest, SightingsExposedToNewCves) {
  const TimeNs day = 86400 * kNsPerSecond;
  std::vector<Sighting> seen = {
      {"192.0.2.1", 22, "tcp", {kOpenSsh, "9.2p1", "", "", ""}, 10 * day},
      {"192.0.2.2",
       22,
       "tcp",
       {kOpenSsh, "9.2p1", "Debian:12", "openssh", "1:9.2p1-2+deb12u3"},
       10 * day},
      {"192.0.2.3",
       2222,
       "tcp",
       {kOpenSsh, "9.2p1", "Debian:12", "openssh", "1:9.2p1-2+deb12u2"},
       10 * day},
      {"192.0.2.4", 22, "tcp", {kOpenSsh, "9.9", "", "", ""}, 10 * day},
      {"192.0.2.5", 22, "tcp", {kOpenSsh, "4.3p2", "", "", ""}, 1 * day},  // forgotten below
  };
  ASSERT_TRUE(db_->RecordSightings(seen, 0));
  ASSERT_TRUE(db_->RecordSightings({}, 5 * day));
  EXPECT_EQ(db_->Counts()->sightings, 4u);
  auto addresses = [&](std::set<std::string> cves) {
    auto exposed = db_->ExposedSightings(cves);
    EXPECT_TRUE(exposed) << exposed.error().message;
    std::vector<std::string> out;
    for (const auto& s : *exposed) out.push_back(s.address + ":" + std::to_string(s.port));
    return out;
  };
  EXPECT_EQ(addresses({"CVE-2024-6387"}),
            (std::vector<std::string>{"192.0.2.1:22", "192.0.2.3:2222"}));
  EXPECT_EQ(addresses({"CVE-2025-99999"}), (std::vector<std::string>{"192.0.2.4:22"}));
  EXPECT_TRUE(addresses({"CVE-2022-0543"}).empty());
  // Seen again with the fix: no longer exposed.
  ASSERT_TRUE(
      db_->RecordSightings({{"192.0.2.3",
                             2222,
                             "tcp",
                             {kOpenSsh, "9.2p1", "Debian:12", "openssh", "1:9.2p1-2+deb12u3"},
                             11 * day}},
                           0));
  EXPECT_EQ(addresses({"CVE-2024-6387"}), (std::vector<std::string>{"192.0.2.1:22"}));
}

TEST_F(VulnDbTest, RefusesWhatItDoesNotKnow) {
  EXPECT_NE(db_->Import("{\"vulnerabilities\": [", "x.json").error().message.find("not JSON"),
            std::string::npos);
  EXPECT_NE(db_->Import("{\"hello\": 1}", "x.json").error().message.find("not NVD CVE API 2.0"),
            std::string::npos);
  EXPECT_NE(db_->Import("hello,world\n", "x.csv").error().message.find("not NVD"),
            std::string::npos);
  EXPECT_FALSE(db_->Import("", "empty"));
  // A malformed NVD record is counted, the good ones kept.
  auto stats = db_->Import(
      R"({"format": "NVD_CVE", "vulnerabilities": [{"nocve": 1}, {"cve": {"id": "X-1"}},
          {"cve": {"id": "CVE-2026-0001"}}]})",
      "mixed.json");
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->records, 1u);
  EXPECT_EQ(stats->rejected, 2u);
}

TEST(VersionsTest, UpstreamOrder) {
  EXPECT_LT(CompareVersions("9.2p1", "9.8"), 0);
  EXPECT_GT(CompareVersions("9.2p1", "9.2"), 0);
  EXPECT_LT(CompareVersions("9.2", "9.10"), 0);
  EXPECT_EQ(CompareVersions("1.0.0", "1.0.00"), 0);
  EXPECT_EQ(CompareVersions("2.4.62", "2.4.62"), 0);
  EXPECT_LT(CompareVersions("1.0", "1.0.1"), 0);
  EXPECT_LT(CompareVersions("1.0rc1", "1.0.1"), 0);
  EXPECT_GT(CompareVersions("10", "9"), 0);
  EXPECT_EQ(CompareVersions("", "0"), 0);
  EXPECT_EQ(CompareVersions("2.4", "2.4.0"), 0);
  EXPECT_EQ(CompareVersions("2.4.0.0", "2.4"), 0);
  EXPECT_LT(CompareVersions("1.0-rc1", "1.0"), 0);
  EXPECT_GT(CompareVersions("1.0", "1.0beta2"), 0);
  EXPECT_GT(CompareVersions("1.1.1k", "1.1.1"), 0);
  EXPECT_GT(CompareVersions("1.1.1a", "1.1.1"), 0);  // OpenSSL's letter releases come after
}

// Random Debian versions in dpkg's alphabet, compared by Bulwark and by dpkg --compare-versions.
TEST(VersionsTest, DebianOrderAgreesWithDpkg) {
  std::mt19937 random(15);
  const std::string alphabet = "0123456789.+~ab";
  auto part = [&](size_t max) {
    std::string out(1, "0123456789"[random() % 10]);  // upstream starts with a digit
    for (size_t n = random() % max; n > 0; --n) out += alphabet[random() % alphabet.size()];
    return out;
  };
  auto version = [&] {
    std::string v;
    if (random() % 4 == 0) v += std::to_string(random() % 3) + ":";
    v += part(6);
    if (random() % 2) {
      v += '-';
      v += part(4);
    }
    return v;
  };
  size_t compared = 0, disagreements = 0;
  for (int i = 0; i < 300; ++i) {
    std::string a = version(), b = random() % 5 == 0 ? a : version();
    int ours = CompareDebianVersions(a, b);
    auto dpkg = [&](const char* op) {
      std::string command = "dpkg --compare-versions '" + a + "' " + op + " '" + b + "'";
      return std::system(command.c_str()) == 0;
    };
    int theirs = dpkg("lt") ? -1 : dpkg("eq") ? 0 : 1;
    ++compared;
    if (ours != theirs && ++disagreements <= 10) {
      ADD_FAILURE() << a << " vs " << b << ": bulwark " << ours << ", dpkg " << theirs;
    }
  }
  EXPECT_EQ(disagreements, 0u);
  EXPECT_EQ(CompareDebianVersions("1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u2"), 1);
  EXPECT_EQ(CompareDebianVersions("1.0~rc1", "1.0"), -1);
  EXPECT_EQ(CompareDebianVersions("2:1.0", "1:9.9"), 1);
}

}  // namespace
}  // namespace bulwark::vuln
