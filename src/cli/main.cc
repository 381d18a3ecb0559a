// bulwark: the command-line entry point. Subcommands: version, demo, replay, rules check,
// rules test, inventory, findings, incidents, audit. Exit codes: 0 success, 1 findings (rejected
// rules or records, failed rule tests) or a runtime failure, 2 usage errors.

#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "bulwark/core/env.h"
#include "bulwark/core/time.h"
#include "bulwark/data/builtin_env.h"
#include "bulwark/decode/decoder.h"
#include "bulwark/detect/field_map.h"
#include "bulwark/match/database.h"
#include "bulwark/pipeline/replay.h"
#include "bulwark/pipeline/rule_tests.h"
#include "bulwark/pipeline/rules_loader.h"
#include "commands.h"

namespace {

constexpr int kExitFindings = 1;
constexpr int kExitUsage = 2;

struct CommonOptions {
  std::vector<std::string> rules;
  std::string field_map;
  std::string logsources;
  std::vector<std::string> decoders;
  bool no_routing = false;
};

// A repeatable option that takes one path per occurrence, so that it never swallows the
// positional arguments after it ("--rules builtin auth.log").
void AddRepeatablePath(CLI::App& app, const std::string& name, std::vector<std::string>& target,
                       const std::string& help) {
  app.add_option(name, target, help)
      ->type_name("PATH")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false);
}

void AddCommon(CLI::App& app, CommonOptions& common) {
  AddRepeatablePath(
      app, "--rules", common.rules,
      "Rule file or folder (repeatable); replaces the built-in pack. 'builtin' names it");
  app.add_option("--field-map", common.field_map,
                 "Sigma field map (YAML); replaces the built-in map")
      ->type_name("FILE");
  AddRepeatablePath(app, "--decoders", common.decoders,
                    "Extra decoder file or folder (repeatable); overrides built-ins by id");
  app.add_option("--logsources", common.logsources,
                 "Logsource routing (YAML); replaces the built-in routing")
      ->type_name("FILE");
  app.add_flag("--no-routing", common.no_routing,
               "Apply every rule to every event (ignore logsource routing)");
}

// Reads and parses a configuration file with `parse` (FieldMap::Parse, LogSourceRouting::Parse);
// prints the error under `what` and returns nullopt when it is unusable.
// "builtin:PATH" names a file shipped in the binary (data/PATH), e.g.
// builtin:field-maps/winlogbeat.yml.
template <typename T, typename ParseFn>
std::optional<T> LoadConfig(const std::string& path, std::string_view what, ParseFn&& parse) {
  auto text = bulwark::data::BuiltinEnv::Default().ReadFile(path);
  if (!text) {
    fmt::print(stderr, "bulwark: {}\n", text.error().ToString());
    return std::nullopt;
  }
  bulwark::Result<T> parsed = parse(*text, path);
  if (!parsed) {
    fmt::print(stderr, "bulwark: {}: {}\n", what, parsed.error().ToString());
    return std::nullopt;
  }
  return std::move(*parsed);
}

// Builds compile options; prints the error and returns nullopt when a given file is unusable.
std::optional<bulwark::detect::CompileOptions> MakeCompileOptions(const CommonOptions& common) {
  bulwark::detect::CompileOptions options;
  options.apply_routing = !common.no_routing;
  if (!common.field_map.empty()) {
    auto map = LoadConfig<bulwark::detect::FieldMap>(common.field_map, "field map",
                                                     bulwark::detect::FieldMap::Parse);
    if (!map) return std::nullopt;
    options.field_map = std::move(*map);
  }
  if (!common.logsources.empty()) {
    auto routing = LoadConfig<bulwark::detect::LogSourceRouting>(
        common.logsources, "logsources", bulwark::detect::LogSourceRouting::Parse);
    if (!routing) return std::nullopt;
    options.routing = std::move(*routing);
  }
  return options;
}

