#pragma once
// A client for Shadowserver's Reports API: list the reports of a date range (POST
// <api>/reports/list, the JSON body signed with HMAC-SHA256 under the API secret in the "HMAC2"
// header) and download one (GET <download>/<id>). Thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"

namespace bulwark::cloud {

struct ShadowserverApiSettings {
  std::string api_url = "https://transform.shadowserver.org/api2/";
  std::string download_url = "https://dl.shadowserver.org/";
  std::string key;
  std::string secret;
  std::vector<std::string> reports;  // report (mailing list) names; empty: all of the key's
  long timeout_seconds = 120;
};

// One report file the API offers.
struct ReportFile {
  std::string id;         // download id
  std::string file;       // e.g. "2026-11-20-scan_redis-asn-64500.csv" (types the report)
  std::string type;       // e.g. "scan_redis"
  std::string report;     // the mailing list / report name
  std::string timestamp;  // the report's date
};

// The body of a list request: {"apikey": ..., "date": "<from>:<to>", "reports": [...]}.
std::string ListRequestBody(const ShadowserverApiSettings& settings, std::string_view from,
                            std::string_view to);

// The reports from `from` to `to` (YYYY-MM-DD, inclusive). Errors: the request failed (with the
// API's answer), the answer is not a JSON list of reports.
Result<std::vector<ReportFile>> ListReports(const ShadowserverApiSettings& settings,
                                            std::string_view from, std::string_view to);

// The report's contents (CSV). Errors: the download failed.
Result<std::string> DownloadReport(const ShadowserverApiSettings& settings,
                                   const ReportFile& report);

}  // namespace bulwark::cloud
