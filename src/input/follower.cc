#include "bulwark/input/follower.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bulwark::input {

namespace {
constexpr size_t kMaxLine = 64 * 1024;  // as LineReader: longer lines are cut
}

FileFollower::FileFollower(std::string path, bool from_start)
    : path_(std::move(path)), from_start_(from_start) {
  // The position is taken now: lines written after construction are read by the first Poll.
  Open(!from_start_);
}

FileFollower::~FileFollower() {
  if (fd_ >= 0) close(fd_);
}

bool FileFollower::Open(bool at_end) {
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    return false;
  }
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
  inode_ = st.st_ino;
  device_ = st.st_dev;
  offset_ = at_end ? static_cast<uint64_t>(st.st_size) : 0;
  partial_.clear();
  return true;
}

Result<size_t> FileFollower::Poll(std::vector<std::string>& lines) {
  size_t before = lines.size();
  if (fd_ < 0 && !Open(false)) return size_t{0};  // not there yet: read it from its start
  auto drain = [&]() -> Result<void> {
    char buffer[1 << 16];
    while (true) {
      ssize_t n = pread(fd_, buffer, sizeof(buffer), static_cast<off_t>(offset_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Fail(fmt::format("cannot read: {}", std::strerror(errno)), path_);
      }
      if (n == 0) return {};
      offset_ += static_cast<uint64_t>(n);
      size_t start = 0;
      for (ssize_t i = 0; i < n; ++i) {
        if (buffer[i] != '\n') continue;
        partial_.append(buffer + start, static_cast<size_t>(i) - start);
        if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
        lines.push_back(partial_.substr(0, kMaxLine));
        partial_.clear();
        start = static_cast<size_t>(i) + 1;
      }
      partial_.append(buffer + start, static_cast<size_t>(n) - start);
    }
  };
  if (auto done = drain(); !done) return tl::unexpected(done.error());
  // Rotated (a new file at the path) or truncated (copytruncate)?
  struct stat st {};
  if (stat(path_.c_str(), &st) == 0) {
    bool replaced =
        static_cast<uint64_t>(st.st_ino) != inode_ || static_cast<uint64_t>(st.st_dev) != device_;
    bool truncated = !replaced && static_cast<uint64_t>(st.st_size) < offset_;
    if (replaced || truncated) {
      if (!partial_.empty()) lines.push_back(partial_.substr(0, kMaxLine));  // the old file's end
      if (Open(false)) {
        ++rotations_;
        if (auto done = drain(); !done) return tl::unexpected(done.error());
      }
    }
  }
  return lines.size() - before;
}

}  // namespace bulwark::input
