#pragma once
// File helpers for tests.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

namespace bulwark::testing_support {

// The whole file as bytes; empty when it cannot be read.
inline std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Removes `path` and everything below it. A daemon the test has just stopped (gpg-agent,
// Dovecot) may still be deleting its own sockets while the tree is walked, which makes one
// walk fail with "No such file or directory"; the walk is repeated until the tree is gone
// (at most 50 times, 10 ms apart). Returns false if it could not be removed.
inline bool RemoveTree(const std::filesystem::path& path) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::error_code error;
    std::filesystem::remove_all(path, error);
    if (!error && !std::filesystem::exists(path, error)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// A data directory of the running test's own (`prefix`-pid-test name, under the temporary
// folder; a parameterised test's '/' becomes '_'), emptied first.
inline std::filesystem::path TestDataDir(const std::string& prefix) {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::replace(name.begin(), name.end(), '/', '_');
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              (prefix + "-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace bulwark::testing_support
