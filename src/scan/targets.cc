#include "bulwark/scan/targets.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace bulwark::scan {

namespace {

// Remote access, mail, web, name and time services, databases, caches, message brokers,
// container and cluster APIs, industrial and IoT protocols that should not face the internet.
constexpr int kTopPorts[] = {
    21,    22,    23,    25,    53,    80,    81,    88,    110,  111,  135,  139,  143,
    161,   389,   443,   445,   465,   500,   502,   512,   513,  514,  587,  593,  623,
    631,   636,   873,   902,   993,   995,   1080,  1194,  1433, 1521, 1723, 1883, 1900,
    2049,  2082,  2083,  2181,  2375,  2376,  2379,  2380,  3000, 3128, 3306, 3389, 3690,
    4369,  4443,  4505,  4506,  4848,  5000,  5060,  5432,  5601, 5672, 5900, 5901, 5984,
    5985,  5986,  6000,  6379,  6443,  6666,  7001,  7474,  8000, 8008, 8009, 8080, 8081,
    8086,  8088,  8443,  8500,  8888,  9000,  9042,  9090,  9092, 9100, 9200, 9300, 9418,
    10000, 10250, 11211, 15672, 27017, 28017, 47808, 50000, 50070};

Result<int> PortOf(std::string_view text, std::string_view part) {
  int port = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (error != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    return Fail(fmt::format("'{}' is not a port (1-65535) or range", part));
  }
  return port;
}

}  // namespace

Result<std::vector<int>> ParsePorts(std::string_view spec) {
  std::vector<int> ports;
  if (spec == "none") return ports;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = std::min(spec.find(',', start), spec.size());
    std::string_view part = spec.substr(start, comma - start);
    start = comma + 1;
    if (part == "top") {
      ports.insert(ports.end(), std::begin(kTopPorts), std::end(kTopPorts));
    } else if (part == "all") {
      for (int p = 1; p <= 65535; ++p) ports.push_back(p);
    } else if (size_t dash = part.find('-'); dash != std::string_view::npos) {
      auto low = PortOf(part.substr(0, dash), part);
      auto high = PortOf(part.substr(dash + 1), part);
      if (!low) return tl::unexpected(low.error());
      if (!high) return tl::unexpected(high.error());
      if (*high < *low) return Fail(fmt::format("'{}': the range runs backwards", part));
      for (int p = *low; p <= *high; ++p) ports.push_back(p);
    } else {
      auto port = PortOf(part, part);
      if (!port) return tl::unexpected(port.error());
      ports.push_back(*port);
    }
  }
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  return ports;
}

Result<std::vector<event::IpAddress>> AddressesOf(const model::Prefix& prefix, size_t max) {
  int host_bits = (prefix.network.is_v4() ? 32 : 128) - prefix.length;
  if (host_bits >= 63 || (uint64_t{1} << host_bits) > max) {
    return Fail(fmt::format("{} has more than {} addresses", prefix.ToString(), max));
  }
  std::vector<event::IpAddress> out;
  auto bytes = prefix.network.bytes();
  for (uint64_t i = 0; i < (uint64_t{1} << host_bits); ++i) {
    auto address = bytes;
    uint64_t carry = i;
    for (int b = 15; b >= 0 && carry; --b) {
      uint64_t sum = address[b] + (carry & 0xff);
      address[b] = static_cast<uint8_t>(sum);
      carry = (carry >> 8) + (sum >> 8);
    }
    out.push_back(event::IpAddress::FromBytes(address));
  }
  return out;
}

Result<std::vector<event::IpAddress>> ExpandTarget(std::string_view spec, size_t max) {
  auto prefix = model::Prefix::Parse(spec);
  if (!prefix) {
    return Fail(fmt::format("'{}' is not an address or a prefix (host bits zero)", spec));
  }
  return AddressesOf(*prefix, max);
}

Result<std::vector<event::IpAddress>> ResolveTarget(const std::string& target,
                                                    const inventory::AttributionIndex& index,
                                                    TimeNs at, size_t max) {
  if (model::Prefix::Parse(target)) return ExpandTarget(target, max);
  const auto& inventory = index.inventory();
  std::set<std::string> systems;
  if (target.starts_with("customer:")) {
    std::string customer = target.substr(9);
    std::set<std::string> projects;
    for (const auto& p : inventory.projects) {
      if (p.customer_id == customer) projects.insert(p.id);
    }
    for (const auto& s : inventory.systems) {
      if (projects.count(s.project_id) && s.internet_exposed) systems.insert(s.id);
    }
    if (systems.empty()) {
      return Fail(fmt::format("customer '{}' has no internet-facing system", customer));
    }
  } else if (index.OfSystem(target)) {
    systems.insert(target);
  } else {
    return Fail(
        fmt::format("'{}' is not an address, a prefix, a system id or customer:ID", target));
  }
  std::vector<event::IpAddress> out;
  for (const auto& assignment : inventory.assignments) {
    if (!systems.count(assignment.system_id) || !assignment.Covers(at)) continue;
    auto addresses = AddressesOf(assignment.prefix, max);
    if (!addresses) return tl::unexpected(addresses.error());
    out.insert(out.end(), addresses->begin(), addresses->end());
    if (out.size() > max) return Fail(fmt::format("'{}' has more than {} addresses", target, max));
  }
  if (out.empty()) return Fail(fmt::format("'{}' holds no address now", target));
  return out;
}

}  // namespace bulwark::scan
