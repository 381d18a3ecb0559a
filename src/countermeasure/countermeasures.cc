#include "bulwark/countermeasure/countermeasures.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <set>

#include "bulwark/core/json_writer.h"
#include "bulwark/incident/audit.h"

namespace bulwark::countermeasure {

namespace {

using model::Countermeasure;
using model::CountermeasureKind;
using S = model::CountermeasureState;

constexpr const char* kPolicyActor = "policy";
constexpr const char* kSystemActor = "system";

std::string Describe(const Countermeasure& c) {
  std::string what =
      fmt::format("countermeasure {} ({} of {}", c.id, KindName(c.kind), c.system_id);
  if (!c.ports.empty()) {
    what += ":";
    for (const auto& port : c.ports) what += " " + port;
  }
  if (c.rate_pps > 0) what += fmt::format(": {} packets/s", c.rate_pps);
  return what + ")";
}

}  // namespace

std::string EffectOf(const Countermeasure& c, const Target& target) {
  std::string ports;
  for (const auto& p : target.ports) ports += (ports.empty() ? "" : ", ") + p;
  switch (c.kind) {
    case CountermeasureKind::kQuarantine:
      return fmt::format(
          "all traffic of {} on port(s) {} is dropped, but to and from the "
          "forensics hosts",
          c.system_id, ports);
    case CountermeasureKind::kEgressBlock: {
      std::string blocked;
      for (const auto& p : c.ports) blocked += (blocked.empty() ? "" : ", ") + p;
      return fmt::format("outgoing {} of {} on port(s) {} is dropped", blocked, c.system_id, ports);
    }
    case CountermeasureKind::kRateLimit:
      return fmt::format("traffic of {} on port(s) {} over {} packets/s is dropped", c.system_id,
                         ports, c.rate_pps);
    case CountermeasureKind::kDetachPublicIp:
      return fmt::format("the public addresses of {} are detached", c.system_id);
    case CountermeasureKind::kStop:
      return fmt::format("server {} is stopped", c.system_id);
    case CountermeasureKind::kDeallocate:
      return fmt::format("server {} is deallocated", c.system_id);
    case CountermeasureKind::kRescue:
      return fmt::format("server {} is booted into its rescue image", c.system_id);
  }
  return "";
}

namespace {

void WriteList(JsonWriter& json, std::string_view name, const std::vector<std::string>& items) {
  json.Key(name);
  json.BeginArray();
  for (const auto& item : items) json.String(item);
  json.EndArray();
}

std::vector<std::string> Sorted(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  return items;
}

bool KindMatches(const std::vector<std::string>& prefixes, const std::string& kind) {
  if (prefixes.empty()) return true;
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return kind.rfind(p, 0) == 0; });
}

}  // namespace

Target TargetOf(const inventory::AttributionIndex& index, const std::string& system_id, TimeNs at) {
  Target target;
  auto system = index.OfSystem(system_id);
  if (!system || !system->system) return target;
  target.server_id = system_id;
  target.project_id = system->system->project_id;
  const auto& inventory = index.inventory();
  std::set<std::string> ports, macs, addresses;
  for (const auto& i : inventory.interfaces) {
    if (i.system_id != system_id || at < i.from || at >= i.until) continue;
    if (!i.port.empty()) ports.insert(i.port);
    if (!i.mac.empty()) macs.insert(i.mac);
  }
  for (const auto& a : inventory.assignments) {
    if (a.system_id == system_id && a.Covers(at)) addresses.insert(a.prefix.ToString());
  }
  target.ports.assign(ports.begin(), ports.end());
  target.macs.assign(macs.begin(), macs.end());
  target.addresses.assign(addresses.begin(), addresses.end());
  return target;
}

std::string TargetJson(const Target& target) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  WriteList(json, "ports", target.ports);
  WriteList(json, "macs", target.macs);
  WriteList(json, "addresses", target.addresses);
  json.Member("server_id", target.server_id);
  json.Member("project_id", target.project_id);
  json.EndObject();
  return out;
}

