#pragma once
// Shared by the CVSS calculators of each version (cvss.cc, cvss4.cc); not a public interface.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/vuln/cvss.h"

namespace bulwark::vuln::internal {

// One metric of a CVSS version: its abbreviation, whether a vector must carry it, and the values
// it may take (in the specification's order).
struct CvssMetric {
  std::string_view name;
  bool required = false;
  std::vector<std::string_view> values;
};

using CvssValues = std::map<std::string, std::string, std::less<>>;

// Splits the metrics part of a vector ("AV:N/AC:L/...", after the version prefix) into metric ->
// value. Metrics may come in any order. Fails, naming the problem, on a part that is not
// METRIC:VALUE, an unknown or repeated metric, a value the metric cannot have, or a missing
// required metric.
Result<CvssValues> ParseCvssMetrics(std::string_view metrics, const std::vector<CvssMetric>& table);

// CVSS v4.0 (cvss4.cc): `vector` starts with "CVSS:4.0/".
Result<CvssScore> ScoreCvss40(std::string_view vector);

}  // namespace bulwark::vuln::internal
