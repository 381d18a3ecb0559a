#include "bulwark/input/parser.h"

#include <cstring>

#include "bulwark/core/strings.h"
#include "bulwark/input/json_flatten.h"

namespace bulwark::input {

using event::Event;
namespace fid = event::fid;

std::optional<Format> ParseFormat(std::string_view name) {
  if (name == "auto") return Format::kAuto;
  if (name == "syslog") return Format::kSyslog;
  if (name == "jsonl" || name == "json") return Format::kJsonLines;
  if (name == "plain") return Format::kPlain;
  return std::nullopt;
}

std::string_view RejectName(Reject reason) {
  switch (reason) {
    case Reject::kNone:
      return "none";
    case Reject::kEmpty:
      return "empty line";
    case Reject::kInvalidJson:
      return "invalid JSON";
    case Reject::kBadSyslog:
      return "no syslog header";
    case Reject::kCount:
      break;
  }
  return "unknown";
}

namespace {

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// Reads a token up to the next space; advances `pos` past it and one following space.
std::string_view Token(std::string_view line, size_t& pos) {
  size_t start = pos;
  while (pos < line.size() && line[pos] != ' ') ++pos;
  std::string_view token = line.substr(start, pos - start);
  if (pos < line.size()) ++pos;
  return token;
}

bool HasZone(std::string_view iso) {
  if (iso.size() <= 19) return false;
  std::string_view tail = iso.substr(19);
  return tail.find_first_of("Zz+-") != std::string_view::npos;
}

// Adds each flattened JSON field to the event; an address field whose value is not an address
// (a host name) goes to <prefix>.address instead, as ECS does.
struct FieldAdder final : JsonFlattener::Visitor {
  Event* event = nullptr;
  std::string scratch;
  void Field(std::string_view path, std::string_view value) override {
    event::FieldId id = event::InternField(path);
    if (id == event::kInvalidField) return;
    if (event::TypeOf(id) == event::FieldType::kIp && !event::IpAddress::Parse(value)) {
      scratch.assign(path.substr(0, path.size() - 3)).append(".address");
      event->Add(scratch, value);
      return;
    }
    event->Add(id, value);
  }
};
}  // namespace

struct LineParser::State {
  explicit State(ParseOptions o) : options(o), years(options) {}
  ParseOptions options;
  YearResolver years;
  JsonFlattener json;
  FieldAdder adder;
  std::string sanitized;
  std::string scratch;

  // Parses a timestamp at `pos` ("Mmm dd hh:mm:ss[.frac][ yyyy]" or ISO 8601); advances `pos`.
  std::optional<TimeNs> Timestamp(std::string_view line, size_t& pos) {
    std::string_view rest = line.substr(pos);
    if (rest.size() >= 19 && IsDigit(rest[0]) && rest[4] == '-') {
      size_t p = pos;
      std::string_view token = Token(line, p);
      auto ts = ParseTimestamp(token);
      if (!ts) return std::nullopt;
      if (!HasZone(token)) *ts -= static_cast<TimeNs>(options.zone_offset_seconds) * kNsPerSecond;
      pos = p;
      return ts;
    }
    if (rest.size() < 15) return std::nullopt;
    // Consecutive lines mostly share their second: "Mmm dd hh:mm:ss " as the last line had it,
    // not followed by a year, converts as it did then.
    if (repeat_valid && rest.size() > kRepeatPrefix &&
        std::memcmp(rest.data(), repeat_prefix, kRepeatPrefix) == 0 && !YearFollows(rest)) {
      pos += kRepeatPrefix;
      return repeat_time;
    }
    int month = MonthFromAbbrev(rest.substr(0, 3));
    if (month == 0 || rest[3] != ' ') return std::nullopt;
    size_t p = 4;
    if (rest[p] == ' ') ++p;
    int day = 0;
    while (p < rest.size() && IsDigit(rest[p])) day = day * 10 + (rest[p++] - '0');
    if (day < 1 || day > 31 || p >= rest.size() || rest[p] != ' ') return std::nullopt;
    ++p;
    int explicit_year = 0;
    if (p + 5 <= rest.size() && IsDigit(rest[p]) && IsDigit(rest[p + 3]) && rest[p + 4] == ' ') {
      for (int k = 0; k < 4; ++k) explicit_year = explicit_year * 10 + (rest[p + k] - '0');
      p += 5;
    }
    if (p + 8 > rest.size() || rest[p + 2] != ':' || rest[p + 5] != ':') return std::nullopt;
    auto two = [&](size_t k) {
      return IsDigit(rest[k]) && IsDigit(rest[k + 1]) ? (rest[k] - '0') * 10 + (rest[k + 1] - '0')
                                                      : -1;
    };
    int hour = two(p), minute = two(p + 3), second = two(p + 6);
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
      return std::nullopt;
    }
    p += 8;
    int64_t nanos = 0;
    if (p < rest.size() && rest[p] == '.') {
      int64_t scale = 100'000'000;
      ++p;
      while (p < rest.size() && IsDigit(rest[p])) {
        nanos += (rest[p++] - '0') * scale;
        scale /= 10;
      }
    }
    if (explicit_year == 0 && p + 5 <= rest.size() && rest[p] == ' ' && IsDigit(rest[p + 1]) &&
        IsDigit(rest[p + 4]) && (p + 5 == rest.size() || rest[p + 5] == ' ')) {
      for (int k = 1; k <= 4; ++k) explicit_year = explicit_year * 10 + (rest[p + k] - '0');
      p += 5;
    }
    if (explicit_year != 0 && (explicit_year < kMinYear || explicit_year > kMaxYear)) {
      return std::nullopt;
    }
    if (p < rest.size() && rest[p] == ' ') ++p;
    pos += p;
    if (explicit_year != 0) {
      CivilTime civil{explicit_year, month, day, hour, minute, second, nanos};
      return ToUnixNs(civil) - static_cast<TimeNs>(options.zone_offset_seconds) * kNsPerSecond;
    }
    TimeNs time = years.Resolve(month, day, hour, minute, second, nanos);
    repeat_valid = p == kRepeatPrefix && rest.size() > kRepeatPrefix;
    if (repeat_valid) {
      std::memcpy(repeat_prefix, rest.data(), kRepeatPrefix);
      repeat_time = time;
    }
    return time;
  }

