#pragma once
// CVSS scores from vector strings (FIRST's specifications): v3.1 and v3.0 base, temporal and
// environmental scores with the specification's Roundup. Pure functions, thread-safe.
// (CVSS v4.0 is recognised and refused with a reason until its calculator lands, issue 15.)

#include <optional>
#include <string>
#include <string_view>

#include "bulwark/core/result.h"

namespace bulwark::vuln {

struct CvssScore {
  std::string vector;   // as given
  std::string version;  // "3.1", "3.0"
  double base_score = 0;
  std::string base_severity;  // None, Low, Medium, High, Critical
  double temporal_score = 0;
  double environmental_score = 0;
};

// Scores a vector. Errors name the problem: no or an unknown version prefix, a metric that is
// unknown, repeated, missing (base metrics) or has a value it cannot have.
Result<CvssScore> ScoreCvss(std::string_view vector);

// The qualitative rating of a score: "None" (0), "Low" (0.1-3.9), "Medium", "High", "Critical"
// (9.0-10.0).
const char* CvssSeverity(double score);

// The JSON line of `bulwark cvss` for `vector`: the scores, or {"vector", "error"}.
std::string CvssJson(std::string_view vector, const Result<CvssScore>& score);

}  // namespace bulwark::vuln
