#include "correlation_oracle.h"

#include <algorithm>
#include <set>

namespace bulwark::oracle {

void CorrelationOracle::Add(const sigma::Correlation& spec, size_t inputs) {
  entries_.push_back(Entry{spec, inputs, {}});
}

uint32_t CorrelationOracle::Second(TimeNs timestamp) {
  if (!have_epoch_) {
    have_epoch_ = true;
    epoch_ = timestamp - 86400 * kNsPerSecond;
  }
  TimeNs relative = (timestamp - epoch_) / kNsPerSecond;
  return static_cast<uint32_t>(std::clamp<TimeNs>(relative, 1, UINT32_MAX));
}

int64_t CorrelationOracle::Feed(size_t correlation, size_t position, TimeNs timestamp,
                                const std::string& key, const std::string& value) {
  Entry& entry = entries_.at(correlation);
  const sigma::Correlation& spec = entry.spec;
  uint32_t now = Second(timestamp);
  int64_t span = std::max<int64_t>(spec.timespan_ns / kNsPerSecond, 1);
  auto fire = [&](int64_t count) -> int64_t {
    if (!spec.condition.Holds(count)) return 0;
    entry.groups.erase(key);
    return count;
  };
  switch (spec.type) {
    case sigma::CorrelationType::kEventCount: {
      int64_t width = std::max<int64_t>(1, (span + 7) / 8);
      int64_t bucket = now / width;
      Group& group = entry.groups[key];
      if (group.events.empty() && group.first_bucket < 0) group.first_bucket = bucket;
      // The window: the 8 buckets ending with the newest bucket seen, never before the group's
      // first bucket.
      int64_t newest = bucket;
      for (const Event& e : group.events) newest = std::max<int64_t>(newest, e.second / width);
      int64_t window_start = std::max(group.first_bucket, newest - 7);
      if (bucket < window_start) return 0;
      group.events.push_back(Event{now, position, value});
      std::map<int64_t, int64_t> per_bucket;
      for (const Event& e : group.events) {
        if (static_cast<int64_t>(e.second / width) >= window_start) ++per_bucket[e.second / width];
      }
      int64_t total = 0;
      for (const auto& [b, count] : per_bucket) total += std::min<int64_t>(count, 255);
      return fire(total);
    }
    case sigma::CorrelationType::kValueCount:
    case sigma::CorrelationType::kTemporal:
    case sigma::CorrelationType::kTemporalOrdered: {
      bool ordered = spec.type == sigma::CorrelationType::kTemporalOrdered;
      bool temporal = spec.type != sigma::CorrelationType::kValueCount;
      size_t inputs = std::min<size_t>(entry.inputs, 6);
      if (temporal && position >= inputs) return 0;
      if (ordered && position > 0 && !entry.groups.count(key)) return 0;
      Group& group = entry.groups[key];
      // The window ends at the group's newest event; an older event than that does not count.
      uint32_t newest = now;
      for (const Event& e : group.events) newest = std::max(newest, e.second);
      if (now + span < newest) return 0;
      auto in_window = [&](const Event& e) { return e.second + span >= newest; };
      if (ordered && position > 0) {
        bool before = false;
        for (const Event& e : group.events) before |= e.position == position - 1 && in_window(e);
        if (!before) return 0;
      }
      group.events.push_back(Event{now, position, value});
      std::set<std::string> values;
      std::set<size_t> positions;
      for (const Event& e : group.events) {
        if (!in_window(e)) continue;
        values.insert(e.value);
        positions.insert(e.position);
      }
      if (!temporal) return fire(static_cast<int64_t>(values.size()));
      if (ordered && position + 1 != inputs) return 0;
      return fire(static_cast<int64_t>(positions.size()));
    }
  }
  return 0;
}

}  // namespace bulwark::oracle
