// CVSS v4.0 (FIRST's specification, section 8, and its reference calculator): a vector's
// MacroVector (EQ1..EQ6) gives the score of the MacroVector's highest-severity vectors from a
// lookup table; the vector's score is that score lowered by the mean, over the EQs that have a next
// lower MacroVector, of the score difference to it times the vector's severity distance from the
// highest vector as a fraction of the MacroVector's depth. Rounded to one decimal, half up.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_map>

#include "cvss_internal.h"

namespace bulwark::vuln::internal {

namespace {

const std::vector<CvssMetric>& Table4() {
  static const std::vector<CvssMetric> table = {
      // Base.
      {"AV", true, {"N", "A", "L", "P"}},
      {"AC", true, {"L", "H"}},
      {"AT", true, {"N", "P"}},
      {"PR", true, {"N", "L", "H"}},
      {"UI", true, {"N", "P", "A"}},
      {"VC", true, {"H", "L", "N"}},
      {"VI", true, {"H", "L", "N"}},
      {"VA", true, {"H", "L", "N"}},
      {"SC", true, {"H", "L", "N"}},
      {"SI", true, {"H", "L", "N"}},
      {"SA", true, {"H", "L", "N"}},
      // Threat.
      {"E", false, {"X", "A", "P", "U"}},
      // Environmental.
      {"CR", false, {"X", "H", "M", "L"}},
      {"IR", false, {"X", "H", "M", "L"}},
      {"AR", false, {"X", "H", "M", "L"}},
      {"MAV", false, {"X", "N", "A", "L", "P"}},
      {"MAC", false, {"X", "L", "H"}},
      {"MAT", false, {"X", "N", "P"}},
      {"MPR", false, {"X", "N", "L", "H"}},
      {"MUI", false, {"X", "N", "P", "A"}},
      {"MVC", false, {"X", "H", "L", "N"}},
      {"MVI", false, {"X", "H", "L", "N"}},
      {"MVA", false, {"X", "H", "L", "N"}},
      {"MSC", false, {"X", "H", "L", "N"}},
      {"MSI", false, {"X", "S", "H", "L", "N"}},
      {"MSA", false, {"X", "S", "H", "L", "N"}},
      // Supplemental: carried, never scored.
      {"S", false, {"X", "N", "P"}},
      {"AU", false, {"X", "N", "Y"}},
      {"R", false, {"X", "A", "U", "I"}},
      {"V", false, {"X", "D", "C"}},
      {"RE", false, {"X", "L", "M", "H"}},
      {"U", false, {"X", "Clear", "Green", "Amber", "Red"}},
  };
  return table;
}

constexpr std::array<std::string_view, 14> kEnvironmental = {
    "CR", "IR", "AR", "MAV", "MAC", "MAT", "MPR", "MUI", "MVC", "MVI", "MVA", "MSC", "MSI", "MSA"};

const std::unordered_map<std::string, double>& MacroVectorScores() {
  static const std::unordered_map<std::string, double> scores = {
#include "cvss4_macrovectors.inc"
  };
  return scores;
}

// The value a metric takes in scoring: a modified (environmental) metric overrides its base metric;
// an unset E counts as A (attacked) and unset security requirements as H, the worst cases.
class Effective {
 public:
  explicit Effective(const CvssValues& given) : given_(given) {}

  std::string_view Given(std::string_view name) const {
    auto it = given_.find(name);
    return it == given_.end() ? std::string_view("X") : std::string_view(it->second);
  }

  std::string_view operator[](std::string_view name) const {
    std::string_view value = Given(name);
    if (name == "E" && value == "X") return "A";
    if ((name == "CR" || name == "IR" || name == "AR") && value == "X") return "H";
    std::string_view modified = Given(fmt::format("M{}", name));
    return modified != "X" ? modified : value;
  }

  bool Is(std::string_view name, std::string_view value) const { return (*this)[name] == value; }

