// CVSS v3.x scores: FIRST's published examples (v3.1 examples document, "CVSS v3.1 Scores" of
// each), the specification's rules for vector strings, and a differential test against a peer
// calculator (ae-cvss-calculator, run with node) on random vectors with every metric group.

#include "bulwark/vuln/cvss.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "../support/files.h"

namespace bulwark::vuln {
namespace {

TEST(CvssTest, FirstsExamples) {
  struct Case {
    const char* vector;
    double base;
  };
  // FIRST, "CVSS v3.1 Examples" (vulnerability, vector, base score).
  const Case cases[] = {
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1},  // CVE-2013-1937 phpMyAdmin XSS
      {"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4},  // CVE-2013-0375 MySQL
      {"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1},  // CVE-2014-3566 POODLE
      {"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9},  // CVE-2012-1516 VMware
      {"CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L", 4.2},  // CVE-2009-0783 Tomcat
      {"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8},  // CVE-2012-0384 Cisco IOS
      {"CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.8},  // CVE-2015-1098 Apple
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5},  // CVE-2014-0160 Heartbleed
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},  // CVE-2014-6271 Shellshock
      {"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N", 6.8},  // CVE-2008-1447 DNS
      {"CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8},  // CVE-2014-2005 Sophos
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N", 5.8},  // CVE-2010-0467 Joomla
      {"CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.8},  // CVE-2011-1265 Bluetooth
      {"CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", 4.6},  // CVE-2014-2019 Apple iOS
      {"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N", 7.4},  // CVE-2014-0224 OpenSSL CCS
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H", 9.6},  // CVE-2012-5376 Chrome
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0},
  };
  for (const auto& c : cases) {
    auto score = ScoreCvss(c.vector);
    ASSERT_TRUE(score) << c.vector << ": " << score.error().message;
    EXPECT_DOUBLE_EQ(score->base_score, c.base) << c.vector;
    EXPECT_STREQ(score->base_severity.c_str(), CvssSeverity(c.base));
  }
  // Temporal and environmental (NVD's CVE-2020-5934 vector, the peer's documentation example).
  auto full = ScoreCvss("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:L/A:H/E:F/RL:U/RC:R/CR:H/MAV:L");
  ASSERT_TRUE(full);
  EXPECT_DOUBLE_EQ(full->base_score, 9.9);
  EXPECT_DOUBLE_EQ(full->temporal_score, 9.3);
  EXPECT_DOUBLE_EQ(full->environmental_score, 8.2);
  EXPECT_EQ(
      CvssJson("v", full),
      R"({"vector":"v","version":"3.1","base_score":9.9,"base_severity":"Critical","temporal_score":9.3,"environmental_score":8.2})");
}

TEST(CvssTest, BadVectorsSayWhy) {
  struct Case {
    const char* vector;
    const char* reason;
  };
  const Case cases[] = {
      {"AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "must start with CVSS:3.1/"},
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "base metric 'A' is missing"},
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L", "'A' given twice"},
      {"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "'AV' cannot be 'X'"},
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1", "unknown metric 'ZZ'"},
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", "not METRIC:VALUE"},
      {"CVSS:3.1/", "not METRIC:VALUE"},
      {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "4.0 is not supported"},
  };
  for (const auto& c : cases) {
    auto score = ScoreCvss(c.vector);
    ASSERT_FALSE(score) << c.vector;
    EXPECT_NE(score.error().message.find(c.reason), std::string::npos)
        << c.vector << ": " << score.error().message;
  }
  EXPECT_NE(CvssJson("x", ScoreCvss("x")).find(R"("error":)"), std::string::npos);
}

// Random vectors with every metric group, scored by Bulwark and by the peer: equal everywhere.
TEST(CvssTest, AgreesWithAPeerCalculatorOnRandomVectors) {
  std::string peer = std::string(BULWARK_SOURCE_DIR) + "/tools/npm/node_modules/ae-cvss-calculator";
  ASSERT_EQ(access(peer.c_str(), R_OK), 0) << "the peer is missing: tools/deps.sh installs it";
  struct Group {
    const char* metric;
    std::vector<const char*> values;
    bool optional;
  };
  const std::vector<Group> groups = {
      {"AV", {"N", "A", "L", "P"}, false},
      {"AC", {"L", "H"}, false},
      {"PR", {"N", "L", "H"}, false},
      {"UI", {"N", "R"}, false},
      {"S", {"U", "C"}, false},
      {"C", {"H", "L", "N"}, false},
      {"I", {"H", "L", "N"}, false},
      {"A", {"H", "L", "N"}, false},
      {"E", {"X", "H", "F", "P", "U"}, true},
      {"RL", {"X", "U", "W", "T", "O"}, true},
      {"RC", {"X", "C", "R", "U"}, true},
      {"CR", {"X", "H", "M", "L"}, true},
      {"IR", {"X", "H", "M", "L"}, true},
      {"AR", {"X", "H", "M", "L"}, true},
      {"MAV", {"X", "N", "A", "L", "P"}, true},
      {"MAC", {"X", "L", "H"}, true},
      {"MPR", {"X", "N", "L", "H"}, true},
      {"MUI", {"X", "N", "R"}, true},
      {"MS", {"X", "U", "C"}, true},
      {"MC", {"X", "H", "L", "N"}, true},
      {"MI", {"X", "H", "L", "N"}, true},
      {"MA", {"X", "H", "L", "N"}, true},
  };
  std::mt19937 random(20261205);
  std::vector<std::string> vectors;
  for (int i = 0; i < 20000; ++i) {
    std::string vector = i % 5 == 4 ? "CVSS:3.0" : "CVSS:3.1";
    for (const auto& g : groups) {
      if (g.optional && random() % 2) continue;
      vector += std::string("/") + g.metric + ":" + g.values[random() % g.values.size()];
    }
    vectors.push_back(vector);
  }
  auto dir = testing_support::TestDataDir("bulwark-cvss");
  std::filesystem::create_directories(dir);
  std::string in = (dir / "vectors.txt").string(), out = (dir / "peer.jsonl").string();
  {
    std::ofstream file(in);
    for (const auto& v : vectors) file << v << "\n";
  }
  std::string command = "node " + std::string(BULWARK_SOURCE_DIR) + "/tests/vuln/cvss_peer.js " +
                        peer + " < " + in + " > " + out;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream answers(out);
  std::string line;
  size_t compared = 0, disagreements = 0, environmental = 0;
  for (const auto& vector : vectors) {
    ASSERT_TRUE(std::getline(answers, line)) << "the peer answered fewer lines";
    auto ours = ScoreCvss(vector);
    ASSERT_TRUE(ours) << vector << ": " << ours.error().message;
    // The peer leaves out the temporal and environmental scores of vectors without such metrics.
    std::string mine = "{\"base\":" + fmt::format("{}", ours->base_score);
    if (line.find("\"temporal\"") != std::string::npos) {
      mine += ",\"temporal\":" + fmt::format("{}", ours->temporal_score);
    }
    if (line.find("\"environmental\"") != std::string::npos) {
      ++environmental;
      mine += ",\"environmental\":" + fmt::format("{}", ours->environmental_score);
    }
    mine += "}";
    ++compared;
    if (mine != line && ++disagreements <= 10) {
      ADD_FAILURE() << vector << "\n  bulwark " << mine << "\n  peer    " << line;
    }
  }
  EXPECT_EQ(compared, vectors.size());
  EXPECT_EQ(disagreements, 0u);
  EXPECT_GT(environmental, vectors.size() / 2);  // most vectors have environmental metrics
  testing_support::RemoveTree(dir);
}

}  // namespace
}  // namespace bulwark::vuln
