// CVSS scores: FIRST's published examples (v3.1 examples document, "CVSS v3.1 Scores" of
// each), the specification's rules for vector strings, and a differential test against a peer
// calculator (ae-cvss-calculator, run with node) on random vectors with every metric group.

#include "bulwark/vuln/cvss.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <set>
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
      {"AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "must start with CVSS:4.0/, CVSS:3.1/"},
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "base metric 'A' is missing"},
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L", "'A' given twice"},
      {"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "'AV' cannot be 'X'"},
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1", "unknown metric 'ZZ'"},
      {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", "not METRIC:VALUE"},
      {"CVSS:3.1/", "not METRIC:VALUE"},
      {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N", "base metric 'SA' is missing"},
      {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N", "'SI' cannot be 'S'"},
      {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:F", "'E' cannot be 'F'"},
      {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:U", "'S' cannot be 'U'"},
      {"CVSS:4.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "must start with"},
  };
  for (const auto& c : cases) {
    auto score = ScoreCvss(c.vector);
    ASSERT_FALSE(score) << c.vector;
    EXPECT_NE(score.error().message.find(c.reason), std::string::npos)
        << c.vector << ": " << score.error().message;
  }
  EXPECT_NE(CvssJson("x", ScoreCvss("x")).find(R"("error":)"), std::string::npos);
}

// The peer's JSON line for each vector (tests/vuln/cvss_peer.js); fails the test if it cannot run.
std::vector<std::string> PeerScores(const std::vector<std::string>& vectors) {
  std::string peer = std::string(BULWARK_SOURCE_DIR) + "/tools/npm/node_modules/ae-cvss-calculator";
  EXPECT_EQ(access(peer.c_str(), R_OK), 0) << "the peer is missing: tools/deps.sh installs it";
  auto dir = testing_support::TestDataDir("bulwark-cvss");
  std::filesystem::create_directories(dir);
  std::string in = (dir / "vectors.txt").string(), out = (dir / "peer.jsonl").string();
  {
    std::ofstream file(in);
    for (const auto& v : vectors) file << v << "\n";
  }
  std::string command = "node " + std::string(BULWARK_SOURCE_DIR) + "/tests/vuln/cvss_peer.js " +
                        peer + " < " + in + " > " + out;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::vector<std::string> lines;
  std::ifstream answers(out);
  for (std::string line; std::getline(answers, line);) lines.push_back(line);
  testing_support::RemoveTree(dir);
  return lines;
}

// A metric of the random vectors: its values, and whether a vector may leave it out.
struct Group {
  const char* metric;
  std::vector<const char*> values;
  bool optional;
};

// Random vectors with every metric group, scored by Bulwark and by the peer: equal everywhere.
TEST(CvssTest, AgreesWithAPeerCalculatorOnRandomVectors) {
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
  auto answers = PeerScores(vectors);
  ASSERT_EQ(answers.size(), vectors.size()) << "the peer answered fewer lines";
  size_t compared = 0, disagreements = 0, environmental = 0;
  for (size_t i = 0; i < vectors.size(); ++i) {
    const auto& vector = vectors[i];
    const auto& line = answers[i];
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
}

// CVSS v4.0: FIRST's examples (specification, section 8 and the calculator's test vectors).
TEST(CvssTest, Version4Examples) {
  struct Case {
    const char* vector;
    double base, score;
    const char* nomenclature;
  };
  const Case cases[] = {
      {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, 9.3, "CVSS-B"},
      {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N", 6.9, 6.9, "CVSS-B"},
      {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10, 10, "CVSS-B"},
      {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0, 0, "CVSS-B"},
      // Threat and environmental metrics (scores as the peer calculator gives them).
      {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", 9.3, 8.1, "CVSS-BT"},
      {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MSI:S", 9.3, 10, "CVSS-BE"},
      // Supplemental metrics change nothing.
      {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:P/AU:Y/U:Red", 9.3, 9.3,
       "CVSS-B"},
  };
  for (const auto& c : cases) {
    auto score = ScoreCvss(c.vector);
    ASSERT_TRUE(score) << c.vector << ": " << score.error().message;
    EXPECT_EQ(score->version, "4.0");
    EXPECT_DOUBLE_EQ(score->base_score, c.base) << c.vector;
    EXPECT_DOUBLE_EQ(score->score, c.score) << c.vector;
    EXPECT_EQ(score->nomenclature, c.nomenclature) << c.vector;
  }
  auto json = CvssJson(cases[4].vector, ScoreCvss(cases[4].vector));
  EXPECT_NE(json.find(R"("score":8.1,"severity":"High","nomenclature":"CVSS-BT")"),
            std::string::npos)
      << json;
}

// CVSS v4.0 against the peer on random vectors with every group (threat, environmental with
// Safety, supplemental): CVSS-B and overall scores equal everywhere.
TEST(CvssTest, Version4AgreesWithAPeerCalculatorOnRandomVectors) {
  const std::vector<Group> groups = {
      {"AV", {"N", "A", "L", "P"}, false},
      {"AC", {"L", "H"}, false},
      {"AT", {"N", "P"}, false},
      {"PR", {"N", "L", "H"}, false},
      {"UI", {"N", "P", "A"}, false},
      {"VC", {"H", "L", "N"}, false},
      {"VI", {"H", "L", "N"}, false},
      {"VA", {"H", "L", "N"}, false},
      {"SC", {"H", "L", "N"}, false},
      {"SI", {"H", "L", "N"}, false},
      {"SA", {"H", "L", "N"}, false},
      {"E", {"X", "A", "P", "U"}, true},
      {"CR", {"X", "H", "M", "L"}, true},
      {"IR", {"X", "H", "M", "L"}, true},
      {"AR", {"X", "H", "M", "L"}, true},
      {"MAV", {"X", "N", "A", "L", "P"}, true},
      {"MAC", {"X", "L", "H"}, true},
      {"MAT", {"X", "N", "P"}, true},
      {"MPR", {"X", "N", "L", "H"}, true},
      {"MUI", {"X", "N", "P", "A"}, true},
      {"MVC", {"X", "H", "L", "N"}, true},
      {"MVI", {"X", "H", "L", "N"}, true},
      {"MVA", {"X", "H", "L", "N"}, true},
      {"MSC", {"X", "H", "L", "N"}, true},
      {"MSI", {"X", "S", "H", "L", "N"}, true},
      {"MSA", {"X", "S", "H", "L", "N"}, true},
      {"S", {"X", "N", "P"}, true},
      {"AU", {"X", "N", "Y"}, true},
      {"R", {"X", "A", "U", "I"}, true},
      {"V", {"X", "D", "C"}, true},
      {"RE", {"X", "L", "M", "H"}, true},
      {"U", {"X", "Clear", "Green", "Amber", "Red"}, true},
  };
  std::mt19937 random(20261206);
  std::vector<std::string> vectors;
  for (int i = 0; i < 20000; ++i) {
    std::string vector = "CVSS:4.0";
    // A quarter of the vectors are base only, so that CVSS-B scores are spread over every
    // MacroVector; the rest set each optional metric with probability one in three.
    bool base_only = i % 4 == 0;
    for (const auto& g : groups) {
      if (g.optional && (base_only || random() % 3)) continue;
      vector += std::string("/") + g.metric + ":" + g.values[random() % g.values.size()];
    }
    vectors.push_back(vector);
  }
  auto answers = PeerScores(vectors);
  ASSERT_EQ(answers.size(), vectors.size()) << "the peer answered fewer lines";
  size_t disagreements = 0;
  std::set<double> scores_seen;
  for (size_t i = 0; i < vectors.size(); ++i) {
    auto ours = ScoreCvss(vectors[i]);
    ASSERT_TRUE(ours) << vectors[i] << ": " << ours.error().message;
    std::string mine = fmt::format(R"({{"base":{},"score":{}}})", ours->base_score, ours->score);
    if (mine != answers[i] && ++disagreements <= 10) {
      ADD_FAILURE() << vectors[i] << "\n  bulwark " << mine << "\n  peer    " << answers[i];
    }
    scores_seen.insert(ours->score);
  }
  EXPECT_EQ(disagreements, 0u);
  EXPECT_GT(scores_seen.size(), 80u);  // scores spread over the whole range
}

}  // namespace
}  // namespace bulwark::vuln
