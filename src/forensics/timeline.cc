#include "bulwark/forensics/timeline.h"

#include <fmt/format.h>

#include <algorithm>

#include "bulwark/core/json_writer.h"

namespace bulwark::forensics {

namespace {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Result<model::Incident> IncidentOf(store::Store& store, int64_t incident_id) {
  auto incident = store.GetIncident(incident_id);
  if (!incident) return tl::unexpected(incident.error());
  if (!*incident) return Fail(fmt::format("no incident {}", incident_id));
  return **incident;
}

}  // namespace

Result<std::vector<TimelineEvent>> IncidentTimeline(store::Store& store, const Vault& vault,
                                                    int64_t incident_id, TimeNs from,
                                                    TimeNs until) {
  auto incident = IncidentOf(store, incident_id);
  if (!incident) return tl::unexpected(incident.error());
  std::vector<TimelineEvent> events;
  auto in_window = [&](TimeNs at) { return at >= from && at <= until; };
  auto findings = store.FindingsOfIncident(incident_id);
  if (!findings) return tl::unexpected(findings.error());
  for (const auto& f : *findings) {
    if (!in_window(f.time_source)) continue;
    events.push_back({f.time_source, "finding", "finding " + std::to_string(f.id), f.document});
  }
  auto audit = store.ReadAudit(incident_id);
  if (!audit) return tl::unexpected(audit.error());
  for (const auto& a : *audit) {
    if (!in_window(a.at)) continue;
    std::string detail = a.actor;
    if (!a.from_state.empty() || !a.to_state.empty()) {
      detail += fmt::format(": {} -> {}", a.from_state, a.to_state);
    }
    if (!a.reason.empty()) detail += "; " + a.reason;
    events.push_back({a.at, "audit", a.action, detail});
  }
  auto items = vault.Items(incident_id);
  if (!items) return tl::unexpected(items.error());
  auto custody = vault.Custody();
  if (!custody) return tl::unexpected(custody.error());
  for (const auto& entry : *custody) {
    bool ours = entry.incident_id == incident_id ||
                std::any_of(items->begin(), items->end(),
                            [&](const EvidenceItem& item) { return item.sha256 == entry.sha256; });
    if (!ours || !in_window(entry.at)) continue;
    events.push_back({entry.at, "custody", entry.action,
                      fmt::format("{} {} {}", entry.actor, entry.sha256, entry.detail)});
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const TimelineEvent& a, const TimelineEvent& b) { return a.at < b.at; });
  return events;
}

std::string TimelineJson(const model::Incident& incident,
                         const std::vector<TimelineEvent>& events) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  json.Key("incident");
  json.BeginObject();
  json.Member("id", incident.id);
  json.Member("customer_id", incident.customer_id);
  json.Member("system_id", incident.system_id);
  json.Member("kind", incident.kind);
  json.Member("state", model::StateName(incident.state));
  json.Member("severity", model::SeverityName(incident.severity));
  json.EndObject();
  json.Key("events");
  json.BeginArray();
  for (const auto& e : events) {
    json.BeginObject();
    json.Member("at", FormatTimestamp(e.at));
    json.Member("source", e.source);
    json.Member("what", e.what);
    json.Member("detail", e.detail);
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return out + "\n";
}

std::string TimelineHtml(const model::Incident& incident,
                         const std::vector<TimelineEvent>& events) {
  std::string title = HtmlEscape(
      fmt::format("Incident {}: {} on {}", incident.id, incident.kind, incident.system_id));
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title>\n"
      "<style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px "
      "solid #999;padding:4px;vertical-align:top;text-align:left}}td.d{{font-family:monospace;"
      "white-space:pre-wrap;word-break:break-all}}</style></head><body>\n<h1>{0}</h1>\n"
      "<p>Customer {1}, severity {2}, state {3}. Times are UTC.</p>\n<table>\n"
      "<tr><th>time</th><th>source</th><th>what</th><th>detail</th></tr>\n",
      title, HtmlEscape(incident.customer_id), model::SeverityName(incident.severity),
      model::StateName(incident.state));
  for (const auto& e : events) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"d\">{}</td></tr>\n",
                       FormatTimestamp(e.at), HtmlEscape(e.source), HtmlEscape(e.what),
                       HtmlEscape(e.detail));
  }
  return out + "</table>\n</body></html>\n";
}

Result<std::vector<EvidenceItem>> CollectIncident(store::Store& store, Vault& vault,
                                                  int64_t incident_id, const std::string& actor,
                                                  TimeNs from, TimeNs until) {
  auto incident = IncidentOf(store, incident_id);
  if (!incident) return tl::unexpected(incident.error());
  std::string findings_text, audit_text;
  auto findings = store.FindingsOfIncident(incident_id);
  if (!findings) return tl::unexpected(findings.error());
  for (const auto& f : *findings) {
    if (f.time_source >= from && f.time_source <= until) findings_text += f.document + "\n";
  }
  auto audit = store.ReadAudit(incident_id);
  if (!audit) return tl::unexpected(audit.error());
  for (const auto& a : *audit) {
    if (a.at < from || a.at > until) continue;
    std::string line;
    JsonWriter json(line);
    json.BeginObject();
    json.Member("seq", a.seq);
    json.Member("at", FormatTimestamp(a.at));
    json.Member("actor", a.actor);
    json.Member("action", a.action);
    json.Member("from", a.from_state);
    json.Member("to", a.to_state);
    json.Member("reason", a.reason);
    json.Member("hash", a.hash);
    json.EndObject();
    audit_text += line + "\n";
  }
  std::vector<EvidenceItem> out;
  for (auto [kind, text] :
       {std::pair{"findings", &findings_text}, std::pair{"audit", &audit_text}}) {
    EvidenceItem item;
    item.name = fmt::format("incident-{}-{}.jsonl", incident_id, kind);
    item.incident_id = incident_id;
    item.system_id = incident->system_id;
    item.kind = kind;
    item.method = kind == std::string("findings")
                      ? "the incident's findings with their raw lines, from Bulwark's store"
                      : "the incident's audit trail (hash-chained), from Bulwark's store";
    item.tool = "bulwark";
    item.acquired_by = actor;
    item.clock_note = "times as recorded by Bulwark (UTC); sources' clocks as in each finding";
    auto added = vault.Add(*text, item);
    if (!added) return tl::unexpected(added.error());
    out.push_back(std::move(*added));
  }
  return out;
}

}  // namespace bulwark::forensics
