#pragma once
// An incident's timeline for the customer or law enforcement: its findings (when each thing
// happened), its audit trail (what the provider did, countermeasures included) and the chain of
// custody of its evidence, ordered by time; as JSON and as a readable HTML page. And the
// collection of what the store knows about an incident into the vault.

#include <string>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/forensics/vault.h"
#include "bulwark/store/store.h"

namespace bulwark::forensics {

struct TimelineEvent {
  TimeNs at = 0;
  std::string source;  // finding, audit, custody
  std::string what;    // the finding's type, the audit action, the custody action
  std::string detail;
};

// The events of `incident_id` between `from` and `until` (inclusive), oldest first. Errors: no
// such incident, the store failed.
Result<std::vector<TimelineEvent>> IncidentTimeline(store::Store& store, const Vault& vault,
                                                    int64_t incident_id, TimeNs from = 0,
                                                    TimeNs until = INT64_MAX);
// {"incident": ..., "events": [{"at", "source", "what", "detail"}]}.
std::string TimelineJson(const model::Incident& incident, const std::vector<TimelineEvent>& events);
// A self-contained HTML page (every value escaped).
std::string TimelineHtml(const model::Incident& incident, const std::vector<TimelineEvent>& events);

// Stores the incident's findings (their harmonized documents, with the raw lines) and audit
// trail between `from` and `until` in the vault as two evidence items (kinds "findings",
// "audit"). Returns them.
Result<std::vector<EvidenceItem>> CollectIncident(store::Store& store, Vault& vault,
                                                  int64_t incident_id, const std::string& actor,
                                                  TimeNs from = 0, TimeNs until = INT64_MAX);

}  // namespace bulwark::forensics
