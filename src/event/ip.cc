#include "bulwark/event/ip.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "bulwark/core/strings.h"

namespace bulwark::event {

namespace {
std::optional<uint32_t> ParseV4(std::string_view text) {
  uint32_t value = 0;
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    if (i >= text.size()) return std::nullopt;
    uint32_t octet = 0;
    size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      octet = octet * 10 + static_cast<uint32_t>(text[i] - '0');
      if (++digits > 3 || octet > 255) return std::nullopt;
      ++i;
    }
    if (digits == 0) return std::nullopt;
    value = (value << 8) | octet;
    ++parts;
    if (parts < 4) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != text.size()) return std::nullopt;
  return value;
}
}  // namespace

IpAddress IpAddress::V4(uint32_t host_order) {
  IpAddress ip;
  ip.is_v4_ = true;
  ip.bytes_[10] = 0xFF;
  ip.bytes_[11] = 0xFF;
  ip.bytes_[12] = static_cast<uint8_t>(host_order >> 24);
  ip.bytes_[13] = static_cast<uint8_t>(host_order >> 16);
  ip.bytes_[14] = static_cast<uint8_t>(host_order >> 8);
  ip.bytes_[15] = static_cast<uint8_t>(host_order);
  return ip;
}

IpAddress IpAddress::FromBytes(const std::array<uint8_t, 16>& bytes) {
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  IpAddress ip;
  ip.bytes_ = bytes;
  ip.is_v4_ = std::memcmp(bytes.data(), kMappedPrefix, 12) == 0;
  return ip;
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  if (auto v4 = ParseV4(text)) return V4(*v4);
  if (text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (size_t zone = text.find('%'); zone != std::string_view::npos) text = text.substr(0, zone);
  if (text.find(':') == std::string_view::npos) return std::nullopt;
  char buffer[65];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  std::array<uint8_t, 16> bytes;
  if (inet_pton(AF_INET6, buffer, bytes.data()) != 1) return std::nullopt;
  return FromBytes(bytes);
}

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN];
  if (is_v4_) {
    // Hand-rolled: glibc's inet_ntop formats IPv4 with sprintf, which is slow on the hot path.
    std::string text;
    text.reserve(15);
    for (int i = 12; i < 16; ++i) {
      if (i > 12) text.push_back('.');
      char digits[3];
      auto end = std::to_chars(digits, digits + sizeof(digits), bytes_[i]).ptr;
      text.append(digits, end);
    }
    return text;
  } else {
    inet_ntop(AF_INET6, bytes_.data(), buffer, sizeof(buffer));
  }
  return buffer;
}

std::optional<Cidr> Cidr::Parse(std::string_view text) {
  text = Trim(text);
  size_t slash = text.find('/');
  auto address = IpAddress::Parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  int max_bits = address->is_v4() ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    auto parsed = ParseInt(text.substr(slash + 1));
    if (!parsed || *parsed < 0 || *parsed > max_bits) return std::nullopt;
    bits = static_cast<int>(*parsed);
  }
  Cidr cidr;
  cidr.network_ = *address;
  cidr.prefix_bits_ = address->is_v4() ? bits + 96 : bits;
  return cidr;
}

bool Cidr::Contains(const IpAddress& address) const {
  if (address.is_v4() != network_.is_v4()) return false;
  const auto& a = address.bytes();
  const auto& n = network_.bytes();
  int full = prefix_bits_ / 8;
  if (std::memcmp(a.data(), n.data(), full) != 0) return false;
  int rest = prefix_bits_ % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (n[full] & mask);
}

namespace {

// Bit `i` (0: the most significant) of an address's bits in its family, starting at `offset`
// bytes (12 for IPv4 in its mapped form).
inline int Bit(const std::array<uint8_t, 16>& bytes, size_t offset, int i) {
  return (bytes[offset + static_cast<size_t>(i) / 8] >> (7 - i % 8)) & 1;
}

}  // namespace

void PrefixSet::Add(const Cidr& cidr) {
  bool v4 = cidr.network().is_v4();
  std::vector<Node>& nodes = v4 ? v4_ : v6_;
  const size_t offset = v4 ? 12 : 0;
  const auto& bytes = cidr.network().bytes();
  uint32_t at = 0;
  for (int i = 0; i < cidr.length(); ++i) {
    if (nodes[at].terminal) break;  // a shorter prefix holds this one already
    int bit = Bit(bytes, offset, i);
    if (nodes[at].child[bit] == 0) {
      nodes[at].child[bit] = static_cast<uint32_t>(nodes.size());
      nodes.emplace_back();
    }
    at = nodes[at].child[bit];
  }
  nodes[at].terminal = true;
  ++size_;
}

bool PrefixSet::Contains(const IpAddress& address) const {
  bool v4 = address.is_v4();
  const std::vector<Node>& nodes = v4 ? v4_ : v6_;
  const size_t offset = v4 ? 12 : 0;
  const int bits = v4 ? 32 : 128;
  const auto& bytes = address.bytes();
  uint32_t at = 0;
  for (int i = 0;; ++i) {
    if (nodes[at].terminal) return true;
    if (i == bits) return false;
    at = nodes[at].child[Bit(bytes, offset, i)];
    if (at == 0) return false;
  }
}

}  // namespace bulwark::event
