#pragma once
// The one golden-file comparison of the tests: what a test produced against the file that holds
// what it must produce. `BULWARK_UPDATE_GOLDEN=1 ctest ...` writes the files anew instead (review
// the diff before committing), as Zeek's `btest -U` does with its baselines.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "files.h"

namespace bulwark::testing_support {

// True when the golden files are to be rewritten rather than compared.
inline bool UpdatingGolden() {
  const char* update = std::getenv("BULWARK_UPDATE_GOLDEN");
  return update != nullptr && std::string(update) == "1";
}

// Where `expected` and `actual` first differ: the line number, the lines before it, and the first
// differing lines of each marked - and +; a long line is cut to the part around the first
// differing column. For a failure message.
inline std::string FirstDifference(const std::string& expected, const std::string& actual) {
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  std::vector<std::string> want = lines(expected);
  std::vector<std::string> got = lines(actual);
  size_t first = 0;
  while (first < want.size() && first < got.size() && want[first] == got[first]) ++first;
  size_t column = 0;
  if (first < want.size() && first < got.size()) {
    const std::string& a = want[first];
    const std::string& b = got[first];
    while (column < a.size() && column < b.size() && a[column] == b[column]) ++column;
  }
  auto cut = [&](const std::string& line) {
    if (line.size() <= 160) return line;
    size_t from = std::min(column > 60 ? column - 60 : 0, line.size() - 160);
    return (from > 0 ? "..." : "") + line.substr(from, 160) +
           (from + 160 < line.size() ? "..." : "");
  };
  std::string out = "first difference at line " + std::to_string(first + 1) + ", column " +
                    std::to_string(column + 1) + ":\n";
  for (size_t i = first >= 2 ? first - 2 : 0; i < first; ++i) out += "  " + cut(want[i]) + "\n";
  for (size_t i = first; i < want.size() && i < first + 3; ++i) out += "- " + cut(want[i]) + "\n";
  for (size_t i = first; i < got.size() && i < first + 3; ++i) out += "+ " + cut(got[i]) + "\n";
  return out;
}

// Compares `produced` with the golden file (byte for byte), or writes it there when updating.
// A missing golden file is a failure that says how to make it.
inline void ExpectGolden(const std::filesystem::path& golden, const std::string& produced) {
  if (UpdatingGolden()) {
    std::filesystem::create_directories(golden.parent_path());
    std::ofstream(golden, std::ios::binary) << produced;
    return;
  }
  if (!std::filesystem::exists(golden)) {
    ADD_FAILURE() << golden.string() << " is missing (BULWARK_UPDATE_GOLDEN=1 makes it)";
    return;
  }
  std::string expected = ReadAll(golden);
  if (expected != produced) {
    ADD_FAILURE() << "differs from " << golden.string()
                  << " (BULWARK_UPDATE_GOLDEN=1 rewrites it)\n"
                  << FirstDifference(expected, produced);
  }
}

}  // namespace bulwark::testing_support
