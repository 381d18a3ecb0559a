#pragma once
// CVSS scores from vector strings (FIRST's specifications): v3.1 and v3.0 base, temporal and
// environmental scores with each version's Roundup; v4.0 scores from MacroVectors with the
// interpolation of FIRST's reference calculator. Pure functions, thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "bulwark/core/result.h"

namespace bulwark::vuln {

struct CvssScore {
  std::string vector;         // as given
  std::string version;        // "4.0", "3.1", "3.0"
  double base_score = 0;      // v4.0: the CVSS-B score (threat and environmental metrics unset)
  std::string base_severity;  // None, Low, Medium, High, Critical
  // v3.x only.
  double temporal_score = 0;
  double environmental_score = 0;
  // v4.0 only: the score of every metric given, its severity, and what it is (CVSS-B, CVSS-BT,
  // CVSS-BE, CVSS-BTE: which of the threat and environmental groups the vector sets).
  double score = 0;
  std::string severity;
  std::string nomenclature;
};

// Scores a vector ("CVSS:4.0/...", "CVSS:3.1/...", "CVSS:3.0/..."; metrics in any order). Errors
// name the problem: no or an unknown version prefix, a metric that is unknown, repeated, missing
// (base metrics) or has a value it cannot have.
Result<CvssScore> ScoreCvss(std::string_view vector);

// The qualitative rating of a score: "None" (0), "Low" (0.1-3.9), "Medium", "High", "Critical"
// (9.0-10.0).
const char* CvssSeverity(double score);

// The JSON line of `bulwark cvss` for `vector`: {"vector", "version", "base_score",
// "base_severity"} and, for v3.x, "temporal_score" and "environmental_score", for v4.0 "score",
// "severity" and "nomenclature"; or {"vector", "error"}.
std::string CvssJson(std::string_view vector, const Result<CvssScore>& score);

}  // namespace bulwark::vuln
