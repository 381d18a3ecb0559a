#include "bulwark/incident/json.h"

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
  json.Key("id");
  json.Int(incident.id);
  json.Key("customer");
  json.String(incident.customer_id);
  json.Key("system");
  json.String(incident.system_id);
  json.Key("kind");
  json.String(incident.kind);
  json.Key("state");
  json.String(model::StateName(incident.state));
  json.Key("severity");
  json.String(model::SeverityName(incident.severity));
  json.Key("opened_at");
  json.String(FormatTimestamp(incident.opened_at));
  json.Key("updated_at");
  json.String(FormatTimestamp(incident.updated_at));
  json.Key("deadline");
  if (incident.deadline) {
    json.String(FormatTimestamp(*incident.deadline));
  } else {
    json.Null();
  }
  json.Key("last_seen");
  json.String(FormatTimestamp(incident.last_seen));
  json.Key("findings");
  json.Int(incident.findings);
}

void WriteStoredFinding(JsonWriter& json, const store::StoredFinding& finding) {
  json.BeginObject();
  json.Key("id");
  json.Int(finding.id);
  json.Key("received_at");
  json.String(FormatTimestamp(finding.received_at));
  json.Key("finding");
  json.Raw(finding.document);
  json.EndObject();
}

void WriteAuditEntry(JsonWriter& json, const model::AuditEntry& entry) {
  json.BeginObject();
  json.Key("at");
  json.String(FormatTimestamp(entry.at));
  json.Key("actor");
  json.String(entry.actor);
  json.Key("action");
  json.String(entry.action);
  json.Key("from");
  json.String(entry.from_state);
  json.Key("to");
  json.String(entry.to_state);
  json.Key("reason");
  json.String(entry.reason);
  json.EndObject();
}

void WriteAttribution(JsonWriter& json, const inventory::Attribution& a) {
  if (a.assignment) {
    json.Key("assignment");
    json.BeginObject();
    json.Key("prefix");
    json.String(a.assignment->prefix.ToString());
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
    json.Key("origin");
    json.String(a.assignment->origin);
    json.EndObject();
  }
  if (a.interface) {
    json.Key("interface");
    json.BeginObject();
    json.Key("mac");
    json.String(a.interface->mac);
    json.Key("port");
    json.String(a.interface->port);
    json.Key("security_groups");
    json.BeginArray();
    for (const auto& group : a.interface->security_groups) json.String(group);
    json.EndArray();
    json.EndObject();
  }
  if (a.system) {
    json.Key("system");
    json.BeginObject();
    json.Key("id");
    json.String(a.system->id);
    json.Key("name");
    json.String(a.system->name);
    json.Key("internet_exposed");
    json.Bool(a.system->internet_exposed);
    json.Key("protected");
    json.Bool(a.system->protected_system);
    WriteLabels(json, a.system->labels);
    json.EndObject();
  }
  if (a.project) {
    json.Key("project");
    json.BeginObject();
    json.Key("id");
    json.String(a.project->id);
    json.Key("name");
    json.String(a.project->name);
    WriteLabels(json, a.project->labels);
    json.EndObject();
  }
  if (a.customer) {
    json.Key("customer");
    json.BeginObject();
    json.Key("id");
    json.String(a.customer->id);
    json.Key("name");
    json.String(a.customer->name);
    json.Key("language");
    json.String(a.customer->language);
    json.EndObject();
    json.Key("contacts");
    json.BeginArray();
    for (const auto& contact : a.customer->contacts) {
      json.BeginObject();
      json.Key("email");
      json.String(contact.email);
      json.Key("role");
      json.String(contact.role);
      json.EndObject();
    }
    json.EndArray();
  }
}

void WriteWho(JsonWriter& json, std::string_view query, TimeNs at,
              const std::optional<inventory::Attribution>& holder) {
  json.BeginObject();
  json.Key("query");
  json.String(query);
  json.Key("at");
  json.String(FormatTimestamp(at));
  json.Key("held");
  json.Bool(holder.has_value());
  if (holder) WriteAttribution(json, *holder);
  json.EndObject();
}

void WriteIncidentDetail(JsonWriter& json, const model::Incident& incident,
                         const std::vector<store::StoredFinding>& findings,
                         const std::vector<model::AuditEntry>& history) {
  json.BeginObject();
  WriteIncident(json, incident);
  json.Key("finding_list");
  json.BeginArray();
  for (const auto& finding : findings) WriteStoredFinding(json, finding);
  json.EndArray();
  json.Key("history");
  json.BeginArray();
  for (const auto& entry : history) WriteAuditEntry(json, entry);
  json.EndArray();
  json.EndObject();
}

void WriteCustomer(JsonWriter& json, const model::Customer& customer) {
  json.BeginObject();
  json.Key("id");
  json.String(customer.id);
  json.Key("name");
  json.String(customer.name);
  json.Key("language");
  json.String(customer.language);
  json.Key("contacts");
  json.BeginArray();
  for (const auto& contact : customer.contacts) {
    json.BeginObject();
    json.Key("email");
    json.String(contact.email);
    json.Key("role");
    json.String(contact.role);
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
}

}  // namespace bulwark::incident
