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
  reader->from_memory_ = true;
  reader->buffer_ = std::move(data);
  reader->bytes_read_ = reader->buffer_.size();
  reader->eof_ = true;
  return reader;
}

LineReader::~LineReader() {
  if (file_) gzclose(file_);
}

bool LineReader::Fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    buffer_.erase(0, begin_);
    begin_ = 0;
  }
  size_t old_size = buffer_.size();
  buffer_.resize(old_size + kChunk);
  int n = gzread(file_, buffer_.data() + old_size, kChunk);
  if (n <= 0) {
    buffer_.resize(old_size);
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
  buffer_.resize(old_size + static_cast<size_t>(n));
  return true;
}

bool LineReader::Next(Line& line) {
  while (true) {
    size_t newline = buffer_.find('\n', begin_);
    if (newline == std::string::npos && buffer_.size() - begin_ <= kMaxLineBytes && Fill()) {
      continue;
    }
    size_t available = buffer_.size() - begin_;
    if (newline == std::string::npos && available == 0) return false;
    size_t end = newline == std::string::npos ? buffer_.size() : newline;
    bool too_long = end - begin_ > kMaxLineBytes;
    if (skipping_) {
      // Drop the rest of an over-long line that was already reported.
      if (newline == std::string::npos) {
        begin_ = buffer_.size();
        if (!Fill()) return false;
        continue;
      }
      skipping_ = false;
      begin_ = newline + 1;
      continue;
    }
    size_t length = too_long ? kMaxLineBytes : end - begin_;
    line.text = std::string_view(buffer_).substr(begin_, length);
    if (!line.text.empty() && line.text.back() == '\r') line.text.remove_suffix(1);
    line.number = ++line_number_;
    line.too_long = too_long;
    if (too_long && newline == std::string::npos) {
      skipping_ = true;
      begin_ += length;
    } else {
      begin_ = newline == std::string::npos ? buffer_.size() : newline + 1;
    }
    return true;
  }
}

}  // namespace bulwark::input
