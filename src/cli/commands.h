#pragma once
// Subcommand groups of the bulwark binary, each registered on the CLI11 app. A group's handlers
// run after parsing, through the returned function (or not at all when none of its commands was
// given), and return the process exit code.

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>

#include "bulwark/config/config.h"
#include "bulwark/core/result.h"

namespace bulwark::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;  // rejected records, failed tests, or a runtime failure
inline constexpr int kExitUsage = 2;

// Returns the exit code of the command that was given, or nullopt when it was none of this group.
using Runner = std::function<std::optional<int>()>;

// A file's text; "builtin:PATH" names a file bundled with the program (data/PATH).
Result<std::string> ReadTextFile(const std::string& path);

// The configuration in `config_path` (defaults when empty), with --data-dir applied when it was
// given on the command line or there is no file. Prints the error and returns nullopt when the
// file cannot be read or parsed.
std::optional<config::Config> LoadConfig(const std::string& config_path,
                                         const std::string& data_dir, bool data_dir_given);

// --data-dir: where the store lives. Default: $BULWARK_DATA_DIR, else /var/lib/bulwark.
void AddDataDirOption(CLI::App& command, std::string& data_dir);

// inventory import, inventory who.
Runner AddInventoryCommands(CLI::App& app);
// findings import/unattributed, incidents list/show/transition/tick, audit verify, notify send.
Runner AddIncidentCommands(CLI::App& app);

// serve, tokens create/list/revoke.
Runner AddServeCommands(CLI::App& app);

// The rest of `bulwark demo` after its replay wrote `alerts_path`: imports the bundled example
// inventory into `data_dir`, turns the alerts into findings and incidents, delivers the mails
// (over `smtp_url`, or printed on stdout when empty) and prints the incidents and how to query
// them.
int RunDemoLoop(const std::string& data_dir, const std::string& alerts_path,
                const std::string& smtp_url);
int RunInventoryImport(const std::string& data_dir, const std::vector<std::string>& files);

}  // namespace bulwark::cli
