#include "bulwark/incident/incidents.h"

#include <fmt/format.h>

#include "bulwark/finding/intelmq.h"
#include "bulwark/incident/audit.h"

namespace bulwark::incident {

using model::IncidentState;

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kUnattributed:
      return "unattributed";
    case Outcome::kSighting:
      return "sighting";
    case Outcome::kAdded:
      return "added";
    case Outcome::kOpened:
      return "opened";
    case Outcome::kReopened:
      return "reopened";
    case Outcome::kLate:
      return "late";
  }
  return "?";
}

Incidents::Incidents(store::Store& store, const inventory::AttributionIndex& index,
                     const Policy& policy, Env& env, IncidentOptions options)
    : store_(store), index_(index), policy_(policy), env_(env), options_(options) {}

Result<void> Incidents::Audit(int64_t incident, const std::string& actor, const std::string& action,
                              const std::string& from, const std::string& to,
                              const std::string& reason) {
  model::AuditEntry entry;
  entry.at = env_.Now();
  entry.actor = actor;
  entry.incident_id = incident;
  entry.action = action;
  entry.from_state = from;
  entry.to_state = to;
  entry.reason = reason;
  auto appended = store_.AppendAudit(std::move(entry), AuditHash);
  if (!appended) return tl::unexpected(appended.error());
  return {};
}