Target ParseTarget(const std::string& text) {
  Target target;
  if (text.empty()) return target;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text).get(root) != simdjson::SUCCESS) return target;
  auto list = [&](const char* name, std::vector<std::string>& out) {
    simdjson::dom::array items;
    if (root[name].get(items) != simdjson::SUCCESS) return;
    for (auto item : items) {
      std::string_view value;
      if (item.get(value) == simdjson::SUCCESS) out.emplace_back(value);
    }
  };
  list("ports", target.ports);
  list("macs", target.macs);
  list("addresses", target.addresses);
  std::string_view value;
  if (root["server_id"].get(value) == simdjson::SUCCESS) target.server_id = value;
  if (root["project_id"].get(value) == simdjson::SUCCESS) target.project_id = value;
  return target;
}

std::string CountermeasureJson(const Countermeasure& c) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  json.Member("id", c.id);
  if (c.incident_id) json.Member("incident_id", c.incident_id);
  json.Member("customer_id", c.customer_id);
  json.Member("system_id", c.system_id);
  json.Member("kind", KindName(c.kind));
  json.Member("state", StateName(c.state));
  json.Member("enforcer", c.enforcer);
  if (!c.ports.empty()) WriteList(json, "ports", c.ports);
  if (c.rate_pps) json.Member("rate_pps", c.rate_pps);
  json.Member("automatic", c.automatic);
  json.Member("proposed_by", c.proposed_by);
  WriteList(json, "approved_by", c.approved_by);
  json.Member("reason", c.reason);
  json.Member("created_at", FormatTimestamp(c.created_at));
  json.Member("updated_at", FormatTimestamp(c.updated_at));
  if (c.expires_at) json.Member("expires_at", FormatTimestamp(*c.expires_at));
  if (c.applied_at) json.Member("applied_at", FormatTimestamp(c.applied_at));
  if (c.lifted_at) json.Member("lifted_at", FormatTimestamp(c.lifted_at));
  if (!c.pending.empty()) json.Member("pending", c.pending);
  if (!c.targets.empty()) {
    json.Key("target");
    json.Raw(c.targets);
  }
  if (!c.last_error.empty()) json.Member("last_error", c.last_error);
  json.EndObject();
  return out;
}

Countermeasures::Countermeasures(WriteFn write, IndexFn index,
                                 std::map<std::string, Enforcer*> enforcers,
                                 PolicySettings settings, Env& env)
    : write_(std::move(write)),
      index_(std::move(index)),
      enforcers_(std::move(enforcers)),
      settings_(std::move(settings)),
      env_(env) {}

Result<Enforcer*> Countermeasures::EnforcerOf(const Countermeasure& c) const {
  auto found = enforcers_.find(c.enforcer);
  if (found == enforcers_.end() || !found->second) {
    std::string known;
    for (const auto& [name, _] : enforcers_) known += (known.empty() ? "" : ", ") + name;
    return Fail(fmt::format("no enforcer '{}' is configured (configured: {})", c.enforcer,
                            known.empty() ? "none" : known));
  }
  return found->second;
}

Result<void> Countermeasures::Record(store::Store& store, Countermeasure& c, S from,
                                     const std::string& actor, const std::string& action,
                                     const std::string& reason) {
  if (from != c.state && !model::TransitionAllowed(from, c.state)) {
    return Fail(fmt::format("countermeasure {}: {} -> {} is not a move of the lifecycle", c.id,
                            StateName(from), StateName(c.state)));
  }
  c.updated_at = env_.Now();
  if (auto updated = store.UpdateCountermeasure(c); !updated) return updated;
  model::AuditEntry entry;
  entry.at = c.updated_at;
  entry.actor = actor;
  entry.incident_id = c.incident_id;
  entry.action = action;
  entry.from_state = StateName(from);
  entry.to_state = StateName(c.state);
  entry.reason = reason.empty() ? Describe(c) : Describe(c) + ": " + reason;
  auto appended = store.AppendAudit(entry, incident::AuditHash);
  if (!appended) return tl::unexpected(appended.error());
  if (hook_) return hook_(store, c, from);
  return {};
}

Result<Countermeasure> Countermeasures::Step(
    int64_t id, const std::string& actor, const std::string& reason,
    const std::function<Result<void>(Countermeasure&)>& change) {
  Countermeasure out;
  auto written = write_([&](store::Store& store) -> Result<void> {
    auto found = store.GetCountermeasure(id);
    if (!found) return tl::unexpected(found.error());
    if (!*found) return Fail(fmt::format("no countermeasure {}", id));
    out = std::move(**found);
    S from = out.state;
    if (auto changed = change(out); !changed) return changed;
    return Record(store, out, from, actor, std::string("countermeasure.") + StateName(out.state),
                  reason);
  });
  if (!written) return tl::unexpected(written.error());
  return out;
}

