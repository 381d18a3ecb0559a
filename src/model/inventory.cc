#include "bulwark/model/inventory.h"

#include <fmt/format.h>

#include <algorithm>

#include "bulwark/core/strings.h"

namespace bulwark::model {

namespace {

// Clears the bits of `bytes` after the first `bits` (in the 128-bit space).
std::array<uint8_t, 16> Masked(std::array<uint8_t, 16> bytes, int bits) {
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(bits - i * 8, 0, 8);
    bytes[i] &= static_cast<uint8_t>(keep == 8 ? 0xFF : (0xFF << (8 - keep)) & 0xFF);
  }
  return bytes;
}

int Bits128(const Prefix& prefix) {
  return prefix.network.is_v4() ? prefix.length + 96 : prefix.length;
}

}  // namespace

std::string Prefix::ToString() const {
  if (single()) return network.ToString();
  return fmt::format("{}/{}", network.ToString(), length);
}

std::optional<Prefix> Prefix::Parse(std::string_view text) {
  text = Trim(text);
  size_t slash = text.find('/');
  auto address = event::IpAddress::Parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  int max_bits = address->is_v4() ? 32 : 128;
  Prefix prefix{*address, max_bits};
  if (slash != std::string_view::npos) {
    auto bits = ParseInt(text.substr(slash + 1));
    if (!bits || *bits < 0 || *bits > max_bits) return std::nullopt;
    prefix.length = static_cast<int>(*bits);
  }
  if (Masked(address->bytes(), Bits128(prefix)) != address->bytes()) return std::nullopt;
  return prefix;
}

bool Prefix::Contains(const event::IpAddress& address) const {
  if (address.is_v4() != network.is_v4()) return false;
  return Masked(address.bytes(), Bits128(*this)) == network.bytes();
}

std::optional<std::string> NormalizeMac(std::string_view text) {
  text = Trim(text);
  std::string out;
  int digits = 0;
  for (char ch : text) {
    if (ch == ':' || ch == '-' || ch == '.') continue;
    bool hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
    if (!hex || digits == 12) return std::nullopt;
    if (digits > 0 && digits % 2 == 0) out.push_back(':');
    out.push_back(static_cast<char>(ch >= 'A' && ch <= 'F' ? ch + 32 : ch));
    ++digits;
  }
  if (digits != 12) return std::nullopt;
  return out;
}

std::optional<uint64_t> MacBits(std::string_view text) {
  auto normal = NormalizeMac(text);
  if (!normal) return std::nullopt;
  uint64_t bits = 0;
  for (char ch : *normal) {
    if (ch == ':') continue;
    bits = bits << 4 | static_cast<uint64_t>(ch <= '9' ? ch - '0' : ch - 'a' + 10);
  }
  return bits;
}

}  // namespace bulwark::model