Result<TakeResult> Incidents::Take(const model::Finding& finding) {
  TakeResult result;
  TimeNs now = env_.Now();
  // A finding that names its system (extra.system_id: the system whose log it is) belongs to it;
  // else to the holder of its address at the time.
  std::optional<inventory::Attribution> holder;
  if (auto system = finding.fields.find("extra.system_id"); system != finding.fields.end()) {
    holder = index_.OfSystem(system->second);
  }
  if (!holder && finding.source_ip) holder = index_.Lookup(*finding.source_ip, finding.time_source);
  store::StoredFinding stored;
  stored.document = finding::ToHarmonizedJson(finding);
  stored.fingerprint = finding.Fingerprint();
  stored.time_source = finding.time_source;
  stored.received_at = now;
  const model::System* system = holder ? holder->system : nullptr;
  result.assessment = policy_.Assess(finding, system);
  if (!holder || !holder->system || !holder->customer) {
    auto added = store_.AddFinding(stored);
    if (!added) return tl::unexpected(added.error());
    result.finding_id = *added;
    return result;
  }
  stored.attributed = {holder->system->id, holder->customer->id};
  std::string kind = finding.taxonomy + "/" + finding.type;
  auto done = store_.Transaction([&]() -> Result<void> {
    // The same finding again?
    auto repeated = store_.OpenIncidentOfFingerprint(stored.fingerprint,
                                                     finding.time_source - options_.dedup_window);
    if (!repeated) return tl::unexpected(repeated.error());
    std::optional<model::Incident> incident;
    if (*repeated) {
      auto found = store_.GetIncident(**repeated);
      if (!found) return tl::unexpected(found.error());
      incident = *found;
      result.outcome = Outcome::kSighting;
    }
    if (!incident) {
      auto open =
          store_.OpenIncident(stored.attributed.customer_id, stored.attributed.system_id, kind);
      if (!open) return tl::unexpected(open.error());
      incident = *open;
      result.outcome = Outcome::kAdded;
    }
    if (!incident) {
      auto latest =
          store_.LatestIncident(stored.attributed.customer_id, stored.attributed.system_id, kind);
      if (!latest) return tl::unexpected(latest.error());
      if (*latest && (*latest)->state == IncidentState::kResolved) {
        incident = *latest;
        if (finding.time_source <= incident->updated_at) {
          result.outcome = Outcome::kLate;
        } else {
          incident->state = IncidentState::kReopened;
          incident->deadline.reset();
          result.outcome = Outcome::kReopened;
          auto audited = Audit(incident->id, "system", "transition", "resolved", "reopened",
                               fmt::format("new finding {} at {}", stored.fingerprint,
                                           FormatTimestamp(finding.time_source)));
          if (!audited) return audited;
        }
      }
    }
    if (!incident) {
      model::Incident created;
      created.customer_id = stored.attributed.customer_id;
      created.system_id = stored.attributed.system_id;
      created.kind = kind;
      created.state = IncidentState::kNew;
      created.severity = result.assessment.severity;
      created.opened_at = now;
      created.updated_at = now;
      created.last_seen = finding.time_source;
      auto id = store_.CreateIncident(created);
      if (!id) return tl::unexpected(id.error());
      created.id = *id;
      incident = created;
      result.outcome = Outcome::kOpened;
      std::string reasons;
      for (const auto& reason : result.assessment.reasons) {
        reasons += (reasons.empty() ? "" : "; ") + reason;
      }
      auto audited = Audit(created.id, "system", "opened", "", "new",
                           fmt::format("{} about {} (severity {}: {})", kind,
                                       finding.source_ip ? finding.source_ip->ToString()
                                                         : "system " + holder->system->id,
                                       model::SeverityName(created.severity), reasons));
      if (!audited) return audited;
    } else if (result.assessment.severity > incident->severity) {
      auto audited =
          Audit(incident->id, "system", "severity", model::SeverityName(incident->severity),
                model::SeverityName(result.assessment.severity),
                fmt::format("finding {} rates higher", stored.fingerprint));
      if (!audited) return audited;
      incident->severity = result.assessment.severity;
    }
    if (sink_ && (result.outcome == Outcome::kOpened || result.outcome == Outcome::kReopened)) {
      auto notice = sink_->Opened(*incident, finding, *holder, result.assessment);
      if (!notice) return tl::unexpected(notice.error());
      if (*notice == Notice::kNoContact) {
        std::string from = model::StateName(incident->state);
        incident->state = IncidentState::kNoContact;
        auto audited =
            Audit(incident->id, "system", "transition", from, "no_contact",
                  fmt::format("no contact stored for customer {}", incident->customer_id));
        if (!audited) return audited;
      }
    }
    incident->findings += 1;
    incident->last_seen = std::max(incident->last_seen, finding.time_source);
    // A late finding leaves the time of the resolution as it was.
    if (result.outcome != Outcome::kLate) incident->updated_at = now;
    auto updated = store_.UpdateIncident(*incident);
    if (!updated) return updated;
    stored.incident_id = incident->id;
    result.incident_id = incident->id;
    auto added = store_.AddFinding(stored);
    if (!added) return tl::unexpected(added.error());
    result.finding_id = *added;
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return result;
}

Result<model::Incident> Incidents::TransitionLocked(int64_t incident_id, IncidentState to,
                                                    const std::string& actor,
                                                    const std::string& reason) {
  auto found = store_.GetIncident(incident_id);
  if (!found) return tl::unexpected(found.error());
  if (!*found) return Fail(fmt::format("no incident {}", incident_id));
  model::Incident incident = **found;
  if (!model::TransitionAllowed(incident.state, to)) {
    std::string allowed;
    for (IncidentState candidate : model::kAllStates) {
      if (model::TransitionAllowed(incident.state, candidate)) {
        allowed += (allowed.empty() ? "" : ", ") + std::string(model::StateName(candidate));
      }
    }
    return Fail(fmt::format("incident {} is {}: it can move to {}, not {}", incident_id,
                            model::StateName(incident.state), allowed, model::StateName(to)));
  }
  TimeNs now = env_.Now();
  std::string from = model::StateName(incident.state);
  incident.state = to;
  incident.updated_at = now;
  // Back from verifying with the deadline still running (a fix claimed, not found), the
  // deadline stays: claiming a fix must not buy time.
  bool deadline_runs = incident.deadline && *incident.deadline > now;
  if (to == IncidentState::kAwaitingFix && !(from == "verifying" && deadline_runs)) {
    const auto& handling = policy_.HandlingOf(incident.severity);
    incident.deadline =
        handling.deadline ? std::optional<TimeNs>(now + *handling.deadline) : std::nullopt;
  }
  if (auto updated = store_.UpdateIncident(incident); !updated) {
    return tl::unexpected(updated.error());
  }
  if (auto audited = Audit(incident_id, actor, "transition", from, model::StateName(to), reason);
      !audited) {
    return tl::unexpected(audited.error());
  }
  return incident;
}

Result<model::Incident> Incidents::Transition(int64_t incident_id, IncidentState to,
                                              const std::string& actor, const std::string& reason) {
  model::Incident result;
  auto done = store_.Transaction([&]() -> Result<void> {
    auto moved = TransitionLocked(incident_id, to, actor, reason);
    if (!moved) return tl::unexpected(moved.error());
    result = *moved;
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return result;
}

Result<void> Incidents::Comment(int64_t incident_id, const std::string& actor,
                                const std::string& text, bool internal) {
  if (text.empty()) return Fail("a comment needs text");
  return store_.Transaction([&]() -> Result<void> {
    auto found = store_.GetIncident(incident_id);
    if (!found) return tl::unexpected(found.error());
    if (!*found) return Fail(fmt::format("no incident {}", incident_id));
    const char* state = model::StateName((*found)->state);
    return Audit(incident_id, actor, internal ? "note" : "comment", state, state, text);
  });
}

Result<std::vector<int64_t>> Incidents::AdvanceDeadlines() {
  std::vector<int64_t> moved;
  TimeNs now = env_.Now();
  store::IncidentFilter filter;
  filter.state = IncidentState::kAwaitingFix;
  filter.limit = 1000;
  while (true) {
    auto page = store_.ListIncidents(filter);
    if (!page) return tl::unexpected(page.error());
    if (page->empty()) break;
    for (const auto& incident : *page) {
      filter.after_id = incident.id;
      if (!incident.deadline || *incident.deadline > now) continue;
      auto done = store_.Transaction([&]() -> Result<void> {
        auto moved = TransitionLocked(incident.id, IncidentState::kVerifying, "system",
                                      fmt::format("deadline {} passed: verification requested",
                                                  FormatTimestamp(*incident.deadline)));
        if (!moved) return tl::unexpected(moved.error());
        if (sink_) return sink_->DeadlinePassed(*moved);
        return {};
      });
      if (!done) return tl::unexpected(done.error());
      moved.push_back(incident.id);
    }
  }
  return moved;
}

}  // namespace bulwark::incident