Result<Countermeasure> Countermeasures::Propose(const ProposeRequest& request,
                                                const std::string& actor) {
  std::lock_guard lock(mutex_);
  Countermeasure c;
  c.kind = request.kind;
  c.state = S::kProposed;
  c.enforcer = request.enforcer.empty() ? settings_.default_enforcer : request.enforcer;
  c.ports = request.ports;
  c.rate_pps = request.rate_pps;
  c.proposed_by = actor;
  c.reason = request.reason;
  c.automatic = actor == kPolicyActor;
  c.created_at = env_.Now();
  if (request.expires_in) c.expires_at = c.created_at + *request.expires_in;
  auto enforcer = EnforcerOf(c);
  if (!enforcer) return tl::unexpected(enforcer.error());
  if (!(*enforcer)->Supports(c.kind)) {
    return Fail(fmt::format("enforcer {} cannot {}", c.enforcer, KindName(c.kind)));
  }
  if (c.kind == CountermeasureKind::kEgressBlock && c.ports.empty()) {
    return Fail("egress_block needs the ports to block (tcp/25, udp/53, ...)");
  }
  if (c.kind == CountermeasureKind::kRateLimit && c.rate_pps <= 0) {
    return Fail("rate_limit needs a rate in packets per second");
  }
  auto written = write_([&](store::Store& store) -> Result<void> {
    c.system_id = request.system_id;
    if (request.incident_id) {
      auto incident = store.GetIncident(request.incident_id);
      if (!incident) return tl::unexpected(incident.error());
      if (!*incident) return Fail(fmt::format("no incident {}", request.incident_id));
      if ((*incident)->system_id.empty()) {
        return Fail(fmt::format("incident {} is about no system", request.incident_id));
      }
      c.incident_id = request.incident_id;
      c.system_id = (*incident)->system_id;
      c.customer_id = (*incident)->customer_id;
    }
    auto system = index_()->OfSystem(c.system_id);
    if (!system || !system->system) return Fail(fmt::format("no system '{}'", c.system_id));
    if (system->customer) c.customer_id = system->customer->id;
    auto id = store.CreateCountermeasure(c);
    if (!id) return tl::unexpected(id.error());
    c.id = *id;
    return Record(store, c, S::kProposed, actor, "countermeasure.proposed", request.reason);
  });
  if (!written) return tl::unexpected(written.error());
  return c;
}

Result<Countermeasure> Countermeasures::Approve(int64_t id, const std::string& actor,
                                                const std::string& reason) {
  std::lock_guard lock(mutex_);
  return Step(id, actor, reason, [&](Countermeasure& c) -> Result<void> {
    if (c.state != S::kProposed) {
      return Fail(fmt::format("countermeasure {} is {}: only a proposed one can be approved", id,
                              StateName(c.state)));
    }
    if (settings_.two_person_rule && actor == c.proposed_by && actor != kPolicyActor) {
      return Fail(
          fmt::format("two-person rule: countermeasure {} was proposed by {}; someone "
                      "else must approve it",
                      id, actor));
    }
    c.approved_by.push_back(actor);
    c.state = S::kApproved;
    return {};
  });
}

Result<Countermeasure> Countermeasures::Reject(int64_t id, const std::string& actor,
                                               const std::string& reason) {
  std::lock_guard lock(mutex_);
  return Step(id, actor, reason, [&](Countermeasure& c) -> Result<void> {
    if (c.state != S::kProposed) {
      return Fail(fmt::format("countermeasure {} is {}: only a proposed one can be rejected", id,
                              StateName(c.state)));
    }
    c.state = S::kRejected;
    return {};
  });
}

Result<std::vector<Enforcement>> Countermeasures::Kept(const std::string& enforcer,
                                                       int64_t except) {
  std::vector<Enforcement> kept;
  auto read = write_([&](store::Store& store) -> Result<void> {
    store::CountermeasureFilter filter;
    filter.may_be_in_place = true;
    filter.limit = 1000;
    while (true) {
      auto page = store.ListCountermeasures(filter);
      if (!page) return tl::unexpected(page.error());
      for (auto& c : *page) {
        if (c.id == except || c.enforcer != enforcer) continue;
        if (c.state != S::kActive && c.state != S::kDrifted) continue;
        Target target = ParseTarget(c.targets);
        kept.push_back(Enforcement{std::move(c), std::move(target)});
      }
      if (page->size() < filter.limit) return {};
      filter.after_id = page->back().id;
    }
  });
  if (!read) return tl::unexpected(read.error());
  return kept;
}

