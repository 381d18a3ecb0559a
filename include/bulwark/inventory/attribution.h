#pragma once
// Who held an address (or MAC address) at an instant: an immutable in-memory interval index over
// an inventory. Lookups are lock-free and may run from many threads at once.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bulwark/core/time.h"
#include "bulwark/event/ip.h"
#include "bulwark/model/inventory.h"

namespace bulwark::inventory {

// The chain from a held address up to the customer. Pointers into the index's inventory; any of
// interface/project/customer is null when the inventory lacks the record (a dangling reference).
struct Attribution {
  const model::Assignment* assignment = nullptr;  // null for MAC lookups
  const model::Interface* interface = nullptr;
  const model::System* system = nullptr;
  const model::Project* project = nullptr;
  const model::Customer* customer = nullptr;
};

class AttributionIndex {
 public:
  explicit AttributionIndex(model::Inventory inventory);

  // The holder of `address` at `at`: among assignments covering the instant, the one of the
  // most specific prefix (a /32 inside a customer's /24 wins). nullopt when nobody held it.
  std::optional<Attribution> Lookup(const event::IpAddress& address, TimeNs at) const;
  // The system whose interface had `mac` (any notation) at `at`; nullopt when none did.
  std::optional<Attribution> LookupMac(std::string_view mac, TimeNs at) const;

  // The system with `system_id`, its project and customer (no assignment, no interface); nullopt
  // when there is no such system.
  std::optional<Attribution> OfSystem(std::string_view system_id) const;

  const model::Inventory& inventory() const { return inventory_; }
  size_t size() const { return inventory_.assignments.size(); }

 private:
  struct Entry {
    uint64_t hi, lo;  // masked network, 128-bit space
    TimeNs from, until;
    uint32_t assignment;
  };
  struct Level {
    int bits;                    // prefix length in the 128-bit space
    std::vector<Entry> entries;  // sorted by (hi, lo, from)
  };
  Attribution Chain(uint32_t system, const model::Interface* interface) const;

  model::Inventory inventory_;
  std::vector<Level> levels_;  // most specific first
  std::vector<uint32_t> system_of_assignment_;
  std::vector<const model::Interface*> interface_of_assignment_;
  std::unordered_map<std::string, uint32_t> system_index_;
  std::vector<const model::Project*> project_of_system_;
  std::vector<const model::Customer*> customer_of_system_;
  std::unordered_map<std::string, std::vector<const model::Interface*>> by_mac_;
};

}  // namespace bulwark::inventory