  // The year-less "Mmm dd hh:mm:ss " prefix Timestamp() converted last, and its time. Valid
  // until the year resolver is replaced.
  static constexpr size_t kRepeatPrefix = 16;
  char repeat_prefix[kRepeatPrefix] = {};
  TimeNs repeat_time = 0;
  bool repeat_valid = false;

  // Whether " yyyy" follows "Mmm dd hh:mm:ss" (Timestamp() reads it as the year).
  static bool YearFollows(std::string_view rest) {
    return rest.size() >= 20 && IsDigit(rest[16]) && IsDigit(rest[19]) &&
           (rest.size() == 20 || rest[20] == ' ');
  }

  // "tag[pid]: " or "tag: " at `pos`; sets process fields and advances `pos` to the message.
  bool Tag(std::string_view line, size_t& pos, Event& event) {
    // Cisco's "%ASA-4-106023: ..." and "%SEC-6-IPACCESSLOGP: ..." name a message, not a program:
    // they stay in the message, for the decoders.
    if (pos < line.size() && line[pos] == '%') return false;
    size_t p = pos;
    while (p < line.size() && line[p] != '[' && line[p] != ':' && line[p] != ' ') ++p;
    if (p == pos || p >= line.size()) return false;
    std::string_view tag = line.substr(pos, p - pos);
    std::string_view pid;
    if (line[p] == '[') {
      size_t close = line.find(']', p);
      if (close == std::string_view::npos) return false;
      pid = line.substr(p + 1, close - p - 1);
      p = close + 1;
    }
    // The colon must end the tag: "2001:db8::1 - -" (an access log line) has no tag.
    if (p >= line.size() || line[p] != ':' || (p + 1 < line.size() && line[p + 1] != ' ')) {
      return false;
    }
    ++p;
    if (p < line.size() && line[p] == ' ') ++p;
    // Old Linux-PAM put the module in the tag: "sshd(pam_unix)[30530]: authentication failure".
    // The program is the part before the parenthesis, the module the event's provider.
    size_t open = tag.back() == ')' ? tag.find('(') : std::string_view::npos;
    if (open != std::string_view::npos && open > 0) {
      event.Set(fid::kProcessName, tag.substr(0, open));
      event.Set(fid::kLogSyslogAppname, tag);
      event.Set("event.provider", tag.substr(open + 1, tag.size() - open - 2));
    } else {
      event.Set(fid::kProcessName, tag);
      event.AddSameAs(fid::kLogSyslogAppname, fid::kProcessName);
    }
    if (!pid.empty()) event.Set(fid::kProcessPid, pid);
    pos = p;
    return true;
  }

