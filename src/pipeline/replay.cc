#include "bulwark/pipeline/replay.h"

#include <fmt/format.h>
#include <malloc.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <unordered_map>

#include "bulwark/core/flat_table.h"
#include "bulwark/core/json_writer.h"
#include "bulwark/core/strings.h"
#include "bulwark/decode/audit.h"
#include "bulwark/decode/session.h"
#include "bulwark/detect/correlation.h"
#include "bulwark/input/line_reader.h"
#include "message_scan.h"

namespace bulwark::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

// A line of a batch: its text lies in memory the batch holds (or, for StreamDetector, the
// caller's lines).
struct LineRef {
  const char* text;
  uint32_t length;
  bool too_long;
  uint64_t number;
  const LineOrigin* origin = nullptr;  // lines received over the network
};

struct Batch {
  uint64_t seq = 0;
  size_t input = 0;
  input::Format format = input::Format::kAuto;  // of the input's lines
  std::vector<LineRef> lines;
  std::vector<std::shared_ptr<const char[]>> storage;  // the reader's chunks the lines lie in
  input::YearResolver years;
  explicit Batch(const input::ParseOptions& options) : format(options.format), years(options) {}
};

// One correlation input derived from an event. Items with a parent feed only when the parent
// correlation fired for this event (chained correlations).
struct CorrelationItem {
  uint32_t correlation;
  uint32_t position;
  int32_t parent;  // index into the record's items, or -1
  uint64_t key;    // hash of the group-by values (read again from the event when it fires)
  uint64_t value;
};

struct Record {
  TimeNs timestamp;
  std::vector<uint32_t> rules;
  event::Event event;  // group-by and suppress_by values are read from it when an alert is due
  uint64_t line = 0;
  size_t input = 0;
  std::vector<CorrelationItem> items;
};

// What a worker made of a batch. Results are reused batch after batch: Reset() keeps the
// records' memory (their events' buffers), so matched lines are recorded without allocating.
struct BatchResult {
  uint64_t seq = 0;
  uint64_t lines = 0, events = 0, decoded = 0, matched = 0, too_long = 0, invalid_utf8 = 0,
           nul_bytes = 0;
  std::array<uint64_t, static_cast<size_t>(input::Reject::kCount)> rejected{};

  // The records of this batch: records()[0, size).
  std::span<Record> records() { return std::span<Record>(records_.data(), record_count_); }
  // A record to fill: a previous batch's, with its old contents, or a new one.
  Record& AddRecord() {
    if (record_count_ == records_.size()) records_.emplace_back();
    return records_[record_count_++];
  }
  void Reset(uint64_t batch_seq) {
    seq = batch_seq;
    lines = events = decoded = matched = too_long = invalid_utf8 = nul_bytes = 0;
    rejected = {};
    record_count_ = 0;
  }

 private:
  std::vector<Record> records_;
  size_t record_count_ = 0;
};

// A bounded queue. A producer that found it full is woken only once it has drained to half its
// capacity, so that it refills several places per wake-up instead of one: on a machine with no
// spare core, every wake-up of the reader takes a core from a worker.
template <typename T>
class Queue {
 public:
  explicit Queue(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}
  void Push(T item) {
    std::unique_lock lock(mutex_);
    if (items_.size() >= capacity_) {
      ++producers_waiting_;
      not_full_.wait(lock, [&] { return items_.size() <= capacity_ / 2; });
      --producers_waiting_;
    }
    items_.push_back(std::move(item));
    not_empty_.notify_one();
  }
  std::optional<T> Pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    if (producers_waiting_ > 0 && items_.size() <= capacity_ / 2) not_full_.notify_all();
    return item;
  }
  void Close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> items_;
  size_t capacity_;
  size_t producers_waiting_ = 0;
  bool closed_ = false;
};

// Alerts as JSON lines to a file, written once per batch.
class JsonLinesWriter final : public AlertSink {
 public:
  explicit JsonLinesWriter(std::FILE* out) : out_(out) {}
  void Take(const Alert& alert) override {
    WriteAlertJson(alert, buffer_);
    buffer_.push_back('\n');
  }
  void Flush() override {
    if (buffer_.empty()) return;
    std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
    buffer_.clear();
  }

 private:
  std::FILE* out_;
  std::string buffer_;
};

