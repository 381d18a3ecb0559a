#pragma once
// Subcommand groups of the bulwark binary, each registered on the CLI11 app. A group's handlers
// run after parsing, through the returned function (or not at all when none of its commands was
// given), and return the process exit code.

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>

namespace bulwark::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;  // rejected records, failed tests, or a runtime failure
inline constexpr int kExitUsage = 2;

// Returns the exit code of the command that was given, or nullopt when it was none of this group.
using Runner = std::function<std::optional<int>()>;

// --data-dir: where the store lives. Default: $BULWARK_DATA_DIR, else /var/lib/bulwark.
void AddDataDirOption(CLI::App& command, std::string& data_dir);

// inventory import, inventory who.
Runner AddInventoryCommands(CLI::App& app);
// findings import/unattributed, incidents list/show/transition/tick, audit verify.
Runner AddIncidentCommands(CLI::App& app);

}  // namespace bulwark::cli
