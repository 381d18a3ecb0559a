#include "bulwark/detect/correlation.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "flat_table.h"

namespace bulwark::detect {

namespace {

uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

// Seconds relative to the first event the engine saw, so 32 bits last for 136 years.
using Seconds = uint32_t;

constexpr int kBuckets = 8;

// event_count: counts in kBuckets sub-windows of timespan/kBuckets (the window's granularity).
struct CountState {
  Seconds base = 0;  // start bucket index of counts[0]
  std::array<uint16_t, kBuckets> counts{};
  Seconds last = 0;
};

// value_count: distinct value hashes with their last time; the first inline, more on the heap.
struct ValueState {
  uint32_t first_value = 0;
  Seconds first_seen = 0;
  std::vector<std::pair<uint32_t, Seconds>>* more = nullptr;
  Seconds last = 0;
};

// temporal(_ordered): time each input was last seen (0 = never).
struct TemporalState {
  std::array<Seconds, kMaxTemporalInputs> seen{};
  Seconds last = 0;
};

}  // namespace

struct CorrelationEngine::Impl {
  std::shared_ptr<const RuleSet> rules;
  size_t max_keys;
  bool have_epoch = false;
  TimeNs epoch = 0;
  uint64_t evictions = 0;
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

  // Makes room in `table` before an insert: drops expired groups, then evicts.
  template <typename V>
  void Bound(FlatTable<V>& table, Seconds now, Seconds span, uint64_t hint) {
    if (table.size() < max_keys) return;
    table.EraseIf([&](V& s) {
      bool expired = s.last + span < now;
      if constexpr (std::is_same_v<V, ValueState>) {
        if (expired) delete s.more;
      }
      return expired;
    });
    while (table.size() >= max_keys) {
      table.EvictOne(Mix(hint), [](V& victim) {
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
      if (!table.Find(key)) s.Bound(table, now, span, key);
      CountState& state = table.FindOrInsert(key, inserted);
      Seconds width = std::max<Seconds>(1, (span + kBuckets - 1) / kBuckets);
      Seconds bucket = now / width;
      if (inserted) state.base = bucket;
      if (bucket >= state.base + kBuckets) {
        Seconds shift = bucket - (state.base + kBuckets - 1);
        if (shift >= kBuckets) {
          state.counts.fill(0);
        } else {
          std::rotate(state.counts.begin(), state.counts.begin() + shift, state.counts.end());
          std::fill(state.counts.end() - shift, state.counts.end(), 0);
        }
        state.base += shift;
      }
      Seconds slot = bucket < state.base ? 0 : bucket - state.base;
      if (state.counts[slot] < UINT16_MAX) ++state.counts[slot];
      state.last = std::max(state.last, now);
      int64_t total = 0;
      for (uint16_t c : state.counts) total += c;
      if (spec.condition.Holds(total) && total > 0) {
        table.Erase(key);
        return total;
      }
      return 0;
    }
    case sigma::CorrelationType::kValueCount: {
      auto& table = s.values[correlation];
      if (!table.Find(key)) s.Bound(table, now, span, key);
      ValueState& state = table.FindOrInsert(key, inserted);
      auto v = static_cast<uint32_t>(value ^ (value >> 32));
      if (v == 0) v = 1;
      state.last = std::max(state.last, now);
      if (inserted || (state.first_seen + span < now && !state.more)) {
        state.first_value = v;
        state.first_seen = now;
      } else if (state.first_value == v) {
        state.first_seen = now;
      } else {
        if (!state.more) state.more = new std::vector<std::pair<uint32_t, Seconds>>();
        auto& more = *state.more;
        std::erase_if(more, [&](const auto& e) { return e.second + span < now; });
        auto it = std::find_if(more.begin(), more.end(), [&](const auto& e) { return e.first == v; });
        if (it != more.end()) {
          it->second = now;
        } else {
          more.emplace_back(v, now);
        }
      }
      int64_t distinct = (state.first_seen + span >= now ? 1 : 0) +
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
      if (!table.Find(key)) s.Bound(table, now, span, key);
      TemporalState& state = table.FindOrInsert(key, inserted);
      size_t inputs = std::min<size_t>(corr.inputs.size(), state.seen.size());
      if (position >= inputs) return 0;
      state.last = std::max(state.last, now);
      bool ordered = spec.type == sigma::CorrelationType::kTemporalOrdered;
      if (ordered && position > 0) {
        Seconds previous = state.seen[position - 1];
        if (previous == 0 || previous + span < now) return 0;  // earlier step missing or stale
      }
      state.seen[position] = now;
      int64_t present = 0;
      for (size_t i = 0; i < inputs; ++i) {
        if (state.seen[i] != 0 && state.seen[i] + span >= now) ++present;
      }
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
  for (const auto& t : impl_->counts) stats.keys += t.size(), stats.memory_bytes += t.memory_bytes();
  for (const auto& t : impl_->values) stats.keys += t.size(), stats.memory_bytes += t.memory_bytes();
  for (const auto& t : impl_->temporals) stats.keys += t.size(), stats.memory_bytes += t.memory_bytes();
  stats.evictions = impl_->evictions;
  return stats;
}

uint64_t HashValue(std::string_view value) { return Mix(std::hash<std::string_view>{}(value)); }

uint64_t HashGroup(const std::vector<std::string>& values) {
  uint64_t h = 0x12345678;
  for (const auto& v : values) h = Mix(h ^ HashValue(v)) + 0x9e3779b97f4a7c15ull;
  return h;
}

}  // namespace bulwark::detect
