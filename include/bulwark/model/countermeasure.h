#pragma once
// Countermeasures as data: what the provider does to a customer's system without (or after)
// consulting the customer, and where each one is in its lifecycle (docs/countermeasures.md).
// Plain value types.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/time.h"

namespace bulwark::model {

enum class CountermeasureKind {
  kQuarantine,      // all traffic dropped but to and from the forensics hosts
  kEgressBlock,     // outgoing traffic to some ports dropped (SMTP of a spam bot, a flood)
  kDetachPublicIp,  // the system's public addresses detached (cloud)
  kRateLimit,       // the system's traffic limited to a packet rate
  kStop,            // the server stopped (cloud)
  kDeallocate,      // the server deallocated (cloud)
  kRescue,          // the server booted into rescue mode (cloud)
};
inline constexpr CountermeasureKind kAllCountermeasureKinds[] = {
    CountermeasureKind::kQuarantine,     CountermeasureKind::kEgressBlock,
    CountermeasureKind::kDetachPublicIp, CountermeasureKind::kRateLimit,
    CountermeasureKind::kStop,           CountermeasureKind::kDeallocate,
    CountermeasureKind::kRescue,
};
// "quarantine", "egress_block", "detach_public_ip", "rate_limit", "stop", "deallocate", "rescue".
const char* KindName(CountermeasureKind kind);
std::optional<CountermeasureKind> ParseKind(std::string_view name);

// The lifecycle (RTIR's countermeasure queue): proposed -> approved -> active -> pending_removal
// -> removed; failed when an enforcer could not put it in place, drifted when what is in place
// no longer matches (a rule removed by hand, a new NIC); rejected when a responder said no.
enum class CountermeasureState {
  kProposed,
  kApproved,
  kActive,
  kPendingRemoval,
  kRemoved,
  kFailed,
  kDrifted,
  kRejected,
};
inline constexpr CountermeasureState kAllCountermeasureStates[] = {
    CountermeasureState::kProposed, CountermeasureState::kApproved,
    CountermeasureState::kActive,   CountermeasureState::kPendingRemoval,
    CountermeasureState::kRemoved,  CountermeasureState::kFailed,
    CountermeasureState::kDrifted,  CountermeasureState::kRejected,
};
const char* StateName(CountermeasureState state);  // "proposed", "pending_removal", ...
std::optional<CountermeasureState> ParseCountermeasureState(std::string_view name);
// Whether something of it may be in place (active, pending removal, drifted, failed).
bool MayBeInPlace(CountermeasureState state);
// Whether the lifecycle allows `from` -> `to` (docs/countermeasures.md has the table).
bool TransitionAllowed(CountermeasureState from, CountermeasureState to);

struct Countermeasure {
  int64_t id = 0;           // store key; 0 until stored
  int64_t incident_id = 0;  // 0: proposed for a system without an incident
  std::string customer_id;
  std::string system_id;
  CountermeasureKind kind = CountermeasureKind::kQuarantine;
  CountermeasureState state = CountermeasureState::kProposed;
  std::string enforcer;            // "nftables", "stackit"
  std::vector<std::string> ports;  // egress_block: "tcp/25", "udp/53"
  int64_t rate_pps = 0;            // rate_limit: packets per second allowed
  bool automatic = false;          // applied by the policy without prior consultation
  std::string proposed_by;
  std::vector<std::string> approved_by;
  std::string reason;
  TimeNs created_at = 0;
  TimeNs updated_at = 0;
  std::optional<TimeNs> expires_at;  // lifted by itself then
  TimeNs applied_at = 0;
  TimeNs lifted_at = 0;
  // "apply" or "lift" while an enforcer works on it: durable before the enforcer is called, so
  // that a restart knows a change was in flight and finishes or rolls it back.
  std::string pending;
  std::string targets;   // JSON: what it was put on (ports, NICs, addresses)
  std::string recorded;  // JSON: what was there before (for an exact restore), per enforcer
  std::string last_error;
};

}  // namespace bulwark::model