  // Cisco IOS: a sequence number before the time ("123: Nov 26 10:00:03.123 UTC: %SEC-..."), a
  // '*' or '.' marking an unsynchronised clock; skipped.
  static void SkipCiscoSequence(std::string_view line, size_t& pos) {
    size_t p = pos;
    while (p < line.size() && IsDigit(line[p])) ++p;
    if (p > pos && p + 1 < line.size() && line[p] == ':' && line[p + 1] == ' ') pos = p + 2;
    if (pos < line.size() && (line[pos] == '*' || line[pos] == '.')) ++pos;
  }

  // After a Cisco time: ": " or a zone ("UTC: ", "CET: ") before the message.
  static void SkipCiscoTimeEnd(std::string_view line, size_t& pos) {
    size_t p = pos;
    while (p < line.size() && p - pos < 5 && line[p] >= 'A' && line[p] <= 'Z') ++p;
    if (p + 1 < line.size() && line[p] == ':' && line[p + 1] == ' ' &&
        (p == pos || (p - pos >= 3 && p + 2 < line.size() && line[p + 2] == '%'))) {
      pos = p + 2;
    }
  }

  // FortiGate sends "date=2026-11-26 time=10:00:05 devname=..." without a syslog header: the
  // time comes from its first two pairs (local time of the zone option).
  std::optional<TimeNs> FortiTime(std::string_view rest) {
    if (rest.size() < 29 || !rest.starts_with("date=") || rest.substr(15, 6) != " time=") {
      return std::nullopt;
    }
    std::string iso = std::string(rest.substr(5, 10)) + "T" + std::string(rest.substr(21, 8));
    auto ts = ParseTimestamp(iso);
    if (!ts) return std::nullopt;
    return *ts - static_cast<TimeNs>(options.zone_offset_seconds) * kNsPerSecond;
  }

  // RFC 3164 and its variants, after an optional <PRI>. False when no header is recognised.
  bool Syslog3164(std::string_view line, size_t pos, Event& event) {
    SkipCiscoSequence(line, pos);
    auto ts = Timestamp(line, pos);
    if (ts) {
      event.SetTimestamp(*ts);
      SkipCiscoTimeEnd(line, pos);
    } else if (auto forti = FortiTime(line.substr(pos))) {
      event.SetTimestamp(*forti);
      event.Set(fid::kMessage, line.substr(pos));
      return true;
    }
    size_t tag_pos = pos;
    if (Tag(line, tag_pos, event)) {
      event.Set(fid::kMessage, line.substr(tag_pos));
    } else {
      size_t host_end = pos;
      std::string_view host = Token(line, host_end);
      if (!host.empty() && host[0] == '%') host = {};  // a Cisco message name, not a host
      // ASA: "fw-edge : %ASA-4-106023: ..."
      if (host_end + 1 < line.size() && line[host_end] == ':' && line[host_end + 1] == ' ') {
        host_end += 2;
      }
      size_t after_host = host_end;
      if (!host.empty() && Tag(line, after_host, event)) {
        event.Set(fid::kHostHostname, host);
        event.AddSameAs(fid::kHostName, fid::kHostHostname);
        event.Set(fid::kMessage, line.substr(after_host));
      } else if (ts) {
        // "Mmm dd hh:mm:ss host message" without a tag, e.g. "last message repeated".
        if (!host.empty() && host_end < line.size()) {
          event.Set(fid::kHostHostname, host);
          event.AddSameAs(fid::kHostName, fid::kHostHostname);
          event.Set(fid::kMessage, line.substr(host_end));
        } else {
          event.Set(fid::kMessage, line.substr(pos));
        }
      } else {
        return false;
      }
    }
    if (!ts) event.SetTimestamp(options.reference_time);
    return true;
  }

  // RFC 5424 from the VERSION field on.
  bool Syslog5424(std::string_view line, size_t pos, Event& event) {
    std::string_view version = Token(line, pos);
    std::string_view timestamp = Token(line, pos);
    std::string_view hostname = Token(line, pos);
    std::string_view app = Token(line, pos);
    std::string_view procid = Token(line, pos);
    std::string_view msgid = Token(line, pos);
    if (msgid.empty()) return false;
    event.Set(fid::kLogSyslogVersion, version);
    if (timestamp != "-") {
      auto ts = ParseTimestamp(timestamp);
      if (!ts) return false;
      if (!HasZone(timestamp))
        *ts -= static_cast<TimeNs>(options.zone_offset_seconds) * kNsPerSecond;
      event.SetTimestamp(*ts);
    } else {
      event.SetTimestamp(options.reference_time);
    }
    if (hostname != "-") {
      event.Set(fid::kHostHostname, hostname);
      event.AddSameAs(fid::kHostName, fid::kHostHostname);
      event.AddSameAs(fid::kLogSyslogHostname, fid::kHostHostname);
    }
    if (app != "-") {
      event.Set(fid::kProcessName, app);
      event.AddSameAs(fid::kLogSyslogAppname, fid::kProcessName);
    }
    if (procid != "-") {
      event.Set(fid::kLogSyslogProcid, procid);
      if (ParseInt(procid)) event.Set(fid::kProcessPid, procid);
    }
    if (msgid != "-") event.Set(fid::kLogSyslogMsgid, msgid);
    if (pos < line.size() && line[pos] == '-') {
      ++pos;
    } else {
      while (pos < line.size() && line[pos] == '[') {
        if (!StructuredElement(line, pos, event)) return false;
      }
    }
    if (pos < line.size() && line[pos] == ' ') ++pos;
    std::string_view message = line.substr(pos);
    if (message.starts_with("\xEF\xBB\xBF")) message.remove_prefix(3);
    event.Set(fid::kMessage, message);
    return true;
  }

