#pragma once
// An open-addressing hash table from 64-bit key hashes to small fixed-size states (correlation
// windows, suppression): one slot costs sizeof(uint64_t) + sizeof(V), with no per-entry
// allocation; it grows by 1.25x at 7/8 load. Not thread-safe.

#include <cstdint>
#include <vector>

namespace bulwark {

template <typename V>
class FlatTable {
 public:
  size_t size() const { return size_; }
  size_t capacity() const { return keys_.size(); }
  size_t memory_bytes() const {
    return keys_.capacity() * sizeof(uint64_t) + values_.capacity() * sizeof(V);
  }

  // The state for `key`, or nullptr.
  V* Find(uint64_t key) {
    if (keys_.empty()) return nullptr;
    key = Normalize(key);
    for (size_t i = Home(key);; i = Next(i)) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == 0) return nullptr;
    }
  }

  // True when the next insert of a new key grows the table (a moment to drop stale entries).
  bool Full() const { return (size_ + 1) * 8 > keys_.size() * 7; }

  // The state for `key`, default-constructed when new. `inserted` tells which.
  V& FindOrInsert(uint64_t key, bool& inserted) {
    if (Full()) Grow();
    key = Normalize(key);
    size_t i = Home(key);
    for (;; i = Next(i)) {
      if (keys_[i] == key) {
        inserted = false;
        return values_[i];
      }
      if (keys_[i] == 0) break;
    }
    keys_[i] = key;
    values_[i] = V{};
    ++size_;
    inserted = true;
    return values_[i];
  }

  // Removes every entry for which `drop(value)` is true (backward-shift deletion keeps probing
  // correct). Returns the number removed.
  template <typename F>
  size_t EraseIf(F&& drop) {
    size_t removed = 0;
    for (size_t i = 0; i < keys_.size(); ++i) {
      while (keys_[i] != 0 && drop(values_[i])) {
        EraseAt(i);
        ++removed;
      }
    }
    return removed;
  }

  // Removes `key` if present.
  void Erase(uint64_t key) {
    if (keys_.empty()) return;
    key = Normalize(key);
    for (size_t i = Home(key);; i = Next(i)) {
      if (keys_[i] == key) {
        EraseAt(i);
        return;
      }
      if (keys_[i] == 0) return;
    }
  }

  // Removes one entry starting the search at a pseudo-random slot (eviction when full); calls
  // `on_evict(value)` first.
  template <typename F>
  void EvictOne(uint64_t hint, F&& on_evict) {
    if (size_ == 0) return;
    for (size_t i = hint % keys_.size();; i = Next(i)) {
      if (keys_[i] != 0) {
        on_evict(values_[i]);
        EraseAt(i);
        return;
      }
    }
  }

 private:
  static uint64_t Normalize(uint64_t key) { return key == 0 ? 1 : key; }
  // Maps a key to a slot in [0, capacity) without a power-of-two size (Lemire's multiply-shift).
  size_t Home(uint64_t key) const { return HomeIn(key, keys_.size()); }
  static size_t HomeIn(uint64_t key, size_t capacity) {
    uint64_t mixed = key * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>((static_cast<unsigned __int128>(mixed) * capacity) >> 64);
  }
  size_t Next(size_t i) const { return i + 1 == keys_.size() ? 0 : i + 1; }

  void EraseAt(size_t i) {
    keys_[i] = 0;
    --size_;
    for (size_t j = Next(i); keys_[j] != 0; j = Next(j)) {
      size_t home = Home(keys_[j]);
      // Move j back to i when its home is not cyclically within (i, j].
      bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!between) {
        keys_[i] = keys_[j];
        values_[i] = values_[j];
        keys_[j] = 0;
        i = j;
      }
    }
  }

  // Rehashes into 1.25x the slots: keys first, then values, so that the old and new arrays of
  // both never coexist. Peak: the old table, the new keys and 4 bytes per old slot (instead of
  // the old and the new table).
  void Grow() {
    const size_t old_capacity = keys_.size();
    const size_t capacity = keys_.empty() ? 64 : old_capacity + old_capacity / 4;
    constexpr uint32_t kEmpty = UINT32_MAX;
    std::vector<uint32_t> moved_to(old_capacity, kEmpty);
    {
      std::vector<uint64_t> new_keys(capacity, 0);
      for (size_t i = 0; i < old_capacity; ++i) {
        if (keys_[i] == 0) continue;
        size_t j = HomeIn(keys_[i], capacity);
        while (new_keys[j] != 0) j = j + 1 == capacity ? 0 : j + 1;
        new_keys[j] = keys_[i];
        moved_to[i] = static_cast<uint32_t>(j);
      }
      keys_.swap(new_keys);
    }  // the old keys are freed here
    std::vector<V> new_values(capacity);
    for (size_t i = 0; i < old_capacity; ++i) {
      if (moved_to[i] != kEmpty) new_values[moved_to[i]] = values_[i];
    }
    values_.swap(new_values);
  }

  std::vector<uint64_t> keys_;
  std::vector<V> values_;
  size_t size_ = 0;
};

}  // namespace bulwark
