#pragma once
// From findings to incidents: attribution as of time.source, deduplication, grouping per
// customer, system and kind, severity by the policy, the lifecycle with its audit trail, and the
// deadline timer. Everything goes through the Store, so it survives restarts. Not thread-safe
// (one Incidents per Store).

#include <optional>
#include <string>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/incident/policy.h"
#include "bulwark/inventory/attribution.h"
#include "bulwark/model/finding.h"
#include "bulwark/store/store.h"

namespace bulwark::incident {

// What became of the notice about an opened incident.
enum class Notice {
  kQueued,     // a message is in the outbox
  kNoContact,  // nobody to tell: the incident shows it (state no_contact)
};

// Where incidents are told about. Its calls run inside the store transaction that changed the
// incident, so that a queued message and the change commit together (the outbox pattern).
class NotificationSink {
 public:
  virtual ~NotificationSink() = default;
  // An incident was opened or reopened by `finding`.
  virtual Result<Notice> Opened(const model::Incident& incident, const model::Finding& finding,
                                const inventory::Attribution& holder,
                                const Assessment& assessment) = 0;
  // An incident's patch deadline passed (it is now verifying).
  virtual Result<void> DeadlinePassed(const model::Incident& incident) = 0;
};

struct IncidentOptions {
  // The same finding (feed, address, port, identifier) seen again within this window of its
  // last sighting adds a sighting to its incident and no notification.
  TimeNs dedup_window = 7 * 24 * 3600 * kNsPerSecond;
};

enum class Outcome {
  kUnattributed,  // nobody held the address at time.source: queued for analysts
  kSighting,      // the same finding again: counted on its open incident
  kAdded,         // a new finding for an open incident of the same customer, system and kind
  kOpened,        // a new incident
  kReopened,      // a resolved incident of the same customer, system and kind reopened
  kLate,          // about a resolved incident, from before its resolution: kept, reopens nothing
};
const char* OutcomeName(Outcome outcome);  // "unattributed", "sighting", ...

struct TakeResult {
  int64_t finding_id = 0;
  Outcome outcome = Outcome::kUnattributed;
  int64_t incident_id = 0;  // 0 when unattributed
  Assessment assessment;
};

class Incidents {
 public:
  Incidents(store::Store& store, const inventory::AttributionIndex& index, const Policy& policy,
            Env& env, IncidentOptions options = {});

  // Tells `sink` about opened incidents and passed deadlines (null: nobody is told).
  void SetNotificationSink(NotificationSink* sink) { sink_ = sink; }

  // Takes one finding in (one store transaction). An Error only when the store fails.
  Result<TakeResult> Take(const model::Finding& finding);

  // Moves an incident through its lifecycle, recording actor, time and reason in the audit log.
  // Entering awaiting_fix starts the deadline of the incident's severity. Errors: unknown
  // incident, a transition the lifecycle does not allow (the message names the allowed ones).
  Result<model::Incident> Transition(int64_t incident_id, model::IncidentState to,
                                     const std::string& actor, const std::string& reason);

  // Records a comment on an incident in its audit trail (action "comment"; `internal`: a note of
  // the provider's staff, action "note", which customers do not see). Errors: unknown incident,
  // empty text.
  Result<void> Comment(int64_t incident_id, const std::string& actor, const std::string& text,
                       bool internal = false);

  // Incidents awaiting a fix whose deadline has passed move to verifying (a verification
  // request: the audit entry "verification_requested"). Returns the incidents moved.
  Result<std::vector<int64_t>> AdvanceDeadlines();

 private:
  Result<void> Audit(int64_t incident, const std::string& actor, const std::string& action,
                     const std::string& from, const std::string& to, const std::string& reason);
  // Transition() inside a transaction the caller holds.
  Result<model::Incident> TransitionLocked(int64_t incident_id, model::IncidentState to,
                                           const std::string& actor, const std::string& reason);

  store::Store& store_;
  const inventory::AttributionIndex& index_;
  const Policy& policy_;
  Env& env_;
  IncidentOptions options_;
  NotificationSink* sink_ = nullptr;
};

}  // namespace bulwark::incident
