// What the commands share: store and configuration options, the spine with the command line's
// overrides, the program's Env.

#include <fmt/format.h>

#include <cstdlib>

#include "bulwark/data/builtin_env.h"
#include "bulwark/spine/spine.h"
#include "commands.h"

namespace bulwark::cli {

Env& ProgramEnv() {
  return data::BuiltinEnv::Default();
}

void AddStoreOptions(CLI::App& command, StoreOptions& options, bool with_config) {
  const char* env = std::getenv("BULWARK_DATA_DIR");
  options.data_dir = env && *env ? env : "/var/lib/bulwark";
  options.command = &command;
  command
      .add_option("--data-dir", options.data_dir,
                  "Data directory (default: $BULWARK_DATA_DIR or /var/lib/bulwark)")
      ->type_name("DIR");
  if (with_config) {
    command.add_option("--config", options.config, "Configuration file (as for serve)")
        ->type_name("FILE");
  }
}

void AddPolicyOptions(CLI::App& command, SpineOverrides& overrides) {
  overrides.command = &command;
  command.add_option("--policy", overrides.policy, "Severity and deadline policy (YAML)")
      ->type_name("FILE");
  command.add_option("--kev", overrides.kev, "CISA known exploited vulnerabilities catalog (JSON)")
      ->type_name("FILE");
}

namespace {
bool Given(const CLI::App* command, const std::string& option) {
  return command != nullptr && command->get_option_no_throw(option) != nullptr &&
         command->count(option) > 0;
}
}  // namespace

tl::expected<config::Config, Failure> LoadConfig(const StoreOptions& options) {
  config::Config config;
  if (!options.config.empty()) {
    auto text = ProgramEnv().ReadFile(options.config);
    if (!text) return UsageError(text.error().ToString());
    auto parsed = config::Parse(*text, options.config);
    if (!parsed) return UsageError(parsed.error().ToString());
    config = std::move(*parsed);
  }
  if (options.config.empty() || Given(options.command, "--data-dir")) {
    config.data_dir = options.data_dir;
  }
  return config;
}

tl::expected<config::Config, Failure> LoadConfig(const StoreOptions& options,
                                                 const SpineOverrides& overrides) {
  auto loaded = LoadConfig(options);
  if (!loaded) return loaded;
  config::Config& config = *loaded;
  if (!overrides.policy.empty()) config.policy = overrides.policy;
  if (!overrides.kev.empty()) config.kev = overrides.kev;
  if (!overrides.min_level.empty()) config.min_alert_level = overrides.min_level;
  if (Given(overrides.command, "--dedup-window")) {
    auto window = ParseTimespan(overrides.dedup_window);
    if (!window) {
      return UsageError(
          fmt::format("--dedup-window: '{}' is not like 12h or 7d", overrides.dedup_window));
    }
    config.dedup_window = *window;
  }
  // Reader files named on the command line come on top of the configured ones.
  const abuse::ReaderFiles& given = overrides.reader_files;
  auto& reports = config.reports;
  if (!given.shadowserver_schema.empty()) reports.shadowserver_schema = given.shadowserver_schema;
  if (!given.shadowserver_severity.empty()) {
    reports.shadowserver_severity = given.shadowserver_severity;
  }
  if (!given.gnupg_home.empty()) reports.gnupg_home = given.gnupg_home;
  reports.xarf_schemas.insert(reports.xarf_schemas.end(), given.xarf_schemas.begin(),
                              given.xarf_schemas.end());
  reports.mappings.insert(reports.mappings.end(), given.mappings.begin(), given.mappings.end());
  return loaded;
}

tl::expected<std::unique_ptr<spine::Spine>, Failure> OpenSpine(const StoreOptions& options,
                                                               const SpineOverrides& overrides) {
  auto config = LoadConfig(options, overrides);
  if (!config) return tl::unexpected(config.error());
  auto spine = spine::Spine::Open(*config, ProgramEnv(), {overrides.smtp, overrides.print});
  if (!spine) return RuntimeError(spine.error());
  return std::move(*spine);
}

std::string OutcomeSummary(const std::map<std::string, uint64_t>& outcomes) {
  std::string summary;
  for (const auto& [outcome, count] : outcomes) {
    summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", outcome, count);
  }
  return summary;
}

}  // namespace bulwark::cli
