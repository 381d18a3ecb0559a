#pragma once
// The one fake Env of the tests: files in memory (or, with kRealFiles, those not in memory read
// from the disk), a clock that stands still until moved. Thread-safe for reads; set files and
// time before handing it out.

#include <map>
#include <string>
#include <vector>

#include "bulwark/core/env.h"

namespace bulwark::testing_support {

class MemoryEnv final : public Env {
 public:
  enum Disk { kNoFiles, kRealFiles };
  explicit MemoryEnv(TimeNs start = 1'800'000'000 * kNsPerSecond, Disk disk = kNoFiles)
      : now(start), disk_(disk) {}

  std::map<std::string, std::string> files;
  TimeNs now;

  TimeNs Now() const override { return now; }
  Result<std::string> ReadFile(const std::string& path) const override {
    auto found = files.find(path);
    if (found != files.end()) return found->second;
    if (disk_ == kRealFiles) return Env::Default().ReadFile(path);
    return Fail("no such file", path);
  }
  Result<std::vector<std::string>> ListFiles(
      const std::string& path, const std::vector<std::string>& extensions) const override {
    if (disk_ == kRealFiles && files.empty()) return Env::Default().ListFiles(path, extensions);
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
  Result<ChunkSource> OpenSequential(const std::string& path) const override {
    auto found = files.find(path);
    if (found != files.end()) return ChunksOf(std::make_shared<const std::string>(found->second));
    if (disk_ == kRealFiles) return Env::Default().OpenSequential(path);
    return Fail("no such file", path);
  }

 private:
  Disk disk_;
};

}  // namespace bulwark::testing_support