// The first value of the first present candidate field.
std::optional<std::string_view> FirstValue(const event::Event& event,
                                           const std::vector<event::FieldId>& candidates) {
  for (event::FieldId id : candidates) {
    if (auto value = event.Get(id)) return value;
  }
  return std::nullopt;
}

class Worker {
 public:
  // `message_scan`: the combined scan of messages for decoders and rules, when there is one.
  Worker(const ReplayOptions& options, const detect::RuleSet& rules,
         const decode::DecoderSet& decoders, const MessageScan* message_scan)
      : rules_(rules),
        decoders_(decoders),
        parser_(options.parse),
        matcher_(rules.NewMatcher()),
        decode_scratch_(decoders.NewScratch()) {
    if (message_scan) {
      scanner_ = std::make_unique<MessageScan::Scanner>(*message_scan);
      prefilter_scan_ = [this](std::string_view message, std::vector<uint32_t>& candidates) {
        scanner_->Scan(message, candidates);
      };
    }
  }

  // Which logsource routes the events this worker matched satisfied (RuleSet::routes()).
  const std::vector<uint8_t>& routes_seen() const { return matcher_->routes_seen(); }

  // `keep_sessions`: join sshd lines across batches (one worker that sees every batch in order,
  // as a followed file's); otherwise within the batch only, so that the alerts do not depend on
  // which worker got which batch.
  // Fills `result` (reset first) from `batch`.
  void Process(const Batch& batch, BatchResult& result, bool keep_sessions = false) {
    result.Reset(batch.seq);
    parser_.SetYearResolver(batch.years);
    parser_.SetFormat(batch.format);
    if (!keep_sessions) {
      sessions_.Reset();
      audit_.Reset();
    }
    for (const LineRef& line : batch.lines) {
      ++result.lines;
      if (line.too_long) ++result.too_long;
      std::string_view text(line.text, line.length);
      input::Repairs repairs;
      input::Reject reject = parser_.Parse(text, event_, repairs);
      if (repairs.invalid_utf8) ++result.invalid_utf8;
      if (repairs.nul_bytes) ++result.nul_bytes;
      if (reject != input::Reject::kNone) {
        ++result.rejected[static_cast<size_t>(reject)];
        continue;
      }
      ++result.events;
      if (scanner_) scanner_->Reset();
      if (decoders_.Decode(event_, *decode_scratch_, scanner_ ? &prefilter_scan_ : nullptr) > 0) {
        ++result.decoded;
      }
      sessions_.Apply(event_);
      audit_.Apply(event_);
      if (line.origin) ApplyOrigin(*line.origin);  // after decoding: it needs event.category
      matched_.clear();
      matcher_->Match(event_, matched_, scanner_ ? scanner_->prescan() : nullptr);
      if (matched_.empty()) continue;
      ++result.matched;
      Record& record = result.AddRecord();
      record.timestamp = event_.timestamp();
      record.rules.assign(matched_.begin(), matched_.end());
      record.event = event_;
      record.line = line.number;
      record.input = batch.input;
      record.items.clear();
      for (uint32_t rule : matched_) AddItems(rule, -1, record);
    }
  }

 private:
  // The sender of a received line. A network device's event (event.category network: firewall,
  // switch and flow records) is about traffic the device saw, so the device is its observer
  // (observer.ip, observer.name: its system), not its host; any other event is the sender's own
  // (host.id, host.ip).
  void ApplyOrigin(const LineOrigin& origin) {
    if (!origin.sender.empty()) event_.Set(log_source_address_, origin.sender);
    if (!origin.sender_name.empty()) event_.Set(client_name_, origin.sender_name);
    auto category = event_.Get(event_category_);
    if (category && *category == "network") {
      if (!origin.sender.empty() && !event_.Get(observer_ip_)) {
        event_.Set(observer_ip_, origin.sender);
      }
      if (!origin.system_id.empty()) event_.Set(observer_name_, origin.system_id);
      return;
    }
    if (origin.system_id.empty()) return;
    event_.Set(host_id_, origin.system_id);
    if (!origin.sender.empty()) event_.Set(host_ip_, origin.sender);
  }

