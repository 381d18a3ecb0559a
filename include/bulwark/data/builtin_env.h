#pragma once
// An Env that overlays the files compiled into the binary on another Env: "builtin:PATH" names
// data/PATH (the rule pack, decoders, field maps, samples, templates), every other path goes to
// the underlying Env. Commands and the service read configuration files through it, so that a
// `builtin:` path works wherever a path does. Thread-safe as the underlying Env is.

#include <string>
#include <vector>

#include "bulwark/core/env.h"

namespace bulwark::data {

class BuiltinEnv final : public Env {
 public:
  explicit BuiltinEnv(Env& base) : base_(base) {}

  TimeNs Now() const override { return base_.Now(); }
  // "builtin:PATH": the embedded file, or an Error "no such built-in file" naming the path.
  Result<std::string> ReadFile(const std::string& path) const override;
  // "builtin:DIR": the embedded files below data/DIR (or the one file) ending in one of
  // `extensions`, as builtin: paths, sorted; an Error when there is none.
  Result<std::vector<std::string>> ListFiles(
      const std::string& path, const std::vector<std::string>& extensions) const override;
  // "builtin:PATH": the embedded file as a stream.
  Result<ChunkSource> OpenSequential(const std::string& path) const override;

  // The overlay on Env::Default(), for the program's edge (main and its commands).
  static Env& Default();

 private:
  Env& base_;
};

}  // namespace bulwark::data
