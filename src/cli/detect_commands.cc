// bulwark version | replay | demo | rules check | rules test

#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "bulwark/core/time.h"
#include "bulwark/decode/decoder.h"
#include "bulwark/detect/address_list.h"
#include "bulwark/detect/field_map.h"
#include "bulwark/match/database.h"
#include "bulwark/pipeline/replay.h"
#include "bulwark/pipeline/rule_tests.h"
#include "bulwark/pipeline/rules_loader.h"
#include "commands.h"

namespace bulwark::cli {

namespace {

// What rules and decoders a run uses.
struct DetectionOptions {
  std::vector<std::string> rules;
  std::string field_map;
  std::string logsources;
  std::vector<std::string> decoders;
  std::vector<std::string> address_lists;  // NAME=FILE
  bool no_routing = false;
};

// A repeatable option that takes one path per occurrence, so that it never swallows the
// positional arguments after it ("--rules builtin auth.log").
void AddRepeatablePath(CLI::App& command, const std::string& name, std::vector<std::string>& target,
                       const std::string& help) {
  command.add_option(name, target, help)
      ->type_name("PATH")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false);
}

void AddDetectionOptions(CLI::App& command, DetectionOptions& options) {
  AddRepeatablePath(
      command, "--rules", options.rules,
      "Rule file or folder (repeatable); replaces the built-in pack. 'builtin' names it");
  command
      .add_option("--field-map", options.field_map,
                  "Sigma field map (YAML); replaces the built-in map")
      ->type_name("FILE");
  AddRepeatablePath(command, "--decoders", options.decoders,
                    "Extra decoder file or folder (repeatable); overrides built-ins by id");
  AddRepeatablePath(command, "--address-list", options.address_lists,
                    "NAME=FILE: an address list for rules' %NAME% (repeatable; spamhaus_drop and "
                    "feodo_c2 feed built-in rules)");
  command
      .add_option("--logsources", options.logsources,
                  "Logsource routing (YAML); replaces the built-in routing")
      ->type_name("FILE");
  command.add_flag("--no-routing", options.no_routing,
                   "Apply every rule to every event (ignore logsource routing)");
}

// A configuration file parsed with `parse` (FieldMap::Parse, LogSourceRouting::Parse);
// "builtin:PATH" names a bundled one, e.g. builtin:field-maps/winlogbeat.yml.
template <typename T, typename ParseFn>
tl::expected<T, Failure> LoadFile(const std::string& path, std::string_view what, ParseFn&& parse) {
  auto text = ProgramEnv().ReadFile(path);
  if (!text) return UsageError(text.error().ToString());
  Result<T> parsed = parse(*text, path);
  if (!parsed) return UsageError(fmt::format("{}: {}", what, parsed.error().ToString()));
  return std::move(*parsed);
}

tl::expected<detect::CompileOptions, Failure> MakeCompileOptions(const DetectionOptions& options) {
  detect::CompileOptions compile;
  compile.apply_routing = !options.no_routing;
  if (!options.field_map.empty()) {
    auto map = LoadFile<detect::FieldMap>(options.field_map, "field map", detect::FieldMap::Parse);
    if (!map) return tl::unexpected(map.error());
    compile.field_map = std::move(*map);
  }
  std::map<std::string, std::string> lists;
  for (const std::string& spec : options.address_lists) {
    size_t equals = spec.find('=');
    if (equals == 0 || equals == std::string::npos || equals + 1 == spec.size()) {
      return UsageError(fmt::format("--address-list {}: expected NAME=FILE", spec));
    }
    lists[spec.substr(0, equals)] = spec.substr(equals + 1);
  }
  auto added = detect::AddAddressLists(lists, compile.field_map, ProgramEnv());
  if (!added) return UsageError(added.error().ToString());
  for (const Error& problem : *added) {
    fmt::print(stderr, "bulwark: address list {}\n", problem.ToString());
  }
  if (!options.logsources.empty()) {
    auto routing = LoadFile<detect::LogSourceRouting>(options.logsources, "logsources",
                                                      detect::LogSourceRouting::Parse);
    if (!routing) return tl::unexpected(routing.error());
    compile.routing = std::move(*routing);
  }
  return compile;
}

struct Loaded {
  pipeline::LoadedRules rules;
  std::shared_ptr<const decode::DecoderSet> decoders;
};

// Rules (rejections printed when `report_rejections`) and decoders.
tl::expected<Loaded, Failure> LoadDetection(const DetectionOptions& options,
                                            bool report_rejections) {
  auto compile = MakeCompileOptions(options);
  if (!compile) return tl::unexpected(compile.error());
  Loaded loaded;
  std::vector<std::string> paths = options.rules;
  if (paths.empty()) paths.push_back("builtin");
  loaded.rules = pipeline::LoadRules(paths, *compile, ProgramEnv());
  if (report_rejections) {
    for (const auto& rejection : loaded.rules.rejected) {
      fmt::print(stderr, "bulwark: rule rejected: {}\n", rejection.ToString());
    }
  }
  auto decoders = decode::DecoderSet::Load(options.decoders, ProgramEnv());
  if (!decoders) return UsageError("decoders: " + decoders.error().ToString());
  loaded.decoders = *decoders;
  malloc_trim(0);  // give the parser's temporary memory back before the long run
  return loaded;
}

struct ReplayCliOptions {
  DetectionOptions detection;
  pipeline::ReplayOptions replay;
  std::string output;
  std::string format = "auto";
  std::string timezone = "UTC";
  std::string suppress = "10m";
  bool quiet = false;
  int year = 0;
};

void AddReplayOptions(CLI::App& command, ReplayCliOptions& o) {
  AddDetectionOptions(command, o.detection);
  command.add_option("--format", o.format, "Input format")
      ->check(CLI::IsMember({"auto", "syslog", "jsonl", "plain"}))
      ->capture_default_str();
  command.add_option("--output,-o", o.output, "Write alerts (JSON lines) here instead of stdout")
      ->type_name("FILE");
  command
      .add_option("--year", o.year,
                  "Year of the first year-less syslog timestamp (default: inferred)")
      ->check(CLI::Range(kMinYear, kMaxYear));
  command.add_option("--timezone", o.timezone, "Zone of zone-less timestamps: UTC or +HH:MM")
      ->capture_default_str();
  command.add_option("--threads", o.replay.threads, "Worker threads (0 = one per core)")
      ->capture_default_str();
  command
      .add_option("--suppress-window", o.suppress,
                  "One alert per rule and group within this window (e.g. 10m; 0 = off)")
      ->capture_default_str();
  command
      .add_option("--max-keys", o.replay.max_keys_per_correlation,
                  "Group keys held per correlation rule before eviction")
      ->capture_default_str();
  command.add_flag("--quiet,-q", o.quiet, "No summary on stderr");
}

// The replay options with the command line's texts parsed.
tl::expected<pipeline::ReplayOptions, Failure> ResolveReplay(const ReplayCliOptions& o) {
  pipeline::ReplayOptions replay = o.replay;
  auto zone = ParseZoneOffset(o.timezone);
  if (!zone) return UsageError(fmt::format("--timezone: '{}' is not UTC or +HH:MM", o.timezone));
  std::optional<TimeNs> window =
      o.suppress == "0" ? std::optional<TimeNs>(0) : ParseTimespan(o.suppress);
  if (!window) {
    return UsageError(
        fmt::format("--suppress-window: '{}' is not like 30s, 10m, 1h or 0", o.suppress));
  }
  replay.parse.format = *input::ParseFormat(o.format);
  replay.parse.zone_offset_seconds = *zone;
  replay.parse.year = o.year;
  replay.parse.reference_time = ProgramEnv().Now();
  replay.env = &ProgramEnv();
  replay.suppress_window = *window;
  replay.progress = !o.quiet;
  return replay;
}

Outcome RunReplay(const ReplayCliOptions& o, const pipeline::ReplayOptions& replay,
                  const std::string& output) {
  auto loaded = LoadDetection(o.detection, !o.quiet);
  if (!loaded) return tl::unexpected(loaded.error());
  std::FILE* out = stdout;
  if (!output.empty() && output != "-") {
    out = std::fopen(output.c_str(), "w");
    if (!out) return RuntimeError(fmt::format("cannot write {}: {}", output, std::strerror(errno)));
  }
  static char buffer[1 << 16];
  std::setvbuf(out, buffer, _IOFBF, sizeof(buffer));
  auto summary = pipeline::Replay(replay, loaded->rules.rules, loaded->decoders, out);
  if (out != stdout) std::fclose(out);
  if (!summary) return RuntimeError(summary.error());
  if (!o.quiet) {
    fmt::print(stderr, "rules            {} compiled, {} rejected; {} decoders\n",
               loaded->rules.rules->rule_count(), loaded->rules.rejected.size(),
               loaded->decoders->size());
    fmt::print(stderr, "scan engine      {}\n", match::Engine().name);
    pipeline::PrintSummary(*summary, *loaded->rules.rules, stderr);
  }
  return summary->input_errors.empty() ? kExitOk : kExitFindings;
}

}  // namespace

