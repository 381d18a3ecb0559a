#pragma once
// The STACKIT enforcer: countermeasures through the IaaS v2 API (../shared/stackit).
//
//   quarantine        every NIC of the server gets the quarantine security group alone, with
//                     nicSecurity on and no allowed addresses (security groups are allow-only and
//                     add up, so adding a group would isolate nothing). The group is created or
//                     reused by name; its only rules allow the forensics CIDRs in and out (the
//                     default egress rules a new group comes with are deleted).
//   detach_public_ip  the public IPs on the server's NICs are removed from the server
//   stop, deallocate, rescue
//                     the server action, then its state polled until it is reached (202 answers
//                     are accepted requests, not done work)
//
// What was there before (each NIC's groups, nicSecurity and allowed addresses; the public IPs;
// the power state) is recorded and returned by Apply; Lift restores exactly that. A NIC that
// appears later is quarantined by the next Apply (the controller's reconcile finds it missing),
// its own groups recorded beside the others. Thread-safe (no state between calls).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bulwark/cloud/stackit.h"
#include "bulwark/config/config.h"
#include "bulwark/core/env.h"
#include "bulwark/countermeasure/enforcer.h"
#include "bulwark/model/inventory.h"

namespace bulwark::cloud {

struct StackitEnforcerSettings {
  std::string iaas_url = "https://iaas.api.stackit.cloud";
  std::string region = "eu01";
  // An access token for each round of calls (the key flow's, or a configured one).
  std::function<Result<std::string>()> token;
  std::string quarantine_group = "bulwark-quarantine";
  std::vector<model::Prefix> forensics;
  std::string rescue_image;  // the image a rescue boots (required for rescue)
  TimeNs operation_timeout = 300 * kNsPerSecond;
  TimeNs poll_interval = 2 * kNsPerSecond;
  long timeout_seconds = 30;  // of one HTTP request
};

class StackitEnforcer final : public countermeasure::Enforcer {
 public:
  explicit StackitEnforcer(StackitEnforcerSettings settings) : settings_(std::move(settings)) {}

  std::string_view name() const override { return "stackit"; }
  bool Supports(model::CountermeasureKind kind) const override;
  Result<std::string> Record(const countermeasure::Enforcement& enforcement) override;
  Result<std::vector<std::string>> Apply(std::span<const countermeasure::Enforcement> batch,
                                         std::span<const countermeasure::Enforcement> others,
                                         TimeNs now) override;
  Result<void> Lift(std::span<const countermeasure::Enforcement> batch,
                    std::span<const countermeasure::Enforcement> others, TimeNs now) override;
  Result<std::vector<countermeasure::Observation>> Observe(
      std::span<const countermeasure::Enforcement> batch) override;

 private:
  StackitEnforcerSettings settings_;
};

// The enforcer's settings of a configuration: the stackit section's URL, region and credentials
// (a fresh key-flow token per round), countermeasures.stackit and countermeasures.forensics.
// Errors: a credential file that cannot be read.
Result<StackitEnforcerSettings> StackitEnforcerSettingsOf(const config::Config& config, Env& env);

}  // namespace bulwark::cloud