Result<Countermeasure> Countermeasures::Apply(int64_t id, const std::string& actor,
                                              const std::string& reason) {
  std::lock_guard lock(mutex_);
  return ApplyLocked(id, actor, reason);
}

Result<Countermeasure> Countermeasures::ApplyLocked(int64_t id, const std::string& actor,
                                                    const std::string& reason) {
  if (!settings_.enabled) {
    return Fail(
        "countermeasures are switched off (countermeasures.enabled: false): nothing is "
        "applied");
  }
  TimeNs now = env_.Now();
  Target target;
  Countermeasure c;
  bool dry = settings_.dry_run;
  auto begun = write_([&](store::Store& store) -> Result<void> {
    auto found = store.GetCountermeasure(id);
    if (!found) return tl::unexpected(found.error());
    if (!*found) return Fail(fmt::format("no countermeasure {}", id));
    c = std::move(**found);
    if (!TransitionAllowed(c.state, S::kActive) && c.pending != "apply") {
      return Fail(fmt::format("countermeasure {} is {}: it must be approved first", id,
                              StateName(c.state)));
    }
    target = TargetOf(*index_(), c.system_id, now);
    if (dry) {
      return Record(store, c, c.state, actor, "countermeasure.dry_run",
                    "dry run, nothing applied: " + EffectOf(c, target));
    }
    c.pending = "apply";
    c.targets = TargetJson(target);
    return Record(store, c, c.state, actor, "countermeasure.applying", reason);
  });
  if (!begun) return tl::unexpected(begun.error());
  if (dry) return c;
  auto enforcer = EnforcerOf(c);
  Result<std::vector<std::string>> applied = Fail("");
  std::vector<Enforcement> kept;
  // What is there before anything changes, stored before the enforcer changes it.
  Result<std::string> recorded =
      enforcer ? (*enforcer)->Record(Enforcement{c, target}) : Result<std::string>(std::string());
  if (recorded && !recorded->empty() && *recorded != c.recorded) {
    auto stored = write_([&](store::Store& store) -> Result<void> {
      c.recorded = *recorded;
      c.updated_at = env_.Now();
      return store.UpdateCountermeasure(c);
    });
    if (!stored) recorded = tl::unexpected(stored.error());
  }
  if (!enforcer) {
    applied = tl::unexpected(enforcer.error());
  } else if (!recorded) {
    applied = tl::unexpected(Error{"recording what is there: " + recorded.error().message, ""});
  } else if (auto others = Kept(c.enforcer, c.id); !others) {
    applied = tl::unexpected(others.error());
  } else {
    kept = std::move(*others);
    Enforcement one{c, target};
    applied = (*enforcer)->Apply(std::span(&one, 1), kept, now);
    if (!applied) {
      // Whatever part was put in place is taken away again, so that nothing is half cut.
      auto rolled = (*enforcer)->Lift(std::span(&one, 1), kept, now);
      applied.error().message += rolled ? "; rolled back"
                                        : "; rolling back failed too (" + rolled.error().message +
                                              "): the system may be partly cut";
    }
  }
  auto finished = write_([&](store::Store& store) -> Result<void> {
    S from = c.state;
    c.pending.clear();
    if (applied) {
      c.state = S::kActive;
      c.applied_at = now;
      if (!applied->empty() && !applied->front().empty()) c.recorded = applied->front();
      c.last_error.clear();
      return Record(store, c, from, actor, "countermeasure.active", reason);
    }
    c.state = S::kFailed;
    c.last_error = applied.error().message;
    return Record(store, c, from, actor, "countermeasure.failed", c.last_error);
  });
  if (!finished) return tl::unexpected(finished.error());
  return c;
}

Result<Countermeasure> Countermeasures::Lift(int64_t id, const std::string& actor,
                                             const std::string& reason) {
  std::lock_guard lock(mutex_);
  return LiftLocked(id, actor, reason);
}

