// bulwark findings import | unattributed

#include <fmt/format.h>

#include "bulwark/core/json_writer.h"
#include "bulwark/finding/intelmq.h"
#include "bulwark/incident/incidents.h"
#include "bulwark/incident/json.h"
#include "bulwark/input/json_flatten.h"
#include "bulwark/input/line_reader.h"
#include "bulwark/intake/intake.h"
#include "bulwark/spine/spine.h"
#include "commands.h"

namespace bulwark::cli {

Outcome RunFindingsImport(const FindingsImportOptions& options) {
  auto spine = OpenSpine(options.store, options.overrides);
  if (!spine) return tl::unexpected(spine.error());
  intake::Intake intake(**spine);
  std::shared_ptr<const config::Config> config = (*spine)->config();
  int min_rank = intake::LevelRank(config->min_alert_level).value_or(2);
  bool alerts = options.from == "alerts";
  size_t below_level = 0;
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
    auto reader = input::LineReader::Open(file, ProgramEnv());
    if (!reader) {
      fmt::print(stderr, "bulwark: {}\n", reader.error().ToString());
      failed = true;
      continue;
    }
    input::Line line;
    while ((*reader)->Next(line)) {
      if (line.text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      TimeNs now = (*spine)->env().Now();
      if (alerts) {
        auto finding = intake::FindingOfAlertJson(line.text, now, flattener);
        if (!finding) {
          fmt::print(stderr, "{}:{}: {}\n", file, line.number, finding.error().message);
          ++rejected;
          continue;
        }
        if (!*finding) continue;  // an alert about no address (a local user)
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
        if (auto taken = take_pending(); !taken) return RuntimeError(taken.error());
      }
    }
    if (!(*reader)->error().empty()) {
      fmt::print(stderr, "bulwark: {}: {}\n", file, (*reader)->error());
      failed = true;
    }
  }
  if (auto taken = take_pending(); !taken) return RuntimeError(taken.error());
  std::string summary = OutcomeSummary(outcomes);
  fmt::print("findings: {}{}rejected {}{}\n", summary, summary.empty() ? "" : "; ", rejected,
             alerts ? fmt::format(", below {} {}", config->min_alert_level, below_level) : "");
  return failed || rejected > 0 ? kExitFindings : kExitOk;
}

Handler SetupFindingsImport(CLI::App& command) {
  auto o = std::make_shared<FindingsImportOptions>();
  AddStoreOptions(command, o->store);
  AddPolicyOptions(command, o->overrides);
  command.add_option("--from", o->from, "What the lines are: IntelMQ findings or bulwark alerts")
      ->check(CLI::IsMember({"intelmq", "alerts"}))
      ->capture_default_str();
  command.add_option("--min-level", o->overrides.min_level,
                     "Alerts below this Sigma level make no finding (default: medium)");
  command.add_option("files", o->files, "JSON lines files ('-' = stdin; gzip is detected)")
      ->required()
      ->type_name("FILE");
  command
      .add_option("--dedup-window", o->overrides.dedup_window,
                  "The same finding again within this window is a sighting, not news")
      ->capture_default_str();
  return [o] { return RunFindingsImport(*o); };
}

namespace {
struct UnattributedOptions {
  StoreOptions store;
  int64_t after = 0;
  size_t limit = 100;
};
}  // namespace

Handler SetupFindingsUnattributed(CLI::App& command) {
  auto o = std::make_shared<UnattributedOptions>();
  AddStoreOptions(command, o->store);
  command.add_option("--limit", o->limit, "At most this many")->capture_default_str();
  command.add_option("--after", o->after, "Paging: findings with a larger id")->type_name("ID");
  return [o]() -> Outcome {
    auto spine = OpenSpine(o->store, {});
    if (!spine) return tl::unexpected(spine.error());
    auto read = (*spine)->Read([&](store::Store& store) -> Result<void> {
      auto findings = store.Unattributed({o->after, o->limit});
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
    if (!read) return RuntimeError(read.error());
    return kExitOk;
  };
}

}  // namespace bulwark::cli
