#pragma once
// A fast, non-cryptographic 64-bit hash of short strings for in-memory caches and hash tables
// (field values, messages). Not stable across versions: never persist it or send it anywhere.
// Reads the text 8 bytes at a time; a multiply-xorshift finaliser spreads the bits.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace bulwark {

namespace hash_detail {
inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
}  // namespace hash_detail

// Spreads the bits of a 64-bit value over all 64 (MurmurHash3's finaliser): for hash-table slots
// taken from the high or the low bits.
inline uint64_t Mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

inline uint64_t FastHash(std::string_view text, uint64_t seed = 0) {
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
  const char* p = text.data();
  const size_t size = text.size();
  uint64_t h = seed ^ (size * kMul);
  if (size >= 8) {
    size_t n = size;
    for (; n > 8; n -= 8, p += 8) {
      h = (h ^ hash_detail::Load64(p)) * kMul;
      h ^= h >> 29;
    }
    h = (h ^ hash_detail::Load64(text.data() + size - 8)) * kMul;  // the last 8, overlapping
  } else if (size >= 4) {
    uint64_t v = (hash_detail::Load32(p) << 32) | hash_detail::Load32(p + size - 4);
    h = (h ^ v) * kMul;
  } else if (size > 0) {
    auto byte = [&](size_t i) { return static_cast<uint64_t>(static_cast<unsigned char>(p[i])); };
    h = (h ^ (byte(0) << 16 | byte(size / 2) << 8 | byte(size - 1))) * kMul;
  }
  return Mix64(h);
}

// For unordered containers keyed by std::string and searched with std::string_view.
struct FastStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return FastHash(text); }
};

}  // namespace bulwark