  // Adds correlation inputs for the consumers of `rule`, then (as children) for theirs.
  void AddItems(uint32_t rule, int32_t parent, Record& record, int depth = 0) {
    if (depth > 8) return;
    for (uint32_t c : rules_.consumers(rule)) {
      const detect::CompiledCorrelation& corr = rules_.correlations()[c];
      for (uint32_t position = 0; position < corr.inputs.size(); ++position) {
        if (corr.inputs[position] != rule) continue;
        CorrelationItem item{c, position, parent, 0, 0};
        group_.clear();
        for (const auto& candidates : corr.group_fields[position]) {
          auto value = FirstValue(event_, candidates);
          if (!value) break;
          group_.push_back(*value);
        }
        if (group_.size() != corr.group_fields[position].size()) continue;
        if (!corr.value_fields.empty()) {
          auto value = FirstValue(event_, corr.value_fields);
          if (!value) continue;
          item.value = detect::HashValue(*value);
        }
        item.key = detect::HashGroup(group_);
        record.items.push_back(std::move(item));
        AddItems(corr.rule_index, static_cast<int32_t>(record.items.size() - 1), record, depth + 1);
      }
    }
  }

  const detect::RuleSet& rules_;
  const decode::DecoderSet& decoders_;
  input::LineParser parser_;
  std::unique_ptr<detect::Matcher> matcher_;
  std::unique_ptr<decode::DecodeScratch> decode_scratch_;
  std::unique_ptr<MessageScan::Scanner> scanner_;
  decode::DecoderSet::PrefilterScan prefilter_scan_;
  decode::SessionTracker sessions_;
  decode::AuditJoiner audit_;  // joins the records of Linux audit events, like sessions_
  event::Event event_;
  std::vector<uint32_t> matched_;
  std::vector<std::string_view> group_;  // group-by values of the event being recorded
  const event::FieldId log_source_address_ = event::InternField("log.source.address");
  const event::FieldId client_name_ = event::InternField("tls.client.x509.subject.common_name");
  const event::FieldId host_id_ = event::InternField("host.id");
  const event::FieldId host_ip_ = event::InternField("host.ip");
  const event::FieldId event_category_ = event::InternField("event.category");
  const event::FieldId observer_ip_ = event::InternField("observer.ip");
  const event::FieldId observer_name_ = event::InternField("observer.name");
};

// Correlation, suppression and output, in input order.
class Sequencer {
 public:
  // `out` may be null (alerts are only counted); it must outlive the Sequencer.
  Sequencer(const ReplayOptions& options, std::shared_ptr<const detect::RuleSet> rules,
            const std::vector<std::string>& input_names, AlertSink* out, ReplaySummary& summary)
      : options_(options),
        input_names_(input_names),
        rules_(*rules),
        engine_(rules, options.max_keys_per_correlation),
        out_(out),
        summary_(summary) {
    for (const std::string& name : options.suppress_by) {
      suppress_ids_.push_back(event::InternField(name));
    }
    for (const flowdetect::DetectorSpec& spec : flowdetect::Registry()) {
      auto rule = rules_.FindRule(spec.rule.id);
      auto input = rules_.FindRule(spec.input_rule);
      if (!rule || !input) continue;  // not in this rule set
      auto detector = spec.make(options.flow_detectors, options.address_book);
      if (detector) detectors_.push_back(RunningDetector{std::move(detector), *input, *rule});
    }
  }

  void Consume(BatchResult& result) {
    summary_.lines += result.lines;
    summary_.events += result.events;
    summary_.decoded += result.decoded;
    summary_.matched += result.matched;
    summary_.too_long += result.too_long;
    summary_.invalid_utf8 += result.invalid_utf8;
    summary_.nul_bytes += result.nul_bytes;
    for (size_t i = 0; i < result.rejected.size(); ++i) {
      if (result.rejected[i]) {
        summary_.rejected[std::string(input::RejectName(static_cast<input::Reject>(i)))] +=
            result.rejected[i];
      }
    }
    for (Record& record : result.records()) Handle(record);
    if (out_) out_->Flush();
  }

  void Finish() {
    auto stats = engine_.stats();
    summary_.correlation_keys = stats.keys;
    summary_.correlation_evictions = stats.evictions;
    summary_.correlation_bytes = stats.memory_bytes;
    summary_.detectors = detectors_.size();
    summary_.detector_keys = summary_.detector_bytes = 0;
    for (const RunningDetector& running : detectors_) {
      summary_.detector_keys += running.detector->keys();
      summary_.detector_bytes += running.detector->memory_bytes();
    }
  }

