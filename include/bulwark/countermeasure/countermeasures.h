#pragma once
// The countermeasure controller: what the policy and responders decide, carried through the
// lifecycle proposed -> approved -> active -> pending_removal -> removed (with failed, drifted
// and rejected), every step in the audit chain with actor and reason; the enforcers do the work
// (docs/countermeasures.md).
//
// Guard rails: protected systems are never touched automatically; at most N automatic
// countermeasures an hour; a kill switch (nothing is applied while it is off; lifting still
// works); dry run (everything decided and recorded, no enforcer called); a two-person rule for
// approvals; a preview of the blast radius before anything is applied.
//
// Crash safety: before an enforcer is called, the change it makes is recorded (`pending`) and
// committed; after it returns, the outcome. A restart finds what was in flight and Reconcile
// finishes it or rolls it back, so a system is never left half cut without the state saying so.
//
// Thread safety: the methods of one Countermeasures are serialised internally; its store writes
// go through the `Write` function given (the spine's single writer in serve).

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/countermeasure/enforcer.h"
#include "bulwark/inventory/attribution.h"
#include "bulwark/model/countermeasure.h"
#include "bulwark/model/finding.h"
#include "bulwark/store/store.h"

namespace bulwark::countermeasure {

// When the policy applies a countermeasure without prior consultation.
struct AutomaticRule {
  // "opened": as soon as an incident at or above `min_severity` is opened;
  // "countermeasure_due": when an incident reaches countermeasure_due.
  std::string on = "countermeasure_due";
  model::Severity min_severity = model::Severity::kCritical;
  std::vector<std::string> incident_kinds;  // taxonomy/type prefixes; empty: any
  model::CountermeasureKind kind = model::CountermeasureKind::kQuarantine;
  std::vector<std::string> ports;  // egress_block
  int64_t rate_pps = 0;            // rate_limit
};

struct PolicySettings {
  bool enabled = true;           // the kill switch: false applies nothing (lifting still works)
  bool dry_run = false;          // decide and record, never call an enforcer
  bool two_person_rule = false;  // an approval must come from someone other than the proposer
  int64_t max_automatic_per_hour = 10;
  TimeNs automatic_expiry = 24 * 3600 * kNsPerSecond;  // automatic ones are lifted then
  bool repair_drift = true;  // Reconcile puts back what drifted (else it only raises it)
  std::string default_enforcer = "nftables";
  std::vector<AutomaticRule> automatic = {AutomaticRule{}};
  std::vector<model::Prefix> forensics;  // hosts a quarantined system still reaches (preview)
};

// Runs `body` in one store transaction on the single writer (Spine::Write in serve).
using WriteFn = std::function<Result<void>(const std::function<Result<void>(store::Store&)>&)>;
// The attribution index of the moment (the inventory as stored).
using IndexFn = std::function<std::shared_ptr<const inventory::AttributionIndex>()>;
// Told inside the transaction of each step (the customer's mail, the incident's move).
using StepFn = std::function<Result<void>(store::Store&, const model::Countermeasure&,
                                          model::CountermeasureState from)>;

struct ProposeRequest {
  int64_t incident_id = 0;  // the incident it answers (its system is the target), or
  std::string system_id;    // a system without an incident
  model::CountermeasureKind kind = model::CountermeasureKind::kQuarantine;
  std::vector<std::string> ports;  // egress_block: "tcp/25"
  int64_t rate_pps = 0;
  std::optional<TimeNs> expires_in;  // lifted by itself after this long once applied
  std::string enforcer;              // empty: the default
  std::string reason;
};

// What applying it would cut (the blast radius).
struct Preview {
  model::Countermeasure countermeasure;
  std::string system_name, customer_id;
  bool protected_system = false;
  Target target;                         // ports, MACs and addresses held now
  std::vector<std::string> still_reach;  // quarantine: the forensics hosts
  std::string effect;                    // one sentence
};

struct ReconcileReport {
  size_t checked = 0;
  size_t resumed = 0;                 // in flight at a restart, finished
  size_t expired = 0;                 // lifted at their expiry
  size_t drifted = 0;                 // found not (fully) in place, or on a target that changed
  size_t repaired = 0;                // put back
  std::vector<std::string> problems;  // what could not be done, one line each
};

class Countermeasures {
 public:
  // `enforcers` by name; they must outlive this object.
  Countermeasures(WriteFn write, IndexFn index, std::map<std::string, Enforcer*> enforcers,
                  PolicySettings settings, Env& env);

