#pragma once
// The command-line framework of the bulwark binary: the exit codes, the outcome every command
// returns, and the one table of commands (table.cc). Commands are thin adapters: each owns an
// options struct, adds its options to its CLI11 subcommand, and returns a handler that calls the
// library and returns an Outcome. main() prints a failure once, as "bulwark: <message>".

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"

namespace bulwark::cli {

// The exit codes of every command, defined here only (docs/configuration.md, "Command line").
enum ExitCode : int {
  kExitOk = 0,
  kExitFindings = 1,  // rejected records, failed tests, a broken audit chain, or a runtime failure
  kExitUsage = 2,     // the command line or the configuration it names is unusable
};

// Why a command stopped: printed once by main() as "bulwark: <message>".
struct Failure {
  ExitCode code = kExitFindings;
  std::string message;
};

// A command's outcome: its exit code when it ran to its end (kExitFindings when it reported
// rejected records or failed tests on the way), or the Failure that stopped it.
using Outcome = tl::expected<ExitCode, Failure>;

// A failure of the command line (exit 2).
inline tl::unexpected<Failure> UsageError(std::string message) {
  return tl::unexpected<Failure>(Failure{kExitUsage, std::move(message)});
}
// A failure at run time (exit 1), from the library's Error.
inline tl::unexpected<Failure> RuntimeError(const Error& error) {
  return tl::unexpected<Failure>(Failure{kExitFindings, error.ToString()});
}
inline tl::unexpected<Failure> RuntimeError(std::string message) {
  return tl::unexpected<Failure>(Failure{kExitFindings, std::move(message)});
}

// Runs a command after the command line was parsed.
using Handler = std::function<Outcome()>;
// Adds a command's options to its subcommand, bound to an options struct the returned handler
// owns. The subcommand outlives the handler.
using Setup = Handler (*)(CLI::App& command);

struct GroupSpec {
  std::string_view name;
  std::string_view help;
};

struct CommandSpec {
  std::string_view group;  // empty for a top-level command
  std::string_view name;
  std::string_view help;
  Setup setup;
};

// Every group and command of the binary, in --help order.
const std::vector<GroupSpec>& Groups();
const std::vector<CommandSpec>& Commands();

}  // namespace bulwark::cli
