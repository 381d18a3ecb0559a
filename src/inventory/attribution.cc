#include "bulwark/inventory/attribution.h"

#include <algorithm>
#include <map>

namespace bulwark::inventory {

namespace {

struct Key {
  uint64_t hi, lo;
};

Key KeyOf(const event::IpAddress& address, int bits) {
  const auto& b = address.bytes();
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; ++i) hi = (hi << 8) | b[i];
  for (int i = 8; i < 16; ++i) lo = (lo << 8) | b[i];
  if (bits <= 0) return {0, 0};
  if (bits < 64) return {hi & ~(~uint64_t{0} >> bits), 0};
  if (bits == 64) return {hi, 0};
  if (bits < 128) return {hi, lo & ~(~uint64_t{0} >> (bits - 64))};
  return {hi, lo};
}

int Bits128(const model::Prefix& prefix) {
  return prefix.network.is_v4() ? prefix.length + 96 : prefix.length;
}

}  // namespace

AttributionIndex::AttributionIndex(model::Inventory inventory) : inventory_(std::move(inventory)) {
  std::unordered_map<std::string, const model::Customer*> customers;
  for (const auto& c : inventory_.customers) customers[c.id] = &c;
  std::unordered_map<std::string, const model::Project*> projects;
  for (const auto& p : inventory_.projects) projects[p.id] = &p;
  for (uint32_t i = 0; i < inventory_.systems.size(); ++i) {
    const model::System& s = inventory_.systems[i];
    system_index_[s.id] = i;
    auto project = projects.find(s.project_id);
    const model::Project* p = project == projects.end() ? nullptr : project->second;
    project_of_system_.push_back(p);
    const model::Customer* c = nullptr;
    if (p) {
      auto customer = customers.find(p->customer_id);
      if (customer != customers.end()) c = customer->second;
    }
    customer_of_system_.push_back(c);
  }
  std::map<std::pair<std::string, std::string>, const model::Interface*> interfaces;
  for (const auto& i : inventory_.interfaces) {
    interfaces[{i.system_id, i.Key()}] = &i;
    if (!i.mac.empty()) by_mac_[i.mac].push_back(&i);
  }
  std::map<int, std::vector<Entry>, std::greater<>> levels;
  for (uint32_t a = 0; a < inventory_.assignments.size(); ++a) {
    const model::Assignment& assignment = inventory_.assignments[a];
    auto system = system_index_.find(assignment.system_id);
    system_of_assignment_.push_back(system == system_index_.end() ? UINT32_MAX : system->second);
    auto interface = interfaces.find({assignment.system_id, assignment.interface_key});
    interface_of_assignment_.push_back(interface == interfaces.end() ? nullptr : interface->second);
    int bits = Bits128(assignment.prefix);
    Key key = KeyOf(assignment.prefix.network, bits);
    levels[bits].push_back(Entry{key.hi, key.lo, assignment.from, assignment.until, a});
  }
  for (auto& [bits, entries] : levels) {
    std::sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) {
      if (x.hi != y.hi) return x.hi < y.hi;
      if (x.lo != y.lo) return x.lo < y.lo;
      return x.from < y.from;
    });
    levels_.push_back(Level{bits, std::move(entries)});
  }
}

Attribution AttributionIndex::Chain(uint32_t system, const model::Interface* interface) const {
  Attribution out;
  out.interface = interface;
  if (system == UINT32_MAX) return out;
  out.system = &inventory_.systems[system];
  out.project = project_of_system_[system];
  out.customer = customer_of_system_[system];
  return out;
}

std::optional<Attribution> AttributionIndex::Lookup(const event::IpAddress& address,
                                                    TimeNs at) const {
  for (const Level& level : levels_) {
    if (address.is_v4() ? level.bits < 96 : false) continue;  // IPv4 lives under ::ffff:0:0/96
    Key key = KeyOf(address, level.bits);
    // The last entry of this network that starts at or before `at`, then earlier ones while
    // they could still cover it (same-holder history may overlap).
    auto end = std::upper_bound(level.entries.begin(), level.entries.end(), key,
                                [at](const Key& k, const Entry& e) {
                                  if (k.hi != e.hi) return k.hi < e.hi;
                                  if (k.lo != e.lo) return k.lo < e.lo;
                                  return at < e.from;
                                });
    for (auto it = end; it != level.entries.begin();) {
      --it;
      if (it->hi != key.hi || it->lo != key.lo) break;
      if (at < it->until) {
        Attribution out =
            Chain(system_of_assignment_[it->assignment], interface_of_assignment_[it->assignment]);
        out.assignment = &inventory_.assignments[it->assignment];
        return out;
      }
    }
  }
  return std::nullopt;
}

std::optional<Attribution> AttributionIndex::OfSystem(std::string_view system_id) const {
  auto it = system_index_.find(std::string(system_id));
  if (it == system_index_.end()) return std::nullopt;
  return Chain(it->second, nullptr);
}

std::optional<Attribution> AttributionIndex::LookupMac(std::string_view mac, TimeNs at) const {
  auto normal = model::NormalizeMac(mac);
  if (!normal) return std::nullopt;
  auto it = by_mac_.find(*normal);
  if (it == by_mac_.end()) return std::nullopt;
  for (const model::Interface* interface : it->second) {
    if (interface->from <= at && at < interface->until) {
      auto system = system_index_.find(interface->system_id);
      return Chain(system == system_index_.end() ? UINT32_MAX : system->second, interface);
    }
  }
  return std::nullopt;
}

}  // namespace bulwark::inventory
