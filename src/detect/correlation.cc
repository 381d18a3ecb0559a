#include "bulwark/detect/correlation.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "bulwark/core/flat_table.h"
#include "bulwark/core/hash.h"

namespace bulwark::detect {

namespace {

// Seconds relative to the first event the engine saw, so 32 bits last for 136 years.
using Seconds = uint32_t;

constexpr int kBuckets = 8;

// event_count: counts in kBuckets sub-windows of timespan/kBuckets (the window's granularity),
// saturating at 255 per sub-window. 12 bytes.
struct CountState {
  Seconds base = 0;  // sub-window index of counts[0]
  std::array<uint8_t, kBuckets> counts{};
  Seconds Last(Seconds width) const { return (base + kBuckets) * width; }
};

// value_count: distinct value hashes with the latest time each was seen; the first inline, more
// on the heap. 16 bytes. A time of 0 marks the inline slot empty.
struct ValueState {
  uint32_t first_value = 0;
  Seconds first_seen = 0;
  std::vector<std::pair<uint32_t, Seconds>>* more = nullptr;
  Seconds Last() const {
    Seconds last = first_seen;
    if (more) {
      for (const auto& [value, seen] : *more) last = std::max(last, seen);
    }
    return last;
  }
};

// temporal(_ordered): time each input was last seen (0 = never).
struct TemporalState {
  std::array<Seconds, kMaxTemporalInputs> seen{};
  Seconds Last() const { return *std::max_element(seen.begin(), seen.end()); }
};

}  // namespace

struct CorrelationEngine::Impl {
  std::shared_ptr<const RuleSet> rules;
  size_t max_keys;
  bool have_epoch = false;
  TimeNs epoch = 0;
  uint64_t evictions = 0;
  uint64_t capped_inserts = 0;  // new groups while a table was at its cap
  std::vector<FlatTable<CountState>> counts;
  std::vector<FlatTable<ValueState>> values;
  std::vector<FlatTable<TemporalState>> temporals;

  ~Impl() {
    for (auto& table : values) {
      table.EraseIf([](ValueState& s) {
        delete s.more;
        return false;
      });
    }
  }

  Seconds ToSeconds(TimeNs ts) {
    if (!have_epoch) {
      have_epoch = true;
      epoch = ts - 86400 * kNsPerSecond;  // room for slightly older, out-of-order events
    }
    TimeNs relative = (ts - epoch) / kNsPerSecond;
    return static_cast<Seconds>(std::clamp<TimeNs>(relative, 1, UINT32_MAX));
  }