struct Loaded {
  bulwark::pipeline::LoadedRules rules;
  std::shared_ptr<const bulwark::decode::DecoderSet> decoders;
};

std::optional<Loaded> LoadAll(const CommonOptions& common, bool report_rejections) {
  auto options = MakeCompileOptions(common);
  if (!options) return std::nullopt;
  Loaded loaded;
  std::vector<std::string> paths = common.rules;
  if (paths.empty()) paths.push_back("builtin");
  loaded.rules = bulwark::pipeline::LoadRules(paths, *options);
  if (report_rejections) {
    for (const auto& rejection : loaded.rules.rejected) {
      fmt::print(stderr, "bulwark: rule rejected: {}\n", rejection.ToString());
    }
  }
  auto decoders = bulwark::decode::DecoderSet::Load(common.decoders);
  if (!decoders) {
    fmt::print(stderr, "bulwark: decoders: {}\n", decoders.error().ToString());
    return std::nullopt;
  }
  loaded.decoders = *decoders;
  malloc_trim(0);  // give the parser's temporary memory back before the long run
  return loaded;
}

int RunReplay(const CommonOptions& common, bulwark::pipeline::ReplayOptions options,
              const std::string& output, bool quiet) {
  auto loaded = LoadAll(common, !quiet);
  if (!loaded) return kExitFindings;
  std::FILE* out = stdout;
  if (!output.empty() && output != "-") {
    out = std::fopen(output.c_str(), "w");
    if (!out) {
      fmt::print(stderr, "bulwark: cannot write {}: {}\n", output, std::strerror(errno));
      return kExitFindings;
    }
  }
  static char buffer[1 << 16];
  std::setvbuf(out, buffer, _IOFBF, sizeof(buffer));
  auto summary = bulwark::pipeline::Replay(options, loaded->rules.rules, loaded->decoders, out);
  if (out != stdout) std::fclose(out);
  if (!summary) {
    fmt::print(stderr, "bulwark: {}\n", summary.error().ToString());
    return kExitFindings;
  }
  if (!quiet) {
    fmt::print(stderr, "rules            {} compiled, {} rejected; {} decoders\n",
               loaded->rules.rules->rule_count(), loaded->rules.rejected.size(),
               loaded->decoders->size());
    fmt::print(stderr, "scan engine      {}\n", bulwark::match::Engine().name);
    bulwark::pipeline::PrintSummary(*summary, *loaded->rules.rules, stderr);
  }
  return summary->input_errors.empty() ? 0 : kExitFindings;
}

}  // namespace

