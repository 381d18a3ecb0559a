#pragma once
// Findings, incidents and the audit trail as data. A finding is the common currency of every
// source (log alerts, reports, scans): what was seen about which address and port, when it
// happened and when we learned it, classified in the RSIT taxonomy as IntelMQ's harmonized
// format does (docs/findings.md, docs/finding.schema.json). Plain value types.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/core/time.h"
#include "bulwark/event/ip.h"

namespace bulwark::model {

struct Finding {
  int64_t id = 0;          // store key; 0 until stored
  std::string feed_name;   // feed.name
  std::string taxonomy;    // classification.taxonomy (RSIT), e.g. "vulnerable"
  std::string type;        // classification.type, e.g. "vulnerable-system"
  std::string identifier;  // classification.identifier, e.g. "openssh" or a CVE id
  std::optional<event::IpAddress> source_ip;  // the address the finding is about
  int source_port = 0;                        // 0 when none
  std::string transport;                      // protocol.transport: tcp, udp, ...
  TimeNs time_source = 0;                     // when it happened
  TimeNs time_observation = 0;                // when we learned it
  std::vector<std::string> cves;              // "CVE-2024-6387", upper case
  std::string cvss_vector;                    // "CVSS:3.1/AV:N/..." when known
  std::optional<double> cvss_score;           // base score 0..10 when known
  std::optional<double> confidence;           // 0..1 when known (IntelMQ feed.accuracy / 100)
  std::string evidence;                       // the raw line, report row or scan result
  // Every other harmonized key as given (extra.*, source.fqdn, malware.name, ...).
  std::map<std::string, std::string> fields;

  // The key of "the same finding seen again": feed, address (else the system it names in
  // extra.system_id), port and identifier.
  std::string Fingerprint() const;
};

// Where a finding went: the holder of its address as of time.source, or nobody.
struct Attributed {
  std::string system_id;  // empty: unattributed
  std::string customer_id;
};

enum class IncidentState {
  kNew,                // opened, nobody told yet
  kNotified,           // the customer was told
  kAwaitingFix,        // deadline running
  kVerifying,          // deadline passed or customer reported a fix: re-scan requested
  kCountermeasureDue,  // still open after verification: responders decide
  kMitigated,          // mitigated by the provider (countermeasure in place)
  kResolved,
  kClosed,  // false positive / not ours
  kReopened,
  kNoContact,  // nobody could be told: no contact stored for the customer
};
inline constexpr IncidentState kAllStates[] = {
    IncidentState::kNew,
    IncidentState::kNotified,
    IncidentState::kAwaitingFix,
    IncidentState::kVerifying,
    IncidentState::kCountermeasureDue,
    IncidentState::kMitigated,
    IncidentState::kResolved,
    IncidentState::kClosed,
    IncidentState::kReopened,
    IncidentState::kNoContact,
};

// "new", "notified", "awaiting_fix", "verifying", "countermeasure_due", "mitigated", "resolved",
// "closed", "reopened", "no_contact".
const char* StateName(IncidentState state);
std::optional<IncidentState> ParseState(std::string_view name);
// Resolved and closed incidents take no new findings; a new sighting reopens them.
bool IsOpen(IncidentState state);
// Whether the lifecycle allows `from` -> `to` (docs/incidents.md has the table).
bool TransitionAllowed(IncidentState from, IncidentState to);

enum class Severity { kInfo, kLow, kMedium, kHigh, kCritical };
const char* SeverityName(Severity severity);  // "info" ... "critical"
std::optional<Severity> ParseSeverity(std::string_view name);

struct Incident {
  int64_t id = 0;
  std::string customer_id;
  std::string system_id;
  std::string kind;  // taxonomy/type, e.g. "vulnerable/vulnerable-system"
  IncidentState state = IncidentState::kNew;
  Severity severity = Severity::kMedium;
  TimeNs opened_at = 0;
  TimeNs updated_at = 0;
  std::optional<TimeNs> deadline;  // patch deadline while awaiting a fix
  TimeNs last_seen = 0;            // time.source of the latest finding
  int64_t findings = 0;            // findings attached, sightings included
};

// One entry of the append-only, hash-chained audit log.
struct AuditEntry {
  int64_t seq = 0;
  TimeNs at = 0;
  std::string actor;        // "system", "analyst:alice", "token:<id>"
  int64_t incident_id = 0;  // 0 when not about an incident
  std::string action;       // "opened", "transition", "sighting", "finding", "comment", ...
  std::string from_state;
  std::string to_state;
  std::string reason;
  std::string prev_hash;  // hex SHA-256 of the previous entry ("" for the first)
  std::string hash;       // hex SHA-256 over prev_hash and this entry's fields
};

}  // namespace bulwark::model
