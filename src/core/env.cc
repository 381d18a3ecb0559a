#include "bulwark/core/env.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "bulwark/core/strings.h"

namespace bulwark {

namespace {

class PosixEnv final : public Env {
 public:
  TimeNs Now() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  Result<std::string> ReadFile(const std::string& path) const override {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Fail(std::strerror(errno), path);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) return Fail("read error", path);
    return buffer.str();
  }

  Result<std::vector<std::string>> ListFiles(
      const std::string& path, const std::vector<std::string>& extensions) const override {
    namespace fs = std::filesystem;
    std::error_code ec;
    auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) return Fail("no such file or directory", path);
    if (!fs::is_directory(status)) return std::vector<std::string>{path};
    std::vector<std::string> files;
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string name = it->path().string();
      for (const std::string& ext : extensions) {
        if (name.ends_with(ext)) {
          files.push_back(name);
          break;
        }
      }
    }
    if (ec) return Fail(ec.message(), path);
    std::sort(files.begin(), files.end());
    return files;
  }

  Result<ChunkSource> OpenSequential(const std::string& path) const override {
    int fd = path == "-" ? ::dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Fail(std::strerror(errno), path);
    auto file = std::shared_ptr<int>(new int(fd), [](int* f) {
      ::close(*f);
      delete f;
    });
    return ChunkSource([file, path](char* buffer, size_t capacity) -> Result<size_t> {
      while (true) {
        ssize_t got = ::read(*file, buffer, capacity);
        if (got >= 0) return static_cast<size_t>(got);
        if (errno != EINTR) return Fail(std::strerror(errno), path);
      }
    });
  }
};

}  // namespace

Env& Env::Default() {
  static PosixEnv env;
  return env;
}

Result<std::string> Env::ReadSecretFile(const std::string& path) const {
  auto text = ReadFile(path);
  if (!text) return text;
  return std::string(Trim(*text));
}

}  // namespace bulwark
