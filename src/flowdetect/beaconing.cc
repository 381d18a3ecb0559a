// Beaconing: connections at a regular interval (see Settings::Beaconing).

#include <array>
#include <cmath>

#include "bulwark/core/flat_table.h"
#include "bulwark/core/hash.h"
#include "detectors.h"

namespace bulwark::flowdetect {

namespace {

constexpr size_t kKept = 15;  // intervals held per pair

// One (source, destination, port): the last connection's start and the intervals before it, in
// milliseconds. 72 bytes.
struct Pair {
  int64_t last_ms = 0;
  uint8_t count = 0;  // intervals held
  uint8_t next = 0;   // slot to write next
  std::array<uint32_t, kKept> intervals{};
};

uint64_t PairKey(const Observation& o) {
  return AddressKey(o.destination,
                    AddressKey(o.source) + (uint64_t{o.destination_port} << 8 | o.protocol));
}

class Beaconing : public Detector {
 public:
  explicit Beaconing(const Settings::Beaconing& s)
      : needed_(std::clamp<size_t>(s.min_connections, 3, kKept + 1) - 1),
        max_jitter_(s.max_jitter),
        min_ms_(s.min_interval / 1'000'000),
        max_ms_(s.max_interval / 1'000'000),
        max_pairs_(std::max<size_t>(s.max_pairs, 1)) {}

  void Observe(const Observation& o, std::vector<Detection>& out) override {
    uint64_t key = PairKey(o);
    int64_t now_ms = o.time / 1'000'000;
    if (!pairs_.Find(key)) {
      // Pairs silent for longer than the longest interval can no longer beacon: they go when
      // the table would grow; at its cap, one pair makes room (a sweep per new pair would scan
      // the whole table each time).
      if (pairs_.Full())
        pairs_.EraseIf([&](const Pair& p) { return now_ms - p.last_ms > max_ms_; });
      if (pairs_.size() >= max_pairs_) pairs_.EvictOne(key, [](Pair&) {});
    }
    bool inserted = false;
    Pair& pair = pairs_.FindOrInsert(key, inserted);
    if (inserted) {
      pair.last_ms = now_ms;
      return;
    }
    int64_t interval = now_ms - pair.last_ms;
    if (interval < min_ms_) return;  // the same connection again, or out of order
    pair.last_ms = now_ms;
    if (interval > max_ms_) {
      pair.count = 0;  // a pause longer than any beacon's: start again
      return;
    }
    pair.intervals[pair.next] = static_cast<uint32_t>(interval);
    pair.next = static_cast<uint8_t>((pair.next + 1) % kKept);
    if (pair.count < kKept) ++pair.count;
    if (pair.count < needed_) return;
    // The last `needed_` intervals.
    double sum = 0, squares = 0;
    for (size_t i = 0; i < needed_; ++i) {
      double v = pair.intervals[(pair.next + kKept - 1 - i) % kKept];
      sum += v;
      squares += v * v;
    }
    double mean = sum / static_cast<double>(needed_);
    double variance = std::max(0.0, squares / static_cast<double>(needed_) - mean * mean);
    if (std::sqrt(variance) > max_jitter_ * mean) return;
    out.push_back(Detection{{{"source.ip", o.source.ToString()},
                             {"destination.ip", o.destination.ToString()},
                             {"destination.port", std::to_string(o.destination_port)}},
                            static_cast<int64_t>(needed_ + 1)});
    pairs_.Erase(key);
  }
  size_t keys() const override { return pairs_.size(); }
  size_t memory_bytes() const override { return pairs_.memory_bytes(); }

 private:
  const size_t needed_;  // intervals
  const double max_jitter_;
  const int64_t min_ms_, max_ms_;
  const size_t max_pairs_;
  FlatTable<Pair> pairs_;
};

}  // namespace

std::unique_ptr<Detector> MakeBeaconing(const Settings& settings) {
  return std::make_unique<Beaconing>(settings.beaconing);
}

}  // namespace bulwark::flowdetect
