// bulwark findings import|unattributed, bulwark incidents list|show|transition|tick,
// bulwark audit verify

#include <fmt/format.h>

#include <memory>

#include "bulwark/abuse/report.h"
#include "bulwark/config/config.h"
#include "bulwark/core/env.h"
#include "bulwark/core/json_writer.h"
#include "bulwark/core/strings.h"
#include "bulwark/data/builtin_env.h"
#include "bulwark/finding/intelmq.h"
#include "bulwark/incident/audit.h"
#include "bulwark/incident/incidents.h"
#include "bulwark/incident/json.h"
#include "bulwark/input/line_reader.h"
#include "bulwark/intake/intake.h"
#include "bulwark/intake/report_sources.h"
#include "bulwark/notify/notifier.h"
#include "bulwark/spine/spine.h"
#include "commands.h"

namespace bulwark::cli {

namespace {

struct IncidentCliOptions {
  std::string config;
  std::string data_dir;
  bool data_dir_given = false;
  std::string from = "intelmq";
  std::string min_level;
  std::string smtp;
  std::string print;
  abuse::ReaderFiles reader_files;  // reports: schemas, mappings, keyring
  std::string report_type;          // reports: --type
  bool dry_run = false;
  std::string output;
  std::vector<std::string> files;
  std::string policy;
  std::string kev;
  std::string dedup_window = "7d";
  bool dedup_window_given = false;
  std::string state;
  std::string customer;
  int64_t after = 0;
  size_t limit = 100;
  int64_t incident = 0;
  std::string to;
  std::string reason;
  std::string actor;
};

// The spine of the configuration with the command line's overrides on top; prints the error
// and returns null when it cannot be opened.
std::unique_ptr<spine::Spine> OpenSpine(const IncidentCliOptions& options,
                                        config::Config* opened = nullptr) {
  auto loaded = LoadConfig(options.config, options.data_dir, options.data_dir_given);
  if (!loaded) return nullptr;
  config::Config config = std::move(*loaded);
  if (!options.policy.empty()) config.policy = options.policy;
  if (!options.kev.empty()) config.kev = options.kev;
  if (!options.min_level.empty()) config.min_alert_level = options.min_level;
  if (options.dedup_window_given) {
    auto window = ParseTimespan(options.dedup_window);
    if (!window) {
      fmt::print(stderr, "bulwark: --dedup-window: '{}' is not like 12h or 7d\n",
                 options.dedup_window);
      return nullptr;
    }
    config.dedup_window = *window;
  }
  // Reader files named on the command line come on top of the configured ones.
  const abuse::ReaderFiles& given = options.reader_files;
  auto& reports = config.reports;
  if (!given.shadowserver_schema.empty()) reports.shadowserver_schema = given.shadowserver_schema;
  if (!given.shadowserver_severity.empty()) {
    reports.shadowserver_severity = given.shadowserver_severity;
  }
  if (!given.gnupg_home.empty()) reports.gnupg_home = given.gnupg_home;
  reports.xarf_schemas.insert(reports.xarf_schemas.end(), given.xarf_schemas.begin(),
                              given.xarf_schemas.end());
  reports.mappings.insert(reports.mappings.end(), given.mappings.begin(), given.mappings.end());
  auto spine =
      spine::Spine::Open(config, data::BuiltinEnv::Default(), {options.smtp, options.print});
  if (!spine) {
    fmt::print(stderr, "bulwark: {}\n", spine.error().ToString());
    return nullptr;
  }
  if (opened) *opened = std::move(config);
  return std::move(*spine);
}

// Prints "bulwark: <error>" and returns kExitFindings.
int Failed(const Error& error) {
  fmt::print(stderr, "bulwark: {}\n", error.ToString());
  return kExitFindings;
}

// "opened 2, sighting 1" (empty when nothing was counted).
std::string OutcomeSummary(const std::map<std::string, uint64_t>& outcomes) {
  std::string summary;
  for (const auto& [outcome, count] : outcomes) {
    summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", outcome, count);
  }
  return summary;
}

int RunImport(const IncidentCliOptions& options) {
  auto spine = OpenSpine(options);
  if (!spine) return kExitFindings;
  intake::Intake intake(*spine);
  std::shared_ptr<const config::Config> config = spine->config();
  int min_rank = intake::LevelRank(config->min_alert_level).value_or(2);
  bool alerts = options.from == "alerts";
  size_t below_level = 0;
  size_t no_address = 0;  // alerts about no address (local users)
  input::JsonFlattener flattener;
  std::map<std::string, uint64_t> outcomes;
  size_t rejected = 0;
  bool failed = false;
  // Findings are taken a few batches at a time, so that a large file needs little memory.
  std::vector<model::Finding> pending;
  auto take_pending = [&]() -> Result<void> {
    auto taken = intake.TakeFindings(pending);
    pending.clear();
    if (!taken) return tl::unexpected(taken.error());
    for (const auto& result : *taken) ++outcomes[incident::OutcomeName(result.outcome)];
    return {};
  };
  for (const std::string& file : options.files) {
    auto reader = input::LineReader::Open(file);
    if (!reader) {
      fmt::print(stderr, "bulwark: {}\n", reader.error().ToString());
      failed = true;
      continue;
    }
    input::Line line;
    while ((*reader)->Next(line)) {
      if (line.text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      TimeNs now = spine->env().Now();
      if (alerts) {
        auto finding = intake::FindingOfAlertJson(line.text, now, flattener);
        if (!finding) {
          fmt::print(stderr, "{}:{}: {}\n", file, line.number, finding.error().message);
          ++rejected;
          continue;
        }
        if (!*finding) {
          ++no_address;
          continue;
        }
        auto level = (*finding)->fields.find("extra.severity");
        auto rank =
            level == (*finding)->fields.end() ? std::nullopt : intake::LevelRank(level->second);
        if (rank && *rank < min_rank) {
          ++below_level;
          continue;
        }
        pending.push_back(std::move(**finding));
      } else {
        auto finding = finding::ParseHarmonized(line.text, now, flattener);
        if (!finding) {
          fmt::print(stderr, "{}:{}: {}\n", file, line.number, finding.error().message);
          ++rejected;
          continue;
        }
        pending.push_back(std::move(*finding));
      }
      if (pending.size() >= 4 * intake::Intake::kBatch) {
        if (auto taken = take_pending(); !taken) return Failed(taken.error());
      }
    }
    if (!(*reader)->error().empty()) {
      fmt::print(stderr, "bulwark: {}: {}\n", file, (*reader)->error());
      failed = true;
    }
  }
  if (auto taken = take_pending(); !taken) return Failed(taken.error());
  std::string summary = OutcomeSummary(outcomes);
  fmt::print("findings: {}{}rejected {}{}\n", summary, summary.empty() ? "" : "; ", rejected,
             alerts ? fmt::format(", below {} {}", config->min_alert_level, below_level) : "");
  (void)no_address;
  return failed || rejected > 0 ? kExitFindings : kExitOk;
}

// Reads a report file, or standard input for "-" (a mail handed over by an MTA or fetchmail).
Result<std::string> ReadReportFile(const std::string& file) {
  if (file != "-") return ReadTextFile(file);
  std::string text;
  char buffer[65536];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) text.append(buffer, got);
  return text;
}

void PrintReportSummary(const std::string& name, const abuse::ReportSummary& summary) {
  fmt::print(stderr, "{}: {}{}, items {}, findings {}, rejected {}{}\n", name, summary.format,
             summary.detail.empty() ? "" : " (" + summary.detail + ")", summary.items,
             summary.findings, summary.rejected,
             summary.signature.verdict == mail::SignatureCheck::Verdict::kUnsigned
                 ? ""
                 : fmt::format(", signature {} {}", mail::VerdictName(summary.signature.verdict),
                               summary.signature.fingerprint));
  for (const std::string& note : summary.notes) fmt::print(stderr, "  note: {}\n", note);
}

// --dry-run: the findings of each report as IntelMQ JSON lines, nothing stored.
int RunReportsDryRun(const IncidentCliOptions& options) {
  config::Config config;
  if (!options.config.empty()) {
    auto loaded = LoadConfig(options.config, options.data_dir, options.data_dir_given);
    if (!loaded) return kExitUsage;
    config = std::move(*loaded);
  }
  abuse::ReaderFiles files = abuse::ReaderFilesOf(config.reports);
  const abuse::ReaderFiles& given = options.reader_files;
  for (auto [target, value] :
       {std::pair{&files.shadowserver_schema, &given.shadowserver_schema},
        std::pair{&files.shadowserver_severity, &given.shadowserver_severity},
        std::pair{&files.gnupg_home, &given.gnupg_home}}) {
    if (!value->empty()) *target = *value;
  }
  files.xarf_schemas.insert(files.xarf_schemas.end(), given.xarf_schemas.begin(),
                            given.xarf_schemas.end());
  files.mappings.insert(files.mappings.end(), given.mappings.begin(), given.mappings.end());
  auto reader_config = abuse::LoadReaderConfig(files, data::BuiltinEnv::Default());
  if (!reader_config) return Failed(reader_config.error());
  reader_config->limits = config.reports.limits;
  abuse::ReportReader reader(std::move(*reader_config));
  std::FILE* out = stdout;
  if (!options.output.empty() && options.output != "-") {
    out = std::fopen(options.output.c_str(), "w");
    if (!out) {
      fmt::print(stderr, "bulwark: cannot write {}\n", options.output);
      return kExitFindings;
    }
  }
  bool clean = true;
  for (const std::string& file : options.files) {
    auto bytes = ReadReportFile(file);
    if (!bytes) {
      fmt::print(stderr, "bulwark: {}\n", bytes.error().ToString());
      clean = false;
      continue;
    }
    std::string name = file == "-" ? "stdin" : file;
    auto summary =
        reader.Read(*bytes, {name, options.report_type, Env::Default().Now()},
                    {[&](model::Finding finding) {
                       fmt::print(out, "{}\n", finding::ToHarmonizedJson(finding));
                     },
                     [](const Error& error) { fmt::print(stderr, "{}\n", error.ToString()); }});
    if (!summary) {
      fmt::print(stderr, "bulwark: rejected: {}\n", summary.error().ToString());
      clean = false;
      continue;
    }
    clean = clean && summary->rejected == 0;
    PrintReportSummary(name, *summary);
  }
  if (out != stdout) std::fclose(out);
  return clean ? kExitOk : kExitFindings;
}

int RunReports(const IncidentCliOptions& options) {
  if (options.dry_run) return RunReportsDryRun(options);
  auto spine = OpenSpine(options);
  if (!spine) return kExitFindings;
  intake::Intake intake(*spine);
  bool clean = true;
  std::map<std::string, uint64_t> outcomes;
  for (const std::string& file : options.files) {
    auto bytes = ReadReportFile(file);
    if (!bytes) {
      fmt::print(stderr, "bulwark: {}\n", bytes.error().ToString());
      clean = false;
      continue;
    }
    std::string name = file == "-" ? "stdin" : file;
    auto taken = intake.TakeReport(*bytes, {name, options.report_type, spine->env().Now()}, "cli");
    if (!taken) {
      fmt::print(stderr, "bulwark: rejected: {}\n", taken.error().ToString());
      clean = false;
      continue;
    }
    if (taken->duplicate) {
      fmt::print(stderr, "{}: {}\n", name, taken->summary.notes.front());
      continue;
    }
    for (const Error& error : taken->rejected_rows) fmt::print(stderr, "{}\n", error.ToString());
    if (taken->summary.rejected > taken->rejected_rows.size()) {
      fmt::print(stderr, "{}: and {} more rejected rows\n", name,
                 taken->summary.rejected - taken->rejected_rows.size());
    }
    for (const auto& [outcome, count] : taken->outcomes) outcomes[outcome] += count;
    clean = clean && taken->summary.rejected == 0;
    PrintReportSummary(name, taken->summary);
  }
  std::string summary = OutcomeSummary(outcomes);
  fmt::print("findings: {}\n", summary.empty() ? "none" : summary);
  return clean ? kExitOk : kExitFindings;
}

// One round over the report sources of the configuration (mailbox, Shadowserver Reports API).
int RunFetch(const IncidentCliOptions& options) {
  if (options.config.empty()) {
    fmt::print(stderr,
               "bulwark: reports fetch needs --config FILE (reports.imap, "
               "reports.shadowserver_api)\n");
    return kExitUsage;
  }
  config::Config config;
  auto spine = OpenSpine(options, &config);
  if (!spine) return kExitFindings;
  auto sources = intake::ReportSources::Create(config.reports, Env::Default());
  if (!sources) return Failed(sources.error());
  if (!(*sources)->has_imap() && !(*sources)->has_shadowserver_api()) {
    fmt::print(stderr,
               "bulwark: {} configures no report source (reports.imap.url, "
               "reports.shadowserver_api.key_file)\n",
               options.config);
    return kExitUsage;
  }
  intake::Intake intake(*spine);
  intake::ReportSources::Take take = [&](std::string_view bytes, const abuse::ReportInput& input,
                                         const std::string& source) {
    auto taken = intake.TakeReport(bytes, input, source);
    if (!taken) fmt::print(stderr, "bulwark: rejected: {}\n", taken.error().ToString());
    return taken;
  };
  bool clean = true;
  auto report = [&](const char* what, const intake::SourceRound& round) {
    for (const auto& error : round.errors) fmt::print(stderr, "bulwark: {}\n", error.ToString());
    fmt::print("{}: read {}, rejected {}, seen before {}\n", what, round.read, round.rejected,
               round.duplicates);
    clean = clean && round.errors.empty() && round.rejected == 0;
  };
  if ((*sources)->has_imap()) report("imap", (*sources)->PollImap(take));
  if ((*sources)->has_shadowserver_api()) {
    report("shadowserver api", (*sources)->PollShadowserverApi(take));
  }
  return clean ? kExitOk : kExitFindings;
}

// Runs `body` on a read connection of the spine; prints the error.
int ReadWith(const IncidentCliOptions& options,
             const std::function<Result<void>(store::Store&)>& body) {
  auto spine = OpenSpine(options);
  if (!spine) return kExitFindings;
  if (auto read = spine->Read(body); !read) return Failed(read.error());
  return kExitOk;
}

int RunUnattributed(const IncidentCliOptions& options) {
  return ReadWith(options, [&](store::Store& store) -> Result<void> {
    auto findings = store.Unattributed({options.after, options.limit});
    if (!findings) return tl::unexpected(findings.error());
    std::string out;
    for (const auto& finding : *findings) {
      JsonWriter json(out);
      incident::WriteStoredFinding(json, finding);
      out.push_back('\n');
    }
    fmt::print("{}", out);
    return {};
  });
}

int RunList(const IncidentCliOptions& options) {
  store::IncidentFilter filter;
  if (!options.state.empty()) {
    filter.state = model::ParseState(options.state);
    if (!filter.state) {
      fmt::print(stderr, "bulwark: --state: unknown state '{}'\n", options.state);
      return kExitUsage;
    }
  }
  filter.customer_id = options.customer;
  filter.after_id = options.after;
  filter.limit = options.limit;
  return ReadWith(options, [&](store::Store& store) -> Result<void> {
    auto incidents = store.ListIncidents(filter);
    if (!incidents) return tl::unexpected(incidents.error());
    std::string out;
    for (const auto& incident : *incidents) {
      JsonWriter json(out);
      json.BeginObject();
      incident::WriteIncident(json, incident);
      json.EndObject();
      out.push_back('\n');
    }
    fmt::print("{}", out);
    return {};
  });
}

int RunShow(const IncidentCliOptions& options) {
  return ReadWith(options, [&](store::Store& store) -> Result<void> {
    auto incident = store.GetIncident(options.incident);
    if (!incident) return tl::unexpected(incident.error());
    if (!*incident) return Fail(fmt::format("no incident {}", options.incident));
    auto findings = store.FindingsOfIncident(options.incident);
    if (!findings) return tl::unexpected(findings.error());
    auto history = store.ReadAudit(options.incident);
    if (!history) return tl::unexpected(history.error());
    std::string out;
    JsonWriter json(out);
    incident::WriteIncidentDetail(json, **incident, *findings, *history);
    fmt::print("{}\n", out);
    return {};
  });
}

int RunTransition(const IncidentCliOptions& options) {
  auto to = model::ParseState(options.to);
  if (!to) {
    fmt::print(stderr, "bulwark: unknown state '{}'\n", options.to);
    return kExitUsage;
  }
  auto spine = OpenSpine(options);
  if (!spine) return kExitFindings;
  std::optional<model::Incident> moved;
  auto done = spine->Write([&](spine::Spine::Writer& w) -> Result<void> {
    auto result = w.incidents.Transition(options.incident, *to, options.actor, options.reason);
    if (!result) return tl::unexpected(result.error());
    moved = std::move(*result);
    return {};
  });
  if (!done) return Failed(done.error());
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  incident::WriteIncident(json, *moved);
  json.EndObject();
  fmt::print("{}\n", out);
  return kExitOk;
}

int RunTick(const IncidentCliOptions& options) {
  auto spine = OpenSpine(options);
  if (!spine) return kExitFindings;
  auto round = spine->AdvanceDeadlines();
  if (!round) return Failed(round.error());
  fmt::print("deadlines passed: {}; reminders queued: {}\n", round->deadlines_passed,
             round->reminders_queued);
  return kExitOk;
}

int RunSend(const IncidentCliOptions& options) {
  auto spine = OpenSpine(options);
  if (!spine) return kExitFindings;
  auto round = spine->Deliver();
  if (!round) return Failed(round.error());
  const notify::DeliveryStats& mail = round->mail;
  const notify::DeliveryStats& hooks = round->webhooks;
  fmt::print(
      stderr,
      "messages: sent {}, to retry {}, failed {}; webhooks: sent {}, to retry {}, failed {}\n",
      mail.sent, mail.retried, mail.failed, hooks.sent, hooks.retried, hooks.failed);
  return mail.failed + hooks.failed > 0 ? kExitFindings : kExitOk;
}

int RunVerify(const IncidentCliOptions& options) {
  bool intact = true;
  int code = ReadWith(options, [&](store::Store& store) -> Result<void> {
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
  return code != kExitOk ? code : intact ? kExitOk : kExitFindings;
}

}  // namespace

int RunDemoLoop(const std::string& data_dir, const std::string& alerts_path,
                const std::string& smtp_url) {
  fmt::print("\n== inventory: the bundled example (customers, systems, addresses over time)\n");
  if (int code = RunInventoryImport(data_dir, {"builtin:samples/inventory.yml"}); code != kExitOk) {
    return code;
  }
  IncidentCliOptions options;
  options.data_dir = data_dir;
  options.data_dir_given = true;
  options.files = {alerts_path};
  options.from = "alerts";
  options.policy = "builtin:samples/policy.yml";
  fmt::print("\n== findings: alerts of level medium or above, attributed as of their time\n");
  if (int code = RunImport(options); code != kExitOk) return code;
  fmt::print(
      "\n== abuse reports: a CERT-Bund mail about infected systems (one address is nobody's)\n");
  IncidentCliOptions reports = options;
  reports.files = {"builtin:samples/abuse-report.eml"};
  std::fflush(stdout);
  if (int code = RunReports(reports); code != kExitOk) return code;
  std::fflush(stderr);
  fmt::print("\n== mails to the customers' security contacts{}\n",
             smtp_url.empty() ? " (printed: no mail server given; --smtp URL sends them)" : "");
  options.smtp = smtp_url;
  options.print = "-";
  std::fflush(stdout);
  if (int code = RunSend(options); code != kExitOk) return code;
  std::fflush(stderr);
  fmt::print("\n== incidents\n");
  if (int code = RunList(options); code != kExitOk) return code;
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

Runner AddIncidentCommands(CLI::App& app) {
  auto o = std::make_shared<IncidentCliOptions>();
  auto add_common = [o](CLI::App* command) {
    AddDataDirOption(*command, o->data_dir);
    command->add_option("--config", o->config, "Configuration file (as for serve)")
        ->type_name("FILE");
  };
  auto add_policy = [o](CLI::App* command) {
    command->add_option("--policy", o->policy, "Severity and deadline policy (YAML)")
        ->type_name("FILE");
    command->add_option("--kev", o->kev, "CISA known exploited vulnerabilities catalog (JSON)")
        ->type_name("FILE");
  };

  auto* findings = app.add_subcommand("findings", "Findings: import, the unattributed queue");
  findings->require_subcommand(1);
  auto* import = findings->add_subcommand(
      "import", "Take in findings (IntelMQ harmonized JSON lines): attribute, group, assess");
  add_common(import);
  add_policy(import);
  import->add_option("--from", o->from, "What the lines are: IntelMQ findings or bulwark alerts")
      ->check(CLI::IsMember({"intelmq", "alerts"}))
      ->capture_default_str();
  import->add_option("--min-level", o->min_level,
                     "Alerts below this Sigma level make no finding (default: medium)");
  import->add_option("files", o->files, "JSON lines files ('-' = stdin; gzip is detected)")
      ->required()
      ->type_name("FILE");
  import
      ->add_option("--dedup-window", o->dedup_window,
                   "The same finding again within this window is a sighting, not news")
      ->capture_default_str();
  auto* unattributed = findings->add_subcommand(
      "unattributed", "Print (JSON lines) findings about addresses nobody held at the time");
  add_common(unattributed);
  unattributed->add_option("--limit", o->limit, "At most this many")->capture_default_str();
  unattributed->add_option("--after", o->after, "Paging: findings with a larger id")
      ->type_name("ID");

  auto* incidents = app.add_subcommand("incidents", "Incidents: list, show, move, deadlines");
  incidents->require_subcommand(1);
  auto* list = incidents->add_subcommand("list", "Print incidents as JSON lines");
  add_common(list);
  list->add_option("--state", o->state, "Only in this state (new, notified, awaiting_fix, ...)");
  list->add_option("--customer", o->customer, "Only of this customer id");
  list->add_option("--after", o->after, "Paging: incidents with a larger id")->type_name("ID");
  list->add_option("--limit", o->limit, "At most this many")->capture_default_str();
  auto* show = incidents->add_subcommand("show", "Print one incident with findings and history");
  add_common(show);
  show->add_option("id", o->incident, "Incident id")->required();
  auto* transition = incidents->add_subcommand("transition", "Move an incident to a new state");
  add_common(transition);
  add_policy(transition);
  transition->add_option("id", o->incident, "Incident id")->required();
  transition->add_option("state", o->to, "New state")->required();
  transition->add_option("--reason", o->reason, "Why (recorded in the audit log)")->required();
  transition->add_option("--actor", o->actor, "Who (recorded in the audit log)")->required();
  auto* tick = incidents->add_subcommand(
      "tick", "Move incidents whose patch deadline passed to verifying (serve does this itself)");
  add_common(tick);
  add_policy(tick);

  auto* audit = app.add_subcommand("audit", "The audit log");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand("verify", "Check the audit log's hash chain");
  add_common(verify);

  auto* reports = app.add_subcommand("reports", "Third-party abuse reports");
  reports->require_subcommand(1);
  auto* reports_import =
      reports->add_subcommand("import",
                              "Take in abuse reports: Shadowserver CSV, CERT-Bund, X-ARF, XARF "
                              "JSON, ARF mails, mapped CSV");
  add_common(reports_import);
  add_policy(reports_import);
  reports_import
      ->add_option("files", o->files, "Report files: mails (.eml), CSV, JSON ('-' = stdin)")
      ->required()
      ->type_name("FILE");
  reports_import
      ->add_option("--schema", o->reader_files.shadowserver_schema,
                   "Shadowserver's report_schema/intelmq.json")
      ->type_name("FILE");
  reports_import
      ->add_option("--severity", o->reader_files.shadowserver_severity,
                   "Shadowserver's severity.md (default: beside --schema)")
      ->type_name("FILE");
  reports_import
      ->add_option("--xarf-schema", o->reader_files.xarf_schemas,
                   "XARF JSON Schema to validate with (repeatable; *v4* files for XARF 4)")
      ->type_name("FILE");
  reports_import
      ->add_option("--mapping", o->reader_files.mappings,
                   "Column mapping for a CSV feed (repeatable; docs/reports.md)")
      ->type_name("FILE");
  reports_import
      ->add_option("--gnupg-home", o->reader_files.gnupg_home,
                   "GnuPG home with the OpenPGP keys of signing senders (CERT-Bund)")
      ->type_name("DIR");
  reports_import->add_option(
      "--type", o->report_type,
      "Report type: a Shadowserver type, a mapping name, mail, xarf, x-arf (default: recognised)");
  reports_import->add_flag("--dry-run", o->dry_run,
                           "Write the findings (IntelMQ JSON lines) instead of storing them");
  reports_import->add_option("--output", o->output, "With --dry-run: write here ('-' = stdout)")
      ->type_name("FILE");
  reports_import
      ->add_option("--dedup-window", o->dedup_window,
                   "The same row again within this window is a sighting")
      ->capture_default_str();

  auto* reports_fetch = reports->add_subcommand(
      "fetch", "One round over the configured report sources (IMAP mailbox, Shadowserver API)");
  add_common(reports_fetch);
  add_policy(reports_fetch);

  auto* notify = app.add_subcommand("notify", "Customer notifications");
  notify->require_subcommand(1);
  auto* send = notify->add_subcommand(
      "send", "Deliver the due messages of the outbox (serve does this itself)");
  add_common(send);
  add_policy(send);
  send->add_option("--smtp", o->smtp, "SMTP server URL (smtp://host:port, smtps://...)");
  send->add_option("--print", o->print, "Without an SMTP server: print messages here ('-')")
      ->type_name("FILE");

  return [=]() -> std::optional<int> {
    for (CLI::App* command : {import, unattributed, list, show, transition, tick, verify, send,
                              reports_import, reports_fetch}) {
      if (!*command) continue;
      o->data_dir_given = command->count("--data-dir") > 0;
      o->dedup_window_given = command->get_option_no_throw("--dedup-window") != nullptr &&
                              command->count("--dedup-window") > 0;
    }
    if (*send) return RunSend(*o);
    if (*reports_import) return RunReports(*o);
    if (*reports_fetch) return RunFetch(*o);
    if (*import) return RunImport(*o);
    if (*unattributed) return RunUnattributed(*o);
    if (*list) return RunList(*o);
    if (*show) return RunShow(*o);
    if (*transition) return RunTransition(*o);
    if (*tick) return RunTick(*o);
    if (*verify) return RunVerify(*o);
    return std::nullopt;
  };
}

}  // namespace bulwark::cli
