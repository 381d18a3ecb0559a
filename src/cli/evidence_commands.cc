// bulwark evidence collect | capture | add | list | custody | verify | hold | release | export

#include <fmt/format.h>

#include <filesystem>
#include <thread>

#include "bulwark/cloud/stackit_forensics.h"
#include "bulwark/countermeasure/countermeasures.h"
#include "bulwark/forensics/capture.h"
#include "bulwark/forensics/flow_archive.h"
#include "bulwark/forensics/timeline.h"
#include "bulwark/forensics/vault.h"
#include "bulwark/spine/spine.h"
#include "commands.h"

namespace bulwark::cli {

namespace {

using forensics::EvidenceItem;
using forensics::Vault;

struct VaultOptions {
  StoreOptions store;
  std::string actor;
};

void AddVaultOptions(CLI::App& command, VaultOptions& options, bool with_actor) {
  AddStoreOptions(command, options.store);
  if (with_actor) {
    command.add_option("--actor", options.actor, "Who (recorded in the chain of custody)")
        ->required();
  }
}

// Runs `body` with the vault of the configuration (and its spine, for what the store knows).
Outcome WithVault(const StoreOptions& options,
                  const std::function<Outcome(Vault&, spine::Spine&)>& body) {
  auto spine = OpenSpine(options, {});
  if (!spine) return tl::unexpected(spine.error());
  auto config = (*spine)->config();
  std::string dir = config->evidence_dir.empty()
                        ? (std::filesystem::path(config->data_dir) / "evidence").string()
                        : config->evidence_dir;
  auto vault = Vault::Open(dir, ProgramEnv());
  if (!vault) return RuntimeError(vault.error());
  return body(**vault, **spine);
}

// The STACKIT settings of the configuration and the server and project of `system`.
Result<std::pair<cloud::StackitEnforcerSettings, countermeasure::Target>> CloudOf(
    spine::Spine& spine, const std::string& system) {
  auto settings = cloud::StackitEnforcerSettingsOf(*spine.config(), ProgramEnv());
  if (!settings) return tl::unexpected(settings.error());
  auto target = countermeasure::TargetOf(*spine.index(), system, ProgramEnv().Now());
  if (target.project_id.empty())
    return Fail(fmt::format("no system '{}' in the inventory", system));
  return std::make_pair(std::move(*settings), std::move(target));
}

// Stores what a cloud collector took, with who took it and how.
Result<EvidenceItem> StoreCloudEvidence(Vault& vault, const cloud::CloudEvidence& evidence,
                                        int64_t incident, const std::string& system,
                                        const std::string& actor, const std::string& clock_note) {
  EvidenceItem item;
  item.name = evidence.name;
  item.incident_id = incident;
  item.system_id = system;
  item.kind = evidence.kind;
  item.method = evidence.method;
  item.tool = "bulwark";
  item.tool_version = BULWARK_VERSION;
  item.acquired_by = actor;
  item.clock_note = clock_note;
  return vault.Add(evidence.content, item);
}

Outcome PrintItems(const std::vector<EvidenceItem>& items) {
  std::string out;
  for (const auto& item : items) out += forensics::ItemJson(item) + "\n";
  fmt::print("{}", out);
  return kExitOk;
}

}  // namespace

Handler SetupEvidenceCollect(CLI::App& command) {
  struct Options {
    VaultOptions vault;
    int64_t incident = 0;
    std::string from, until;
  };
  auto o = std::make_shared<Options>();
  AddVaultOptions(command, o->vault, true);
  command.add_option("--incident", o->incident, "The incident")->required();
  command.add_option("--from", o->from, "Only what happened from then (RFC 3339)");
  command.add_option("--until", o->until, "Only what happened until then (RFC 3339)");
  return [o]() -> Outcome {
    auto from = o->from.empty() ? std::optional<TimeNs>(0) : ParseTimestamp(o->from);
    auto until = o->until.empty() ? std::optional<TimeNs>(INT64_MAX) : ParseTimestamp(o->until);
    if (!from || !until) return UsageError("--from/--until: expected RFC 3339 times");
    return WithVault(o->vault.store, [&](Vault& vault, spine::Spine& spine) -> Outcome {
      std::vector<EvidenceItem> items;
      auto read = spine.Read([&](store::Store& store) -> Result<void> {
        auto collected =
            forensics::CollectIncident(store, vault, o->incident, o->vault.actor, *from, *until);
        if (!collected) return tl::unexpected(collected.error());
        items = std::move(*collected);
        return {};
      });
      if (!read) return RuntimeError(read.error());
      return PrintItems(items);
    });
  };
}

Handler SetupEvidenceCapture(CLI::App& command) {
  struct Options {
    VaultOptions vault;
    std::string system;
    int64_t incident = 0;
    std::string duration = "60s";
    std::string filter;
    uint64_t segment_mb = 64;
    int segments = 4;
  };
  auto o = std::make_shared<Options>();
  AddVaultOptions(command, o->vault, true);
  command.add_option("--system", o->system, "The system whose port is captured")->required();
  command.add_option("--incident", o->incident, "The incident the capture belongs to");
  command.add_option("--duration", o->duration, "How long (30s, 10m)")->capture_default_str();
  command.add_option("--filter", o->filter, "A BPF filter (pcap-filter(7))");
  command.add_option("--segment-mb", o->segment_mb, "Size of one file of the ring, MiB")
      ->capture_default_str();
  command.add_option("--segments", o->segments, "Files in the ring (the oldest goes)")
      ->capture_default_str();
  return [o]() -> Outcome {
    auto duration = ParseTimespan(o->duration);
    if (!duration) return UsageError("--duration: expected a duration such as 60s");
    return WithVault(o->vault.store, [&](Vault& vault, spine::Spine& spine) -> Outcome {
      auto config = spine.config();
      const auto& nft = config->countermeasures.nftables;
      auto target = countermeasure::TargetOf(*spine.index(), o->system, ProgramEnv().Now());
      if (target.ports.empty()) {
        return RuntimeError(fmt::format("system '{}' has no port in the inventory", o->system));
      }
      std::string dir = (std::filesystem::path(vault.dir()) / "incoming").string();
      std::vector<Result<forensics::CaptureResult>> results(target.ports.size(), Fail("not run"));
      std::vector<std::thread> threads;
      for (size_t i = 0; i < target.ports.size(); ++i) {
        forensics::CaptureSettings settings;
        settings.netns = nft.netns;
        auto named = nft.port_names.find(target.ports[i]);
        settings.interface = named == nft.port_names.end() ? target.ports[i] : named->second;
        settings.filter = o->filter;
        settings.dir = dir;
        settings.name = fmt::format("capture-{}-{}", o->system, settings.interface);
        settings.segment_bytes = o->segment_mb << 20;
        settings.segments = o->segments;
        settings.duration = *duration;
        threads.emplace_back(
            [&results, i, settings] { results[i] = forensics::Capture(settings); });
      }
      if (isatty(2)) fmt::print(stderr, "capturing for {} ...\n", o->duration);
      for (auto& thread : threads) thread.join();
      std::vector<EvidenceItem> items;
      for (size_t i = 0; i < results.size(); ++i) {
        if (!results[i]) return RuntimeError(results[i].error());
        for (const auto& file : results[i]->files) {
          EvidenceItem item;
          item.name = std::filesystem::path(file).filename().string();
          item.incident_id = o->incident;
          item.system_id = o->system;
          item.kind = "pcap";
          item.method = fmt::format("libpcap at the enforcement point, port {}{}", target.ports[i],
                                    o->filter.empty() ? "" : ", filter " + o->filter);
          item.tool = "bulwark";
          item.tool_version = std::string(BULWARK_VERSION) + "; " + forensics::PcapVersion();
          item.acquired_by = o->vault.actor;
          item.clock_note = "packet times from this host's clock";
          auto added = vault.AddFile(file, item);
          if (!added) return RuntimeError(added.error());
          std::filesystem::remove(file);
          items.push_back(*added);
        }
        if (results[i]->dropped_files > 0 || results[i]->kernel_dropped > 0) {
          fmt::print(stderr,
                     "port {}: {} older files left the ring, {} packets dropped by the kernel\n",
                     target.ports[i], results[i]->dropped_files, results[i]->kernel_dropped);
        }
      }
      return PrintItems(items);
    });
  };
}

Handler SetupEvidenceCloud(CLI::App& command) {
  struct Options {
    VaultOptions vault;
    std::string system;
    int64_t incident = 0;
    bool console = false;
    bool snapshot = false;
    int lines = 0;
  };
  auto o = std::make_shared<Options>();
  AddVaultOptions(command, o->vault, true);
  command.add_option("--system", o->system, "The server (its system id)")->required();
  command.add_option("--incident", o->incident, "The incident it belongs to");
  command.add_flag("--console", o->console, "The server's console log");
  command.add_option("--lines", o->lines, "Of the console log, the last this many (0: all)");
  command.add_flag("--snapshot", o->snapshot, "A snapshot of the boot volume (its record)");
  return [o]() -> Outcome {
    if (!o->console && !o->snapshot) return UsageError("give --console, --snapshot or both");
    return WithVault(o->vault.store, [&](Vault& vault, spine::Spine& spine) -> Outcome {
      auto cloud = CloudOf(spine, o->system);
      if (!cloud) return RuntimeError(cloud.error());
      auto& [settings, target] = *cloud;
      std::vector<Result<cloud::CloudEvidence>> taken;
      if (o->console) {
        taken.push_back(
            cloud::StackitConsoleLog(settings, target.project_id, target.server_id, o->lines));
      }
      if (o->snapshot) {
        std::string name = o->incident ? fmt::format("bulwark-incident-{}", o->incident)
                                       : fmt::format("bulwark-{}", o->system);
        taken.push_back(
            cloud::StackitSnapshot(settings, target.project_id, target.server_id, name));
      }
      std::vector<EvidenceItem> items;
      for (auto& evidence : taken) {
        if (!evidence) return RuntimeError(evidence.error());
        auto added = StoreCloudEvidence(vault, *evidence, o->incident, o->system, o->vault.actor,
                                        "times in the record are the cloud's (UTC)");
        if (!added) return RuntimeError(added.error());
        items.push_back(*added);
      }
      return PrintItems(items);
    });
  };
}

Handler SetupEvidenceAgree(CLI::App& command) {
  struct Options {
    VaultOptions vault;
    int64_t incident = 0;
    std::string how;
    bool withdraw = false;
  };
  auto o = std::make_shared<Options>();
  AddVaultOptions(command, o->vault, true);
  command.add_option("--incident", o->incident, "The incident")->required();
  command.add_option("--how", o->how, "How the customer agreed (a mail, a ticket)")->required();
  command.add_flag("--withdraw", o->withdraw, "The customer withdrew the agreement");
  return [o]() -> Outcome {
    return WithVault(o->vault.store, [&](Vault& vault, spine::Spine&) -> Outcome {
      auto done = o->withdraw ? vault.WithdrawAgreement(o->incident, o->vault.actor, o->how)
                              : vault.RecordAgreement(o->incident, o->vault.actor, o->how);
      if (!done) return RuntimeError(done.error());
      fmt::print("incident {}: the customer's agreement {}\n", o->incident,
                 o->withdraw ? "withdrawn" : "recorded");
      return kExitOk;
    });
  };
}

Handler SetupEvidenceVolatile(CLI::App& command) {
  struct Options {
    VaultOptions vault;
    std::string system;
    int64_t incident = 0;
  };
  auto o = std::make_shared<Options>();
  AddVaultOptions(command, o->vault, true);
  command.add_option("--system", o->system, "The server (its system id)")->required();
  command.add_option("--incident", o->incident, "The incident (its customer agreed)")->required();
  return [o]() -> Outcome {
    return WithVault(o->vault.store, [&](Vault& vault, spine::Spine& spine) -> Outcome {
      if (!vault.HasAgreement(o->incident)) {
        return RuntimeError(fmt::format(
            "incident {}: no agreement of the customer is recorded (bulwark evidence agree)",
            o->incident));
      }
      auto config = spine.config();
      auto cloud = CloudOf(spine, o->system);
      if (!cloud) return RuntimeError(cloud.error());
      auto& [settings, target] = *cloud;
      std::vector<EvidenceItem> items;
      for (const auto& step : cloud::VolatileOrder()) {
        auto evidence = cloud::StackitRunCommand(settings, config->stackit.run_command_url,
                                                 target.project_id, target.server_id, step);
        if (!evidence) return RuntimeError(evidence.error());
        auto added = StoreCloudEvidence(vault, *evidence, o->incident, o->system, o->vault.actor,
                                        "each output starts with the server's own UTC time");
        if (!added) return RuntimeError(added.error());
        items.push_back(*added);
      }
      return PrintItems(items);
    });
  };
}

Handler SetupEvidenceFlows(CLI::App& command) {
  struct Options {
    VaultOptions vault;
    std::string system;
    int64_t incident = 0;
    std::string from, until;
  };
  auto o = std::make_shared<Options>();
  AddVaultOptions(command, o->vault, true);
  command.add_option("--system", o->system, "The system whose flows are taken")->required();
  command.add_option("--incident", o->incident, "The incident they belong to");
  command.add_option("--from", o->from, "Start of the window (RFC 3339)")->required();
  command.add_option("--until", o->until, "End of the window (RFC 3339; default: now)");
  return [o]() -> Outcome {
    auto from = ParseTimestamp(o->from);
    auto until =
        o->until.empty() ? std::optional<TimeNs>(ProgramEnv().Now()) : ParseTimestamp(o->until);
    if (!from || !until) return UsageError("--from/--until: expected RFC 3339 times");
    return WithVault(o->vault.store, [&](Vault& vault, spine::Spine& spine) -> Outcome {
      auto config = spine.config();
      // Every address the system held at some time in the window.
      std::vector<event::IpAddress> addresses;
      for (const auto& a : spine.index()->inventory().assignments) {
        if (a.system_id == o->system && a.prefix.single() && a.from <= *until && a.until > *from) {
          addresses.push_back(a.prefix.network);
        }
      }
      if (addresses.empty()) {
        return RuntimeError(fmt::format("system '{}' held no address in the window", o->system));
      }
      forensics::FlowArchive archive((std::filesystem::path(config->data_dir) / "flows").string(),
                                     config->flow_retention);
      auto window = archive.Window(addresses, *from, *until);
      if (!window) return RuntimeError(window.error());
      EvidenceItem item;
      item.name = fmt::format("flows-{}.jsonl", o->system);
      item.incident_id = o->incident;
      item.system_id = o->system;
      item.kind = "flows";
      item.method = fmt::format("flow records of serve's flow receivers from {} to {}", o->from,
                                FormatTimestamp(*until));
      item.tool = "bulwark";
      item.tool_version = BULWARK_VERSION;
      item.acquired_by = o->vault.actor;
      item.clock_note = "flow times are the exporters' clocks";
      auto added = vault.Add(*window, item);
      if (!added) return RuntimeError(added.error());
      return PrintItems({*added});
    });
  };
}

Handler SetupEvidenceAdd(CLI::App& command) {
  struct Options {
    VaultOptions vault;
    std::string file;
    EvidenceItem item;
  };
  auto o = std::make_shared<Options>();
  AddVaultOptions(command, o->vault, true);
  command.add_option("file", o->file, "The evidence file")->required()->check(CLI::ExistingFile);
  command.add_option("--incident", o->item.incident_id, "The incident it belongs to");
  command.add_option("--system", o->item.system_id, "The system it was taken from");
  command.add_option("--kind", o->item.kind, "disk, memory, logs, pcap, ...")->required();
  command.add_option("--method", o->item.method, "How it was acquired")->required();
  command.add_option("--tool", o->item.tool, "With what");
  command.add_option("--tool-version", o->item.tool_version, "Its version");
  command.add_option("--clock-note", o->item.clock_note, "The source's clock against true time");
  return [o]() -> Outcome {
    return WithVault(o->vault.store, [&](Vault& vault, spine::Spine&) -> Outcome {
      EvidenceItem item = o->item;
      item.name = std::filesystem::path(o->file).filename().string();
      item.acquired_by = o->vault.actor;
      auto added = vault.AddFile(o->file, item);
      if (!added) return RuntimeError(added.error());
      return PrintItems({*added});
    });
  };
}

Handler SetupEvidenceList(CLI::App& command) {
  struct Options {
    VaultOptions vault;
    int64_t incident = 0;
  };
  auto o = std::make_shared<Options>();
  AddVaultOptions(command, o->vault, false);
  command.add_option("--incident", o->incident, "Only of this incident");
  return [o]() -> Outcome {
    return WithVault(o->vault.store, [&](Vault& vault, spine::Spine&) -> Outcome {
      auto items = vault.Items(o->incident);
      if (!items) return RuntimeError(items.error());
      return PrintItems(*items);
    });
  };
}

Handler SetupEvidenceCustody(CLI::App& command) {
  auto o = std::make_shared<VaultOptions>();
  AddVaultOptions(command, *o, false);
  return [o]() -> Outcome {
    return WithVault(o->store, [&](Vault& vault, spine::Spine&) -> Outcome {
      auto entries = vault.Custody();
      if (!entries) return RuntimeError(entries.error());
      std::string out;
      for (const auto& entry : *entries) out += forensics::CustodyJson(entry) + "\n";
      fmt::print("{}", out);
      return kExitOk;
    });
  };
}

Handler SetupEvidenceVerify(CLI::App& command) {
  auto o = std::make_shared<VaultOptions>();
  AddVaultOptions(command, *o, true);
  return [o]() -> Outcome {
    return WithVault(o->store, [&](Vault& vault, spine::Spine&) -> Outcome {
      auto verdict = vault.Verify(o->actor);
      if (!verdict) return RuntimeError(verdict.error());
      for (const auto& problem : verdict->problems) fmt::print("{}\n", problem);
      fmt::print("evidence vault {}: {} items, {} custody entries, head {}\n",
                 verdict->ok ? "intact" : "BROKEN", verdict->items, verdict->entries,
                 verdict->head.empty() ? "(empty)" : verdict->head);
      return verdict->ok ? kExitOk : kExitFindings;
    });
  };
}

namespace {
Handler SetupHold(CLI::App& command, bool hold) {
  struct Options {
    VaultOptions vault;
    int64_t incident = 0;
    std::string reason;
  };
  auto o = std::make_shared<Options>();
  AddVaultOptions(command, o->vault, true);
  command.add_option("--incident", o->incident, "The incident")->required();
  command.add_option("--reason", o->reason, "Why (recorded)")->required();
  return [o, hold]() -> Outcome {
    return WithVault(o->vault.store, [&](Vault& vault, spine::Spine&) -> Outcome {
      auto done = hold ? vault.Hold(o->incident, o->vault.actor, o->reason)
                       : vault.Release(o->incident, o->vault.actor, o->reason);
      if (!done) return RuntimeError(done.error());
      fmt::print("incident {}: {}\n", o->incident, hold ? "on legal hold" : "released");
      return kExitOk;
    });
  };
}
}  // namespace

Handler SetupEvidenceHold(CLI::App& command) {
  return SetupHold(command, true);
}
Handler SetupEvidenceRelease(CLI::App& command) {
  return SetupHold(command, false);
}

Handler SetupEvidenceExport(CLI::App& command) {
  struct Options {
    VaultOptions vault;
    int64_t incident = 0;
    std::string to;
    std::string dir;
  };
  auto o = std::make_shared<Options>();
  AddVaultOptions(command, o->vault, true);
  command.add_option("--incident", o->incident, "The incident")->required();
  command.add_option("--to", o->to, "Who receives it (customer, an authority)")->required();
  command.add_option("dir", o->dir, "An empty or new folder for the bundle")->required();
  return [o]() -> Outcome {
    return WithVault(o->vault.store, [&](Vault& vault, spine::Spine& spine) -> Outcome {
      std::string json, html;
      auto read = spine.Read([&](store::Store& store) -> Result<void> {
        auto incident = store.GetIncident(o->incident);
        if (!incident) return tl::unexpected(incident.error());
        if (!*incident) return Fail(fmt::format("no incident {}", o->incident));
        auto events = forensics::IncidentTimeline(store, vault, o->incident);
        if (!events) return tl::unexpected(events.error());
        json = forensics::TimelineJson(**incident, *events);
        html = forensics::TimelineHtml(**incident, *events);
        return {};
      });
      if (!read) return RuntimeError(read.error());
      auto manifest = vault.Export(o->incident, o->dir, o->vault.actor, o->to, json, html);
      if (!manifest) return RuntimeError(manifest.error());
      fmt::print("{}", *manifest);
      return kExitOk;
    });
  };
}

}  // namespace bulwark::cli
