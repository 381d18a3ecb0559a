#pragma once
// Sigma correlation state: event_count, value_count, temporal and temporal_ordered windows per
// group key. State is bounded: each correlation keeps at most `max_keys` groups; when full, expired
// windows are dropped first and then the oldest groups are evicted (counted in the stats), so
// memory stays flat however many sources appear. Not thread-safe: one engine per partition.

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "bulwark/core/time.h"
#include "bulwark/detect/ruleset.h"

namespace bulwark::detect {

// temporal and temporal_ordered correlations take at most this many rules.
inline constexpr size_t kMaxTemporalInputs = 6;
// event_count counts in 8 sub-windows of at most 255 events each; higher thresholds are refused.
inline constexpr int64_t kMaxEventCountThreshold = 8 * 255;

struct CorrelationStats {
  uint64_t keys = 0;          // groups currently held, all correlations
  uint64_t evictions = 0;     // groups dropped because a table was full
  uint64_t memory_bytes = 0;  // table memory
};

class CorrelationEngine {
 public:
  CorrelationEngine(std::shared_ptr<const RuleSet> rules, size_t max_keys_per_correlation);
  ~CorrelationEngine();

  // One matching event for input `position` of correlation `correlation`, in group `key`.
  // `value` is the hash of the value_count field (0 when absent). Returns the count that made the
  // correlation fire, or 0 when it did not fire.
  int64_t Feed(uint32_t correlation, uint32_t position, TimeNs timestamp, uint64_t key,
               uint64_t value);
  CorrelationStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Hash of group-by values (order matters); stable within a process.
uint64_t HashGroup(std::span<const std::string_view> values);
uint64_t HashValue(std::string_view value);

}  // namespace bulwark::detect