  // One SD-ELEMENT "[id name="value" ...]"; fields log.syslog.structured_data.<id>.<name>.
  bool StructuredElement(std::string_view line, size_t& pos, Event& event) {
    ++pos;  // '['
    size_t id_start = pos;
    while (pos < line.size() && line[pos] != ' ' && line[pos] != ']') ++pos;
    std::string_view id = line.substr(id_start, pos - id_start);
    if (id.empty() || pos >= line.size()) return false;
    while (pos < line.size() && line[pos] == ' ') {
      ++pos;
      size_t name_start = pos;
      while (pos < line.size() && line[pos] != '=') ++pos;
      std::string_view name = line.substr(name_start, pos - name_start);
      if (pos + 1 >= line.size() || line[pos + 1] != '"') return false;
      pos += 2;
      std::string value;
      while (pos < line.size() && line[pos] != '"') {
        if (line[pos] == '\\' && pos + 1 < line.size()) ++pos;
        value.push_back(line[pos++]);
      }
      if (pos >= line.size()) return false;
      ++pos;  // closing quote
      scratch.assign("log.syslog.structured_data.");
      scratch.append(id).append(".").append(name);
      event.Set(scratch, value);
    }
    if (pos >= line.size() || line[pos] != ']') return false;
    ++pos;
    return true;
  }

  bool Syslog(std::string_view line, Event& event) {
    size_t pos = 0;
    if (!line.empty() && line[0] == '<') {
      size_t close = line.find('>');
      if (close == std::string_view::npos || close < 2 || close > 4) return false;
      auto pri = ParseInt(line.substr(1, close - 1));
      if (!pri || *pri > 191) return false;
      event.SetInt(fid::kLogSyslogPriority, *pri);
      event.SetInt(fid::kLogSyslogFacilityCode, *pri / 8);
      event.SetInt(fid::kLogSyslogSeverityCode, *pri % 8);
      pos = close + 1;
      if (pos + 1 < line.size() && IsDigit(line[pos]) &&
          (line[pos + 1] == ' ' ||
           (IsDigit(line[pos + 1]) && pos + 2 < line.size() && line[pos + 2] == ' '))) {
        return Syslog5424(line, pos, event);
      }
    }
    return Syslog3164(line, pos, event);
  }

  // journalctl -o json: maps the journal's well-known fields to ECS names.
  void MapJournal(Event& event) {
    static const std::pair<std::string_view, event::FieldId> kMap[] = {
        {"MESSAGE", fid::kMessage},
        {"_HOSTNAME", fid::kHostName},
        {"SYSLOG_IDENTIFIER", fid::kProcessName},
        {"_PID", fid::kProcessPid},
        {"PRIORITY", fid::kLogSyslogSeverityCode},
        {"SYSLOG_FACILITY", fid::kLogSyslogFacilityCode},
    };
    for (const auto& [name, id] : kMap) {
      auto source = event::FindField(name);
      if (!source) continue;
      if (auto value = event.Get(*source)) {
        std::string copy(*value);
        event.Set(id, copy);
      }
    }
    if (!event.Has(fid::kProcessName)) {
      if (auto comm = event::FindField("_COMM")) {
        if (auto value = event.Get(*comm)) {
          std::string copy(*value);
          event.Set(fid::kProcessName, copy);
        }
      }
    }
  }

