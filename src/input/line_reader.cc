#include "bulwark/input/line_reader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bulwark::input {

namespace {
constexpr size_t kChunk = 256 * 1024;
}

Result<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path) {
  int fd = path == "-" ? dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(std::strerror(errno), path);
  gzFile file = gzdopen(fd, "rb");
  if (!file) {
    ::close(fd);
    return Fail("cannot start decompression", path);
  }
  gzbuffer(file, 128 * 1024);
  std::unique_ptr<LineReader> reader(new LineReader());
  reader->file_ = file;
  return reader;
}

std::unique_ptr<LineReader> LineReader::FromString(std::string data) {
  std::unique_ptr<LineReader> reader(new LineReader());
  auto held = std::make_shared<const std::string>(std::move(data));
  reader->chunk_ = std::shared_ptr<const char[]>(held, held->data());  // shares ownership
  reader->end_ = held->size();
  reader->bytes_read_ = held->size();
  reader->eof_ = true;
  return reader;
}

LineReader::~LineReader() {
  if (file_) gzclose(file_);
}

bool LineReader::Fill() {
  if (eof_) return false;
  size_t rest = end_ - begin_;
  // Uninitialised memory: the read fills it. Lines already handed out keep the old chunk.
  std::shared_ptr<char[]> chunk = std::make_shared_for_overwrite<char[]>(rest + kChunk);
  if (rest > 0) std::memcpy(chunk.get(), chunk_.get() + begin_, rest);
  int n = gzread(file_, chunk.get() + rest, kChunk);
  chunk_ = std::move(chunk);
  begin_ = 0;
  end_ = rest;
  if (n <= 0) {
    eof_ = true;
    int code = 0;
    const char* message = gzerror(file_, &code);
    if (n < 0 || (code != Z_OK && code != Z_STREAM_END)) {
      error_ = fmt::format("byte {}: {}", bytes_read_, message ? message : "read error");
    } else if (code == Z_OK && !gzeof(file_)) {
      error_ = fmt::format("byte {}: unexpected end of input", bytes_read_);
    }
    return false;
  }
  bytes_read_ += static_cast<uint64_t>(n);
  end_ += static_cast<size_t>(n);
  return true;
}

bool LineReader::Next(Line& line) {
  while (true) {
    const char* data = chunk_.get();
    const char* found =
        end_ > begin_ ? static_cast<const char*>(std::memchr(data + begin_, '\n', end_ - begin_))
                      : nullptr;
    size_t available = end_ - begin_;
    if (found == nullptr && available <= kMaxLineBytes && !eof_) {
      Fill();  // at the end of input too: the unread rest moves into the new chunk
      continue;
    }
    if (found == nullptr && available == 0) return false;
    size_t newline = found ? static_cast<size_t>(found - data) : end_;
    bool too_long = newline - begin_ > kMaxLineBytes;
    if (skipping_) {
      // Drop the rest of an over-long line that was already reported.
      if (found == nullptr) {
        begin_ = end_;
        if (!Fill()) return false;
        continue;
      }
      skipping_ = false;
      begin_ = newline + 1;
      continue;
    }
    size_t length = too_long ? kMaxLineBytes : newline - begin_;
    line.text = std::string_view(data + begin_, length);
    if (!line.text.empty() && line.text.back() == '\r') line.text.remove_suffix(1);
    line.number = ++line_number_;
    line.too_long = too_long;
    if (too_long && found == nullptr) {
      skipping_ = true;
      begin_ += length;
    } else {
      begin_ = found ? newline + 1 : end_;
    }
    return true;
  }
}

}  // namespace bulwark::input
