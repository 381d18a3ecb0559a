#include "bulwark/core/time.h"

#include <fmt/format.h>

#include <limits>

#include "bulwark/core/strings.h"

namespace bulwark {

namespace {
bool Digits(std::string_view text, size_t pos, size_t count, int& value) {
  if (pos + count > text.size()) return false;
  value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}
// The instant of a civil time read in a zone offset_seconds east of UTC, or nullopt when its year
// is outside kMinYear..kMaxYear.
std::optional<TimeNs> InstantOf(const CivilTime& civil, int offset_seconds) {
  auto utc = ToUnixNsChecked(civil);
  if (!utc) return std::nullopt;
  return *utc - static_cast<TimeNs>(offset_seconds) * kNsPerSecond;
}
}  // namespace

int64_t DaysFromCivil(int year, int month, int day) {
  // Howard Hinnant's days_from_civil algorithm (public domain description).
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t yoe = year - era * 400;
  const int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

TimeNs ToUnixNs(const CivilTime& c) {
  if (c.year < kMinYear) return std::numeric_limits<TimeNs>::min();
  if (c.year > kMaxYear) return std::numeric_limits<TimeNs>::max();
  int64_t days = DaysFromCivil(c.year, c.month, c.day);
  int64_t seconds = days * 86400 + c.hour * 3600 + c.minute * 60 + c.second;
  return seconds * kNsPerSecond + c.nanos;
}

std::optional<TimeNs> ToUnixNsChecked(const CivilTime& c) {
  if (c.year < kMinYear || c.year > kMaxYear) return std::nullopt;
  return ToUnixNs(c);
}

CivilTime FromUnixNs(TimeNs ns) {
  int64_t seconds = ns / kNsPerSecond;
  int64_t nanos = ns % kNsPerSecond;
  if (nanos < 0) {
    nanos += kNsPerSecond;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  CivilTime c;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = static_cast<int>(yoe + era * 400 + (c.month <= 2));
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>(rem % 3600 / 60);
  c.second = static_cast<int>(rem % 60);
  c.nanos = nanos;
  return c;
}

std::string FormatTimestamp(TimeNs ns) {
  CivilTime c = FromUnixNs(ns);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.year, c.month, c.day, c.hour,
                     c.minute, c.second, c.nanos / 1'000'000);
}

std::optional<int> ParseZoneOffset(std::string_view text) {
  if (text == "Z" || text == "z" || AsciiIEquals(text, "UTC") || AsciiIEquals(text, "GMT")) {
    return 0;
  }
  if (text.size() < 3 || (text[0] != '+' && text[0] != '-')) return std::nullopt;
  int hours = 0;
  int minutes = 0;
  if (!Digits(text, 1, 2, hours)) return std::nullopt;
  size_t pos = 3;
  if (pos < text.size() && text[pos] == ':') ++pos;
  if (pos < text.size()) {
    if (!Digits(text, pos, 2, minutes) || pos + 2 != text.size()) return std::nullopt;
  }
  if (hours > 23 || minutes > 59) return std::nullopt;
  int offset = hours * 3600 + minutes * 60;
  return text[0] == '-' ? -offset : offset;
}

std::optional<TimeNs> ParseTimestamp(std::string_view text) {
  CivilTime c;
  if (!Digits(text, 0, 4, c.year) || text.size() < 19 || text[4] != '-' ||
      !Digits(text, 5, 2, c.month) || text[7] != '-' || !Digits(text, 8, 2, c.day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !Digits(text, 11, 2, c.hour) ||
      text[13] != ':' || !Digits(text, 14, 2, c.minute) || text[16] != ':' ||
      !Digits(text, 17, 2, c.second)) {
    return std::nullopt;
  }
  if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31 || c.hour > 23 || c.minute > 59 ||
      c.second > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
    ++pos;
    int64_t scale = 100'000'000;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      c.nanos += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int offset = 0;
  if (pos < text.size()) {
    auto zone = ParseZoneOffset(text.substr(pos));
    if (!zone) return std::nullopt;
    offset = *zone;
  }
  return InstantOf(c, offset);
}

std::optional<TimeNs> ParseLogTimestamp(std::string_view text) {
  // dd/Mon/yyyy:HH:MM:SS +zzzz
  CivilTime c;
  if (text.size() >= 20 && text[2] == '/' && text[6] == '/' && text[11] == ':' &&
      Digits(text, 0, 2, c.day) && Digits(text, 7, 4, c.year) && Digits(text, 12, 2, c.hour) &&
      text[14] == ':' && Digits(text, 15, 2, c.minute) && text[17] == ':' &&
      Digits(text, 18, 2, c.second)) {
    c.month = MonthFromAbbrev(text.substr(3, 3));
    if (c.month == 0 || c.day < 1 || c.day > 31 || c.hour > 23 || c.minute > 59 || c.second > 60) {
      return std::nullopt;
    }
    int offset = 0;
    std::string_view zone = Trim(text.substr(20));
    if (!zone.empty()) {
      auto parsed = ParseZoneOffset(zone);
      if (!parsed) return std::nullopt;
      offset = *parsed;
    }
    return InstantOf(c, offset);
  }
  // yyyy/mm/dd hh:mm:ss (nginx's error log), in the server's zone, taken as UTC.
  if (text.size() == 19 && text[4] == '/' && text[7] == '/' && text[10] == ' ' && text[13] == ':' &&
      text[16] == ':' && Digits(text, 0, 4, c.year) && Digits(text, 5, 2, c.month) &&
      Digits(text, 8, 2, c.day) && Digits(text, 11, 2, c.hour) && Digits(text, 14, 2, c.minute) &&
      Digits(text, 17, 2, c.second)) {
    if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31 || c.hour > 23 || c.minute > 59 ||
        c.second > 60) {
      return std::nullopt;
    }
    return InstantOf(c, 0);
  }
  // Www Mmm dd hh:mm:ss[.ffffff] yyyy (Apache httpd's error log, ctime), in the server's zone,
  // taken as UTC.
  if (text.size() >= 24 && text[3] == ' ' && text[7] == ' ' && text[13] == ':' && text[16] == ':' &&
      Digits(text, 11, 2, c.hour) && Digits(text, 14, 2, c.minute) &&
      Digits(text, 17, 2, c.second)) {
    c.month = MonthFromAbbrev(text.substr(4, 3));
    std::string_view day = Trim(text.substr(8, 2));
    auto day_number = ParseInt(day);
    size_t at = 19;
    int64_t nanos = 0;
    if (at < text.size() && text[at] == '.') {
      int64_t scale = 100'000'000;
      for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
        nanos += (text[at] - '0') * scale;
        scale /= 10;
      }
    }
    if (at + 5 != text.size() || text[at] != ' ' || !Digits(text, at + 1, 4, c.year) ||
        !day_number || c.month == 0) {
      return std::nullopt;
    }
    c.day = static_cast<int>(*day_number);
    if (c.day < 1 || c.day > 31 || c.hour > 23 || c.minute > 59 || c.second > 60) {
      return std::nullopt;
    }
    c.nanos = nanos;
    return InstantOf(c, 0);
  }
  return ParseTimestamp(text);
}

std::optional<TimeNs> ParseTimespan(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  auto number = ParseInt(text.substr(0, text.size() - 1));
  if (!number || *number <= 0) return std::nullopt;
  int64_t unit;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    case 'w':
      unit = 7 * 86400;
      break;
    default:
      return std::nullopt;
  }
  return *number * unit * kNsPerSecond;
}

int MonthFromAbbrev(std::string_view abbrev) {
  if (abbrev.size() != 3) return 0;
  auto lower = [](char c) { return static_cast<uint32_t>(static_cast<unsigned char>(c) | 0x20); };
  uint32_t key = lower(abbrev[0]) << 16 | lower(abbrev[1]) << 8 | lower(abbrev[2]);
  constexpr auto pack = [](const char* m) {
    return static_cast<uint32_t>(m[0]) << 16 | static_cast<uint32_t>(m[1]) << 8 |
           static_cast<uint32_t>(m[2]);
  };
  switch (key) {
    case pack("jan"):
      return 1;
    case pack("feb"):
      return 2;
    case pack("mar"):
      return 3;
    case pack("apr"):
      return 4;
    case pack("may"):
      return 5;
    case pack("jun"):
      return 6;
    case pack("jul"):
      return 7;
    case pack("aug"):
      return 8;
    case pack("sep"):
      return 9;
    case pack("oct"):
      return 10;
    case pack("nov"):
      return 11;
    case pack("dec"):
      return 12;
    default:
      return 0;
  }
}

}  // namespace bulwark
