#pragma once
// Turns one input line into an Event: syslog (RFC 3164 in its common variants, RFC 5424), JSON
// lines of any shape (flattened to dotted paths), journalctl -o json, or a plain line.
// A LineParser keeps per-input state (the year of year-less timestamps); one per input, not
// thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "bulwark/core/time.h"
#include "bulwark/event/event.h"

namespace bulwark::input {

enum class Format { kAuto, kSyslog, kJsonLines, kPlain };

// Parses "auto", "syslog", "jsonl", "plain"; nullopt otherwise.
std::optional<Format> ParseFormat(std::string_view name);

struct ParseOptions {
  Format format = Format::kAuto;
  // Year of the first year-less (RFC 3164) timestamp; 0 = the year that puts it not later than
  // one day after `reference_time`. Later lines roll over to the next year when the month goes
  // back (December -> January).
  int year = 0;
  // Zone of zone-less timestamps, in seconds east of UTC.
  int zone_offset_seconds = 0;
  // "Now" for year inference and for lines without any timestamp.
  TimeNs reference_time = 0;
};

// Why a line produced no event.
enum class Reject : uint8_t {
  kNone = 0,
  kEmpty,        // blank line
  kInvalidJson,  // looked like JSON (or --format jsonl) but did not parse
  kBadSyslog,    // --format syslog and no syslog header
  kCount
};
std::string_view RejectName(Reject reason);

// Defects that were repaired; the event is still produced.
struct Repairs {
  bool invalid_utf8 = false;  // replaced by U+FFFD
  bool nul_bytes = false;     // replaced by U+2400
};

// The year of year-less RFC 3164 timestamps, following a stream in order: the first line's year
// comes from the options, later lines roll over when the month goes back (December -> January).
// Copyable so that a reader can hand the state at a batch start to a worker.
class YearResolver {
 public:
  explicit YearResolver(const ParseOptions& options) : options_(options) {}
  // UTC time of a year-less local timestamp; advances the state.
  TimeNs Resolve(int month, int day, int hour, int minute, int second, int64_t nanos);
  // Advances the state for a line without computing its time (month 0 = no such timestamp).
  void Observe(int month) {
    if (month != 0) Resolve(month, 1, 0, 0, 0, 0);
  }
  // Observe(MonthOfLine(line)), skipping the work while lines start with the month of the last
  // line observed (a line of the same month leaves the state as it is).
  void ObserveLine(std::string_view line) {
    if (observed_month_ != 0 && line.size() >= 3 && line.compare(0, 3, observed_head_, 3) == 0) {
      return;
    }
    int month = MonthOfLine(line);
    Observe(month);
    observed_month_ = line.size() >= 3 && line[0] != '<' ? month : 0;
    if (observed_month_ != 0) line.copy(observed_head_, 3);
  }
  // Month of a year-less RFC 3164 timestamp at the start of `line` (after an optional <PRI>),
  // or 0.
  static int MonthOfLine(std::string_view line);

 private:
  ParseOptions options_;
  int year_ = 0;
  int last_month_ = 0;
  // The first three bytes ("Nov") of the last line ObserveLine() read a month from.
  char observed_head_[3] = {};
  int observed_month_ = 0;
  // The last date converted, since consecutive lines mostly share it.
  int cached_year_ = 0, cached_month_ = 0, cached_day_ = 0;
  int64_t cached_days_ = 0;
};

class LineParser {
 public:
  explicit LineParser(ParseOptions options);
  ~LineParser();
  LineParser(LineParser&&) noexcept;

  // Clears `event` and fills it from `line`. Returns kNone on success. Never throws.
  Reject Parse(std::string_view line, event::Event& event, Repairs& repairs);
  // Replaces the year state (batches parsed out of order by workers).
  void SetYearResolver(const YearResolver& resolver);
  // The format of the lines parsed from now on (inputs of different formats share a parser).
  void SetFormat(Format format);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace bulwark::input