 private:
  const CvssValues& given_;
};

// EQ1..EQ6 (specification, table 24).
std::array<int, 6> MacroVectorOf(const Effective& m) {
  std::array<int, 6> eq{};
  bool av_n = m.Is("AV", "N"), pr_n = m.Is("PR", "N"), ui_n = m.Is("UI", "N");
  eq[0] = av_n && pr_n && ui_n ? 0 : (av_n || pr_n || ui_n) && !m.Is("AV", "P") ? 1 : 2;
  eq[1] = m.Is("AC", "L") && m.Is("AT", "N") ? 0 : 1;
  eq[2] = m.Is("VC", "H") && m.Is("VI", "H")                      ? 0
          : m.Is("VC", "H") || m.Is("VI", "H") || m.Is("VA", "H") ? 1
                                                                  : 2;
  eq[3] = m.Given("MSI") == "S" || m.Given("MSA") == "S"          ? 0
          : m.Is("SC", "H") || m.Is("SI", "H") || m.Is("SA", "H") ? 1
                                                                  : 2;
  eq[4] = m.Is("E", "A") ? 0 : m.Is("E", "P") ? 1 : 2;
  eq[5] = (m.Is("CR", "H") && m.Is("VC", "H")) || (m.Is("IR", "H") && m.Is("VI", "H")) ||
                  (m.Is("AR", "H") && m.Is("VA", "H"))
              ? 0
              : 1;
  return eq;
}

std::string KeyOf(const std::array<int, 6>& eq) {
  return fmt::format("{}{}{}{}{}{}", eq[0], eq[1], eq[2], eq[3], eq[4], eq[5]);
}

// The score of a MacroVector, or NaN where it does not exist.
double LookUp(const std::array<int, 6>& eq) {
  auto it = MacroVectorScores().find(KeyOf(eq));
  return it == MacroVectorScores().end() ? std::nan("") : it->second;
}

// A metric value's severity level in tenths (0 is the most severe), as the reference calculator
// measures distances.
int Level(std::string_view metric, std::string_view value) {
  struct Levels {
    std::string_view metric;
    std::string_view values;  // in order of falling severity, one letter each
    int first;
  };
  static const Levels levels[] = {
      {"AV", "NALP", 0}, {"PR", "NLH", 0}, {"UI", "NPA", 0}, {"AC", "LH", 0},  {"AT", "NP", 0},
      {"VC", "HLN", 0},  {"VI", "HLN", 0}, {"VA", "HLN", 0}, {"SC", "HLN", 1}, {"SI", "SHLN", 0},
      {"SA", "SHLN", 0}, {"CR", "HML", 0}, {"IR", "HML", 0}, {"AR", "HML", 0},
  };
  for (const auto& l : levels) {
    if (l.metric == metric) return l.first + static_cast<int>(l.values.find(value.front()));
  }
  return 0;
}

// An EQ level of the reference calculator: its highest-severity vectors, as "METRIC:VALUE/..."
// fragments, and its depth, the most severity steps a vector of the level can be from them.
struct EqLevel {
  std::vector<std::string_view> highest;
  int depth;
};

// The level `level` of EQ `eq` (1-5; EQ3 and EQ6 are joint: `eq6` picks the EQ6 level).
const EqLevel& LevelOf(int eq, int level, int eq6 = 0) {
  static const std::vector<EqLevel> eq1 = {
      {{"AV:N/PR:N/UI:N"}, 1},
      {{"AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"}, 4},
      {{"AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"}, 5}};
  static const std::vector<EqLevel> eq2 = {{{"AC:L/AT:N"}, 1}, {{"AC:H/AT:N", "AC:L/AT:P"}, 2}};
  static const EqLevel eq3eq6[3][2] = {
      {{{"VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"}, 7},
       {{"VC:H/VI:H/VA:L/CR:M/IR:M/AR:H", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M"}, 6}},
      {{{"VC:L/VI:H/VA:H/CR:H/IR:H/AR:H", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H"}, 8},
       {{"VC:L/VI:H/VA:L/CR:H/IR:M/AR:H", "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M",
         "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M", "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H",
         "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M"},
        8}},
      {{{}, 0}, {{"VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"}, 10}}};
  static const std::vector<EqLevel> eq4 = {
      {{"SC:H/SI:S/SA:S"}, 6}, {{"SC:H/SI:H/SA:H"}, 5}, {{"SC:L/SI:L/SA:L"}, 4}};
  static const std::vector<EqLevel> eq5 = {{{"E:A"}, 1}, {{"E:P"}, 1}, {{"E:U"}, 1}};
  if (eq == 3) return eq3eq6[level][eq6];
  const std::vector<EqLevel>* tables[] = {&eq1, &eq2, nullptr, &eq4, &eq5};
  return (*tables[eq - 1])[level];
}

// The value of `metric` in a "METRIC:VALUE/..." string.
std::string_view ValueIn(std::string_view vector, std::string_view metric) {
  size_t start = 0;
  while (start < vector.size()) {
    size_t end = std::min(vector.find('/', start), vector.size());
    std::string_view part = vector.substr(start, end - start);
    if (part.size() > metric.size() && part.starts_with(metric) && part[metric.size()] == ':') {
      return part.substr(metric.size() + 1);
    }
    start = end + 1;
  }
  return {};
}

constexpr std::array<std::string_view, 14> kDistanceMetrics = {
    "AV", "PR", "UI", "AC", "AT", "VC", "VI", "VA", "SC", "SI", "SA", "CR", "IR", "AR"};

double Score(const CvssValues& given) {
  Effective m(given);
  bool no_impact = std::all_of(kDistanceMetrics.begin() + 5, kDistanceMetrics.begin() + 11,
                               [&](std::string_view metric) { return m.Is(metric, "N"); });
  if (no_impact) return 0;
  auto eq = MacroVectorOf(m);
  double value = LookUp(eq);

  // The next lower MacroVector of each EQ (EQ3 and EQ6 move jointly: 00 -> the higher of 01 and
  // 10, 01 and 10 -> 11, 11 -> 21, 21 -> none).
  auto lower = [&](int index, int step6 = 0) {
    auto next = eq;
    next[index] += 1;
    next[5] += step6;
    return LookUp(next);
  };
  double lower_eq3eq6;
  if (eq[2] == 0 && eq[5] == 0) {
    auto left = eq, right = eq;
    left[5] += 1;
    right[2] += 1;
    double l = LookUp(left), r = LookUp(right);
    lower_eq3eq6 = l > r ? l : r;
  } else if (eq[2] == 1 && eq[5] == 0) {
    auto next = eq;
    next[5] += 1;
    lower_eq3eq6 = LookUp(next);
  } else if (eq[2] == 2) {
    lower_eq3eq6 = lower(2, 1);
  } else {
    lower_eq3eq6 = lower(2);
  }

  // The first highest vector that the vector is nowhere more severe than.
  std::array<int, kDistanceMetrics.size()> distance{};
  for (auto e1 : LevelOf(1, eq[0]).highest) {
    for (auto e2 : LevelOf(2, eq[1]).highest) {
      for (auto e36 : LevelOf(3, eq[2], eq[5]).highest) {
        for (auto e4 : LevelOf(4, eq[3]).highest) {
          for (auto e5 : LevelOf(5, eq[4]).highest) {
            std::string highest = fmt::format("{}/{}/{}/{}/{}", e1, e2, e36, e4, e5);
            bool below_everywhere = true;
            for (size_t i = 0; i < kDistanceMetrics.size(); ++i) {
              auto metric = kDistanceMetrics[i];
              distance[i] = Level(metric, m[metric]) - Level(metric, ValueIn(highest, metric));
              below_everywhere = below_everywhere && distance[i] >= 0;
            }
            if (below_everywhere) goto found;
          }
        }
      }
    }
  }
found:
  auto sum = [&](size_t from, size_t to) {
    int total = 0;
    for (size_t i = from; i < to; ++i) total += distance[i];
    return total;
  };
  struct Part {
    double next_lower;
    int distance;
    int depth;
  };
  const Part parts[] = {
      {lower(0), sum(0, 3), LevelOf(1, eq[0]).depth},
      {lower(1), sum(3, 5), LevelOf(2, eq[1]).depth},
      {lower_eq3eq6, sum(5, 8) + sum(11, 14), LevelOf(3, eq[2], eq[5]).depth},
      {lower(3), sum(8, 11), LevelOf(4, eq[3]).depth},
      {lower(4), 0, LevelOf(5, eq[4]).depth},
  };
  double total = 0;
  int counted = 0;
  for (const auto& part : parts) {
    if (std::isnan(part.next_lower)) continue;
    ++counted;
    total += (value - part.next_lower) * part.distance / part.depth;
  }
  if (counted > 0) value -= total / counted;
  value = std::clamp(value, 0.0, 10.0);
  return std::floor((value + 1e-6) * 10 + 0.5) / 10;
}

}  // namespace

Result<CvssScore> ScoreCvss40(std::string_view vector) {
  auto given = ParseCvssMetrics(vector.substr(std::string_view("CVSS:4.0/").size()), Table4());
  if (!given) return tl::unexpected(given.error());
  Effective effective(*given);
  bool threat = effective.Given("E") != "X";
  bool environmental = std::any_of(kEnvironmental.begin(), kEnvironmental.end(),
                                   [&](std::string_view m) { return effective.Given(m) != "X"; });
  CvssValues base = *given;
  base.erase("E");
  for (auto metric : kEnvironmental) base.erase(std::string(metric));

  CvssScore out;
  out.vector = std::string(vector);
  out.version = "4.0";
  out.base_score = Score(base);
  out.base_severity = CvssSeverity(out.base_score);
  out.score = Score(*given);
  out.severity = CvssSeverity(out.score);
  out.nomenclature = std::string("CVSS-B") + (threat ? "T" : "") + (environmental ? "E" : "");
  return out;
}

}  // namespace bulwark::vuln::internal