 private:
  void Handle(const Record& record) {
    bool have_identity = false;
    for (uint32_t rule : record.rules) {
      if (!rules_.rule(rule).generates) continue;
      if (!have_identity) {
        have_identity = true;
        identity_.clear();
        for (event::FieldId id : suppress_ids_) {
          if (auto value = record.event.Get(id))
            identity_.emplace_back(event::FieldName(id), *value);
        }
      }
      Emit(rule, record, identity_, 0);
    }
    if (!detectors_.empty()) Detect(record);
    std::vector<bool> fired(record.items.size(), false);
    for (size_t i = 0; i < record.items.size(); ++i) {
      const CorrelationItem& item = record.items[i];
      if (item.parent >= 0 && !fired[item.parent]) continue;
      int64_t count =
          engine_.Feed(item.correlation, item.position, record.timestamp, item.key, item.value);
      if (count == 0) continue;
      fired[i] = true;
      const detect::CompiledCorrelation& corr = rules_.correlations()[item.correlation];
      if (!rules_.rule(corr.rule_index).generates) continue;
      group_.clear();
      const auto& fields = corr.group_fields[item.position];
      for (size_t g = 0; g < corr.group_names.size() && g < fields.size(); ++g) {
        auto value = FirstValue(record.event, fields[g]);
        group_.emplace_back(corr.group_names[g], value.value_or(""));
      }
      Emit(corr.rule_index, record, group_, count);
    }
  }

  // Feeds the record to the detectors whose input rule it matched; their detections are alerts
  // under their rules.
  void Detect(const Record& record) {
    std::optional<flowdetect::Observation> observation;
    for (RunningDetector& running : detectors_) {
      if (std::find(record.rules.begin(), record.rules.end(), running.input) ==
          record.rules.end()) {
        continue;
      }
      if (!observation) observation = flowdetect::ObservationOf(record.event);
      if (!observation) return;
      detections_.clear();
      running.detector->Observe(*observation, detections_);
      for (const flowdetect::Detection& detection : detections_) {
        group_.clear();
        for (const auto& [name, value] : detection.group) group_.emplace_back(name, value);
        Emit(running.rule, record, group_, detection.count);
      }
    }
  }

  // Name and value of each group-by (or suppress_by) field; views into the record's event.
  using Group = std::vector<std::pair<std::string_view, std::string_view>>;

  void Emit(uint32_t rule, const Record& record, const Group& group, int64_t count) {
    uint64_t suppressed_before = 0;
    if (options_.suppress_window > 0) {
      group_values_.clear();
      for (const auto& [name, value] : group) group_values_.push_back(value);
      uint64_t key = detect::HashGroup(group_values_) ^ (uint64_t{rule} * 0x9e3779b97f4a7c15ull);
      if (last_emit_.size() >= options_.max_keys_per_correlation && !last_emit_.Find(key)) {
        Sweep(record.timestamp);
      }
      bool inserted = false;
      Suppression& entry = last_emit_.FindOrInsert(key, inserted);
      if (!have_epoch_) {
        have_epoch_ = true;
        epoch_seconds_ = record.timestamp / kNsPerSecond - 86400;
      }
      int64_t now = record.timestamp / kNsPerSecond - epoch_seconds_;
      if (!inserted) {
        if (now - entry.emitted < options_.suppress_window / kNsPerSecond) {
          if (entry.suppressed < UINT32_MAX) ++entry.suppressed;
          ++summary_.suppressed[rule];
          return;
        }
        suppressed_before = entry.suppressed;
      }
      entry = Suppression{static_cast<int32_t>(std::clamp<int64_t>(now, INT32_MIN, INT32_MAX)), 0};
    }
    ++summary_.alerts[rule];
    ++summary_.alerts_total;
    if (!out_) return;
    const detect::RuleInfo& info = rules_.rule(rule);
    Alert alert;
    alert.timestamp = record.timestamp;
    alert.rule_id = info.id;
    alert.rule_title = info.title;
    alert.rule_level = info.level;
    alert.rule_tags = info.tags;
    alert.correlation = info.is_correlation;
    alert.group = group;
    alert.count = count;
    alert.suppressed = suppressed_before;
    if (options_.include_events) {
      alert.event = &record.event;
      alert.input = input_names_[record.input];
      alert.line = record.line;
    }
    out_->Take(alert);
  }

