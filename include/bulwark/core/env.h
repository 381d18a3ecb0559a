#pragma once
// The seam to the operating system: clock and files. Production code takes an Env&; tests pass a
// subclass that fixes the clock or injects faults. Implementations must be thread-safe (a
// ChunkSource they return is used by one thread).

#include <string>
#include <vector>

#include "bulwark/core/chunks.h"
#include "bulwark/core/result.h"
#include "bulwark/core/time.h"

namespace bulwark {

class Env {
 public:
  virtual ~Env() = default;
  // Wall-clock time.
  virtual TimeNs Now() const = 0;
  // The whole file; an Error naming the path and the system's reason when it cannot be read.
  virtual Result<std::string> ReadFile(const std::string& path) const = 0;
  // Regular files below `path` (recursively, sorted) whose names end in one of `extensions`;
  // `path` itself when it is a file. An Error when `path` does not exist.
  virtual Result<std::vector<std::string>> ListFiles(
      const std::string& path, const std::vector<std::string>& extensions) const = 0;
  // The file as a stream read from its beginning ("-" is standard input), for files too big to
  // hold (logs). An Error naming the path when it cannot be opened; the source reports read
  // errors.
  virtual Result<ChunkSource> OpenSequential(const std::string& path) const = 0;

  // The process-wide default Env backed by the real clock and file system.
  static Env& Default();

  // A file holding one secret (password, API key, HMAC secret): its text without the white space
  // around it (the trailing newline editors add). Errors as ReadFile.
  Result<std::string> ReadSecretFile(const std::string& path) const;
};

}  // namespace bulwark