  // Called inside each step's transaction (customer mails, the incident moving to mitigated).
  void SetStepHook(StepFn hook) { hook_ = std::move(hook); }

  // Records a proposal. Errors: no such incident or system, an enforcer that does not exist or
  // cannot do `kind`, egress_block without ports, rate_limit without a rate.
  Result<model::Countermeasure> Propose(const ProposeRequest& request, const std::string& actor);
  // proposed -> approved. Errors: another state; the two-person rule and the proposer.
  Result<model::Countermeasure> Approve(int64_t id, const std::string& actor,
                                        const std::string& reason);
  // proposed -> rejected.
  Result<model::Countermeasure> Reject(int64_t id, const std::string& actor,
                                       const std::string& reason);
  // approved (or failed, drifted) -> active, or failed with the enforcer's reason (returned as
  // the countermeasure in state failed, not as an Error). Errors: the kill switch is off, the
  // state does not allow it, the store failed. In dry run nothing changes but the audit entry.
  Result<model::Countermeasure> Apply(int64_t id, const std::string& actor,
                                      const std::string& reason);
  // active, drifted or failed -> pending_removal -> removed; what was recorded is restored. An
  // enforcer that fails leaves it pending_removal with the reason (Reconcile tries again);
  // approved -> removed (withdrawn, nothing was applied).
  Result<model::Countermeasure> Lift(int64_t id, const std::string& actor,
                                     const std::string& reason);
  // What applying it would cut. Errors: no such countermeasure or system.
  Result<Preview> PreviewOf(int64_t id);

  // The policy's decision about `incident` at `event` ("opened" or "countermeasure_due"):
  // proposes, approves and applies what an automatic rule names, unless a guard rail stops it
  // (which is recorded in the audit log with the reason). Returns the countermeasures made
  // (none when no rule applies or one exists for the incident already).
  Result<std::vector<model::Countermeasure>> Automatic(const model::Incident& incident,
                                                       const std::string& event);

  // Finishes what was in flight at a restart, lifts expired ones, finds drift (what is in place
  // differs from what should be, or the system's ports changed) and repairs or raises it.
  Result<ReconcileReport> Reconcile();

  const PolicySettings& settings() const { return settings_; }

 private:
  struct Loaded;
  Result<model::Countermeasure> Step(
      int64_t id, const std::string& actor, const std::string& reason,
      const std::function<Result<void>(model::Countermeasure&)>& change);
  Result<void> Record(store::Store& store, model::Countermeasure& c,
                      model::CountermeasureState from, const std::string& actor,
                      const std::string& action, const std::string& reason);
  Result<model::Countermeasure> ApplyLocked(int64_t id, const std::string& actor,
                                            const std::string& reason);
  Result<model::Countermeasure> LiftLocked(int64_t id, const std::string& actor,
                                           const std::string& reason);
  // Countermeasures of `enforcer` that are to stay in place, but `except`.
  Result<std::vector<Enforcement>> Kept(const std::string& enforcer, int64_t except);
  Result<Enforcer*> EnforcerOf(const model::Countermeasure& c) const;

  WriteFn write_;
  IndexFn index_;
  std::map<std::string, Enforcer*> enforcers_;
  PolicySettings settings_;
  Env& env_;
  StepFn hook_;
  std::recursive_mutex mutex_;
};

// The target of `system_id` at `at` from the inventory: the ports of its interfaces, their MACs,
// the addresses they hold. Empty when there is no such system.
Target TargetOf(const inventory::AttributionIndex& index, const std::string& system_id, TimeNs at);
// The target as JSON (stored in Countermeasure::targets) and back (an empty target for "").
std::string TargetJson(const Target& target);
Target ParseTarget(const std::string& json);

// What a countermeasure does to its target, in one sentence (previews, audit, customer mails).
std::string EffectOf(const model::Countermeasure& c, const Target& target);

// A countermeasure as one JSON object (the CLI's and the API's form).
std::string CountermeasureJson(const model::Countermeasure& c);

}  // namespace bulwark::countermeasure