  // Makes room for a new suppression entry: every max/8 calls, drops the entries whose window
  // has passed (a full scan); in between, and when none has passed, entries are evicted.
  void Sweep(TimeNs now) {
    size_t max = options_.max_keys_per_correlation;
    if (++capped_inserts_ % (max / 8 + 1) == 0) {
      int64_t seconds = now / kNsPerSecond - epoch_seconds_;
      int64_t window = options_.suppress_window / kNsPerSecond;
      last_emit_.EraseIf([&](const Suppression& s) { return seconds - s.emitted >= window; });
    }
    while (last_emit_.size() >= options_.max_keys_per_correlation) {
      last_emit_.EvictOne(static_cast<uint64_t>(now), [](auto&) {});
    }
  }

  // 8 bytes: the second of the last written alert, relative to the first alert of the run (so
  // 32 bits cover 68 years either way), and the alerts held back since.
  struct Suppression {
    int32_t emitted = 0;
    uint32_t suppressed = 0;
  };

  const ReplayOptions& options_;
  const std::vector<std::string>& input_names_;
  const detect::RuleSet& rules_;
  detect::CorrelationEngine engine_;
  std::vector<event::FieldId> suppress_ids_;
  Group identity_;  // suppress_by values of the record being handled
  Group group_;     // group-by values of the correlation that fired
  struct RunningDetector {
    std::unique_ptr<flowdetect::Detector> detector;
    uint32_t input = 0;  // the rule whose events feed it
    uint32_t rule = 0;   // the rule its alerts carry
  };
  std::vector<RunningDetector> detectors_;
  uint64_t capped_inserts_ = 0;  // suppression entries made while at the cap (Sweep)
  std::vector<flowdetect::Detection> detections_;
  AlertSink* out_;
  ReplaySummary& summary_;
  FlatTable<Suppression> last_emit_;  // by hash of rule and group values
  bool have_epoch_ = false;
  int64_t epoch_seconds_ = 0;
  std::vector<std::string_view> group_values_;
};

}  // namespace

