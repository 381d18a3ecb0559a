#pragma once
// An open-addressing hash table from 64-bit key hashes to small fixed-size states, for
// correlation windows: one slot costs sizeof(uint64_t) + sizeof(V), with no per-entry allocation.
// Not thread-safe.

#include <cstdint>
#include <vector>

namespace bulwark::detect {

template <typename V>
class FlatTable {
 public:
  size_t size() const { return size_; }
  size_t capacity() const { return keys_.size(); }
  size_t memory_bytes() const { return keys_.capacity() * sizeof(uint64_t) + values_.capacity() * sizeof(V); }

  // The state for `key`, or nullptr.
  V* Find(uint64_t key) {
    if (keys_.empty()) return nullptr;
    key = Normalize(key);
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == 0) return nullptr;
    }
  }

  // The state for `key`, default-constructed when new. `inserted` tells which.
  V& FindOrInsert(uint64_t key, bool& inserted) {
    if ((size_ + 1) * 8 > keys_.size() * 7) Grow();
    key = Normalize(key);
    size_t i = Home(key);
    for (;; i = (i + 1) & mask_) {
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
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
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
    for (size_t i = hint & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] != 0) {
        on_evict(values_[i]);
        EraseAt(i);
        return;
      }
    }
  }

 private:
  static uint64_t Normalize(uint64_t key) { return key == 0 ? 1 : key; }
  size_t Home(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask_; }

  void EraseAt(size_t i) {
    keys_[i] = 0;
    --size_;
    for (size_t j = (i + 1) & mask_; keys_[j] != 0; j = (j + 1) & mask_) {
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

  void Grow() {
    size_t capacity = keys_.empty() ? 64 : keys_.size() * 2;
    std::vector<uint64_t> old_keys(capacity, 0);
    std::vector<V> old_values(capacity);
    old_keys.swap(keys_);
    old_values.swap(values_);
    mask_ = capacity - 1;
    size_ = 0;
    for (size_t i = 0; i < old_keys.size(); ++i) {
      if (old_keys[i] == 0) continue;
      size_t j = Home(old_keys[i]);
      while (keys_[j] != 0) j = (j + 1) & mask_;
      keys_[j] = old_keys[i];
      values_[j] = old_values[i];
      ++size_;
    }
  }

  std::vector<uint64_t> keys_;
  std::vector<V> values_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace bulwark::detect
