#pragma once
// The nftables enforcer: countermeasures at a Linux bridge or router the provider runs, through
// libnftables in-process. It owns one table (`bulwark` by default) and nothing else. Systems are
// keyed on their bridge or router port (the interface name of the port the system's NIC is
// plugged into), never on an address: a VM that adds itself another address, or changes its MAC,
// stays cut.
//
//   quarantine    every frame from or to the port dropped, but IP to and from the forensics
//                 hosts (and ARP, so that they find each other)
//   egress_block  TCP/UDP from the port to the given destination ports dropped
//   rate_limit    traffic from and to the port over the given packet rate dropped
//
// Every change is one nftables transaction that replaces the whole table with what is to be in
// place (the batch and every other countermeasure kept): adding what exists or lifting what is
// gone changes nothing, and a table edited by hand is repaired by the next change. Entries of
// countermeasures that expire carry an nftables timeout, so the kernel lifts them even when
// Bulwark is not running (an element several countermeasures share lasts as long as the longest
// of them). After a quarantine or egress block, conntrack entries of the system's addresses (of
// the blocked ports) are deleted, so that established connections die (best effort: a failure
// leaves the cut in place and is kept in conntrack_error()).
//
// Thread safety: the calls of one NftablesEnforcer are serialised internally.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bulwark/countermeasure/enforcer.h"
#include "bulwark/model/inventory.h"

namespace bulwark::countermeasure {

struct NftablesSettings {
  std::string family = "bridge";  // bridge (ports of a Linux bridge) or inet (a router)
  std::string table = "bulwark";
  // The network namespace the rules go into: a name under /run/netns or a path; empty: this
  // process's. (Enforcement points on a hypervisor often live in one.)
  std::string netns;
  std::vector<model::Prefix> forensics;  // hosts a quarantined system still reaches
  // Port id (model::Interface::port) -> interface name, where they differ; else the id is the
  // interface name.
  std::map<std::string, std::string> port_names;
  bool flush_conntrack = true;
};

class NftablesEnforcer final : public Enforcer {
 public:
  // Errors: a bad family or table name, a namespace that cannot be entered.
  static Result<std::unique_ptr<NftablesEnforcer>> Create(NftablesSettings settings);

  std::string_view name() const override { return "nftables"; }
  bool Supports(model::CountermeasureKind kind) const override;
  Result<std::vector<std::string>> Apply(std::span<const Enforcement> batch,
                                         std::span<const Enforcement> others, TimeNs now) override;
  Result<void> Lift(std::span<const Enforcement> batch, std::span<const Enforcement> others,
                    TimeNs now) override;
  Result<std::vector<Observation>> Observe(std::span<const Enforcement> batch) override;

  // The nftables script that makes `keep` the whole content of the table (Apply and Lift run
  // it as one transaction). Public for the tests and for dry runs.
  std::string Script(std::span<const Enforcement> keep, TimeNs now) const;
  // Deletes the table (tests; `countermeasures` never does this).
  Result<void> DropTable();
  // Conntrack entries deleted so far (for metrics and tests).
  uint64_t conntrack_deleted() const { return conntrack_deleted_; }
  // Why the last conntrack flush failed ("" when none did): the flush is best effort, the cut
  // stands without it.
  std::string conntrack_error() const {
    std::lock_guard lock(error_mutex_);
    return conntrack_error_;
  }

 private:
  explicit NftablesEnforcer(NftablesSettings settings) : settings_(std::move(settings)) {}
  std::string InterfaceName(const std::string& port) const;
  // Runs `script` (an nft script, or a command when `list`) in the namespace; returns nft's
  // output (JSON when `json`).
  Result<std::string> Run(const std::string& script, bool json);
  Result<void> FlushConntrack(std::span<const Enforcement> batch);

  NftablesSettings settings_;
  std::mutex mutex_;
  uint64_t conntrack_deleted_ = 0;
  mutable std::mutex error_mutex_;
  std::string conntrack_error_;
};

}  // namespace bulwark::countermeasure