Result<ReplaySummary> Replay(const ReplayOptions& options,
                             std::shared_ptr<const detect::RuleSet> rules,
                             std::shared_ptr<const decode::DecoderSet> decoders, std::FILE* out) {
  ReplaySummary summary;
  unsigned threads = options.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  summary.threads = threads;
  std::vector<std::string> names;
  for (const auto& [name, content] : options.memory_inputs) names.push_back(name);
  for (const auto& name : options.inputs) names.push_back(name);
  if (names.empty()) names.push_back("-");

  Queue<std::shared_ptr<Batch>> work(threads * 4);
  std::mutex done_mutex;
  // The sequencer waits for the batch it needs next; workers wait for room ahead of it. Each side
  // is woken only when what it waits for may have changed.
  std::condition_variable next_ready_cv, room_cv;
  unsigned workers_waiting = 0;  // guarded by done_mutex
  std::map<uint64_t, BatchResult> done;
  uint64_t batches = 0;
  uint64_t next_to_consume = 0;  // guarded by done_mutex
  bool reading_finished = false;
  // Finished batches wait for the sequencer; a worker holding a batch far ahead of it waits too,
  // so memory stays bounded however slow output is. The batch the sequencer needs never waits.
  const uint64_t max_ahead = threads + 2;

  std::optional<JsonLinesWriter> writer;
  if (out) writer.emplace(out);
  Sequencer sequencer(options, rules, names, writer ? &*writer : nullptr, summary);
  std::shared_ptr<const MessageScan> message_scan = MessageScan::Build(*rules, *decoders);
  malloc_trim(0);  // give the compiler's temporary memory back before the long run
  auto start = Clock::now();
  std::vector<std::thread> workers;
  // Processed batches come back for the reader to fill again: their buffers keep their capacity,
  // so the run does not allocate and free a batch's memory every 1,024 lines.
  std::mutex spare_mutex;
  std::vector<std::shared_ptr<Batch>> spare;
  // Consumed results go back to the workers the same way: their records keep their memory.
  std::vector<BatchResult> spare_results;
  auto new_batch = [&](size_t input, const input::YearResolver& years) {
    std::shared_ptr<Batch> batch;
    {
      std::lock_guard lock(spare_mutex);
      if (!spare.empty()) {
        batch = std::move(spare.back());
        spare.pop_back();
      }
    }
    if (!batch) batch = std::make_shared<Batch>(options.parse);
    batch->seq = 0;
    batch->input = input;
    batch->format =
        input < options.input_formats.size() ? options.input_formats[input] : options.parse.format;
    batch->storage.clear();
    batch->lines.clear();
    batch->lines.reserve(options.batch_lines);
    batch->years = years;
    return batch;
  };
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      pthread_setname_np(pthread_self(), "bulwark-worker");  // for top -H, perf, gdb
      Worker worker(options, *rules, *decoders, message_scan.get());
      while (auto batch = work.Pop()) {
        BatchResult result;
        {
          std::lock_guard lock(spare_mutex);
          if (!spare_results.empty()) {
            result = std::move(spare_results.back());
            spare_results.pop_back();
          }
        }
        worker.Process(**batch, result);
        {
          std::lock_guard lock(spare_mutex);
          (*batch)->storage.clear();  // the reader's chunks go back as soon as possible
          spare.push_back(std::move(*batch));
        }
        std::unique_lock lock(done_mutex);
        if (result.seq >= next_to_consume + max_ahead) {
          ++workers_waiting;
          room_cv.wait(lock, [&] { return result.seq < next_to_consume + max_ahead; });
          --workers_waiting;
        }
        uint64_t seq = result.seq;
        done.emplace(seq, std::move(result));
        if (seq == next_to_consume) next_ready_cv.notify_one();
      }
      std::lock_guard lock(done_mutex);
      const std::vector<uint8_t>& seen = worker.routes_seen();
      summary.routes_seen.resize(seen.size(), 0);
      for (size_t i = 0; i < seen.size(); ++i) summary.routes_seen[i] |= seen[i];
    });
  }
  bool show_progress = options.progress && isatty(STDERR_FILENO);
  std::thread sequencer_thread([&] {
    pthread_setname_np(pthread_self(), "bulwark-seq");
    uint64_t next = 0;
    auto last_progress = Clock::now();
    while (true) {
      BatchResult result;
      {
        std::unique_lock lock(done_mutex);
        next_ready_cv.wait(
            lock, [&] { return done.count(next) || (reading_finished && next == batches); });
        if (!done.count(next)) break;
        result = std::move(done[next]);
        done.erase(next);
      }
      sequencer.Consume(result);
      {
        std::lock_guard lock(spare_mutex);
        spare_results.push_back(std::move(result));
      }
      {
        std::lock_guard lock(done_mutex);
        next_to_consume = ++next;
        if (workers_waiting > 0) room_cv.notify_all();
      }
      if (show_progress && Clock::now() - last_progress > std::chrono::milliseconds(500)) {
        last_progress = Clock::now();
        double elapsed = std::chrono::duration<double>(last_progress - start).count();
        std::fprintf(stderr, "\r%llu lines, %.0f lines/s, %llu alerts   ",
                     static_cast<unsigned long long>(summary.lines), summary.lines / elapsed,
                     static_cast<unsigned long long>(summary.alerts_total));
      }
    }
  });

  size_t opened = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    Result<std::unique_ptr<input::LineReader>> reader = Fail("unreachable");
    if (i < options.memory_inputs.size()) {
      reader = input::LineReader::FromString(options.memory_inputs[i].second);
    } else if (options.env == nullptr) {
      reader = Fail("no Env to read files through", names[i]);
    } else {
      reader = input::LineReader::Open(names[i], *options.env);
    }
    if (!reader) {
      summary.input_errors.push_back(reader.error().ToString());
      continue;
    }
    ++opened;
    input::YearResolver years(options.parse);
    auto batch = new_batch(i, years);
    input::Line line;
    while ((*reader)->Next(line)) {
      batch->lines.push_back(LineRef{line.text.data(), static_cast<uint32_t>(line.text.size()),
                                     line.too_long, line.number});
      const std::shared_ptr<const char[]>& storage = (*reader)->storage();
      if (batch->storage.empty() || batch->storage.back() != storage) {
        batch->storage.push_back(storage);
      }
      years.ObserveLine(line.text);
      if (batch->lines.size() >= options.batch_lines) {
        {
          std::lock_guard lock(done_mutex);
          batch->seq = batches++;
        }
        work.Push(std::move(batch));
        batch = new_batch(i, years);
      }
    }
    if (!batch->lines.empty()) {
      {
        std::lock_guard lock(done_mutex);
        batch->seq = batches++;
      }
      work.Push(std::move(batch));
    }
    if (!(*reader)->error().empty()) {
      summary.input_errors.push_back(fmt::format("{}: {}", names[i], (*reader)->error()));
    }
  }
  work.Close();
  for (auto& worker : workers) worker.join();
  {
    std::lock_guard lock(done_mutex);
    reading_finished = true;
    next_ready_cv.notify_one();
  }
  sequencer_thread.join();
  sequencer.Finish();
  if (show_progress) std::fprintf(stderr, "\r\033[K");
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (opened == 0) {
    return Fail(summary.input_errors.empty() ? "no input" : summary.input_errors.front());
  }
  return summary;
}

