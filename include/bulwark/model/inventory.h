#pragma once
// The inventory as data: customers, their projects and systems, the systems' network interfaces
// and the addresses those interfaces held, each over a validity interval. Addresses are reassigned
// over time, so nothing here is overwritten: an address has a history of holders, and every
// question about it is asked "as of" an instant. Plain value types, no behaviour.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/core/time.h"
#include "bulwark/event/ip.h"

namespace bulwark::model {

// Open ends of validity intervals.
inline constexpr TimeNs kBeginningOfTime = std::numeric_limits<TimeNs>::min();
inline constexpr TimeNs kEndOfTime = std::numeric_limits<TimeNs>::max();

// Where a record came from, for messages that name both sides of a conflict:
// "inventory.yml:12:7", "stackit:server/<id>".
using Origin = std::string;

struct Contact {
  std::string email;
  std::string role;  // "security", "technical", "abuse", ... (free text; "security" is preferred)
};

struct Customer {
  std::string id;
  std::string name;
  std::string language = "en";  // "de" or "en": the language of notifications
  std::vector<Contact> contacts;
  std::string openpgp_key;  // ASCII-armoured public key; empty when none
  Origin origin;
};

using Labels = std::map<std::string, std::string>;

struct Project {
  std::string id;
  std::string customer_id;
  std::string name;
  Labels labels;
  Origin origin;
};

struct System {
  std::string id;
  std::string project_id;
  std::string name;
  Labels labels;
  bool internet_exposed = false;
  bool protected_system = false;  // never touched by automatic countermeasures
  Origin origin;
};

// A network prefix: a single address is a prefix of full length (32 or 128).
struct Prefix {
  event::IpAddress network;  // host bits are zero
  int length = 0;            // 0..32 for IPv4, 0..128 for IPv6

  bool single() const { return length == (network.is_v4() ? 32 : 128); }
  // "203.0.113.7" for a single address, "203.0.113.0/24" otherwise.
  std::string ToString() const;
  // Parses "ADDR" or "ADDR/LEN"; host bits must be zero. nullopt with no reason on bad input.
  static std::optional<Prefix> Parse(std::string_view text);
  bool Contains(const event::IpAddress& address) const;
  bool operator==(const Prefix&) const = default;
};

// An address (or prefix) held by an interface during [from, until).
struct Assignment {
  int64_t id = 0;  // store key; 0 until stored
  std::string system_id;
  std::string interface_key;  // the interface's key within its system (see Interface::Key)
  Prefix prefix;
  TimeNs from = kBeginningOfTime;
  TimeNs until = kEndOfTime;
  Origin origin;

  bool Covers(TimeNs at) const { return from <= at && at < until; }
  bool Overlaps(const Assignment& other) const { return from < other.until && other.from < until; }
};

// A network interface of a system: a MAC address and/or the cloud's port (NIC) id.
struct Interface {
  std::string system_id;
  std::string mac;   // lower-case "fa:16:3e:00:00:01"; empty when unknown
  std::string port;  // cloud NIC / switch port id; empty when unknown
  TimeNs from = kBeginningOfTime;
  TimeNs until = kEndOfTime;
  Origin origin;
  // Cloud security groups on this interface (a quarantine replaces all of them).
  std::vector<std::string> security_groups;

  // Identifies the interface within its system: the port id when known, else the MAC.
  std::string Key() const { return port.empty() ? mac : port; }
};

// A whole inventory, as read from a file or from the cloud.
struct Inventory {
  std::vector<Customer> customers;
  std::vector<Project> projects;
  std::vector<System> systems;
  std::vector<Interface> interfaces;
  std::vector<Assignment> assignments;
};

// Normalises a MAC address to lower-case colon form ("FA-16-3E-00-00-01" -> "fa:16:3e:00:00:01");
// nullopt when it is not six octets.
std::optional<std::string> NormalizeMac(std::string_view text);
// The same MAC address as 48 bits (for flow records and detectors); nullopt as NormalizeMac.
std::optional<uint64_t> MacBits(std::string_view text);

}  // namespace bulwark::model
