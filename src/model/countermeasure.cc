#include "bulwark/model/countermeasure.h"

namespace bulwark::model {

namespace {

constexpr const char* kKindNames[] = {
    "quarantine", "egress_block", "detach_public_ip", "rate_limit", "stop", "deallocate", "rescue",
};
constexpr const char* kStateNames[] = {
    "proposed", "approved", "active", "pending_removal", "removed", "failed", "drifted", "rejected",
};
static_assert(std::size(kKindNames) == std::size(kAllCountermeasureKinds));
static_assert(std::size(kStateNames) == std::size(kAllCountermeasureStates));

}  // namespace

const char* KindName(CountermeasureKind kind) {
  return kKindNames[static_cast<int>(kind)];
}

std::optional<CountermeasureKind> ParseKind(std::string_view name) {
  for (CountermeasureKind kind : kAllCountermeasureKinds) {
    if (name == KindName(kind)) return kind;
  }
  return std::nullopt;
}

const char* StateName(CountermeasureState state) {
  return kStateNames[static_cast<int>(state)];
}

std::optional<CountermeasureState> ParseCountermeasureState(std::string_view name) {
  for (CountermeasureState state : kAllCountermeasureStates) {
    if (name == StateName(state)) return state;
  }
  return std::nullopt;
}

bool MayBeInPlace(CountermeasureState state) {
  using S = CountermeasureState;
  return state == S::kActive || state == S::kPendingRemoval || state == S::kDrifted ||
         state == S::kFailed;
}

bool TransitionAllowed(CountermeasureState from, CountermeasureState to) {
  using S = CountermeasureState;
  switch (from) {
    case S::kProposed:
      return to == S::kApproved || to == S::kRejected;
    case S::kApproved:
      // pending_removal: lifting an apply a crash interrupted
      return to == S::kActive || to == S::kFailed || to == S::kRemoved || to == S::kPendingRemoval;
    case S::kActive:
      return to == S::kPendingRemoval || to == S::kDrifted;
    case S::kDrifted:
      return to == S::kActive || to == S::kPendingRemoval || to == S::kFailed;
    case S::kFailed:
      return to == S::kActive || to == S::kPendingRemoval || to == S::kRemoved;
    case S::kPendingRemoval:
      return to == S::kRemoved;
    case S::kRemoved:
    case S::kRejected:
      return false;
  }
  return false;
}

}  // namespace bulwark::model