Result<Countermeasure> Countermeasures::LiftLocked(int64_t id, const std::string& actor,
                                                   const std::string& reason) {
  TimeNs now = env_.Now();
  Countermeasure c;
  bool withdrawn = false;
  bool dry = false;
  auto begun = write_([&](store::Store& store) -> Result<void> {
    auto found = store.GetCountermeasure(id);
    if (!found) return tl::unexpected(found.error());
    if (!*found) return Fail(fmt::format("no countermeasure {}", id));
    c = std::move(**found);
    S from = c.state;
    if (c.state == S::kApproved && c.pending.empty()) {
      withdrawn = true;
      c.state = S::kRemoved;
      c.lifted_at = now;
      return Record(store, c, from, actor, "countermeasure.withdrawn", reason);
    }
    // An apply interrupted by a crash may have put part of it in place.
    bool interrupted = c.state == S::kApproved && c.pending == "apply";
    if (!model::MayBeInPlace(c.state) && !interrupted) {
      return Fail(fmt::format("countermeasure {} is {}: nothing to lift", id, StateName(c.state)));
    }
    if (settings_.dry_run) {
      dry = true;
      return Record(store, c, from, actor, "countermeasure.dry_run",
                    "dry run, nothing lifted: " + reason);
    }
    c.state = S::kPendingRemoval;
    c.pending = "lift";
    return Record(store, c, from, actor, "countermeasure.pending_removal", reason);
  });
  if (!begun) return tl::unexpected(begun.error());
  if (withdrawn || dry) return c;
  Result<void> lifted;
  {
    auto enforcer = EnforcerOf(c);
    if (!enforcer) {
      lifted = tl::unexpected(enforcer.error());
    } else if (auto kept = Kept(c.enforcer, c.id); !kept) {
      lifted = tl::unexpected(kept.error());
    } else {
      Enforcement one{c, ParseTarget(c.targets)};
      lifted = (*enforcer)->Lift(std::span(&one, 1), *kept, now);
    }
  }
  auto finished = write_([&](store::Store& store) -> Result<void> {
    S from = c.state;
    if (!lifted) {
      c.last_error = lifted.error().message;
      return Record(store, c, from, actor, "countermeasure.lift_failed", c.last_error);
    }
    c.pending.clear();
    c.state = S::kRemoved;
    c.lifted_at = now;
    c.last_error.clear();
    return Record(store, c, from, actor, "countermeasure.removed", reason);
  });
  if (!finished) return tl::unexpected(finished.error());
  return c;
}

Result<Preview> Countermeasures::PreviewOf(int64_t id) {
  std::lock_guard lock(mutex_);
  Preview preview;
  auto read = write_([&](store::Store& store) -> Result<void> {
    auto found = store.GetCountermeasure(id);
    if (!found) return tl::unexpected(found.error());
    if (!*found) return Fail(fmt::format("no countermeasure {}", id));
    preview.countermeasure = std::move(**found);
    return {};
  });
  if (!read) return tl::unexpected(read.error());
  const auto& c = preview.countermeasure;
  auto index = index_();
  auto system = index->OfSystem(c.system_id);
  if (!system || !system->system) return Fail(fmt::format("no system '{}'", c.system_id));
  preview.system_name = system->system->name;
  preview.customer_id = system->customer ? system->customer->id : "";
  preview.protected_system = system->system->protected_system;
  preview.target = TargetOf(*index, c.system_id, env_.Now());
  if (c.kind == CountermeasureKind::kQuarantine) {
    for (const auto& prefix : settings_.forensics) preview.still_reach.push_back(prefix.ToString());
  }
  preview.effect = EffectOf(c, preview.target);
  return preview;
}