  // Makes room in `table` before inserting a new group: drops expired groups when the table is
  // about to grow or is at its cap, then evicts. `last` tells when a state was last fed.
  // A table at its cap is swept only every max_keys / 8 new groups (in between, one group is
  // evicted per new one): a sweep that finds nothing expired would otherwise scan the whole
  // table for every new group, which a flood of sources keeps doing.
  template <typename V, typename LastFn>
  void Bound(FlatTable<V>& table, Seconds now, Seconds span, uint64_t hint, LastFn&& last) {
    bool capped = table.size() >= max_keys;
    if (!capped && !table.Full()) return;
    if (capped && ++capped_inserts % (max_keys / 8 + 1) != 0) {
      table.EvictOne(Mix64(hint), [](V& victim) {
        if constexpr (std::is_same_v<V, ValueState>) delete victim.more;
      });
      ++evictions;
      return;
    }
    table.EraseIf([&](V& s) {
      bool expired = last(s) + span < now;
      if constexpr (std::is_same_v<V, ValueState>) {
        if (expired) delete s.more;
      }
      return expired;
    });
    while (table.size() >= max_keys) {
      table.EvictOne(Mix64(hint), [](V& victim) {
        if constexpr (std::is_same_v<V, ValueState>) delete victim.more;
      });
      ++evictions;
      ++hint;
    }
  }
};

CorrelationEngine::CorrelationEngine(std::shared_ptr<const RuleSet> rules, size_t max_keys)
    : impl_(std::make_unique<Impl>()) {
  impl_->rules = std::move(rules);
  impl_->max_keys = std::max<size_t>(max_keys, 1);
  size_t n = impl_->rules->correlations().size();
  impl_->counts.resize(n);
  impl_->values.resize(n);
  impl_->temporals.resize(n);
}

CorrelationEngine::~CorrelationEngine() = default;

int64_t CorrelationEngine::Feed(uint32_t correlation, uint32_t position, TimeNs timestamp,
                                uint64_t key, uint64_t value) {
  Impl& s = *impl_;
  const CompiledCorrelation& corr = s.rules->correlations()[correlation];
  const sigma::Correlation& spec = corr.spec;
  Seconds now = s.ToSeconds(timestamp);
  auto span = static_cast<Seconds>(std::max<TimeNs>(spec.timespan_ns / kNsPerSecond, 1));
  bool inserted = false;
  switch (spec.type) {
    case sigma::CorrelationType::kEventCount: {
      auto& table = s.counts[correlation];
      Seconds width = std::max<Seconds>(1, (span + kBuckets - 1) / kBuckets);
      if (!table.Find(key)) {
        s.Bound(table, now, span, key, [&](const CountState& c) { return c.Last(width); });
      }
      CountState& state = table.FindOrInsert(key, inserted);
      Seconds bucket = now / width;
      if (inserted) state.base = bucket;
      if (bucket >= state.base + kBuckets) {
        Seconds shift = bucket - (state.base + kBuckets - 1);
        for (Seconds i = 0; i < static_cast<Seconds>(kBuckets); ++i) {
          state.counts[i] =
              i + shift < static_cast<Seconds>(kBuckets) ? state.counts[i + shift] : 0;
        }
        state.base += shift;
      }
      if (bucket < state.base) return 0;  // older than the window: does not count
      Seconds slot = bucket - state.base;
      if (state.counts[slot] < UINT8_MAX) ++state.counts[slot];
      int64_t total = 0;
      for (uint8_t c : state.counts) total += c;
      if (spec.condition.Holds(total) && total > 0) {
        table.Erase(key);
        return total;
      }
      return 0;
    }
    case sigma::CorrelationType::kValueCount: {
      auto& table = s.values[correlation];
      if (!table.Find(key))
        s.Bound(table, now, span, key, [](const ValueState& v) { return v.Last(); });
      ValueState& state = table.FindOrInsert(key, inserted);
      // The window ends at the group's newest event; an event older than it does not count.
      Seconds newest = std::max(state.Last(), now);
      if (now + span < newest) return 0;
      auto fresh = [&](Seconds seen) { return seen != 0 && seen + span >= newest; };
      if (!fresh(state.first_seen)) state.first_seen = 0;
      if (state.more) {
        std::erase_if(*state.more, [&](const auto& e) { return !fresh(e.second); });
      }
      auto v = static_cast<uint32_t>(value ^ (value >> 32));
      bool found = false;
      if (state.first_seen != 0 && state.first_value == v) {
        state.first_seen = std::max(state.first_seen, now);
        found = true;
      }
      if (!found && state.more) {
        for (auto& [seen_value, seen] : *state.more) {
          if (seen_value != v) continue;
          seen = std::max(seen, now);
          found = true;
          break;
        }
      }
      if (!found && state.first_seen == 0) {
        state.first_value = v;
        state.first_seen = now;
      } else if (!found) {
        if (!state.more) state.more = new std::vector<std::pair<uint32_t, Seconds>>();
        state.more->emplace_back(v, now);
      }
      int64_t distinct = (state.first_seen != 0 ? 1 : 0) +
                         (state.more ? static_cast<int64_t>(state.more->size()) : 0);
      if (spec.condition.Holds(distinct)) {
        delete state.more;
        table.Erase(key);
        return distinct;
      }
      return 0;
    }
    case sigma::CorrelationType::kTemporal:
    case sigma::CorrelationType::kTemporalOrdered: {
      auto& table = s.temporals[correlation];
      bool ordered = spec.type == sigma::CorrelationType::kTemporalOrdered;
      if (!table.Find(key)) {
        if (ordered && position > 0) return 0;  // a later step without the first: no state
        s.Bound(table, now, span, key, [](const TemporalState& t) { return t.Last(); });
      }
      TemporalState& state = table.FindOrInsert(key, inserted);
      size_t inputs = std::min<size_t>(corr.inputs.size(), state.seen.size());
      if (position >= inputs) return 0;
      // The window ends at the group's newest event; an event older than it does not count.
      Seconds newest = std::max(state.Last(), now);
      if (now + span < newest) return 0;
      auto fresh = [&](Seconds seen) { return seen != 0 && seen + span >= newest; };
      if (ordered && position > 0 && !fresh(state.seen[position - 1])) {
        return 0;  // the step before is missing or stale
      }
      state.seen[position] = std::max(state.seen[position], now);
      int64_t present = 0;
      for (size_t i = 0; i < inputs; ++i) present += fresh(state.seen[i]) ? 1 : 0;
      bool complete = ordered ? position + 1 == inputs : true;
      if (complete && spec.condition.Holds(present)) {
        table.Erase(key);
        return present;
      }
      return 0;
    }
  }
  return 0;
}

CorrelationStats CorrelationEngine::stats() const {
  CorrelationStats stats;
  for (const auto& t : impl_->counts)
    stats.keys += t.size(), stats.memory_bytes += t.memory_bytes();
  for (const auto& t : impl_->values)
    stats.keys += t.size(), stats.memory_bytes += t.memory_bytes();
  for (const auto& t : impl_->temporals)
    stats.keys += t.size(), stats.memory_bytes += t.memory_bytes();
  stats.evictions = impl_->evictions;
  return stats;
}

uint64_t HashValue(std::string_view value) {
  return Mix64(std::hash<std::string_view>{}(value));
}

uint64_t HashGroup(std::span<const std::string_view> values) {
  uint64_t h = 0x12345678;
  for (const auto& v : values) h = Mix64(h ^ HashValue(v)) + 0x9e3779b97f4a7c15ull;
  return h;
}

}  // namespace bulwark::detect
