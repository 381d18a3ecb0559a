// bulwark inventory import FILE... / bulwark inventory who ADDR|MAC [--at TIME]

#include <fmt/format.h>

#include <cstdlib>
#include <memory>

#include "bulwark/cloud/stackit.h"
#include "bulwark/config/config.h"
#include "bulwark/core/env.h"
#include "bulwark/core/json_writer.h"
#include "bulwark/core/strings.h"
#include "bulwark/data/builtin_env.h"
#include "bulwark/incident/json.h"
#include "bulwark/inventory/attribution.h"
#include "bulwark/inventory/import.h"
#include "commands.h"

namespace bulwark::cli {

namespace {

struct InventoryOptions {
  std::string config;
  std::string data_dir;
  bool data_dir_given = false;
  std::vector<std::string> files;
  std::string format = "auto";
  std::string query;
  std::string at;
};

int RunImport(const InventoryOptions& options) {
  auto store = store::OpenSqliteStore(options.data_dir);
  if (!store) {
    fmt::print(stderr, "bulwark: {}\n", store.error().ToString());
    return kExitFindings;
  }
  inventory::FileFormat format = options.format == "yaml"   ? inventory::FileFormat::kYaml
                                 : options.format == "json" ? inventory::FileFormat::kJson
                                 : options.format == "csv"  ? inventory::FileFormat::kCsv
                                                            : inventory::FileFormat::kAuto;
  bool clean = true;
  for (const std::string& file : options.files) {
    auto text = ReadTextFile(file);
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
    if (!report) {
      fmt::print(stderr, "bulwark: {}\n", report.error().ToString());
      return kExitFindings;
    }
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

int RunSync(const InventoryOptions& options) {
  auto loaded = LoadConfig(options.config, options.data_dir, options.data_dir_given);
  if (!loaded) return kExitFindings;
  const config::Config& config = *loaded;
  cloud::StackitSettings settings;
  const auto& s = config.stackit;
  settings.organization = s.organization;
  settings.region = s.region;
  settings.resource_manager_url = s.resource_manager_url;
  settings.iaas_url = s.iaas_url;
  settings.customer_label = s.customer_label;
  settings.project_customers = s.projects;
  settings.token_url = s.token_url;
  for (auto [path, target] : {std::pair{&s.token_file, &settings.token},
                              std::pair{&s.service_account_key_file, &settings.service_account_key},
                              std::pair{&s.private_key_file, &settings.private_key}}) {
    if (path->empty()) continue;
    auto text = Env::Default().ReadSecretFile(*path);
    if (!text) {
      fmt::print(stderr, "bulwark: {}\n", text.error().ToString());
      return kExitFindings;
    }
    *target = std::move(*text);
  }
  auto store = store::OpenSqliteStore(config.data_dir);
  if (!store) {
    fmt::print(stderr, "bulwark: {}\n", store.error().ToString());
    return kExitFindings;
  }
  auto report = cloud::SyncStackit(**store, settings, Env::Default().Now());
  if (!report) {
    fmt::print(stderr, "bulwark: {}\n", report.error().ToString());
    return kExitFindings;
  }
  for (const auto& skipped : report->skipped) fmt::print(stderr, "skipped {}\n", skipped);
  for (const auto& rejected : report->import.rejected) {
    fmt::print(stderr, "{}\n", rejected.ToString());
  }
  for (const auto& conflict : report->import.conflicts) {
    fmt::print(stderr, "{}\n", conflict.ToString());
  }
  const auto& w = report->import.written;
  fmt::print(
      "stackit: projects {}, servers {}, NICs {}, public IPs {}; addresses {} added, {} ended, {} "
      "unchanged; skipped {}, rejected {}, conflicts {}\n",
      report->projects, report->servers, report->nics, report->public_ips, w.assignments_added,
      report->closed, w.assignments_unchanged, report->skipped.size(),
      report->import.rejected.size(), report->import.conflicts.size());
  return report->import.clean() ? kExitOk : kExitFindings;
}

int RunWho(const InventoryOptions& options) {
  TimeNs at = Env::Default().Now();
  if (!options.at.empty()) {
    auto parsed = ParseTimestamp(options.at);
    if (!parsed) {
      fmt::print(stderr, "bulwark: --at: '{}' is not an RFC 3339 time\n", options.at);
      return kExitUsage;
    }
    at = *parsed;
  }
  auto address = event::IpAddress::Parse(options.query);
  auto mac = model::NormalizeMac(options.query);
  if (!address && !mac) {
    fmt::print(stderr, "bulwark: '{}' is neither an IP address nor a MAC address\n", options.query);
    return kExitUsage;
  }
  auto store = store::OpenSqliteStore(options.data_dir);
  if (!store) {
    fmt::print(stderr, "bulwark: {}\n", store.error().ToString());
    return kExitFindings;
  }
  auto inventory = (*store)->ReadInventory();
  if (!inventory) {
    fmt::print(stderr, "bulwark: {}\n", inventory.error().ToString());
    return kExitFindings;
  }
  inventory::AttributionIndex index(std::move(*inventory));
  auto found = address ? index.Lookup(*address, at) : index.LookupMac(*mac, at);
  std::string out;
  JsonWriter json(out);
  incident::WriteWho(json, address ? address->ToString() : *mac, at, found);
  fmt::print("{}\n", out);
  return kExitOk;
}

}  // namespace

Result<std::string> ReadTextFile(const std::string& path) {
  return data::BuiltinEnv::Default().ReadFile(path);
}

std::optional<config::Config> LoadConfig(const std::string& config_path,
                                         const std::string& data_dir, bool data_dir_given) {
  config::Config config;
  if (!config_path.empty()) {
    auto text = ReadTextFile(config_path);
    if (!text) {
      fmt::print(stderr, "bulwark: {}\n", text.error().ToString());
      return std::nullopt;
    }
    auto parsed = config::Parse(*text, config_path);
    if (!parsed) {
      fmt::print(stderr, "bulwark: {}\n", parsed.error().ToString());
      return std::nullopt;
    }
    config = std::move(*parsed);
  }
  if (data_dir_given || config_path.empty()) config.data_dir = data_dir;
  return config;
}

int RunInventoryImport(const std::string& data_dir, const std::vector<std::string>& files) {
  InventoryOptions options;
  options.data_dir = data_dir;
  options.files = files;
  return RunImport(options);
}

void AddDataDirOption(CLI::App& command, std::string& data_dir) {
  const char* env = std::getenv("BULWARK_DATA_DIR");
  data_dir = env && *env ? env : "/var/lib/bulwark";
  command
      .add_option("--data-dir", data_dir,
                  "Data directory (default: $BULWARK_DATA_DIR or "
                  "/var/lib/bulwark)")
      ->type_name("DIR");
}

Runner AddInventoryCommands(CLI::App& app) {
  auto options = std::make_shared<InventoryOptions>();
  auto* group = app.add_subcommand("inventory", "Customers, systems and their addresses over time");
  group->require_subcommand(1);

  auto* import = group->add_subcommand(
      "import", "Import customers, projects, systems, interfaces and addresses (YAML, JSON, CSV)");
  AddDataDirOption(*import, options->data_dir);
  import
      ->add_option("files", options->files,
                   "Inventory files ('builtin:samples/inventory.yml' "
                   "is the bundled example)")
      ->required()
      ->type_name("FILE");
  import->add_option("--format", options->format, "File format (auto: by extension)")
      ->check(CLI::IsMember({"auto", "yaml", "json", "csv"}))
      ->capture_default_str();

  auto* who =
      group->add_subcommand("who", "Print (JSON) who held an address or MAC address at an instant");
  AddDataDirOption(*who, options->data_dir);
  who->add_option("address", options->query, "IPv4/IPv6 address or MAC address")
      ->required()
      ->type_name("ADDR|MAC");
  who->add_option("--at", options->at, "The instant (RFC 3339; default: now)")->type_name("TIME");

  auto* sync = group->add_subcommand("sync", "Read the inventory from a cloud's API");
  sync->require_subcommand(1);
  auto* stackit = sync->add_subcommand(
      "stackit", "Projects, servers, NICs and public IPs from STACKIT (config section stackit)");
  AddDataDirOption(*stackit, options->data_dir);
  stackit->add_option("--config", options->config, "Configuration file with a stackit section")
      ->required()
      ->type_name("FILE");

  return [options, import, who, stackit]() -> std::optional<int> {
    if (*stackit) {
      options->data_dir_given = stackit->count("--data-dir") > 0;
      return RunSync(*options);
    }
    if (*import) return RunImport(*options);
    if (*who) return RunWho(*options);
    return std::nullopt;
  };
}

}  // namespace bulwark::cli