Result<std::vector<Countermeasure>> Countermeasures::Automatic(const model::Incident& incident,
                                                               const std::string& event) {
  std::lock_guard lock(mutex_);
  std::vector<Countermeasure> made;
  for (const auto& rule : settings_.automatic) {
    if (rule.on != event || incident.severity < rule.min_severity ||
        !KindMatches(rule.incident_kinds, incident.kind) || incident.system_id.empty()) {
      continue;
    }
    // One of this kind for the incident already (in any state but removed or rejected)?
    std::string skip;
    bool exists = false;
    auto checked = write_([&](store::Store& store) -> Result<void> {
      store::CountermeasureFilter filter;
      filter.incident_id = incident.id;
      filter.limit = 1000;
      auto existing = store.ListCountermeasures(filter);
      if (!existing) return tl::unexpected(existing.error());
      exists = std::any_of(existing->begin(), existing->end(), [&](const Countermeasure& c) {
        return c.kind == rule.kind && c.state != S::kRemoved && c.state != S::kRejected;
      });
      if (exists) return {};
      auto system = index_()->OfSystem(incident.system_id);
      auto count = store.CountAutomaticSince(env_.Now() - 3600 * kNsPerSecond);
      if (!count) return tl::unexpected(count.error());
      if (system && system->system && system->system->protected_system) {
        skip = fmt::format("system {} is protected: no automatic {}", incident.system_id,
                           KindName(rule.kind));
      } else if (!settings_.enabled) {
        skip =
            fmt::format("countermeasures are switched off: no automatic {}", KindName(rule.kind));
      } else if (*count >= settings_.max_automatic_per_hour) {
        skip = fmt::format(
            "{} automatic countermeasures in the last hour (the limit): no "
            "automatic {} of {}",
            *count, KindName(rule.kind), incident.system_id);
      }
      if (skip.empty()) return {};
      // Said once per incident: the policy looks again at every event.
      auto said = store.CountAudit(incident.id, "countermeasure.skipped");
      if (!said) return tl::unexpected(said.error());
      if (*said > 0) return {};
      model::AuditEntry entry;
      entry.at = env_.Now();
      entry.actor = kPolicyActor;
      entry.incident_id = incident.id;
      entry.action = "countermeasure.skipped";
      entry.reason = skip;
      auto appended = store.AppendAudit(entry, incident::AuditHash);
      if (!appended) return tl::unexpected(appended.error());
      return {};
    });
    if (!checked) return tl::unexpected(checked.error());
    if (exists || !skip.empty()) continue;
    ProposeRequest request;
    request.incident_id = incident.id;
    request.kind = rule.kind;
    request.ports = rule.ports;
    request.rate_pps = rule.rate_pps;
    request.expires_in = settings_.automatic_expiry;
    request.reason = fmt::format("policy: {} incident {} ({}) {}", SeverityName(incident.severity),
                                 incident.id, incident.kind, event);
    auto proposed = Propose(request, kPolicyActor);
    if (!proposed) return tl::unexpected(proposed.error());
    auto approved = Approve(proposed->id, kPolicyActor, "without prior consultation");
    if (!approved) return tl::unexpected(approved.error());
    auto applied = ApplyLocked(proposed->id, kPolicyActor, "without prior consultation");
    if (!applied) return tl::unexpected(applied.error());
    made.push_back(std::move(*applied));
  }
  return made;
}

