#include "bulwark/data/builtin_env.h"

#include <algorithm>

#include "bulwark/data/embedded.h"

namespace bulwark::data {

namespace {
constexpr std::string_view kPrefix = "builtin:";
}  // namespace

Result<std::string> BuiltinEnv::ReadFile(const std::string& path) const {
  if (!path.starts_with(kPrefix)) return base_.ReadFile(path);
  std::string_view content = EmbeddedFileContent(std::string_view(path).substr(kPrefix.size()));
  if (content.empty()) return Fail("no such built-in file", path);
  return std::string(content);
}

Result<std::vector<std::string>> BuiltinEnv::ListFiles(
    const std::string& path, const std::vector<std::string>& extensions) const {
  if (!path.starts_with(kPrefix)) return base_.ListFiles(path, extensions);
  std::string_view inner = std::string_view(path).substr(kPrefix.size());
  std::vector<std::string> out;
  auto wanted = [&](std::string_view name) {
    return extensions.empty() ||
           std::any_of(extensions.begin(), extensions.end(),
                       [&](const std::string& extension) { return name.ends_with(extension); });
  };
  if (!EmbeddedFileContent(inner).empty()) {
    out.push_back(path);
    return out;
  }
  std::string folder(inner);
  if (!folder.empty() && folder.back() != '/') folder.push_back('/');
  for (const EmbeddedFile& file : EmbeddedUnder(folder)) {
    if (wanted(file.path)) out.push_back(std::string(kPrefix) + std::string(file.path));
  }
  if (out.empty()) return Fail("no such built-in file or folder", path);
  return out;
}

Result<ChunkSource> BuiltinEnv::OpenSequential(const std::string& path) const {
  if (!path.starts_with(kPrefix)) return base_.OpenSequential(path);
  std::string_view content = EmbeddedFileContent(std::string_view(path).substr(kPrefix.size()));
  if (content.empty()) return Fail("no such built-in file", path);
  return ChunksOf(content);  // embedded data lives as long as the program
}

Env& BuiltinEnv::Default() {
  static BuiltinEnv env(Env::Default());
  return env;
}

}  // namespace bulwark::data
