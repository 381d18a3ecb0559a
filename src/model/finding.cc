#include "bulwark/model/finding.h"

#include <fmt/format.h>

#include <array>

#include "bulwark/model/access.h"

namespace bulwark::model {

namespace {

struct StateInfo {
  IncidentState state;
  const char* name;
};
constexpr StateInfo kStates[] = {
    {IncidentState::kNew, "new"},
    {IncidentState::kNotified, "notified"},
    {IncidentState::kAwaitingFix, "awaiting_fix"},
    {IncidentState::kVerifying, "verifying"},
    {IncidentState::kCountermeasureDue, "countermeasure_due"},
    {IncidentState::kMitigated, "mitigated"},
    {IncidentState::kResolved, "resolved"},
    {IncidentState::kClosed, "closed"},
    {IncidentState::kReopened, "reopened"},
    {IncidentState::kNoContact, "no_contact"},
};

constexpr const char* kSeverities[] = {"info", "low", "medium", "high", "critical"};

}  // namespace

std::string Finding::Fingerprint() const {
  std::string about;
  if (source_ip) {
    about = source_ip->ToString();
  } else if (auto system = fields.find("extra.system_id"); system != fields.end()) {
    about = "system:" + system->second;
  }
  return fmt::format("{}|{}|{}|{}", feed_name, about, source_port,
                     identifier.empty() ? type : identifier);
}

const char* StateName(IncidentState state) {
  for (const auto& info : kStates) {
    if (info.state == state) return info.name;
  }
  return "?";
}

std::optional<IncidentState> ParseState(std::string_view name) {
  for (const auto& info : kStates) {
    if (name == info.name) return info.state;
  }
  return std::nullopt;
}

bool IsOpen(IncidentState state) {
  return state != IncidentState::kResolved && state != IncidentState::kClosed;
}

bool TransitionAllowed(IncidentState from, IncidentState to) {
  using S = IncidentState;
  if (from == to) return false;
  switch (from) {
    case S::kNew:
    case S::kReopened:
      return to == S::kNotified || to == S::kAwaitingFix || to == S::kMitigated ||
             to == S::kResolved || to == S::kClosed || to == S::kNoContact;
    case S::kNoContact:
      return to == S::kNotified || to == S::kAwaitingFix || to == S::kMitigated ||
             to == S::kResolved || to == S::kClosed;
    case S::kNotified:
      return to == S::kAwaitingFix || to == S::kVerifying || to == S::kMitigated ||
             to == S::kResolved || to == S::kClosed;
    case S::kAwaitingFix:
      return to == S::kVerifying || to == S::kMitigated || to == S::kResolved || to == S::kClosed;
    case S::kVerifying:
      return to == S::kAwaitingFix || to == S::kCountermeasureDue || to == S::kMitigated ||
             to == S::kResolved || to == S::kClosed;
    case S::kCountermeasureDue:
      return to == S::kVerifying || to == S::kMitigated || to == S::kResolved || to == S::kClosed;
    case S::kMitigated:
      return to == S::kVerifying || to == S::kResolved || to == S::kClosed;
    case S::kResolved:
    case S::kClosed:
      return to == S::kReopened;
  }
  return false;
}

const char* SeverityName(Severity severity) {
  return kSeverities[static_cast<int>(severity)];
}

std::optional<Severity> ParseSeverity(std::string_view name) {
  for (size_t i = 0; i < std::size(kSeverities); ++i) {
    if (name == kSeverities[i]) return static_cast<Severity>(i);
  }
  return std::nullopt;
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kAnalyst:
      return "analyst";
    case Role::kResponder:
      return "responder";
    case Role::kAdmin:
      return "admin";
    case Role::kCustomer:
      return "customer";
  }
  return "?";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role role : {Role::kAnalyst, Role::kResponder, Role::kAdmin, Role::kCustomer}) {
    if (name == RoleName(role)) return role;
  }
  return std::nullopt;
}

}  // namespace bulwark::model