struct StreamDetector::Impl {
  ReplayOptions options;
  std::shared_ptr<const detect::RuleSet> rules;
  std::shared_ptr<const decode::DecoderSet> decoders;
  std::vector<std::string> names;
  ReplaySummary summary;
  std::vector<input::YearResolver> years;
  std::shared_ptr<const MessageScan> message_scan;
  std::unique_ptr<Worker> worker;
  BatchResult result;  // reused for every poll
  std::unique_ptr<Sequencer> sequencer;
  uint64_t seq = 0;
};

StreamDetector::StreamDetector(ReplayOptions options, std::shared_ptr<const detect::RuleSet> rules,
                               std::shared_ptr<const decode::DecoderSet> decoders,
                               std::vector<std::string> input_names, AlertSink* sink)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.options = std::move(options);
  s.rules = std::move(rules);
  s.decoders = std::move(decoders);
  s.names = std::move(input_names);
  for (size_t i = 0; i < s.names.size(); ++i) s.years.emplace_back(s.options.parse);
  s.message_scan = MessageScan::Build(*s.rules, *s.decoders);
  s.worker = std::make_unique<Worker>(s.options, *s.rules, *s.decoders, s.message_scan.get());
  s.sequencer = std::make_unique<Sequencer>(s.options, s.rules, s.names, sink, s.summary);
}

StreamDetector::~StreamDetector() = default;

void StreamDetector::Process(size_t input, const std::vector<std::string>& lines,
                             uint64_t first_line_number, std::span<const LineOrigin> origins) {
  Impl& s = *impl_;
  if (input >= s.names.size() || lines.empty()) return;
  Batch batch(s.options.parse);
  batch.seq = s.seq++;
  batch.input = input;
  if (input < s.options.input_formats.size()) batch.format = s.options.input_formats[input];
  batch.years = s.years[input];
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line(lines[i]);
    bool too_long = line.size() > input::kMaxLineBytes;
    if (too_long) line = line.substr(0, input::kMaxLineBytes);
    batch.lines.push_back(LineRef{line.data(), static_cast<uint32_t>(line.size()), too_long,
                                  first_line_number + i,
                                  i < origins.size() ? &origins[i] : nullptr});
    s.years[input].ObserveLine(line);
  }
  s.worker->Process(batch, s.result, /*keep_sessions=*/true);
  s.sequencer->Consume(s.result);
}

const ReplaySummary& StreamDetector::summary() const {
  return impl_->summary;
}

