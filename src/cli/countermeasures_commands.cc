// bulwark countermeasures propose | approve | reject | apply | lift | list | show | preview |
// reconcile

#include <fmt/format.h>

#include <filesystem>

#include "bulwark/core/json_writer.h"
#include "bulwark/countermeasure/countermeasures.h"
#include "bulwark/forensics/flow_archive.h"
#include "bulwark/spine/spine.h"
#include "commands.h"

namespace bulwark::cli {

namespace {

using countermeasure::Countermeasures;

// Options every countermeasure command has: the store, and who acts.
struct ActorOptions {
  StoreOptions store;
  std::string actor;
  std::string reason;
};

void AddActorOptions(CLI::App& command, ActorOptions& options, bool reason_required) {
  AddStoreOptions(command, options.store);
  command.add_option("--actor", options.actor, "Who (recorded in the audit log)")->required();
  auto* reason = command.add_option("--reason", options.reason, "Why (recorded in the audit log)");
  if (reason_required) reason->required();
}

// Runs `body` with the controller of the configuration's spine.
Outcome WithController(const StoreOptions& store,
                       const std::function<Outcome(Countermeasures&, spine::Spine&)>& body) {
  auto spine = OpenSpine(store, {});
  if (!spine) return tl::unexpected(spine.error());
  auto controller = (*spine)->Countermeasures();
  if (!controller) return RuntimeError(controller.error());
  return body(**controller, **spine);
}

// Prints the countermeasure; a failed one (or one whose lift failed) exits 1 with its reason.
Outcome Print(const Result<model::Countermeasure>& c) {
  if (!c) return RuntimeError(c.error());
  fmt::print("{}\n", countermeasure::CountermeasureJson(*c));
  if (c->state == model::CountermeasureState::kFailed ||
      (c->state == model::CountermeasureState::kPendingRemoval && !c->last_error.empty())) {
    return RuntimeError(fmt::format("countermeasure {}: {}", c->id, c->last_error));
  }
  return kExitOk;
}

struct ProposeOptions {
  ActorOptions who;
  int64_t incident = 0;
  std::string system;
  std::string kind = "quarantine";
  std::vector<std::string> ports;
  int64_t rate = 0;
  std::string expires;
  std::string enforcer;
  bool approve = false;
  bool apply = false;
};

using StepMethod = Result<model::Countermeasure> (Countermeasures::*)(int64_t, const std::string&,
                                                                      const std::string&);

// approve, reject, apply and lift: one countermeasure id and a step.
Handler SetupStep(CLI::App& command, StepMethod step, bool reason_required) {
  struct Options {
    ActorOptions who;
    int64_t id = 0;
  };
  auto o = std::make_shared<Options>();
  AddActorOptions(command, o->who, reason_required);
  command.add_option("id", o->id, "Countermeasure id")->required();
  return [o, step]() -> Outcome {
    return WithController(o->who.store, [&](Countermeasures& cms, spine::Spine&) {
      if (cms.settings().dry_run) {
        fmt::print(stderr, "dry run (countermeasures.dry_run): no enforcer is called\n");
      }
      return Print((cms.*step)(o->id, o->who.actor, o->who.reason));
    });
  };
}

}  // namespace

Handler SetupCountermeasuresPropose(CLI::App& command) {
  auto o = std::make_shared<ProposeOptions>();
  AddActorOptions(command, o->who, true);
  auto* incident = command.add_option("--incident", o->incident, "The incident it answers");
  auto* system = command.add_option("--system", o->system, "A system (without an incident)");
  incident->excludes(system);
  command
      .add_option("--kind", o->kind,
                  "quarantine, egress_block, rate_limit, detach_public_ip, stop, deallocate, "
                  "rescue")
      ->capture_default_str();
  command.add_option("--port", o->ports, "egress_block: tcp/25, udp/53 (repeatable)");
  command.add_option("--rate", o->rate, "rate_limit: packets per second");
  command.add_option("--expires", o->expires, "Lifted by itself this long after the proposal (2h)");
  command.add_option("--enforcer", o->enforcer, "nftables or stackit (default: the configured)");
  command.add_flag("--approve", o->approve, "Approve it at once (as --actor)");
  command.add_flag("--apply", o->apply, "Approve and apply it at once (as --actor)");
  return [o]() -> Outcome {
    if (o->incident == 0 && o->system.empty()) return UsageError("give --incident or --system");
    countermeasure::ProposeRequest request;
    request.incident_id = o->incident;
    request.system_id = o->system;
    auto kind = model::ParseKind(o->kind);
    if (!kind) return UsageError(fmt::format("--kind: unknown kind '{}'", o->kind));
    request.kind = *kind;
    request.ports = o->ports;
    request.rate_pps = o->rate;
    if (!o->expires.empty()) {
      request.expires_in = ParseTimespan(o->expires);
      if (!request.expires_in) return UsageError("--expires: expected a duration such as 2h");
    }
    request.enforcer = o->enforcer;
    request.reason = o->who.reason;
    return WithController(o->who.store, [&](Countermeasures& cms, spine::Spine&) -> Outcome {
      auto c = cms.Propose(request, o->who.actor);
      if (c && (o->approve || o->apply)) c = cms.Approve(c->id, o->who.actor, o->who.reason);
      if (c && o->apply) c = cms.Apply(c->id, o->who.actor, o->who.reason);
      return Print(c);
    });
  };
}

Handler SetupCountermeasuresApprove(CLI::App& command) {
  return SetupStep(command, &Countermeasures::Approve, false);
}
Handler SetupCountermeasuresReject(CLI::App& command) {
  return SetupStep(command, &Countermeasures::Reject, true);
}
Handler SetupCountermeasuresApply(CLI::App& command) {
  return SetupStep(command, &Countermeasures::Apply, false);
}
Handler SetupCountermeasuresLift(CLI::App& command) {
  return SetupStep(command, &Countermeasures::Lift, true);
}

Handler SetupCountermeasuresList(CLI::App& command) {
  struct Options {
    StoreOptions store;
    std::string state;
    std::string system;
    std::string customer;
    int64_t incident = 0;
    int64_t after = 0;
    size_t limit = 100;
  };
  auto o = std::make_shared<Options>();
  AddStoreOptions(command, o->store);
  command.add_option("--state", o->state, "Only in this state (proposed, active, ...)");
  command.add_option("--system", o->system, "Only of this system");
  command.add_option("--customer", o->customer, "Only of this customer");
  command.add_option("--incident", o->incident, "Only of this incident");
  command.add_option("--after", o->after, "Paging: countermeasures with a larger id");
  command.add_option("--limit", o->limit, "At most this many")->capture_default_str();
  return [o]() -> Outcome {
    store::CountermeasureFilter filter;
    if (!o->state.empty()) {
      filter.state = model::ParseCountermeasureState(o->state);
      if (!filter.state) return UsageError(fmt::format("--state: unknown state '{}'", o->state));
    }
    filter.system_id = o->system;
    filter.customer_id = o->customer;
    filter.incident_id = o->incident;
    filter.after_id = o->after;
    filter.limit = o->limit;
    auto spine = OpenSpine(o->store, {});
    if (!spine) return tl::unexpected(spine.error());
    auto read = (*spine)->Read([&](store::Store& store) -> Result<void> {
      auto listed = store.ListCountermeasures(filter);
      if (!listed) return tl::unexpected(listed.error());
      std::string out;
      for (const auto& c : *listed) out += countermeasure::CountermeasureJson(c) + "\n";
      fmt::print("{}", out);
      return {};
    });
    if (!read) return RuntimeError(read.error());
    return kExitOk;
  };
}

Handler SetupCountermeasuresShow(CLI::App& command) {
  struct Options {
    StoreOptions store;
    int64_t id = 0;
  };
  auto o = std::make_shared<Options>();
  AddStoreOptions(command, o->store);
  command.add_option("id", o->id, "Countermeasure id")->required();
  return [o]() -> Outcome {
    return WithController(o->store, [&](Countermeasures& cms, spine::Spine& spine) -> Outcome {
      auto preview = cms.PreviewOf(o->id);
      if (!preview) return RuntimeError(preview.error());
      std::string out;
      JsonWriter json(out);
      json.BeginObject();
      json.Key("countermeasure");
      json.Raw(countermeasure::CountermeasureJson(preview->countermeasure));
      json.Key("preview");
      json.BeginObject();
      json.Member("system_name", preview->system_name);
      json.Member("protected", preview->protected_system);
      json.Key("target");
      json.Raw(countermeasure::TargetJson(preview->target));
      json.Key("still_reach");
      json.BeginArray();
      for (const auto& host : preview->still_reach) json.String(host);
      json.EndArray();
      json.Member("effect", preview->effect);
      // Who talked with the system in the last hour (the flow archive): they lose it.
      auto config = spine.config();
      std::vector<event::IpAddress> addresses;
      for (const auto& text : preview->target.addresses) {
        if (auto prefix = model::Prefix::Parse(text)) addresses.push_back(prefix->network);
      }
      TimeNs now = ProgramEnv().Now();
      forensics::FlowArchive archive((std::filesystem::path(config->data_dir) / "flows").string(),
                                     config->flow_retention);
      auto peers = archive.Peers(addresses, now - 3600 * kNsPerSecond, now, 20);
      json.Key("peers_last_hour");
      json.BeginArray();
      for (const auto& peer : peers ? *peers : std::vector<forensics::FlowArchive::Peer>{}) {
        json.BeginObject();
        json.Member("address", peer.address);
        json.Member("flows", static_cast<int64_t>(peer.flows));
        json.EndObject();
      }
      json.EndArray();
      json.EndObject();
      json.EndObject();
      fmt::print("{}\n", out);
      return kExitOk;
    });
  };
}

Handler SetupCountermeasuresReconcile(CLI::App& command) {
  auto o = std::make_shared<StoreOptions>();
  AddStoreOptions(command, *o);
  return [o]() -> Outcome {
    return WithController(*o, [&](Countermeasures& cms, spine::Spine&) -> Outcome {
      auto report = cms.Reconcile();
      if (!report) return RuntimeError(report.error());
      fmt::print(
          "{{\"checked\":{},\"resumed\":{},\"expired\":{},\"drifted\":{},\"repaired\":{},"
          "\"problems\":{}}}\n",
          report->checked, report->resumed, report->expired, report->drifted, report->repaired,
          report->problems.size());
      for (const auto& problem : report->problems) fmt::print(stderr, "{}\n", problem);
      return report->problems.empty() ? kExitOk : kExitFindings;
    });
  };
}

}  // namespace bulwark::cli
