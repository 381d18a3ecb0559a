// bulwark incidents list | show | transition | tick, bulwark audit verify

#include <fmt/format.h>

#include "bulwark/core/json_writer.h"
#include "bulwark/incident/audit.h"
#include "bulwark/incident/incidents.h"
#include "bulwark/incident/json.h"
#include "bulwark/spine/spine.h"
#include "commands.h"

namespace bulwark::cli {

namespace {

// Runs `body` on a read-only connection of the spine of `options`.
Outcome ReadWith(const StoreOptions& options,
                 const std::function<Result<void>(store::Store&)>& body) {
  auto spine = OpenSpine(options, {});
  if (!spine) return tl::unexpected(spine.error());
  if (auto read = (*spine)->Read(body); !read) return RuntimeError(read.error());
  return kExitOk;
}

std::string IncidentLine(const model::Incident& incident) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  incident::WriteIncident(json, incident);
  json.EndObject();
  return out;
}

}  // namespace

Outcome RunIncidentsList(const IncidentsListOptions& options) {
  store::IncidentFilter filter;
  if (!options.state.empty()) {
    filter.state = model::ParseState(options.state);
    if (!filter.state) return UsageError(fmt::format("--state: unknown state '{}'", options.state));
  }
  filter.customer_id = options.customer;
  filter.after_id = options.after;
  filter.limit = options.limit;
  return ReadWith(options.store, [&](store::Store& store) -> Result<void> {
    auto incidents = store.ListIncidents(filter);
    if (!incidents) return tl::unexpected(incidents.error());
    std::string out;
    for (const auto& incident : *incidents) out += IncidentLine(incident) + "\n";
    fmt::print("{}", out);
    return {};
  });
}

Handler SetupIncidentsList(CLI::App& command) {
  auto o = std::make_shared<IncidentsListOptions>();
  AddStoreOptions(command, o->store);
  command.add_option("--state", o->state, "Only in this state (new, notified, awaiting_fix, ...)");
  command.add_option("--customer", o->customer, "Only of this customer id");
  command.add_option("--after", o->after, "Paging: incidents with a larger id")->type_name("ID");
  command.add_option("--limit", o->limit, "At most this many")->capture_default_str();
  return [o] { return RunIncidentsList(*o); };
}

namespace {
struct ShowOptions {
  StoreOptions store;
  int64_t incident = 0;
};
}  // namespace

Handler SetupIncidentsShow(CLI::App& command) {
  auto o = std::make_shared<ShowOptions>();
  AddStoreOptions(command, o->store);
  command.add_option("id", o->incident, "Incident id")->required();
  return [o] {
    return ReadWith(o->store, [&](store::Store& store) -> Result<void> {
      auto incident = store.GetIncident(o->incident);
      if (!incident) return tl::unexpected(incident.error());
      if (!*incident) return Fail(fmt::format("no incident {}", o->incident));
      auto findings = store.FindingsOfIncident(o->incident);
      if (!findings) return tl::unexpected(findings.error());
      auto history = store.ReadAudit(o->incident);
      if (!history) return tl::unexpected(history.error());
      std::string out;
      JsonWriter json(out);
      incident::WriteIncidentDetail(json, **incident, *findings, *history);
      fmt::print("{}\n", out);
      return {};
    });
  };
}

namespace {
struct TransitionOptions {
  StoreOptions store;
  SpineOverrides overrides;
  int64_t incident = 0;
  std::string to;
  std::string reason;
  std::string actor;
};
}  // namespace

Handler SetupIncidentsTransition(CLI::App& command) {
  auto o = std::make_shared<TransitionOptions>();
  AddStoreOptions(command, o->store);
  AddPolicyOptions(command, o->overrides);
  command.add_option("id", o->incident, "Incident id")->required();
  command.add_option("state", o->to, "New state")->required();
  command.add_option("--reason", o->reason, "Why (recorded in the audit log)")->required();
  command.add_option("--actor", o->actor, "Who (recorded in the audit log)")->required();
  return [o]() -> Outcome {
    auto to = model::ParseState(o->to);
    if (!to) return UsageError(fmt::format("unknown state '{}'", o->to));
    auto spine = OpenSpine(o->store, o->overrides);
    if (!spine) return tl::unexpected(spine.error());
    std::optional<model::Incident> moved;
    auto done = (*spine)->Write([&](spine::Spine::Writer& w) -> Result<void> {
      auto result = w.incidents.Transition(o->incident, *to, o->actor, o->reason);
      if (!result) return tl::unexpected(result.error());
      moved = std::move(*result);
      return {};
    });
    if (!done) return RuntimeError(done.error());
    fmt::print("{}\n", IncidentLine(*moved));
    return kExitOk;
  };
}

namespace {
struct TickOptions {
  StoreOptions store;
  SpineOverrides overrides;
};
}  // namespace

Handler SetupIncidentsTick(CLI::App& command) {
  auto o = std::make_shared<TickOptions>();
  AddStoreOptions(command, o->store);
  AddPolicyOptions(command, o->overrides);
  return [o]() -> Outcome {
    auto spine = OpenSpine(o->store, o->overrides);
    if (!spine) return tl::unexpected(spine.error());
    auto round = (*spine)->AdvanceDeadlines();
    if (!round) return RuntimeError(round.error());
    fmt::print("deadlines passed: {}; reminders queued: {}\n", round->deadlines_passed,
               round->reminders_queued);
    return kExitOk;
  };
}

Handler SetupAuditVerify(CLI::App& command) {
  auto o = std::make_shared<StoreOptions>();
  AddStoreOptions(command, *o);
  return [o]() -> Outcome {
    bool intact = true;
    auto read = ReadWith(*o, [&](store::Store& store) -> Result<void> {
      auto entries = store.ReadAudit(0);
      if (!entries) return tl::unexpected(entries.error());
      auto verdict = incident::VerifyAudit(*entries);
      if (!verdict.ok) {
        fmt::print("audit log BROKEN at entry {}: {}\n", verdict.broken_at, verdict.reason);
        intact = false;
        return {};
      }
      fmt::print("audit log intact: {} entries, head {}\n", verdict.entries,
                 verdict.head.empty() ? "(empty)" : verdict.head);
      return {};
    });
    if (!read) return read;
    return intact ? kExitOk : kExitFindings;
  };
}

}  // namespace bulwark::cli