Handler SetupVersion(CLI::App&) {
  return []() -> Outcome {
    const match::ScanEngine& engine = match::Engine();
    fmt::print("bulwark {}\nscan engine {}: {}\n", BULWARK_VERSION, engine.name, engine.reason);
    return kExitOk;
  };
}

Handler SetupReplay(CLI::App& command) {
  auto o = std::make_shared<ReplayCliOptions>();
  AddReplayOptions(command, *o);
  command
      .add_option("inputs", o->replay.inputs,
                  "Files to read (gzip is detected); '-' or none: stdin")
      ->type_name("FILE|-");
  return [o]() -> Outcome {
    auto replay = ResolveReplay(*o);
    if (!replay) return tl::unexpected(replay.error());
    return RunReplay(*o, *replay, o->output);
  };
}

namespace {
struct DemoOptions {
  ReplayCliOptions replay;
  std::string data_dir;
  std::string smtp;
};

// The rest of the demo after its replay wrote `alerts`: the bundled inventory, the alerts as
// findings, the bundled abuse report, the mails, the incidents.
Outcome RunDemoLoop(const std::string& data_dir, const std::string& alerts,
                    const std::string& smtp) {
  StoreOptions store;
  store.data_dir = data_dir;
  fmt::print("\n== inventory: the bundled example (customers, systems, addresses over time)\n");
  std::fflush(stdout);
  InventoryImportOptions inventory{store, "auto", {"builtin:samples/inventory.yml"}};
  if (auto done = RunInventoryImport(inventory); !done || *done != kExitOk) return done;
  SpineOverrides overrides;
  overrides.policy = "builtin:samples/policy.yml";
  fmt::print("\n== findings: alerts of level medium or above, attributed as of their time\n");
  std::fflush(stdout);
  FindingsImportOptions findings{store, overrides, "alerts", {alerts}};
  if (auto done = RunFindingsImport(findings); !done || *done != kExitOk) return done;
  fmt::print(
      "\n== abuse reports: a CERT-Bund mail about infected systems (one address is nobody's)\n");
  std::fflush(stdout);
  ReportsImportOptions reports{store, overrides, "",
                               false, "",        {"builtin:samples/abuse-report.eml"}};
  if (auto done = RunReportsImport(reports); !done || *done != kExitOk) return done;
  std::fflush(stderr);
  fmt::print("\n== mails to the customers' security contacts{}\n",
             smtp.empty() ? " (printed: no mail server given; --smtp URL sends them)" : "");
  std::fflush(stdout);
  overrides.smtp = smtp;
  overrides.print = "-";
  if (auto done = RunNotifySend({store, overrides}); !done || *done != kExitOk) return done;
  std::fflush(stderr);
  fmt::print("\n== incidents\n");
  std::fflush(stdout);
  IncidentsListOptions list;
  list.store = store;
  if (auto done = RunIncidentsList(list); !done || *done != kExitOk) return done;
  fmt::print(
      "\nData directory: {0}\nQuery it:\n"
      "  bulwark incidents list --data-dir {0}\n"
      "  bulwark incidents show --data-dir {0} 1\n"
      "  bulwark findings unattributed --data-dir {0}\n"
      "  bulwark reports import --dry-run builtin:samples/abuse-report.eml\n"
      "  bulwark inventory who --data-dir {0} 198.51.100.23 --at 2026-11-26T00:00:00Z\n"
      "  bulwark audit verify --data-dir {0}\n",
      data_dir);
  return kExitOk;
}
}  // namespace

