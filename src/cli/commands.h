#pragma once
// The commands of the bulwark binary (set up in table.cc) and what they share: the store and
// configuration options, the spine opened with the command line's overrides, and the Env of the
// program (the real clock and files with the built-in data under builtin:).

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/abuse/report.h"
#include "bulwark/config/config.h"
#include "bulwark/core/env.h"
#include "command.h"

namespace bulwark::spine {
class Spine;
}

namespace bulwark::cli {

// The Env of the command line: real clock and files, "builtin:PATH" for the bundled data. The one
// place the binary takes the process's Env; everything below receives it.
Env& ProgramEnv();

// --data-dir (default $BULWARK_DATA_DIR, else /var/lib/bulwark) and, with_config, --config.
struct StoreOptions {
  std::string config;
  std::string data_dir;
  const CLI::App* command = nullptr;  // tells whether --data-dir was given
};
void AddStoreOptions(CLI::App& command, StoreOptions& options, bool with_config = true);

// What the command line puts on top of the configuration file.
struct SpineOverrides {
  std::string policy;
  std::string kev;
  std::string min_level;
  std::string dedup_window = "7d";
  const CLI::App* command = nullptr;  // tells whether --dedup-window was given
  abuse::ReaderFiles reader_files;
  std::string smtp;
  std::string print;
};
// --policy and --kev.
void AddPolicyOptions(CLI::App& command, SpineOverrides& overrides);

// The configuration named by --config (defaults without one), with --data-dir applied when it was
// given or there is no file. A file that cannot be read or parsed is a usage failure.
tl::expected<config::Config, Failure> LoadConfig(const StoreOptions& options);
// The configuration with the overrides on top.
tl::expected<config::Config, Failure> LoadConfig(const StoreOptions& options,
                                                 const SpineOverrides& overrides);
// The spine of that configuration.
tl::expected<std::unique_ptr<spine::Spine>, Failure> OpenSpine(const StoreOptions& options,
                                                               const SpineOverrides& overrides);

// "opened 2, sighting 1" (empty when nothing was counted).
std::string OutcomeSummary(const std::map<std::string, uint64_t>& outcomes);

// Commands the demo runs in turn (see the setups below for their options).
struct FindingsImportOptions {
  StoreOptions store;
  SpineOverrides overrides;
  std::string from = "intelmq";
  std::vector<std::string> files;
};
Outcome RunFindingsImport(const FindingsImportOptions& options);

struct ReportsImportOptions {
  StoreOptions store;
  SpineOverrides overrides;
  std::string type;
  bool dry_run = false;
  std::string output;
  std::vector<std::string> files;
};
Outcome RunReportsImport(const ReportsImportOptions& options);

struct IncidentsListOptions {
  StoreOptions store;
  std::string state;
  std::string customer;
  int64_t after = 0;
  size_t limit = 100;
};
Outcome RunIncidentsList(const IncidentsListOptions& options);

struct NotifySendOptions {
  StoreOptions store;
  SpineOverrides overrides;
};
Outcome RunNotifySend(const NotifySendOptions& options);

struct InventoryImportOptions {
  StoreOptions store;
  std::string format = "auto";
  std::vector<std::string> files;
};
Outcome RunInventoryImport(const InventoryImportOptions& options);

// The setups of the command table, by file.
// detect_commands.cc
Handler SetupVersion(CLI::App& command);
Handler SetupReplay(CLI::App& command);
Handler SetupDemo(CLI::App& command);
Handler SetupRulesCheck(CLI::App& command);
Handler SetupRulesTest(CLI::App& command);
// inventory_commands.cc
Handler SetupInventoryImport(CLI::App& command);
Handler SetupInventoryWho(CLI::App& command);
Handler SetupInventorySyncStackit(CLI::App& command);
// findings_commands.cc
Handler SetupFindingsImport(CLI::App& command);
Handler SetupFindingsUnattributed(CLI::App& command);
// incidents_commands.cc
Handler SetupIncidentsList(CLI::App& command);
Handler SetupIncidentsShow(CLI::App& command);
Handler SetupIncidentsTransition(CLI::App& command);
Handler SetupIncidentsTick(CLI::App& command);
Handler SetupAuditVerify(CLI::App& command);
// reports_commands.cc
Handler SetupReportsImport(CLI::App& command);
Handler SetupReportsFetch(CLI::App& command);
// countermeasures_commands.cc
Handler SetupCountermeasuresPropose(CLI::App& command);
Handler SetupCountermeasuresApprove(CLI::App& command);
Handler SetupCountermeasuresReject(CLI::App& command);
Handler SetupCountermeasuresApply(CLI::App& command);
Handler SetupCountermeasuresLift(CLI::App& command);
Handler SetupCountermeasuresList(CLI::App& command);
Handler SetupCountermeasuresShow(CLI::App& command);
Handler SetupCountermeasuresReconcile(CLI::App& command);
// evidence_commands.cc
Handler SetupEvidenceCollect(CLI::App& command);
Handler SetupEvidenceCapture(CLI::App& command);
Handler SetupEvidenceCloud(CLI::App& command);
Handler SetupEvidenceAgree(CLI::App& command);
Handler SetupEvidenceVolatile(CLI::App& command);
Handler SetupEvidenceFlows(CLI::App& command);
Handler SetupEvidenceAdd(CLI::App& command);
Handler SetupEvidenceList(CLI::App& command);
Handler SetupEvidenceCustody(CLI::App& command);
Handler SetupEvidenceVerify(CLI::App& command);
Handler SetupEvidenceHold(CLI::App& command);
Handler SetupEvidenceRelease(CLI::App& command);
Handler SetupEvidenceExport(CLI::App& command);
// notify_commands.cc
Handler SetupNotifySend(CLI::App& command);
// flows_commands.cc
Handler SetupFlowsReplay(CLI::App& command);
// cvss_commands.cc
Handler SetupCvss(CLI::App& command);
// serve_commands.cc
Handler SetupServe(CLI::App& command);
Handler SetupScan(CLI::App& command);
Handler SetupVulnDbImport(CLI::App& command);
Handler SetupVulnDbStatus(CLI::App& command);
Handler SetupTokensCreate(CLI::App& command);
Handler SetupTokensList(CLI::App& command);
Handler SetupTokensRevoke(CLI::App& command);

}  // namespace bulwark::cli
