// bulwark: the command-line entry point. Builds the commands of the table (table.cc) on CLI11,
// tests the scan engine on this processor, runs the command that was given and prints its
// failure, if any, once. Exit codes: command.h.

#include <fmt/format.h>
#include <malloc.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <stdexcept>

#include "bulwark/match/database.h"
#include "command.h"

namespace {

using bulwark::cli::Handler;

// The subcommands of the table on `app`, in the table's order (a group where its first command
// is), and the handler of each command.
std::vector<std::pair<CLI::App*, Handler>> BuildCommands(CLI::App& app) {
  std::map<std::string, CLI::App*, std::less<>> groups;
  std::function<CLI::App*(std::string_view)> group_of = [&](std::string_view path) -> CLI::App* {
    if (path.empty()) return &app;
    if (auto found = groups.find(path); found != groups.end()) return found->second;
    size_t space = path.rfind(' ');
    CLI::App* parent = group_of(space == std::string_view::npos ? "" : path.substr(0, space));
    std::string_view help;
    for (const auto& group : bulwark::cli::Groups()) {
      if (group.name == path) help = group.help;
    }
    CLI::App* command = parent->add_subcommand(
        std::string(space == std::string_view::npos ? path : path.substr(space + 1)),
        std::string(help));
    command->require_subcommand(1);
    groups.emplace(std::string(path), command);
    return command;
  };
  std::vector<std::pair<CLI::App*, Handler>> commands;
  for (const auto& spec : bulwark::cli::Commands()) {
    CLI::App* command =
        group_of(spec.group)->add_subcommand(std::string(spec.name), std::string(spec.help));
    commands.emplace_back(command, spec.setup(*command));
  }
  return commands;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace bulwark::cli;
  // Few malloc arenas: events are allocated by workers and freed by the sequencer, and a long run
  // should not keep one arena's worth of freed memory per thread.
  mallopt(M_ARENA_MAX, 2);
  // Large blocks (correlation tables) always come from mmap, so the memory of a table that grew
  // goes back to the system at once instead of staying in the heap.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // As many open files as the system allows: a scan keeps a connection attempt open per probe in
  // flight, serve a socket per client.
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  CLI::App app{"Bulwark: security-incident platform for cloud providers", "bulwark"};
  app.require_subcommand(1);
  app.set_version_flag("--version", BULWARK_VERSION);
  auto commands = BuildCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
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
  } catch (const std::runtime_error& e) {
    fmt::print(stderr, "bulwark: {}\n", e.what());
    return kExitFindings;
  }
  for (auto& [command, handler] : commands) {
    if (!command->parsed()) continue;
    Outcome outcome = handler();
    std::fflush(stdout);
    if (!outcome) {
      fmt::print(stderr, "bulwark: {}\n", outcome.error().message);
      return outcome.error().code;
    }
    return *outcome;
  }
  return kExitUsage;
}
