#include "bulwark/vuln/cvss.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "bulwark/core/json_writer.h"
#include "cvss_internal.h"

namespace bulwark::vuln {

namespace {

// A metric's allowed values and their weights (FIRST CVSS v3.1 specification, section 7.4).
struct Metric {
  const char* name;
  bool base;  // required
  std::vector<std::pair<const char*, double>> values;
};

// PR's weight depends on Scope; it is resolved in the formulas ('N', 'L', 'H' kept as 0/1/2).
const std::vector<Metric>& Metrics() {
  static const std::vector<Metric> metrics = {
      {"AV", true, {{"N", 0.85}, {"A", 0.62}, {"L", 0.55}, {"P", 0.2}}},
      {"AC", true, {{"L", 0.77}, {"H", 0.44}}},
      {"PR", true, {{"N", 0}, {"L", 1}, {"H", 2}}},
      {"UI", true, {{"N", 0.85}, {"R", 0.62}}},
      {"S", true, {{"U", 0}, {"C", 1}}},
      {"C", true, {{"H", 0.56}, {"L", 0.22}, {"N", 0}}},
      {"I", true, {{"H", 0.56}, {"L", 0.22}, {"N", 0}}},
      {"A", true, {{"H", 0.56}, {"L", 0.22}, {"N", 0}}},
      {"E", false, {{"X", 1}, {"H", 1}, {"F", 0.97}, {"P", 0.94}, {"U", 0.91}}},
      {"RL", false, {{"X", 1}, {"U", 1}, {"W", 0.97}, {"T", 0.96}, {"O", 0.95}}},
      {"RC", false, {{"X", 1}, {"C", 1}, {"R", 0.96}, {"U", 0.92}}},
      {"CR", false, {{"X", 1}, {"H", 1.5}, {"M", 1}, {"L", 0.5}}},
      {"IR", false, {{"X", 1}, {"H", 1.5}, {"M", 1}, {"L", 0.5}}},
      {"AR", false, {{"X", 1}, {"H", 1.5}, {"M", 1}, {"L", 0.5}}},
      {"MAV", false, {{"X", -1}, {"N", 0.85}, {"A", 0.62}, {"L", 0.55}, {"P", 0.2}}},
      {"MAC", false, {{"X", -1}, {"L", 0.77}, {"H", 0.44}}},
      {"MPR", false, {{"X", -1}, {"N", 0}, {"L", 1}, {"H", 2}}},
      {"MUI", false, {{"X", -1}, {"N", 0.85}, {"R", 0.62}}},
      {"MS", false, {{"X", -1}, {"U", 0}, {"C", 1}}},
      {"MC", false, {{"X", -1}, {"H", 0.56}, {"L", 0.22}, {"N", 0}}},
      {"MI", false, {{"X", -1}, {"H", 0.56}, {"L", 0.22}, {"N", 0}}},
      {"MA", false, {{"X", -1}, {"H", 0.56}, {"L", 0.22}, {"N", 0}}},
  };
  return metrics;
}

// The v3 metrics as the shared vector parser sees them.
const std::vector<internal::CvssMetric>& Table3() {
  static const std::vector<internal::CvssMetric> table = [] {
    std::vector<internal::CvssMetric> out;
    for (const auto& m : Metrics()) {
      internal::CvssMetric metric{m.name, m.base, {}};
      for (const auto& [value, weight] : m.values) metric.values.push_back(value);
      out.push_back(std::move(metric));
    }
    return out;
  }();
  return table;
}

// Roundup of v3.1 (Appendix A): the smallest number with one decimal at or above the input,
// computed on integers so that floating-point noise does not lift 4.0000000001 to 4.1.
double Roundup31(double value) {
  auto integer = static_cast<int64_t>(std::llround(value * 100000));
  if (integer % 10000 == 0) return static_cast<double>(integer) / 100000.0;
  return (std::floor(static_cast<double>(integer) / 10000.0) + 1) / 10.0;
}

// Roundup of v3.0 (section 7.1): to one decimal, upwards.
double Roundup30(double value) {
  return std::ceil(value * 10) / 10;
}

double PrivilegesWeight(double level, bool changed) {
  if (level == 0) return 0.85;
  if (level == 1) return changed ? 0.68 : 0.62;
  return changed ? 0.5 : 0.27;
}

}  // namespace

namespace internal {

Result<CvssValues> ParseCvssMetrics(std::string_view metrics,
                                    const std::vector<CvssMetric>& table) {
  CvssValues out;
  std::string_view rest = metrics;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    size_t colon = part.find(':');
    if (part.empty() || colon == std::string_view::npos) {
      return Fail(fmt::format("'{}' is not METRIC:VALUE", part));
    }
    std::string_view name = part.substr(0, colon), value = part.substr(colon + 1);
    const CvssMetric* metric = nullptr;
    for (const auto& m : table) {
      if (name == m.name) metric = &m;
    }
    if (!metric) return Fail(fmt::format("unknown metric '{}'", name));
    if (out.count(name)) return Fail(fmt::format("metric '{}' given twice", name));
    if (std::find(metric->values.begin(), metric->values.end(), value) == metric->values.end()) {
      return Fail(fmt::format("metric '{}' cannot be '{}' ({})", name, value,
                              fmt::join(metric->values, ", ")));
    }
    out.emplace(std::string(name), std::string(value));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  for (const auto& m : table) {
    if (m.required && !out.count(m.name)) {
      return Fail(fmt::format("base metric '{}' is missing", m.name));
    }
  }
  return out;
}

}  // namespace internal

const char* CvssSeverity(double score) {
  if (score == 0) return "None";
  if (score < 4.0) return "Low";
  if (score < 7.0) return "Medium";
  if (score < 9.0) return "High";
  return "Critical";
}

Result<CvssScore> ScoreCvss(std::string_view vector) {
  CvssScore out;
  out.vector = std::string(vector);
  if (vector.starts_with("CVSS:4.0/")) return internal::ScoreCvss40(vector);
  if (vector.starts_with("CVSS:3.1/")) {
    out.version = "3.1";
  } else if (vector.starts_with("CVSS:3.0/")) {
    out.version = "3.0";
  } else {
    return Fail("not a CVSS vector: it must start with CVSS:4.0/, CVSS:3.1/ or CVSS:3.0/");
  }
  bool v31 = out.version == "3.1";
  auto roundup = v31 ? Roundup31 : Roundup30;
  auto values = internal::ParseCvssMetrics(vector.substr(9), Table3());
  if (!values) return tl::unexpected(values.error());
  std::map<std::string, double> w;
  for (const auto& m : Metrics()) {
    auto given = values->find(m.name);
    std::string_view text = given == values->end() ? "X" : std::string_view(given->second);
    for (const auto& [value, weight] : m.values) {
      if (text == value) w[m.name] = weight;
    }
  }
  // Base.
  bool changed = w["S"] == 1;
  double iss = 1 - (1 - w["C"]) * (1 - w["I"]) * (1 - w["A"]);
  double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * std::pow(iss - 0.02, 15) : 6.42 * iss;
  double exploitability = 8.22 * w["AV"] * w["AC"] * PrivilegesWeight(w["PR"], changed) * w["UI"];
  if (impact <= 0) {
    out.base_score = 0;
  } else if (changed) {
    out.base_score = roundup(std::min(1.08 * (impact + exploitability), 10.0));
  } else {
    out.base_score = roundup(std::min(impact + exploitability, 10.0));
  }
  out.base_severity = CvssSeverity(out.base_score);
  // Temporal.
  double temporal = w["E"] * w["RL"] * w["RC"];
  out.temporal_score = roundup(out.base_score * temporal);
  // Environmental: modified metrics default to their base values.
  auto modified = [&](const char* name, const char* base) {
    return w[name] < 0 ? w[base] : w[name];
  };
  bool m_changed = modified("MS", "S") == 1;
  double miss =
      std::min(1 - (1 - w["CR"] * modified("MC", "C")) * (1 - w["IR"] * modified("MI", "I")) *
                       (1 - w["AR"] * modified("MA", "A")),
               0.915);
  double m_impact = !m_changed ? 6.42 * miss
                    : v31      ? 7.52 * (miss - 0.029) - 3.25 * std::pow(miss * 0.9731 - 0.02, 13)
                               : 7.52 * (miss - 0.029) - 3.25 * std::pow(miss - 0.02, 15);
  double m_exploitability = 8.22 * modified("MAV", "AV") * modified("MAC", "AC") *
                            PrivilegesWeight(modified("MPR", "PR"), m_changed) *
                            modified("MUI", "UI");
  if (m_impact <= 0) {
    out.environmental_score = 0;
  } else if (m_changed) {
    out.environmental_score =
        roundup(roundup(std::min(1.08 * (m_impact + m_exploitability), 10.0)) * temporal);
  } else {
    out.environmental_score =
        roundup(roundup(std::min(m_impact + m_exploitability, 10.0)) * temporal);
  }
  return out;
}

std::string CvssJson(std::string_view vector, const Result<CvssScore>& score) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  json.Member("vector", vector);
  if (!score) {
    json.Member("error", score.error().message);
  } else {
    json.Member("version", score->version);
    json.Key("base_score");
    json.Double(score->base_score);
    json.Member("base_severity", score->base_severity);
    if (score->version == "4.0") {
      json.Key("score");
      json.Double(score->score);
      json.Member("severity", score->severity);
      json.Member("nomenclature", score->nomenclature);
    } else {
      json.Key("temporal_score");
      json.Double(score->temporal_score);
      json.Key("environmental_score");
      json.Double(score->environmental_score);
    }
  }
  json.EndObject();
  return out;
}

}  // namespace bulwark::vuln
