#pragma once
// Batch replay: inputs -> parse -> decode -> match -> correlate -> suppress -> alerts (JSON lines).
// Parsing, decoding and matching run on worker threads over batches of lines; correlation,
// suppression and output run in input order, so the alerts are the same for any thread count.

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/decode/decoder.h"
#include "bulwark/detect/ruleset.h"
#include "bulwark/flowdetect/detector.h"
#include "bulwark/input/parser.h"
#include "bulwark/pipeline/alert.h"

namespace bulwark::pipeline {

struct ReplayOptions {
  // Paths, read through `env` (needed when there are any); "-" is standard input, "builtin:PATH"
  // a bundled file when `env` is a data::BuiltinEnv.
  std::vector<std::string> inputs;
  const Env* env = nullptr;
  // Inputs held in memory (name, content), read before `inputs`.
  std::vector<std::pair<std::string, std::string>> memory_inputs;
  input::ParseOptions parse;
  // Per input (by index), its format; inputs without an entry use parse.format.
  std::vector<input::Format> input_formats;
  unsigned threads = 0;  // workers; 0 = one per core
  size_t batch_lines = 1024;
  TimeNs suppress_window = 600 * kNsPerSecond;  // 0 = every alert is written
  // Fields whose values identify the "same thing" for suppressing detection alerts.
  std::vector<std::string> suppress_by = {"source.ip", "user.name", "host.name", "host.id"};
  size_t max_keys_per_correlation = 4'000'000;
  bool progress = false;                // progress line on stderr
  bool include_events = true;           // matching event in each alert
  flowdetect::Settings flow_detectors;  // for the detectors whose rules the rule set holds
  // The inventory for the spoofing detector (none: it does not run).
  std::shared_ptr<const flowdetect::AddressBook> address_book;
};

struct ReplaySummary {
  uint64_t lines = 0;
  uint64_t events = 0;
  uint64_t decoded = 0;                      // events at least one decoder matched
  uint64_t matched = 0;                      // events at least one rule matched
  uint64_t too_long = 0;                     // lines cut at 64 KiB
  uint64_t invalid_utf8 = 0;                 // repaired
  uint64_t nul_bytes = 0;                    // repaired
  std::map<std::string, uint64_t> rejected;  // reason -> lines
  std::vector<std::string> input_errors;     // unreadable or truncated inputs
  std::map<uint32_t, uint64_t> alerts;       // rule index -> alerts written
  std::map<uint32_t, uint64_t> suppressed;   // rule index -> alerts suppressed
  uint64_t alerts_total = 0;
  uint64_t correlation_keys = 0;
  uint64_t correlation_evictions = 0;
  uint64_t correlation_bytes = 0;  // memory of the correlation tables at the end
  size_t detectors = 0;            // flow detectors that ran
  uint64_t detector_keys = 0;      // groups their state held at the end
  uint64_t detector_bytes = 0;     // memory of their tables
  // Per entry of RuleSet::routes(): 1 when some event satisfied that logsource route.
  std::vector<uint8_t> routes_seen;
  double seconds = 0;  // processing time (after rules and decoders are loaded)
  unsigned threads = 1;
};

// Where a line received over the network came from: its sender's address, the name its TLS client
// certificate proved, and, when the inventory knows the sender, its system. The detector sets
// them on the line's event as log.source.address, tls.client.x509.subject.common_name, and
// host.id with host.ip (the system whose log it is).
struct LineOrigin {
  std::string sender;       // empty: a file's line (then only system_id may be set)
  std::string sender_name;  // empty: none proved
  std::string system_id;    // empty: not a known system
};

// Detection over lines that arrive over time (followed log files): the same decoding, matching,
// correlation and suppression as Replay, on the caller's thread, with state kept between calls.
// Not thread-safe.
class StreamDetector {
 public:
  // `sink` (not owned; null: alerts are only counted) must outlive the detector.
  StreamDetector(ReplayOptions options, std::shared_ptr<const detect::RuleSet> rules,
                 std::shared_ptr<const decode::DecoderSet> decoders,
                 std::vector<std::string> input_names, AlertSink* sink);
  ~StreamDetector();
  // Runs `lines` of input `input` (an index into input_names), in order; their alerts go to the
  // sink before this returns. `origins` is empty (lines of a file) or has one entry per line.
  void Process(size_t input, const std::vector<std::string>& lines, uint64_t first_line_number,
               std::span<const LineOrigin> origins = {});
  const ReplaySummary& summary() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs the replay, writing alerts to `out` (null: alerts are only counted in the summary). Fails
// only when no input could be opened at all; per-input problems are in the summary.
Result<ReplaySummary> Replay(const ReplayOptions& options,
                             std::shared_ptr<const detect::RuleSet> rules,
                             std::shared_ptr<const decode::DecoderSet> decoders, std::FILE* out);

// Writes the human-readable summary (what `bulwark replay` prints on stderr).
void PrintSummary(const ReplaySummary& summary, const detect::RuleSet& rules, std::FILE* out);

}  // namespace bulwark::pipeline
