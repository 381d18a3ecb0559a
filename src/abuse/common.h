#pragma once
// Helpers the report readers share (private to the abuse module).

#include <optional>
#include <string>
#include <string_view>

#include "bulwark/core/time.h"

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

}  // namespace bulwark::abuse