Result<ReconcileReport> Countermeasures::Reconcile() {
  std::lock_guard lock(mutex_);
  ReconcileReport report;
  TimeNs now = env_.Now();
  std::vector<Countermeasure> all;
  auto read = write_([&](store::Store& store) -> Result<void> {
    store::CountermeasureFilter filter;
    filter.limit = 1000;
    while (true) {
      auto page = store.ListCountermeasures(filter);
      if (!page) return tl::unexpected(page.error());
      for (auto& c : *page) {
        if (model::MayBeInPlace(c.state) || !c.pending.empty()) all.push_back(std::move(c));
      }
      if (page->size() < filter.limit) return {};
      filter.after_id = page->back().id;
    }
  });
  if (!read) return tl::unexpected(read.error());
  report.checked = all.size();
  auto problem = [&](const Countermeasure& c, const std::string& what) {
    report.problems.push_back(fmt::format("{}: {}", Describe(c), what));
  };
  // 1. What was in flight when the process stopped; 2. what expired.
  std::vector<Countermeasure> steady;
  for (const auto& c : all) {
    // Counts a step that reached `done` in `counter`; anything else is a problem.
    auto settle = [&](const Result<Countermeasure>& stepped, S done, size_t& counter) {
      if (stepped && stepped->state == done) {
        ++counter;
      } else {
        problem(c, stepped ? stepped->last_error : stepped.error().message);
      }
    };
    if (c.pending == "apply" && !settings_.enabled) {
      // The kill switch is on: what an interrupted apply may have put in place is taken away.
      settle(LiftLocked(c.id, kSystemActor, "an interrupted apply, rolled back (switched off)"),
             S::kRemoved, report.resumed);
    } else if (c.pending == "apply") {
      settle(ApplyLocked(c.id, kSystemActor, "resumed after a restart"), S::kActive,
             report.resumed);
    } else if (c.pending == "lift" || c.state == S::kPendingRemoval) {
      settle(LiftLocked(c.id, kSystemActor, "resumed after a restart"), S::kRemoved,
             report.resumed);
    } else if ((c.state == S::kActive || c.state == S::kDrifted || c.state == S::kFailed) &&
               c.expires_at && *c.expires_at <= now) {
      settle(LiftLocked(c.id, kSystemActor, "expired"), S::kRemoved, report.expired);
    } else if (c.state == S::kActive || c.state == S::kDrifted) {
      steady.push_back(c);
    }
  }
  // 3. Drift, per enforcer: observed against what should be, on the system's ports of now.
  std::map<std::string, std::vector<Enforcement>> by_enforcer;
  auto index = index_();
  for (auto& c : steady) {
    Target stored = ParseTarget(c.targets);
    Target current = TargetOf(*index, c.system_id, now);
    if (current.ports.empty()) current = stored;  // the system left the inventory: keep it cut
    by_enforcer[c.enforcer].push_back(Enforcement{std::move(c), std::move(current)});
  }
  for (auto& [name, enforcements] : by_enforcer) {
    Enforcer* enforcer = enforcers_.count(name) ? enforcers_.at(name) : nullptr;
    if (!enforcer) {
      for (const auto& e : enforcements) problem(e.countermeasure, "enforcer not configured");
      continue;
    }
    auto observed = enforcer->Observe(enforcements);
    if (!observed) {
      report.problems.push_back(fmt::format("{}: {}", name, observed.error().message));
      continue;
    }
    std::vector<Enforcement> drifted, fine;
    std::vector<std::string> details;
    for (size_t i = 0; i < enforcements.size(); ++i) {
      auto& e = enforcements[i];
      Target stored = ParseTarget(e.countermeasure.targets);
      std::string detail = (*observed)[i].detail;
      if (Sorted(stored.ports) != Sorted(e.target.ports)) {
        std::string was, now_ports;
        for (const auto& p : stored.ports) was += " " + p;
        for (const auto& p : e.target.ports) now_ports += " " + p;
        detail += fmt::format("{}ports changed: was{}, now{}", detail.empty() ? "" : "; ", was,
                              now_ports);
      }
      if (detail.empty() && e.countermeasure.state == S::kActive) {
        fine.push_back(std::move(e));
        continue;
      }
      ++report.drifted;
      if (detail.empty()) detail = "in place again";
      if (e.countermeasure.state == S::kActive) {
        auto stepped =
            Step(e.countermeasure.id, kSystemActor, detail, [](Countermeasure& c) -> Result<void> {
              c.state = S::kDrifted;
              return {};
            });
        if (!stepped) return tl::unexpected(stepped.error());
        e.countermeasure = *stepped;
      }
      drifted.push_back(std::move(e));
      details.push_back(std::move(detail));
    }
    if (drifted.empty()) continue;
    if (!settings_.repair_drift || settings_.dry_run || !settings_.enabled) {
      for (size_t i = 0; i < drifted.size(); ++i) problem(drifted[i].countermeasure, details[i]);
      continue;
    }
    // What stays beside the repaired ones is read again: the steps above may have applied some.
    std::set<int64_t> repairing;
    for (const auto& e : drifted) repairing.insert(e.countermeasure.id);
    std::vector<Enforcement> others;
    if (auto kept = Kept(name, 0); kept) {
      for (auto& e : *kept) {
        if (!repairing.count(e.countermeasure.id)) others.push_back(std::move(e));
      }
    } else {
      others = std::move(fine);
    }
    auto repaired = enforcer->Apply(drifted, others, now);
    for (size_t i = 0; i < drifted.size(); ++i) {
      auto& e = drifted[i];
      if (!repaired) {
        problem(e.countermeasure, details[i] + "; repair failed: " + repaired.error().message);
        continue;
      }
      std::string targets = TargetJson(e.target);
      const std::string& recorded = (*repaired)[i];
      auto stepped = Step(e.countermeasure.id, kSystemActor, "repaired: " + details[i],
                          [&](Countermeasure& c) -> Result<void> {
                            c.state = S::kActive;
                            c.targets = targets;
                            if (!recorded.empty()) c.recorded = recorded;
                            c.last_error.clear();
                            return {};
                          });
      if (!stepped) return tl::unexpected(stepped.error());
      ++report.repaired;
    }
  }
  return report;
}

}  // namespace bulwark::countermeasure
