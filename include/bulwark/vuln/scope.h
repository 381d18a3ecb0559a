#pragma once
// What Bulwark's scanner may probe (issue 15): only addresses that the inventory says a customer's
// internet-facing system held at the time, or that an explicit allow-list names; never one on the
// deny-list (the provider's own infrastructure, partners), never one of a customer who opted out.
// Every probe target is checked here first; a refusal names its reason. Immutable; thread-safe.

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bulwark/core/time.h"
#include "bulwark/event/ip.h"
#include "bulwark/inventory/attribution.h"
#include "bulwark/model/inventory.h"

namespace bulwark::vuln {

struct ScopeSettings {
  std::vector<model::Prefix> allow;  // in scope whoever holds them (e.g. the provider's test range)
  std::vector<model::Prefix> deny;   // never in scope (wins over everything)
  std::set<std::string> opted_out;   // customer ids that asked not to be scanned
};

struct ScopeDecision {
  bool allowed = false;
  std::string reason;  // why, in a sentence
  std::string system_id, customer_id;
};

class Scope {
 public:
  Scope(std::shared_ptr<const inventory::AttributionIndex> index, ScopeSettings settings)
      : index_(std::move(index)), settings_(std::move(settings)) {}

  // Whether `address` may be probed at `at`.
  ScopeDecision Check(const event::IpAddress& address, TimeNs at) const;

 private:
  std::shared_ptr<const inventory::AttributionIndex> index_;
  ScopeSettings settings_;
};

}  // namespace bulwark::vuln
