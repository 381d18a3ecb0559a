// Command-line scenarios as files, like Zeek's btest baselines.
//
// tests/cli/<case>/cmd holds shell command lines (`#` starts a comment), run one after another
// by /bin/sh in a fresh working folder that the case's commands share (a data directory made by
// the first is read by the next) and that is removed afterwards. `bulwark` is the binary under
// test (first on PATH); $SRC is the source tree, $SHARED the shared reference data, $CASE the
// case's folder. What every command wrote is compared with tests/cli/<case>/expected:
//
//   $ <command line>
//   <standard output>
//   --- stderr                      (only when it wrote any)
//   <standard error>
//   --- exit <code>
//
// with the working folder, $SRC and $SHARED written as those names. tests/cli/<case>/filters may
// hold lines `REGEX => REPLACEMENT` (ECMAScript) for what differs from run to run (times, ids).
//
// tests/golden/<case>/ holds the replay pipeline's cases: input.log, rules/ and expected.jsonl
// (the alerts), run with 1 and with 2 worker threads (the output must not depend on it), with
// args.txt adding options. BULWARK_UPDATE_GOLDEN=1 rewrites every expected file of both kinds.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "../support/files.h"
#include "../support/golden.h"

namespace bulwark {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = BULWARK_SOURCE_DIR;
const fs::path kShared = BULWARK_SHARED_DIR;
const fs::path kBinary = BULWARK_BINARY;

std::vector<std::string> CaseNames(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Quotes `text` for /bin/sh.
std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Outcome {
  std::string out, err;
  int exit_code = -1;
};

// Runs one command line by /bin/sh in `work`, with `bulwark` on PATH and the case's variables;
// what it writes is caught in files under `scratch`.
Outcome RunShell(const std::string& line, const fs::path& work, const fs::path& case_dir,
                 const fs::path& scratch) {
  fs::path out_file = scratch / ".scenario-stdout";
  fs::path err_file = scratch / ".scenario-stderr";
  std::string script =
      "cd " + ShellQuote(work.string()) + " && PATH=" + ShellQuote(kBinary.parent_path().string()) +
      ":\"$PATH\"" + " SRC=" + ShellQuote(kSource.string()) +
      " SHARED=" + ShellQuote(kShared.string()) + " CASE=" + ShellQuote(case_dir.string()) +
      " BULWARK_DATA_DIR= BULWARK_SCAN_ENGINE= /bin/sh -c " + ShellQuote(line) + " >" +
      ShellQuote(out_file.string()) + " 2>" + ShellQuote(err_file.string()) + " </dev/null";
  int status = std::system(script.c_str());
  Outcome outcome;
  outcome.out = testing_support::ReadAll(out_file);
  outcome.err = testing_support::ReadAll(err_file);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  fs::remove(out_file);
  fs::remove(err_file);
  return outcome;
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

struct Filter {
  std::regex pattern;
  std::string replacement;
};

std::vector<Filter> ReadFilters(const fs::path& file) {
  std::vector<Filter> filters;
  std::stringstream in(testing_support::ReadAll(file));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t arrow = line.find(" => ");
    if (arrow == std::string::npos) {
      ADD_FAILURE() << file << ": '" << line << "' is not REGEX => REPLACEMENT";
      continue;
    }
    filters.push_back({std::regex(line.substr(0, arrow)), line.substr(arrow + 4)});
  }
  return filters;
}

class CliScenario : public ::testing::TestWithParam<std::string> {};

TEST_P(CliScenario, MatchesItsExpectedTranscript) {
  const fs::path case_dir = kSource / "tests" / "cli" / GetParam();
  const fs::path work =
      fs::temp_directory_path() / ("bulwark-cli-" + GetParam() + "-" + std::to_string(::getpid()));
  const fs::path scratch = work.string() + ".out";
  fs::remove_all(work);
  fs::create_directories(work);
  fs::create_directories(scratch);
  std::vector<Filter> filters = ReadFilters(case_dir / "filters");
  std::string transcript;
  std::stringstream commands(testing_support::ReadAll(case_dir / "cmd"));
  size_t ran = 0;
  for (std::string line; std::getline(commands, line);) {
    if (line.empty() || line[0] == '#') continue;
    Outcome outcome = RunShell(line, work, case_dir, scratch);
    ++ran;
    transcript += "$ " + line + "\n" + outcome.out;
    if (!outcome.out.empty() && outcome.out.back() != '\n') transcript += "\n";
    if (!outcome.err.empty()) {
      transcript += "--- stderr\n" + outcome.err;
      if (outcome.err.back() != '\n') transcript += "\n";
    }
    transcript += "--- exit " + std::to_string(outcome.exit_code) + "\n";
  }
  EXPECT_GT(ran, 0u) << case_dir / "cmd"
                     << " holds no command";
  transcript = ReplaceAll(transcript, work.string(), "$WORK");
  transcript = ReplaceAll(transcript, kShared.lexically_normal().string(), "$SHARED");
  transcript = ReplaceAll(transcript, kShared.string(), "$SHARED");
  transcript = ReplaceAll(transcript, kSource.string(), "$SRC");
  for (const Filter& filter : filters) {
    transcript = std::regex_replace(transcript, filter.pattern, filter.replacement);
  }
  testing_support::ExpectGolden(case_dir / "expected", transcript);
  testing_support::RemoveTree(work);
  testing_support::RemoveTree(scratch);
}

INSTANTIATE_TEST_SUITE_P(Cases, CliScenario,
                         ::testing::ValuesIn(CaseNames(kSource / "tests" / "cli")),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// A replay golden case at 1 or 2 worker threads.
class ReplayGolden : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(ReplayGolden, WritesTheExpectedAlerts) {
  const auto& [name, threads] = GetParam();
  const fs::path case_dir = kSource / "tests" / "golden" / name;
  const fs::path scratch =
      fs::temp_directory_path() /
      ("bulwark-golden-" + name + "-" + std::to_string(threads) + "-" + std::to_string(::getpid()));
  fs::create_directories(scratch);
  const fs::path output = scratch / "alerts.jsonl";
  // Relative paths, so that log.file.path in the alerts is the same on every machine.
  std::string line = "bulwark replay --rules rules --year 2026 --threads " +
                     std::to_string(threads) + " --quiet --output " + ShellQuote(output.string());
  std::stringstream extra(testing_support::ReadAll(case_dir / "args.txt"));
  for (std::string arg; std::getline(extra, arg);) {
    if (!arg.empty()) line += " " + ShellQuote(arg);
  }
  line += " input.log";
  Outcome outcome = RunShell(line, case_dir, case_dir, scratch);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  // Both thread counts must give the one expected file; only the first rewrites it.
  if (threads == 1 || !testing_support::UpdatingGolden()) {
    testing_support::ExpectGolden(case_dir / "expected.jsonl", testing_support::ReadAll(output));
  }
  testing_support::RemoveTree(scratch);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ReplayGolden,
    ::testing::Combine(::testing::ValuesIn(CaseNames(kSource / "tests" / "golden")),
                       ::testing::Values(1, 2)),
    [](const auto& info) {
      return std::get<0>(info.param) + "_threads" + std::to_string(std::get<1>(info.param));
    });

}  // namespace
}  // namespace bulwark
