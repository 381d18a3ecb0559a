#include "bulwark/vuln/scope.h"

#include <fmt/format.h>

#include <algorithm>

namespace bulwark::vuln {

namespace {

const model::Prefix* Containing(const std::vector<model::Prefix>& prefixes,
                                const event::IpAddress& address) {
  auto found = std::find_if(prefixes.begin(), prefixes.end(),
                            [&](const model::Prefix& p) { return p.Contains(address); });
  return found == prefixes.end() ? nullptr : &*found;
}

}  // namespace

ScopeDecision Scope::Check(const event::IpAddress& address, TimeNs at) const {
  ScopeDecision decision;
  std::string text = address.ToString();
  if (const auto* denied = Containing(settings_.deny, address)) {
    decision.reason = fmt::format("{} is on the deny-list ({})", text, denied->ToString());
    return decision;
  }
  const model::System* system = nullptr;
  if (index_) {
    if (auto held = index_->Lookup(address, at)) {
      system = held->system;
      if (held->customer) decision.customer_id = held->customer->id;
    }
  }
  if (system) decision.system_id = system->id;
  if (!decision.customer_id.empty() && settings_.opted_out.count(decision.customer_id)) {
    decision.reason = fmt::format("{} belongs to customer {}, who opted out of scans", text,
                                  decision.customer_id);
    return decision;
  }
  if (const auto* allowed = Containing(settings_.allow, address)) {
    decision.allowed = true;
    decision.reason = fmt::format("{} is on the allow-list ({})", text, allowed->ToString());
    return decision;
  }
  if (!system) {
    decision.reason = fmt::format("nobody held {} at {}", text, FormatTimestamp(at));
    return decision;
  }
  if (!system->internet_exposed) {
    decision.reason = fmt::format("{} belongs to system {}, which is not internet-facing", text,
                                  decision.system_id);
    return decision;
  }
  decision.allowed = true;
  decision.reason = fmt::format("{} is held by internet-facing system {} of customer {}", text,
                                decision.system_id, decision.customer_id);
  return decision;
}

}  // namespace bulwark::vuln
