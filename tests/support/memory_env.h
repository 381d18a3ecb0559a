#pragma once
// An Env for tests: files in memory, a clock that stands still until moved. Thread-safe for
// reads; set files and time before handing it out.

#include <map>
#include <string>
#include <vector>

#include "bulwark/core/env.h"

namespace bulwark::testing_support {

class MemoryEnv final : public Env {
 public:
  std::map<std::string, std::string> files;
  TimeNs now = 1'800'000'000 * kNsPerSecond;

  TimeNs Now() const override { return now; }
  Result<std::string> ReadFile(const std::string& path) const override {
    auto found = files.find(path);
    if (found == files.end()) return Fail("no such file", path);
    return found->second;
  }
  Result<std::vector<std::string>> ListFiles(
      const std::string& path, const std::vector<std::string>& extensions) const override {
    std::vector<std::string> out;
    for (const auto& [name, content] : files) {
      if (name != path && !name.starts_with(path + "/")) continue;
      for (const std::string& extension : extensions) {
        if (name.ends_with(extension)) {
          out.push_back(name);
          break;
        }
      }
    }
    if (out.empty() && !files.count(path)) return Fail("no such file or folder", path);
    return out;
  }
};

}  // namespace bulwark::testing_support