  bool Json(std::string_view line, Event& event) {
    adder.event = &event;
    if (!json.Flatten(line, adder)) return false;
    if (auto id = event::FindField("__REALTIME_TIMESTAMP")) {
      if (auto micros = event.GetInt(*id)) {
        MapJournal(event);
        event.SetTimestamp(*micros * 1000);
        return true;
      }
    }
    // The event's own time: ECS and most shippers, then Windows event log exports (EVTX as JSON,
    // NXLog).
    for (std::string_view name : {"@timestamp", "timestamp", "time",
                                  "Event.System.TimeCreated.#attributes.SystemTime", "EventTime"}) {
      auto id = event::FindField(name);
      if (!id) continue;
      if (auto text = event.Get(*id)) {
        if (auto ts = ParseTimestamp(*text)) {
          event.SetTimestamp(*ts);
          return true;
        }
      }
    }
    event.SetTimestamp(options.reference_time);
    return true;
  }
};

TimeNs YearResolver::Resolve(int month, int day, int hour, int minute, int second, int64_t nanos) {
  if (year_ == 0) {
    if (options_.year != 0) {
      year_ = options_.year;
    } else {
      year_ = FromUnixNs(options_.reference_time).year;
      CivilTime guess{year_, month, day, hour, minute, second, nanos};
      if (ToUnixNs(guess) > options_.reference_time + 86400 * kNsPerSecond) --year_;
    }
  } else if (last_month_ != 0 && month + 6 < last_month_) {
    ++year_;  // December -> January: a new year began
  }
  int event_year = year_;
  if (last_month_ != 0 && month > last_month_ + 6) {
    --event_year;  // a late line from the previous year
  } else {
    last_month_ = month;
  }
  if (event_year != cached_year_ || month != cached_month_ || day != cached_day_) {
    cached_year_ = event_year;
    cached_month_ = month;
    cached_day_ = day;
    cached_days_ = DaysFromCivil(event_year, month, day);
  }
  int64_t seconds =
      cached_days_ * 86400 + hour * 3600 + minute * 60 + second - options_.zone_offset_seconds;
  return seconds * kNsPerSecond + nanos;
}

int YearResolver::MonthOfLine(std::string_view line) {
  if (!line.empty() && line[0] == '<') {
    size_t close = line.find('>');
    if (close == std::string_view::npos || close > 4) return 0;
    line.remove_prefix(close + 1);
  }
  if (line.size() < 16 || line[3] != ' ') return 0;
  int month = MonthFromAbbrev(line.substr(0, 3));
  if (month == 0) return 0;
  // A year right after the day makes the timestamp complete.
  size_t p = line[4] == ' ' ? 5 : 4;
  while (p < line.size() && line[p] >= '0' && line[p] <= '9') ++p;
  if (p + 5 < line.size() && line[p] == ' ' && line[p + 3] != ':') return 0;
  return month;
}

LineParser::LineParser(ParseOptions options) : state_(std::make_unique<State>(options)) {}

void LineParser::SetYearResolver(const YearResolver& resolver) {
  state_->years = resolver;
  state_->repeat_valid = false;
}
void LineParser::SetFormat(Format format) {
  state_->options.format = format;
}
LineParser::~LineParser() = default;
LineParser::LineParser(LineParser&&) noexcept = default;

Reject LineParser::Parse(std::string_view line, Event& event, Repairs& repairs) {
  event.Clear();
  repairs = Repairs{};
  if (line.find('\0') != std::string_view::npos) repairs.nul_bytes = true;
  if (repairs.nul_bytes || !IsValidUtf8(line)) {
    repairs.invalid_utf8 = !IsValidUtf8(line);
    state_->sanitized = SanitizeUtf8(line);
    line = state_->sanitized;
  }
  std::string_view trimmed = Trim(line);
  if (trimmed.empty()) return Reject::kEmpty;
  const bool starts_like_json = trimmed.front() == '{';
  event.SetRaw(line);
  line = event.raw();  // fields set from parts of it are stored without a copy
  Format format = state_->options.format;
  if (format == Format::kAuto) {
    format = starts_like_json ? Format::kJsonLines : Format::kSyslog;
    if (format == Format::kSyslog && !state_->Syslog(line, event)) {
      event.ClearFields();
      event.Set(fid::kMessage, line);
      event.SetTimestamp(state_->options.reference_time);
    }
    if (format == Format::kSyslog) return Reject::kNone;
  }
  switch (format) {
    case Format::kJsonLines:
      if (!state_->Json(line, event)) return Reject::kInvalidJson;
      return Reject::kNone;
    case Format::kSyslog:
      if (!state_->Syslog(line, event)) return Reject::kBadSyslog;
      return Reject::kNone;
    case Format::kPlain:
    case Format::kAuto:
      event.Set(fid::kMessage, line);
      event.SetTimestamp(state_->options.reference_time);
      return Reject::kNone;
  }
  return Reject::kNone;
}

}  // namespace bulwark::input
