#pragma once
// Reads lines from a file, a gzip-compressed file (detected by content) or standard input.
// Lines longer than the limit are cut and flagged; the rest of the input goes on.
// Not thread-safe; one reader per input.

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "bulwark/core/result.h"

namespace bulwark::input {

inline constexpr size_t kMaxLineBytes = 64 * 1024;

struct Line {
  std::string_view text;  // without the line terminator; valid until the next Next()
  uint64_t number = 0;    // 1-based
  bool too_long = false;  // text holds the first kMaxLineBytes bytes only
};

class LineReader {
 public:
  // Opens `path`; "-" is standard input. An Error when the file cannot be opened.
  static Result<std::unique_ptr<LineReader>> Open(const std::string& path);
  // Reads from memory (tests, embedded samples).
  static std::unique_ptr<LineReader> FromString(std::string data);
  ~LineReader();

  // The next line, false at the end of input. After false, error() tells whether the input ended
  // early (a truncated gzip stream or a read error), with the byte offset.
  bool Next(Line& line);
  const std::string& error() const { return error_; }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  LineReader() = default;
  bool Fill();
  gzFile file_ = nullptr;
  std::string memory_;
  bool from_memory_ = false;
  std::string buffer_;
  size_t begin_ = 0;  // start of unread data in buffer_
  bool eof_ = false;
  bool skipping_ = false;  // inside the remainder of an over-long line
  std::string error_;
  uint64_t line_number_ = 0;
  uint64_t bytes_read_ = 0;
};

}  // namespace bulwark::input