namespace {

// "silent rules" lines: rules whose logsource route no event satisfied, by product when every
// route of a product was silent, else by logsource (the first few).
void PrintSilentRules(const ReplaySummary& s, const detect::RuleSet& rules, std::string& text) {
  const std::vector<detect::RouteWatch>& routes = rules.routes();
  if (routes.empty() || s.events == 0) return;
  auto seen = [&](size_t i) { return i < s.routes_seen.size() && s.routes_seen[i]; };
  std::map<std::string, std::pair<size_t, bool>> products;  // rules, any route seen
  for (size_t i = 0; i < routes.size(); ++i) {
    auto& [count, any] = products[routes[i].logsource.product];
    count += routes[i].rules;
    any = any || seen(i);
  }
  auto it = std::back_inserter(text);
  constexpr size_t kMostListed = 5;
  size_t listed = 0, unlisted = 0;
  for (const auto& [product, entry] : products) {
    if (product.empty() || entry.second) continue;
    std::string needs;
    for (const detect::RouteWatch& route : routes) {
      if (route.logsource.product == product) needs = route.product_needs;
    }
    fmt::format_to(it, "silent rules     {} {} for product {} saw no event{}\n", entry.first,
                   entry.first == 1 ? "rule" : "rules", product,
                   needs.empty() ? "" : ": their route needs " + needs);
  }
  for (size_t i = 0; i < routes.size(); ++i) {
    const detect::RouteWatch& route = routes[i];
    bool product_silent =
        !route.logsource.product.empty() && !products[route.logsource.product].second;
    if (seen(i) || product_silent) continue;
    if (listed == kMostListed) {
      ++unlisted;
      continue;
    }
    ++listed;
    std::string source;
    for (const auto& [key, value] : {std::pair{"product", route.logsource.product},
                                     {"category", route.logsource.category},
                                     {"service", route.logsource.service}}) {
      if (!value.empty()) source += (source.empty() ? "" : ", ") + std::string(key) + " " + value;
    }
    fmt::format_to(it, "silent rules     {} {} for {} saw no event: their route needs {}\n",
                   route.rules, route.rules == 1 ? "rule" : "rules", source, route.needs);
  }
  if (unlisted > 0) {
    fmt::format_to(it, "silent rules     ... and {} more logsources whose rules saw no event\n",
                   unlisted);
  }
}

}  // namespace

void PrintSummary(const ReplaySummary& s, const detect::RuleSet& rules, std::FILE* out) {
  std::string text;
  auto it = std::back_inserter(text);
  fmt::format_to(it, "lines read       {}\n", s.lines);
  fmt::format_to(it, "events           {}\n", s.events);
  fmt::format_to(it, "decoded          {}\n", s.decoded);
  fmt::format_to(it, "matched a rule   {}\n", s.matched);
  uint64_t rejected = 0;
  for (const auto& [reason, count] : s.rejected) rejected += count;
  fmt::format_to(it, "rejected         {}\n", rejected);
  for (const auto& [reason, count] : s.rejected) fmt::format_to(it, "  {:<14} {}\n", reason, count);
  if (s.too_long) fmt::format_to(it, "cut at 64 KiB    {}\n", s.too_long);
  if (s.invalid_utf8) fmt::format_to(it, "invalid UTF-8    {} (repaired)\n", s.invalid_utf8);
  if (s.nul_bytes) fmt::format_to(it, "NUL bytes        {} (repaired)\n", s.nul_bytes);
  for (const auto& error : s.input_errors) fmt::format_to(it, "input error      {}\n", error);
  fmt::format_to(it, "alerts           {}\n", s.alerts_total);
  for (const auto& [rule, count] : s.alerts) {
    const auto& info = rules.rule(rule);
    auto sup = s.suppressed.find(rule);
    fmt::format_to(it, "  {:>8}  {} ({}){}\n", count, info.title, info.id,
                   sup == s.suppressed.end() ? "" : fmt::format(", {} suppressed", sup->second));
  }
  for (const auto& [rule, count] : s.suppressed) {
    if (!s.alerts.count(rule))
      fmt::format_to(it, "  {:>8}  {} ({}), {} suppressed\n", 0, rules.rule(rule).title,
                     rules.rule(rule).id, count);
  }
  PrintSilentRules(s, rules, text);
  fmt::format_to(it, "correlation keys {} held ({:.1f} MB), {} evicted\n", s.correlation_keys,
                 s.correlation_bytes / 1e6, s.correlation_evictions);
  if (s.detector_keys > 0) {
    fmt::format_to(it, "flow detectors   {} ran, {} keys held ({:.1f} MB)\n", s.detectors,
                   s.detector_keys, s.detector_bytes / 1e6);
  }
  double rate = s.seconds > 0 ? s.lines / s.seconds : 0;
  fmt::format_to(it, "time             {:.3f} s, {:.0f} lines/s, {} threads\n", s.seconds, rate,
                 s.threads);
  std::fputs(text.c_str(), out);
}

}  // namespace bulwark::pipeline
