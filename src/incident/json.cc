#include "bulwark/incident/json.h"

#include "bulwark/finding/intelmq.h"

namespace bulwark::incident {

namespace {

std::string TimeText(TimeNs t) {
  if (t == model::kBeginningOfTime || t == model::kEndOfTime) return {};
  return FormatTimestamp(t);
}

void WriteLabels(JsonWriter& json, const model::Labels& labels) {
  json.Key("labels");
  json.BeginObject();
  for (const auto& [key, value] : labels) {
    json.Key(key);
    json.String(value);
  }
  json.EndObject();
}

}  // namespace

void WriteIncident(JsonWriter& json, const model::Incident& incident) {
  json.Member("id", static_cast<int64_t>(incident.id));
  json.Member("customer", incident.customer_id);
  json.Member("system", incident.system_id);
  json.Member("kind", incident.kind);
  json.Member("state", model::StateName(incident.state));
  json.Member("severity", model::SeverityName(incident.severity));
  json.Member("opened_at", FormatTimestamp(incident.opened_at));
  json.Member("updated_at", FormatTimestamp(incident.updated_at));
  json.Key("deadline");
  if (incident.deadline) {
    json.String(FormatTimestamp(*incident.deadline));
  } else {
    json.Null();
  }
  json.Member("last_seen", FormatTimestamp(incident.last_seen));
  json.Member("findings", static_cast<int64_t>(incident.findings));
}

void WriteStoredFinding(JsonWriter& json, const store::StoredFinding& finding) {
  json.BeginObject();
  json.Member("id", static_cast<int64_t>(finding.id));
  json.Member("received_at", FormatTimestamp(finding.received_at));
  json.Key("finding");
  json.Raw(finding.document);
  json.EndObject();
}

void WriteAuditEntry(JsonWriter& json, const model::AuditEntry& entry) {
  json.BeginObject();
  json.Member("at", FormatTimestamp(entry.at));
  json.Member("actor", entry.actor);
  json.Member("action", entry.action);
  json.Member("from", entry.from_state);
  json.Member("to", entry.to_state);
  json.Member("reason", entry.reason);
  json.EndObject();
}

void WriteAttribution(JsonWriter& json, const inventory::Attribution& a) {
  if (a.assignment) {
    json.Key("assignment");
    json.BeginObject();
    json.Member("prefix", a.assignment->prefix.ToString());
    json.Key("from");
    if (auto t = TimeText(a.assignment->from); !t.empty())
      json.String(t);
    else
      json.Null();
    json.Key("until");
    if (auto t = TimeText(a.assignment->until); !t.empty())
      json.String(t);
    else
      json.Null();
    json.Member("origin", a.assignment->origin);
    json.EndObject();
  }
  if (a.interface) {
    json.Key("interface");
    json.BeginObject();
    json.Member("mac", a.interface->mac);
    json.Member("port", a.interface->port);
    json.Key("security_groups");
    json.BeginArray();
    for (const auto& group : a.interface->security_groups) json.String(group);
    json.EndArray();
    json.EndObject();
  }
  if (a.system) {
    json.Key("system");
    json.BeginObject();
    json.Member("id", a.system->id);
    json.Member("name", a.system->name);
    json.Member("internet_exposed", a.system->internet_exposed);
    json.Member("protected", a.system->protected_system);
    WriteLabels(json, a.system->labels);
    json.EndObject();
  }
  if (a.project) {
    json.Key("project");
    json.BeginObject();
    json.Member("id", a.project->id);
    json.Member("name", a.project->name);
    WriteLabels(json, a.project->labels);
    json.EndObject();
  }
  if (a.customer) {
    json.Key("customer");
    json.BeginObject();
    json.Member("id", a.customer->id);
    json.Member("name", a.customer->name);
    json.Member("language", a.customer->language);
    json.EndObject();
    json.Key("contacts");
    json.BeginArray();
    for (const auto& contact : a.customer->contacts) {
      json.BeginObject();
      json.Member("email", contact.email);
      json.Member("role", contact.role);
      json.EndObject();
    }
    json.EndArray();
  }
}

void WriteWho(JsonWriter& json, std::string_view query, TimeNs at,
              const std::optional<inventory::Attribution>& holder) {
  json.BeginObject();
  json.Member("query", query);
  json.Member("at", FormatTimestamp(at));
  json.Member("held", holder.has_value());
  if (holder) WriteAttribution(json, *holder);
  json.EndObject();
}

void WriteIncidentDetail(JsonWriter& json, const model::Incident& incident,
                         const std::vector<store::StoredFinding>& findings,
                         const std::vector<model::AuditEntry>& history,
                         const DetailPaging* paging) {
  auto next = [&](const char* key, const std::optional<int64_t>& after) {
    json.Key(key);
    if (after) {
      json.Int(*after);
    } else {
      json.Null();
    }
  };
  json.BeginObject();
  WriteIncident(json, incident);
  json.Key("finding_list");
  json.BeginArray();
  for (const auto& finding : findings) WriteStoredFinding(json, finding);
  json.EndArray();
  if (paging) next("finding_list_next_after", paging->findings_next_after);
  json.Key("history");
  json.BeginArray();
  for (const auto& entry : history) WriteAuditEntry(json, entry);
  json.EndArray();
  if (paging) next("history_next_after", paging->history_next_after);
  json.EndObject();
}

std::vector<model::AuditEntry> CustomerHistory(std::vector<model::AuditEntry> history) {
  std::erase_if(history, [](const model::AuditEntry& e) { return e.action == "note"; });
  for (model::AuditEntry& entry : history) {
    std::string_view actor = entry.actor;
    if (actor == "system" || (actor.starts_with("token:") && actor.ends_with("(customer)"))) {
      continue;
    }
    size_t open = actor.rfind('(');
    if (actor.starts_with("token:") && open != std::string_view::npos && actor.ends_with(")")) {
      entry.actor = std::string(actor.substr(open + 1, actor.size() - open - 2));
    } else {
      entry.actor = "staff";
    }
  }
  return history;
}

store::StoredFinding CustomerFinding(store::StoredFinding finding,
                                     input::JsonFlattener& flattener) {
  auto parsed = finding::ParseHarmonized(finding.document, finding.received_at, flattener);
  if (!parsed) {
    finding.document = "{}";  // unreadable: nothing of it is shown
    return finding;
  }
  finding.document = finding::ToHarmonizedJson(finding::CustomerView(std::move(*parsed)));
  return finding;
}

void WriteCustomer(JsonWriter& json, const model::Customer& customer) {
  json.BeginObject();
  json.Member("id", customer.id);
  json.Member("name", customer.name);
  json.Member("language", customer.language);
  json.Key("contacts");
  json.BeginArray();
  for (const auto& contact : customer.contacts) {
    json.BeginObject();
    json.Member("email", contact.email);
    json.Member("role", contact.role);
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
}

}  // namespace bulwark::incident
