// bulwark inventory import | who | sync stackit

#include <fmt/format.h>

#include <cstdlib>
#include <memory>

#include "bulwark/cloud/stackit.h"
#include "bulwark/core/json_writer.h"
#include "bulwark/incident/json.h"
#include "bulwark/inventory/attribution.h"
#include "bulwark/inventory/import.h"
#include "bulwark/store/store.h"
#include "commands.h"

namespace bulwark::cli {

namespace {
tl::expected<std::unique_ptr<store::Store>, Failure> OpenStore(const std::string& data_dir) {
  auto store = store::OpenSqliteStore(data_dir);
  if (!store) return RuntimeError(store.error());
  return std::move(*store);
}
}  // namespace

Outcome RunInventoryImport(const InventoryImportOptions& options) {
  auto store = OpenStore(options.store.data_dir);
  if (!store) return tl::unexpected(store.error());
  inventory::FileFormat format = options.format == "yaml"   ? inventory::FileFormat::kYaml
                                 : options.format == "json" ? inventory::FileFormat::kJson
                                 : options.format == "csv"  ? inventory::FileFormat::kCsv
                                                            : inventory::FileFormat::kAuto;
  bool clean = true;
  for (const std::string& file : options.files) {
    auto text = ProgramEnv().ReadFile(file);
    if (!text) {
      fmt::print(stderr, "bulwark: {}\n", text.error().ToString());
      clean = false;
      continue;
    }
    auto parsed = inventory::ParseInventory(*text, file, format);
    if (!parsed) {
      fmt::print(stderr, "{}\n", parsed.error().ToString());
      clean = false;
      continue;
    }
    auto report = inventory::Import(**store, std::move(*parsed));
    if (!report) return RuntimeError(report.error());
    for (const auto& rejected : report->rejected) fmt::print(stderr, "{}\n", rejected.ToString());
    for (const auto& conflict : report->conflicts) {
      fmt::print(stderr, "{}: {}\n", conflict.incoming.origin, conflict.ToString());
    }
    const auto& w = report->written;
    fmt::print(
        "{}: customers {}, projects {}, systems {}, interfaces {}; addresses {} added, {} "
        "changed, {} unchanged; rejected {}, conflicts {}\n",
        file, w.customers, w.projects, w.systems, w.interfaces, w.assignments_added,
        w.assignments_updated, w.assignments_unchanged, report->rejected.size(),
        report->conflicts.size());
    clean = clean && report->clean();
  }
  return clean ? kExitOk : kExitFindings;
}

Handler SetupInventoryImport(CLI::App& command) {
  auto o = std::make_shared<InventoryImportOptions>();
  AddStoreOptions(command, o->store, false);
  command
      .add_option("files", o->files,
                  "Inventory files ('builtin:samples/inventory.yml' is the bundled example)")
      ->required()
      ->type_name("FILE");
  command.add_option("--format", o->format, "File format (auto: by extension)")
      ->check(CLI::IsMember({"auto", "yaml", "json", "csv"}))
      ->capture_default_str();
  return [o] { return RunInventoryImport(*o); };
}

namespace {
struct WhoOptions {
  StoreOptions store;
  std::string query;
  std::string at;
};
}  // namespace

Handler SetupInventoryWho(CLI::App& command) {
  auto o = std::make_shared<WhoOptions>();
  AddStoreOptions(command, o->store, false);
  command.add_option("address", o->query, "IPv4/IPv6 address or MAC address")
      ->required()
      ->type_name("ADDR|MAC");
  command.add_option("--at", o->at, "The instant (RFC 3339; default: now)")->type_name("TIME");
  return [o]() -> Outcome {
    TimeNs at = ProgramEnv().Now();
    if (!o->at.empty()) {
      auto parsed = ParseTimestamp(o->at);
      if (!parsed) return UsageError(fmt::format("--at: '{}' is not an RFC 3339 time", o->at));
      at = *parsed;
    }
    auto address = event::IpAddress::Parse(o->query);
    auto mac = model::NormalizeMac(o->query);
    if (!address && !mac) {
      return UsageError(fmt::format("'{}' is neither an IP address nor a MAC address", o->query));
    }
    auto store = OpenStore(o->store.data_dir);
    if (!store) return tl::unexpected(store.error());
    auto inventory = (*store)->ReadInventory();
    if (!inventory) return RuntimeError(inventory.error());
    inventory::AttributionIndex index(std::move(*inventory));
    auto found = address ? index.Lookup(*address, at) : index.LookupMac(*mac, at);
    std::string out;
    JsonWriter json(out);
    incident::WriteWho(json, address ? address->ToString() : *mac, at, found);
    fmt::print("{}\n", out);
    return kExitOk;
  };
}

namespace {
struct SyncOptions {
  StoreOptions store;
};
}  // namespace

Handler SetupInventorySyncStackit(CLI::App& command) {
  auto o = std::make_shared<SyncOptions>();
  AddStoreOptions(command, o->store, false);
  command.add_option("--config", o->store.config, "Configuration file with a stackit section")
      ->required()
      ->type_name("FILE");
  return [o]() -> Outcome {
    auto config = LoadConfig(o->store);
    if (!config) return tl::unexpected(config.error());
    auto settings = cloud::ResolveStackitSettings(config->stackit, ProgramEnv());
    if (!settings) return RuntimeError(settings.error());
    auto store = OpenStore(config->data_dir);
    if (!store) return tl::unexpected(store.error());
    auto report = cloud::SyncStackit(**store, *settings, ProgramEnv().Now());
    if (!report) return RuntimeError(report.error());
    for (const auto& skipped : report->skipped) fmt::print(stderr, "skipped {}\n", skipped);
    for (const auto& rejected : report->import.rejected) {
      fmt::print(stderr, "{}\n", rejected.ToString());
    }
    for (const auto& conflict : report->import.conflicts) {
      fmt::print(stderr, "{}\n", conflict.ToString());
    }
    const auto& w = report->import.written;
    fmt::print(
        "stackit: projects {}, servers {}, NICs {}, public IPs {}; addresses {} added, {} ended, "
        "{} unchanged; skipped {}, rejected {}, conflicts {}\n",
        report->projects, report->servers, report->nics, report->public_ips, w.assignments_added,
        report->closed, w.assignments_unchanged, report->skipped.size(),
        report->import.rejected.size(), report->import.conflicts.size());
    return report->import.clean() ? kExitOk : kExitFindings;
  };
}

}  // namespace bulwark::cli
