#pragma once
// JSON forms of the spine's records, shared by the command line and the REST API (one form
// each, so that both print the same thing).

#include <optional>
#include <vector>

#include "bulwark/core/json_writer.h"
#include "bulwark/input/json_flatten.h"
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
// Where the lists of an incident's detail go on (their last id or seq), when they were cut.
struct DetailPaging {
  std::optional<int64_t> findings_next_after;
  std::optional<int64_t> history_next_after;
};
// {<incident>, "finding_list": [...], "history": [...]}: one incident with its findings and
// history; with `paging` also "finding_list_next_after" and "history_next_after" (null on the
// last page).
void WriteIncidentDetail(JsonWriter& json, const model::Incident& incident,
                         const std::vector<store::StoredFinding>& findings,
                         const std::vector<model::AuditEntry>& history,
                         const DetailPaging* paging = nullptr);

// An incident's history as its customer sees it: internal notes (action "note") left out, and
// the provider's people named by their role only ("analyst", "admin", "staff"), not by token id
// or name.
std::vector<model::AuditEntry> CustomerHistory(std::vector<model::AuditEntry> history);
// A stored finding as its customer sees it (finding::CustomerView of its document).
store::StoredFinding CustomerFinding(store::StoredFinding finding, input::JsonFlattener& flattener);
// {"id", "name", "language", "contacts": [{"email", "role"}]}
void WriteCustomer(JsonWriter& json, const model::Customer& customer);

}  // namespace bulwark::incident
