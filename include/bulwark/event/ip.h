#pragma once
// IP addresses as values: IPv4 and IPv6, with IPv4-mapped IPv6 (::ffff:a.b.c.d) normalised to
// IPv4. Value type, thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::event {

class IpAddress {
 public:
  IpAddress() = default;
  // Parses dotted IPv4 (leading zeros read as decimal, as syslog producers mean them), IPv6 (with
  // an optional zone suffix "%eth0", which is dropped, and optional brackets). nullopt otherwise.
  static std::optional<IpAddress> Parse(std::string_view text);
  static IpAddress V4(uint32_t host_order);
  // From 16 bytes in network order; ::ffff:a.b.c.d is IPv4.
  static IpAddress FromBytes(const std::array<uint8_t, 16>& bytes);

  bool is_v4() const { return is_v4_; }
  // 16 bytes in network order; IPv4 is stored as ::ffff:a.b.c.d.
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  // Canonical text: dotted quad, or RFC 5952 IPv6.
  std::string ToString() const;
  bool operator==(const IpAddress&) const = default;

 private:
  std::array<uint8_t, 16> bytes_{};
  bool is_v4_ = false;
};

// An address prefix such as 10.0.0.0/8 or 2001:db8::/32.
class Cidr {
 public:
  // Parses "address/length" or a bare address (full length). nullopt on bad input or a length out
  // of range for the family.
  static std::optional<Cidr> Parse(std::string_view text);
  bool Contains(const IpAddress& address) const;
  const IpAddress& network() const { return network_; }
  // Length of the prefix in its family's bits (0-32 for IPv4, 0-128 for IPv6).
  int length() const { return network_.is_v4() ? prefix_bits_ - 96 : prefix_bits_; }

 private:
  IpAddress network_;
  int prefix_bits_ = 0;  // in the 128-bit space (IPv4 prefixes are offset by 96)
};

// A set of prefixes (an address list: thousands of networks) that answers "is this address in
// one of them" in at most 32 (IPv4) or 128 (IPv6) steps, whatever its size: a binary radix tree
// per family. An IPv4 address is in IPv4 prefixes only, as Cidr::Contains has it. Not
// thread-safe to modify; const use is thread-safe.
class PrefixSet {
 public:
  void Add(const Cidr& cidr);
  bool Contains(const IpAddress& address) const;
  size_t size() const { return size_; }  // prefixes added

 private:
  struct Node {
    uint32_t child[2] = {0, 0};  // 0: none (the root is never a child)
    bool terminal = false;       // a prefix ends here: everything below is in the set
  };
  std::vector<Node> v4_{Node{}}, v6_{Node{}};
  size_t size_ = 0;
};

}  // namespace bulwark::event
