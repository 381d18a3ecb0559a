#pragma once
// File helpers for tests.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace bulwark::testing_support {

// The whole file as bytes; empty when it cannot be read.
inline std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace bulwark::testing_support