int main(int argc, char** argv) {
  // Few malloc arenas: events are allocated by workers and freed by the sequencer, and a long run
  // should not keep one arena's worth of freed memory per thread.
  mallopt(M_ARENA_MAX, 2);
  // Large blocks (correlation tables) always come from mmap, so the memory of a table that grew
  // goes back to the system at once instead of staying in the heap.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  CLI::App app{"Bulwark: security-incident platform for cloud providers", "bulwark"};
  app.require_subcommand(1);
  app.set_version_flag("--version", BULWARK_VERSION);

  auto* version_cmd = app.add_subcommand(
      "version", "Print the version and the vectorscan scan path this processor gets");

  CommonOptions common;
  bulwark::pipeline::ReplayOptions replay;
  std::string output;
  std::string format = "auto";
  std::string timezone = "UTC";
  std::string suppress = "10m";
  bool quiet = false;
  int year = 0;

  auto add_replay_options = [&](CLI::App* cmd) {
    AddCommon(*cmd, common);
    cmd->add_option("--format", format, "Input format")
        ->check(CLI::IsMember({"auto", "syslog", "jsonl", "plain"}))
        ->capture_default_str();
    cmd->add_option("--output,-o", output, "Write alerts (JSON lines) here instead of stdout")
        ->type_name("FILE");
    cmd->add_option("--year", year,
                    "Year of the first year-less syslog timestamp (default: inferred)")
        ->check(CLI::Range(bulwark::kMinYear, bulwark::kMaxYear));
    cmd->add_option("--timezone", timezone, "Zone of zone-less timestamps: UTC or +HH:MM")
        ->capture_default_str();
    cmd->add_option("--threads", replay.threads, "Worker threads (0 = one per core)")
        ->capture_default_str();
    cmd->add_option("--suppress-window", suppress,
                    "One alert per rule and group within this window (e.g. 10m; 0 = off)")
        ->capture_default_str();
    cmd->add_option("--max-keys", replay.max_keys_per_correlation,
                    "Group keys held per correlation rule before eviction")
        ->capture_default_str();
    cmd->add_flag("--quiet,-q", quiet, "No summary on stderr");
  };

  auto* replay_cmd =
      app.add_subcommand("replay", "Run log files through decoders and rules; print alerts");
  add_replay_options(replay_cmd);
  replay_cmd
      ->add_option("inputs", replay.inputs, "Files to read (gzip is detected); '-' or none: stdin")
      ->type_name("FILE|-");

  auto* demo_cmd = app.add_subcommand(
      "demo",
      "The whole loop on bundled examples: logs -> alerts -> findings -> incidents -> mails");
  add_replay_options(demo_cmd);
  std::string demo_data_dir;
  std::string demo_smtp;
  demo_cmd->add_option("--data-dir", demo_data_dir, "Data directory (default: a new one in /tmp)")
      ->type_name("DIR");
  demo_cmd->add_option("--smtp", demo_smtp, "Send the mails to this SMTP server (smtp://host:port)")
      ->type_name("URL");

  auto* rules_cmd = app.add_subcommand("rules", "Check and test Sigma rules");
  rules_cmd->require_subcommand(1);
  std::vector<std::string> rule_paths;
  auto* check_cmd = rules_cmd->add_subcommand("check", "Compile rules; print each rejection");
  check_cmd
      ->add_option("paths", rule_paths, "Rule files or folders ('builtin' = the built-in pack)")
      ->required()
      ->type_name("PATH");
  std::string check_field_map;
  bool check_no_routing = false;
  check_cmd->add_option("--field-map", check_field_map, "Sigma field map (YAML)")
      ->type_name("FILE");
  check_cmd->add_flag("--no-routing", check_no_routing, "Ignore logsource routing");
  auto* test_cmd = rules_cmd->add_subcommand("test", "Run the *.tests.yml cases beside rules");
  std::vector<std::string> test_paths;
  test_cmd->add_option("paths", test_paths, "Rule files or folders ('builtin' = the built-in pack)")
      ->required()
      ->type_name("PATH");
  CommonOptions test_common;
  test_cmd->add_option("--field-map", test_common.field_map, "Sigma field map (YAML)")
      ->type_name("FILE");
  AddRepeatablePath(*test_cmd, "--decoders", test_common.decoders, "Extra decoder file or folder");

  std::vector<bulwark::cli::Runner> groups = {bulwark::cli::AddInventoryCommands(app),
                                              bulwark::cli::AddIncidentCommands(app),
                                              bulwark::cli::AddServeCommands(app)};

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }

  // The matcher's library is tested on this processor before anything is detected: a build
  // that misses matches here is worked around, or the program refuses to run.
  if (const char* engine = std::getenv("BULWARK_SCAN_ENGINE"); engine && *engine) {
    if (auto selected = bulwark::match::SelectEngine(engine); !selected) {
      fmt::print(stderr, "bulwark: BULWARK_SCAN_ENGINE: {}\n", selected.error().ToString());
      return kExitUsage;
    }
  }
  try {
    const bulwark::match::ScanEngine& engine = bulwark::match::Engine();
    if (!engine.safe) fmt::print(stderr, "bulwark: warning: scan engine {}\n", engine.reason);
    if (*version_cmd) {
      fmt::print("bulwark {}\nscan engine {}: {}\n", BULWARK_VERSION, engine.name, engine.reason);
      return 0;
    }
  } catch (const std::runtime_error& e) {
    fmt::print(stderr, "bulwark: {}\n", e.what());
    return kExitFindings;
  }
  for (const auto& group : groups) {
    if (auto code = group()) return *code;
  }
  if (*replay_cmd || *demo_cmd) {
    auto parsed_format = bulwark::input::ParseFormat(format);
    auto zone = bulwark::ParseZoneOffset(timezone);
    if (!zone) {
      fmt::print(stderr, "bulwark: --timezone: '{}' is not UTC or +HH:MM\n", timezone);
      return kExitUsage;
    }
    std::optional<bulwark::TimeNs> window =
        suppress == "0" ? std::optional<bulwark::TimeNs>(0) : bulwark::ParseTimespan(suppress);
    if (!window) {
      fmt::print(stderr, "bulwark: --suppress-window: '{}' is not like 30s, 10m, 1h or 0\n",
                 suppress);
      return kExitUsage;
    }
    replay.parse.format = *parsed_format;
    replay.parse.zone_offset_seconds = *zone;
    replay.parse.year = year;
    replay.parse.reference_time = bulwark::Env::Default().Now();
    replay.suppress_window = *window;
    replay.progress = !quiet;
    if (*demo_cmd) {
      replay.inputs = {"builtin:samples/auth.log", "builtin:samples/access.log",
                       "builtin:samples/firewall.log"};
      if (year == 0) replay.parse.year = 2026;
      // The whole loop: alerts into a fresh data directory, then findings, incidents, mails.
      if (demo_data_dir.empty()) {
        char pattern[] = "/tmp/bulwark-demo-XXXXXX";
        if (!mkdtemp(pattern)) {
          fmt::print(stderr, "bulwark: cannot create a data directory: {}\n", std::strerror(errno));
          return kExitFindings;
        }
        demo_data_dir = pattern;
      }
      std::filesystem::create_directories(demo_data_dir);
      std::string alerts = (std::filesystem::path(demo_data_dir) / "demo-alerts.jsonl").string();
      fmt::print("== detection: the bundled sample logs through the built-in rules\n");
      std::fflush(stdout);
      if (int code = RunReplay(common, replay, alerts, quiet); code != 0) return code;
      std::fflush(stderr);
      fmt::print("alerts written to {}\n", alerts);
      return bulwark::cli::RunDemoLoop(demo_data_dir, alerts, demo_smtp);
    }
    return RunReplay(common, replay, output, quiet);
  }
  if (*check_cmd) {
    CommonOptions options;
    options.field_map = check_field_map;
    options.no_routing = check_no_routing;
    auto compile = MakeCompileOptions(options);
    if (!compile) return kExitFindings;
    auto loaded = bulwark::pipeline::LoadRules(rule_paths, *compile);
    for (const auto& rejection : loaded.rejected) fmt::print("{}\n", rejection.ToString());
    fmt::print("compiled {}, rejected {}\n", loaded.rules->rule_count(), loaded.rejected.size());
    return loaded.rejected.empty() ? 0 : kExitFindings;
  }
  if (*test_cmd) {
    test_common.rules = test_paths;
    auto loaded = LoadAll(test_common, true);
    if (!loaded) return kExitFindings;
    auto outcomes =
        bulwark::pipeline::RunRuleTests(test_paths, loaded->rules.rules, loaded->decoders);
    size_t failed = 0;
    for (const auto& outcome : outcomes) {
      if (outcome.passed) continue;
      ++failed;
      fmt::print("FAIL {} ({}): {}\n", outcome.name, outcome.where, outcome.detail);
    }
    fmt::print("{} passed, {} failed\n", outcomes.size() - failed, failed);
    return failed == 0 && loaded->rules.rejected.empty() ? 0 : kExitFindings;
  }
  return 0;
}
