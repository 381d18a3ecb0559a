#pragma once
// Helpers the report readers share (private to the abuse module).

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/core/time.h"
#include "bulwark/finding/intelmq.h"

namespace bulwark::abuse {

// A report's time: RFC 3339 / "YYYY-MM-DD hh:mm:ss" (UTC when no zone), the Common Log Format,
// RFC 5322 mail dates, or "Feb  3 2014 02:13:35 +0100". nullopt otherwise.
std::optional<TimeNs> ParseReportTime(std::string_view text);

// The classification.type for a report type of a format ("xarf3", "xarf4", "xarf02", "arf"),
// from data/abuse/classification.yml; nullopt when the table has no such type. Thread-safe.
std::optional<std::string> ClassificationType(std::string_view format, std::string_view key);

// The IPv4/IPv6 literal in `text` (an address, or the host of a URL such as
// "http://192.0.2.1:8080/x" or "http://[2001:db8::1]/"); empty when there is none.
std::string AddressIn(std::string_view text);

// Finishes one CSV row: the row's non-empty cells become the evidence ("column=value, ..."), the
// keys are checked as any finding's, and the finding or the reason (at `where`) is handed on.
void EmitRow(finding::HarmonizedFields keys, const std::vector<std::string>& header,
             const std::vector<std::string>& cells, TimeNs received, const std::string& where,
             const std::function<void(model::Finding)>& finding,
             const std::function<void(Error)>& rejected);

}  // namespace bulwark::abuse
