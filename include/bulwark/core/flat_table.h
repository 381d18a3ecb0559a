#pragma once
// An open-addressing hash table from 64-bit key hashes to small fixed-size states (correlation
// windows, suppression): one slot costs sizeof(uint64_t) + sizeof(V), with no per-entry
// allocation; it grows by 1.25x at 7/8 load, in place: the arrays (pages of their own) are
// enlarged with mremap, which moves pages instead of copying them, and the entries are then moved
// to their new slots, so a growth needs 4 bytes per slot beside the table instead of a second
// table. V must be trivially copyable. Not thread-safe.

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace bulwark {

namespace flat_table_detail {

// An array of trivially copyable T in pages of its own (mmap), grown with mremap: the kernel
// moves the pages instead of copying them, and the array never sits in a malloc heap, where a
// large block could end up in another thread's arena and its heap stay resident after it moved.
template <typename T>
class PageArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  PageArray() = default;
  PageArray(PageArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        bytes_(std::exchange(other.bytes_, 0)) {}
  PageArray& operator=(PageArray&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(bytes_, other.bytes_);
    return *this;
  }
  ~PageArray() {
    if (data_ != nullptr) munmap(data_, bytes_);
  }

  // Grows to `size` elements; the new ones are T{}. Throws std::bad_alloc.
  void Grow(size_t size) {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t bytes = (size * sizeof(T) + page - 1) / page * page;
    if (bytes > bytes_) {
      void* grown = data_ == nullptr ? mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                                     : mremap(data_, bytes_, bytes, MREMAP_MAYMOVE);
      if (grown == MAP_FAILED) throw std::bad_alloc();
      data_ = static_cast<T*>(grown);
      bytes_ = bytes;
    }
    for (size_t i = size_; i < size; ++i) new (&data_[i]) T{};
    size_ = size;
  }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t bytes() const { return bytes_; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t bytes_ = 0;  // mapped
};

}  // namespace flat_table_detail

template <typename V>
class FlatTable {
 public:
  size_t size() const { return size_; }
  size_t capacity() const { return keys_.size(); }
  size_t memory_bytes() const { return keys_.bytes() + values_.bytes(); }

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

  // Rehashes into 1.25x the slots, in place: first the new slot of every entry (probing a bitmap
  // of taken slots), then the arrays are enlarged and each entry moved to its slot, following the
  // chains of entries that take each other's slots.
  void Grow() {
    const size_t old_capacity = keys_.size();
    const size_t capacity = old_capacity == 0 ? 64 : old_capacity + old_capacity / 4;
    if (capacity >= kDone) throw std::bad_alloc();
    std::vector<uint32_t> moved_to(old_capacity, kEmpty);
    {
      std::vector<bool> taken(capacity);
      for (size_t i = 0; i < old_capacity; ++i) {
        if (keys_[i] == 0) continue;
        size_t j = HomeIn(keys_[i], capacity);
        while (taken[j]) j = j + 1 == capacity ? 0 : j + 1;
        taken[j] = true;
        moved_to[i] = static_cast<uint32_t>(j);
      }
    }
    keys_.Grow(capacity);
    values_.Grow(capacity);
    for (size_t start = 0; start < old_capacity; ++start) {
      if (moved_to[start] == kEmpty || moved_to[start] == kDone) continue;
      uint64_t key = keys_[start];
      V value = values_[start];
      keys_[start] = 0;
      for (size_t from = start;;) {
        size_t to = moved_to[from];
        moved_to[from] = kDone;
        if (to < old_capacity && moved_to[to] != kEmpty && moved_to[to] != kDone) {
          std::swap(key, keys_[to]);  // carry on with the entry that had slot `to`
          std::swap(value, values_[to]);
          from = to;
          continue;
        }
        keys_[to] = key;
        values_[to] = value;
        break;
      }
    }
  }
  static constexpr uint32_t kEmpty = UINT32_MAX;     // an old slot without an entry
  static constexpr uint32_t kDone = UINT32_MAX - 1;  // an old slot whose entry has moved

  flat_table_detail::PageArray<uint64_t> keys_;
  flat_table_detail::PageArray<V> values_;
  size_t size_ = 0;
};

}  // namespace bulwark
