#pragma once
// Follows a log file like `tail -F`: returns the complete lines appended since the last call,
// reopens the file when it is rotated (replaced by a new file, or truncated), and waits for a
// file that does not exist yet (then reads it from its start). Starts at the end of an existing
// file as of construction (lines written before are not read). Truncation (copytruncate) is
// noticed when the file is shorter than what was read; a file truncated and refilled past that
// point between two polls is read from the old position. Not thread-safe; one per file.

#include <cstdint>
#include <string>
#include <vector>

#include "bulwark/core/result.h"

namespace bulwark::input {

class FileFollower {
 public:
  explicit FileFollower(std::string path, bool from_start = false);
  ~FileFollower();
  FileFollower(const FileFollower&) = delete;
  FileFollower& operator=(const FileFollower&) = delete;

  // Appends the new complete lines to `lines` (a partial last line waits for its end). Returns
  // the number appended; an Error only for read failures other than a missing file.
  Result<size_t> Poll(std::vector<std::string>& lines);
  const std::string& path() const { return path_; }
  uint64_t rotations() const { return rotations_; }

 private:
  bool Open(bool at_end);

  std::string path_;
  bool from_start_;
  int fd_ = -1;
  uint64_t inode_ = 0;
  uint64_t device_ = 0;
  uint64_t offset_ = 0;
  std::string partial_;
  uint64_t rotations_ = 0;
};

}  // namespace bulwark::input