Handler SetupDemo(CLI::App& command) {
  auto o = std::make_shared<DemoOptions>();
  AddReplayOptions(command, o->replay);
  command.add_option("--data-dir", o->data_dir, "Data directory (default: a new one in /tmp)")
      ->type_name("DIR");
  command.add_option("--smtp", o->smtp, "Send the mails to this SMTP server (smtp://host:port)")
      ->type_name("URL");
  return [o]() -> Outcome {
    auto replay = ResolveReplay(o->replay);
    if (!replay) return tl::unexpected(replay.error());
    replay->inputs = {"builtin:samples/auth.log", "builtin:samples/access.log",
                      "builtin:samples/firewall.log"};
    if (o->replay.year == 0) replay->parse.year = 2026;
    std::string data_dir = o->data_dir;
    if (data_dir.empty()) {
      char pattern[] = "/tmp/bulwark-demo-XXXXXX";
      if (!mkdtemp(pattern)) {
        return RuntimeError(
            fmt::format("cannot create a data directory: {}", std::strerror(errno)));
      }
      data_dir = pattern;
    }
    std::error_code error;
    std::filesystem::create_directories(data_dir, error);
    if (error) return RuntimeError(fmt::format("cannot create {}: {}", data_dir, error.message()));
    std::string alerts = (std::filesystem::path(data_dir) / "demo-alerts.jsonl").string();
    fmt::print("== detection: the bundled sample logs through the built-in rules\n");
    std::fflush(stdout);
    if (auto done = RunReplay(o->replay, *replay, alerts); !done || *done != kExitOk) return done;
    std::fflush(stderr);
    fmt::print("alerts written to {}\n", alerts);
    return RunDemoLoop(data_dir, alerts, o->smtp);
  };
}

