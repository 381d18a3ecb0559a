#pragma once
// Civil time helpers on Unix nanoseconds (UTC). Pure functions, thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark {

using TimeNs = int64_t;  // nanoseconds since 1970-01-01T00:00:00Z
inline constexpr TimeNs kNsPerSecond = 1'000'000'000;

struct CivilTime {
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  int64_t nanos = 0;
};

// Days since the epoch for a proleptic Gregorian date.
int64_t DaysFromCivil(int year, int month, int day);
// The years whose every instant fits in TimeNs (1677-09-21 .. 2262-04-11 are the exact limits).
inline constexpr int kMinYear = 1678;
inline constexpr int kMaxYear = 2261;
// UTC nanoseconds for a civil time given in UTC. Outside kMinYear..kMaxYear the result saturates at
// the smallest or largest TimeNs (never overflows); parsers use ToUnixNsChecked instead.
TimeNs ToUnixNs(const CivilTime& civil);
// As ToUnixNs, or nullopt when the year lies outside kMinYear..kMaxYear.
std::optional<TimeNs> ToUnixNsChecked(const CivilTime& civil);
CivilTime FromUnixNs(TimeNs ns);
// RFC 3339 with millisecond precision and "Z", e.g. 2026-11-26T15:30:08.123Z.
std::string FormatTimestamp(TimeNs ns);
// Parses RFC 3339 / ISO 8601 date-times ("2026-11-26T15:30:08.123456+01:00", "...Z", space instead
// of T, no zone = UTC). Returns nullopt on anything else, and for years outside kMinYear..kMaxYear.
std::optional<TimeNs> ParseTimestamp(std::string_view text);
// Parses the Common Log Format time of web servers, "26/Nov/2026:10:00:00 +0000", Apache httpd's
// error log time "Thu Nov 26 10:00:00.123456 2026" and nginx's "2026/11/26 10:00:00" (both taken
// as UTC), or falls back to ParseTimestamp. nullopt on anything else.
std::optional<TimeNs> ParseLogTimestamp(std::string_view text);
// Parses a zone offset "Z", "UTC", "+01:00", "-0530"; returns the offset in seconds east of UTC.
std::optional<int> ParseZoneOffset(std::string_view text);
// Parses a Sigma timespan ("30s", "5m", "1h", "2d"); nullopt on bad input.
std::optional<TimeNs> ParseTimespan(std::string_view text);
// Month number 1..12 from an English three-letter abbreviation (case-insensitive), or 0.
int MonthFromAbbrev(std::string_view abbrev);

}  // namespace bulwark
