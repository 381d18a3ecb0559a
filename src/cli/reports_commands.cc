// bulwark reports import | fetch

#include <fmt/format.h>

#include <cstdio>

#include "bulwark/abuse/report.h"
#include "bulwark/finding/intelmq.h"
#include "bulwark/intake/intake.h"
#include "bulwark/intake/report_sources.h"
#include "bulwark/spine/spine.h"
#include "commands.h"

namespace bulwark::cli {

namespace {

// A report file, or standard input for "-" (a mail handed over by an MTA or fetchmail).
Result<std::string> ReadReportFile(const std::string& file) {
  if (file != "-") return ProgramEnv().ReadFile(file);
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
Outcome RunDryRun(const ReportsImportOptions& options) {
  auto config = LoadConfig(options.store, options.overrides);
  if (!config) return tl::unexpected(config.error());
  auto reader_config = abuse::LoadReaderConfig(abuse::ReaderFilesOf(config->reports), ProgramEnv());
  if (!reader_config) return RuntimeError(reader_config.error());
  reader_config->limits = config->reports.limits;
  abuse::ReportReader reader(std::move(*reader_config));
  std::FILE* out = stdout;
  if (!options.output.empty() && options.output != "-") {
    out = std::fopen(options.output.c_str(), "w");
    if (!out) return RuntimeError(fmt::format("cannot write {}", options.output));
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
        reader.Read(*bytes, {name, options.type, ProgramEnv().Now()},
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

}  // namespace

Outcome RunReportsImport(const ReportsImportOptions& options) {
  if (options.dry_run) return RunDryRun(options);
  auto spine = OpenSpine(options.store, options.overrides);
  if (!spine) return tl::unexpected(spine.error());
  intake::Intake intake(**spine);
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
    auto taken = intake.TakeReport(*bytes, {name, options.type, (*spine)->env().Now()}, "cli");
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

Handler SetupReportsImport(CLI::App& command) {
  auto o = std::make_shared<ReportsImportOptions>();
  AddStoreOptions(command, o->store);
  AddPolicyOptions(command, o->overrides);
  abuse::ReaderFiles& files = o->overrides.reader_files;
  command.add_option("files", o->files, "Report files: mails (.eml), CSV, JSON ('-' = stdin)")
      ->required()
      ->type_name("FILE");
  command
      .add_option("--schema", files.shadowserver_schema,
                  "Shadowserver's report_schema/intelmq.json")
      ->type_name("FILE");
  command
      .add_option("--severity", files.shadowserver_severity,
                  "Shadowserver's severity.md (default: beside --schema)")
      ->type_name("FILE");
  command
      .add_option("--xarf-schema", files.xarf_schemas,
                  "XARF JSON Schema to validate with (repeatable; *v4* files for XARF 4)")
      ->type_name("FILE");
  command
      .add_option("--mapping", files.mappings,
                  "Column mapping for a CSV feed (repeatable; docs/reports.md)")
      ->type_name("FILE");
  command
      .add_option("--gnupg-home", files.gnupg_home,
                  "GnuPG home with the OpenPGP keys of signing senders (CERT-Bund)")
      ->type_name("DIR");
  command.add_option(
      "--type", o->type,
      "Report type: a Shadowserver type, a mapping name, mail, xarf, x-arf (default: recognised)");
  command.add_flag("--dry-run", o->dry_run,
                   "Write the findings (IntelMQ JSON lines) instead of storing them");
  command.add_option("--output", o->output, "With --dry-run: write here ('-' = stdout)")
      ->type_name("FILE");
  command
      .add_option("--dedup-window", o->overrides.dedup_window,
                  "The same row again within this window is a sighting")
      ->capture_default_str();
  return [o] { return RunReportsImport(*o); };
}

namespace {
struct FetchOptions {
  StoreOptions store;
  SpineOverrides overrides;
};
}  // namespace

Handler SetupReportsFetch(CLI::App& command) {
  auto o = std::make_shared<FetchOptions>();
  AddStoreOptions(command, o->store);
  AddPolicyOptions(command, o->overrides);
  return [o]() -> Outcome {
    if (o->store.config.empty()) {
      return UsageError(
          "reports fetch needs --config FILE (reports.imap, reports.shadowserver_api)");
    }
    auto config = LoadConfig(o->store, o->overrides);
    if (!config) return tl::unexpected(config.error());
    auto sources = intake::ReportSources::Create(config->reports, ProgramEnv());
    if (!sources) return RuntimeError(sources.error());
    if (!(*sources)->has_imap() && !(*sources)->has_shadowserver_api()) {
      return UsageError(fmt::format(
          "{} configures no report source (reports.imap.url, reports.shadowserver_api.key_file)",
          o->store.config));
    }
    auto spine = OpenSpine(o->store, o->overrides);
    if (!spine) return tl::unexpected(spine.error());
    intake::Intake intake(**spine);
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
  };
}

}  // namespace bulwark::cli