namespace {
struct RulesCheckOptions {
  std::vector<std::string> paths;
  DetectionOptions detection;
};
}  // namespace

Handler SetupRulesCheck(CLI::App& command) {
  auto o = std::make_shared<RulesCheckOptions>();
  command.add_option("paths", o->paths, "Rule files or folders ('builtin' = the built-in pack)")
      ->required()
      ->type_name("PATH");
  command.add_option("--field-map", o->detection.field_map, "Sigma field map (YAML)")
      ->type_name("FILE");
  command.add_flag("--no-routing", o->detection.no_routing, "Ignore logsource routing");
  return [o]() -> Outcome {
    auto compile = MakeCompileOptions(o->detection);
    if (!compile) return tl::unexpected(compile.error());
    auto loaded = pipeline::LoadRules(o->paths, *compile, ProgramEnv());
    for (const auto& rejection : loaded.rejected) fmt::print("{}\n", rejection.ToString());
    fmt::print("compiled {}, rejected {}\n", loaded.rules->rule_count(), loaded.rejected.size());
    return loaded.rejected.empty() ? kExitOk : kExitFindings;
  };
}

Handler SetupRulesTest(CLI::App& command) {
  auto o = std::make_shared<RulesCheckOptions>();
  command.add_option("paths", o->paths, "Rule files or folders ('builtin' = the built-in pack)")
      ->required()
      ->type_name("PATH");
  command.add_option("--field-map", o->detection.field_map, "Sigma field map (YAML)")
      ->type_name("FILE");
  AddRepeatablePath(command, "--decoders", o->detection.decoders, "Extra decoder file or folder");
  return [o]() -> Outcome {
    DetectionOptions detection = o->detection;
    detection.rules = o->paths;
    auto loaded = LoadDetection(detection, true);
    if (!loaded) return tl::unexpected(loaded.error());
    auto outcomes =
        pipeline::RunRuleTests(o->paths, loaded->rules.rules, loaded->decoders, ProgramEnv());
    size_t failed = 0;
    for (const auto& outcome : outcomes) {
      if (outcome.passed) continue;
      ++failed;
      fmt::print("FAIL {} ({}): {}\n", outcome.name, outcome.where, outcome.detail);
    }
    fmt::print("{} passed, {} failed\n", outcomes.size() - failed, failed);
    return failed == 0 && loaded->rules.rejected.empty() ? kExitOk : kExitFindings;
  };
}

}  // namespace bulwark::cli
