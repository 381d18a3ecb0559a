#pragma once
// The one golden-file comparison of the tests: what a test produced against the file that holds
// what it must produce. `BULWARK_UPDATE_GOLDEN=1 ctest ...` writes the files anew instead (review
// the diff before committing), as Zeek's `btest -U` does with its baselines.

#include <gtest/gtest.h>

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

// The lines where `expected` and `actual` first differ, a few either side, marked with - and +;
// for a failure message.
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
  std::string out = "first difference at line " + std::to_string(first + 1) + ":\n";
  size_t from = first >= 2 ? first - 2 : 0;
  for (size_t i = from; i < first; ++i) out += "  " + want[i] + "\n";
  for (size_t i = first; i < want.size() && i < first + 5; ++i) out += "- " + want[i] + "\n";
  for (size_t i = first; i < got.size() && i < first + 5; ++i) out += "+ " + got[i] + "\n";
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
