#include "bulwark/receive/queue.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "bulwark/core/strings.h"

namespace bulwark::receive {

namespace {

namespace fs = std::filesystem;

constexpr size_t kHeader = 16;
constexpr uint32_t kMaxRecord = 1u << 30;

uint32_t Checksum(uint64_t sequence, std::string_view payload) {
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(&sequence), sizeof sequence);
  return static_cast<uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(payload.data()),
                                     static_cast<uInt>(payload.size())));
}

Error SystemError(const std::string& what, const std::string& path) {
  return Error{fmt::format("{}: {}", what, std::strerror(errno)), path};
}

// Reads exactly `size` bytes at `offset`; false at a short read.
bool ReadAt(int fd, uint64_t offset, char* out, size_t size) {
  while (size > 0) {
    ssize_t got = pread(fd, out, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    out += got;
    size -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

Result<void> SyncFolder(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(SystemError("cannot open the folder", dir));
  int synced = fsync(fd);
  ::close(fd);
  if (synced != 0) return tl::unexpected(SystemError("cannot sync the folder", dir));
  return {};
}

}  // namespace

DurableQueue::DurableQueue(std::string dir, Options options)
    : dir_(std::move(dir)), options_(options) {}

DurableQueue::~DurableQueue() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<DurableQueue>> DurableQueue::Open(const std::string& dir, Options options) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return Fail("cannot create the queue folder: " + error.message(), dir);
  // Processed records count against max_bytes until their segment is deleted, and the segment
  // being written is never deleted: segments of a quarter of the bound at most leave three
  // quarters of it for unprocessed records.
  options.segment_bytes =
      std::max<uint64_t>(1, std::min(options.segment_bytes, options.max_bytes / 4));
  std::unique_ptr<DurableQueue> queue(new DurableQueue(dir, options));
  if (auto recovered = queue->Recover(); !recovered) return tl::unexpected(recovered.error());
  return queue;
}

Result<void> DurableQueue::Recover() {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir_, error)) {
    std::string name = entry.path().filename().string();
    if (!name.ends_with(".seg")) continue;
    auto first = ParseInt(std::string_view(name).substr(0, name.size() - 4));
    if (!first || *first < 1) continue;
    segments_.push_back({static_cast<uint64_t>(*first), entry.path().string(), 0});
  }
  if (error) return Fail("cannot list the queue folder: " + error.message(), dir_);
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.first < b.first; });
  // The committed position (the queue does its own I/O, like the store: it needs fdatasync).
  if (int fd = ::open((dir_ + "/committed").c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    char text[32] = {};
    ssize_t got = ::read(fd, text, sizeof text - 1);
    ::close(fd);
    auto committed = ParseInt(Trim(std::string_view(text, got > 0 ? static_cast<size_t>(got) : 0)));
    if (committed && *committed >= 0) committed_ = static_cast<uint64_t>(*committed);
  }
  next_ = committed_ + 1;
  std::string payload;
  for (size_t i = 0; i < segments_.size(); ++i) {
    Segment& segment = segments_[i];
    bool last = i + 1 == segments_.size();
    int fd = ::open(segment.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tl::unexpected(SystemError("cannot open", segment.path));
    uint64_t file_size = static_cast<uint64_t>(lseek(fd, 0, SEEK_END));
    uint64_t offset = 0;
    uint64_t expected = segment.first;
    while (offset < file_size) {
      char header[kHeader];
      uint32_t length = 0, crc = 0;
      uint64_t sequence = 0;
      std::string problem;
      if (offset + kHeader > file_size || !ReadAt(fd, offset, header, kHeader)) {
        problem = "a record header cut short";
      } else {
        std::memcpy(&length, header, 4);
        std::memcpy(&crc, header + 4, 4);
        std::memcpy(&sequence, header + 8, 8);
        if (length > kMaxRecord || offset + kHeader + length > file_size) {
          problem = "a record cut short";
        } else {
          payload.resize(length);
          if (!ReadAt(fd, offset + kHeader, payload.data(), length) ||
              Checksum(sequence, payload) != crc) {
            problem = "a record whose checksum does not match";
          } else if (sequence != expected) {
            problem = fmt::format("record {} where {} was due", sequence, expected);
          }
        }
      }
      if (!problem.empty()) {
        if (last) {
          recovery_.torn_bytes = file_size - offset;
        } else {
          recovery_.damaged.push_back(Error{problem + "; the rest of the segment is skipped",
                                            fmt::format("{}: byte {}", segment.path, offset)});
        }
        break;
      }
      offset += kHeader + length;
      if (sequence > committed_) ++recovery_.records;
      ++expected;
    }
    ::close(fd);
    segment.size = offset;
    next_ = std::max(next_, expected);
    if (last && recovery_.torn_bytes > 0 &&
        truncate(segment.path.c_str(), static_cast<off_t>(offset)) != 0) {
      return tl::unexpected(SystemError("cannot cut the torn tail of", segment.path));
    }
  }
  if (!segments_.empty()) {
    fd_ = ::open(segments_.back().path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0) return tl::unexpected(SystemError("cannot open", segments_.back().path));
  }
  read_next_ = committed_ + 1;
  read_segment_ = 0;
  read_offset_ = 0;
  return {};
}

Result<void> DurableQueue::StartSegment() {
  if (fd_ >= 0) ::close(fd_);
  Segment segment{next_, fmt::format("{}/{:020}.seg", dir_, next_), 0};
  fd_ = ::open(segment.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return tl::unexpected(SystemError("cannot create", segment.path));
  segments_.push_back(std::move(segment));
  return SyncFolder(dir_);
}

uint64_t DurableQueue::bytes() const {
  uint64_t total = pending_.size();
  for (const Segment& segment : segments_) total += segment.size;
  return total;
}

Result<uint64_t> DurableQueue::Append(std::string_view record, Bound bound) {
  if (record.size() > kMaxRecord) return Fail("a record over 1 GiB");
  uint64_t size = kHeader + record.size();
  if (bound == Bound::kKeep && bytes() + size > options_.max_bytes) return Fail("full");
  if (fd_ < 0) {
    if (auto started = StartSegment(); !started) return tl::unexpected(started.error());
  } else {
    uint64_t held = segments_.back().size + pending_.size();
    if (held > 0 && held + size > options_.segment_bytes) {
      if (auto synced = Sync(); !synced) return tl::unexpected(synced.error());
      if (auto started = StartSegment(); !started) return tl::unexpected(started.error());
    }
  }
  uint64_t sequence = next_++;
  uint32_t length = static_cast<uint32_t>(record.size());
  uint32_t crc = Checksum(sequence, record);
  char header[kHeader];
  std::memcpy(header, &length, 4);
  std::memcpy(header + 4, &crc, 4);
  std::memcpy(header + 8, &sequence, 8);
  pending_.append(header, kHeader);
  pending_.append(record);
  return sequence;
}

Result<void> DurableQueue::Sync() {
  if (pending_.empty()) return {};
  const std::string& path = segments_.back().path;
  size_t written = 0;
  while (written < pending_.size()) {
    ssize_t n = ::write(fd_, pending_.data() + written, pending_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(SystemError("cannot write", path));
    written += static_cast<size_t>(n);
  }
  if (fdatasync(fd_) != 0) return tl::unexpected(SystemError("cannot sync", path));
  segments_.back().size += pending_.size();
  pending_.clear();
  return {};
}

Result<size_t> DurableQueue::Read(
    size_t max, const std::function<void(uint64_t sequence, std::string_view record)>& record) {
  // Segments are read a chunk at a time (records are small: one pread per record would cost more
  // than everything else done with it).
  constexpr size_t kChunk = 1 << 20;
  size_t given = 0;
  std::string chunk;
  uint64_t chunk_offset = 0;  // of chunk's first byte in the open segment
  int fd = -1;
  size_t fd_segment = SIZE_MAX;
  auto close_fd = [&] {
    if (fd >= 0) ::close(fd);
    fd = -1;
    chunk.clear();
  };
  // Bytes [offset, offset + size) of the open segment, of which `synced` bytes are on disk;
  // nullptr at a short read.
  auto bytes_at = [&](uint64_t offset, size_t size, uint64_t synced) -> const char* {
    if (offset >= chunk_offset && offset + size <= chunk_offset + chunk.size()) {
      return chunk.data() + (offset - chunk_offset);
    }
    size_t want = std::max<uint64_t>(size, std::min<uint64_t>(kChunk, synced - offset));
    chunk.resize(want);
    chunk_offset = offset;
    if (!ReadAt(fd, offset, chunk.data(), want)) {
      chunk.clear();
      return nullptr;
    }
    return chunk.data();
  };
  while (given < max && read_segment_ < segments_.size()) {
    const Segment& segment = segments_[read_segment_];
    if (read_offset_ + kHeader > segment.size) {
      if (read_segment_ + 1 == segments_.size()) break;  // at the end of what was synced
      ++read_segment_;
      read_offset_ = 0;
      continue;
    }
    if (fd_segment != read_segment_) {
      close_fd();
      fd = ::open(segment.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return tl::unexpected(SystemError("cannot open", segment.path));
      fd_segment = read_segment_;
    }
    const char* header = bytes_at(read_offset_, kHeader, segment.size);
    if (!header) {
      close_fd();
      return Fail(fmt::format("cannot read byte {}", read_offset_), segment.path);
    }
    uint32_t length = 0;
    uint64_t sequence = 0;
    std::memcpy(&length, header, 4);
    std::memcpy(&sequence, header + 8, 8);
    const char* payload = bytes_at(read_offset_ + kHeader, length, segment.size);
    if (!payload) {
      close_fd();
      return Fail(fmt::format("cannot read byte {}", read_offset_ + kHeader), segment.path);
    }
    read_offset_ += kHeader + length;
    if (sequence < read_next_) continue;
    record(sequence, std::string_view(payload, length));
    read_next_ = sequence + 1;
    ++given;
  }
  close_fd();
  return given;
}

Result<void> DurableQueue::Commit(uint64_t sequence) {
  if (sequence <= committed_) return {};
  std::string temporary = dir_ + "/committed.tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return tl::unexpected(SystemError("cannot create", temporary));
  std::string text = std::to_string(sequence) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            fdatasync(fd) == 0;
  ::close(fd);
  if (!ok) return tl::unexpected(SystemError("cannot write", temporary));
  if (std::rename(temporary.c_str(), (dir_ + "/committed").c_str()) != 0) {
    return tl::unexpected(SystemError("cannot replace", dir_ + "/committed"));
  }
  if (auto synced = SyncFolder(dir_); !synced) return synced;
  committed_ = sequence;
  // Segments whose records are all processed go; the one being written stays.
  size_t drop = 0;
  while (drop + 1 < segments_.size() && segments_[drop + 1].first <= committed_ + 1) ++drop;
  for (size_t i = 0; i < drop; ++i) {
    if (::unlink(segments_[i].path.c_str()) != 0 && errno != ENOENT) {
      return tl::unexpected(SystemError("cannot delete", segments_[i].path));
    }
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(drop));
  if (read_segment_ < drop) {  // the reader was behind what is committed
    read_segment_ = 0;
    read_offset_ = 0;
  } else {
    read_segment_ -= drop;
  }
  read_next_ = std::max(read_next_, committed_ + 1);
  return {};
}

}  // namespace bulwark::receive
