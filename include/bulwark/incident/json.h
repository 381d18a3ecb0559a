#pragma once
// JSON forms of the spine's records, shared by the command line and the REST API (one form
// each, so that both print the same thing).

#include "bulwark/core/json_writer.h"
#include "bulwark/inventory/attribution.h"
#include "bulwark/model/finding.h"
#include "bulwark/store/store.h"

namespace bulwark::incident {

// The incident's fields as members of the current object (the caller opens and closes it).
void WriteIncident(JsonWriter& json, const model::Incident& incident);
// {"id", "received_at", "finding": <harmonized document>}
void WriteStoredFinding(JsonWriter& json, const store::StoredFinding& finding);
// {"at", "actor", "action", "from", "to", "reason"}
void WriteAuditEntry(JsonWriter& json, const model::AuditEntry& entry);
// assignment, interface, system, project, customer and contacts as members of the current object.
void WriteAttribution(JsonWriter& json, const inventory::Attribution& attribution);
// {"query", "at", "held", <attribution when held>}: the answer of `who`.
void WriteWho(JsonWriter& json, std::string_view query, TimeNs at,
              const std::optional<inventory::Attribution>& holder);
// {<incident>, "finding_list": [...], "history": [...]}: one incident in full.
void WriteIncidentDetail(JsonWriter& json, const model::Incident& incident,
                         const std::vector<store::StoredFinding>& findings,
                         const std::vector<model::AuditEntry>& history);
// {"id", "name", "language", "contacts": [{"email", "role"}]}
void WriteCustomer(JsonWriter& json, const model::Customer& customer);

}  // namespace bulwark::incident
