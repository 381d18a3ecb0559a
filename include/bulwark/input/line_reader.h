#pragma once
// Reads lines from a file, a gzip-compressed file (detected by content; concatenated members
// too) or standard input, read through an Env. Lines longer than the limit are cut and flagged;
// the rest of the input goes on. Not thread-safe; one reader per input.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "bulwark/core/chunks.h"
#include "bulwark/core/env.h"
#include "bulwark/core/result.h"

namespace bulwark::input {

inline constexpr size_t kMaxLineBytes = 64 * 1024;

struct Line {
  std::string_view text;  // without the line terminator; see LineReader::storage()
  uint64_t number = 0;    // 1-based
  bool too_long = false;  // text holds the first kMaxLineBytes bytes only
};

class LineReader {
 public:
  // Opens `path` through `env`; "-" is standard input. An Error when it cannot be opened.
  static Result<std::unique_ptr<LineReader>> Open(const std::string& path, const Env& env);
  // Reads `source` (gzip is detected by content).
  static std::unique_ptr<LineReader> FromChunks(ChunkSource source);
  // Reads from memory (tests, embedded samples).
  static std::unique_ptr<LineReader> FromString(std::string data);
  ~LineReader();

  // The next line, false at the end of input. After false, error() tells whether the input ended
  // early (a truncated gzip stream or a read error), with the byte offset.
  bool Next(Line& line);
  // The memory the text of the last line lies in. A line's text is valid until the next call of
  // Next(), or for as long as a copy of this pointer, taken after the line was read, is held: the
  // reader never writes to memory it has handed out, so a caller may keep lines without copying.
  const std::shared_ptr<const char[]>& storage() const { return chunk_; }
  const std::string& error() const { return error_; }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  LineReader() = default;
  // Reads more input into a new chunk that starts with the unread rest of the current one.
  bool Fill();
  // Up to `capacity` bytes of the input, decompressed when it is gzip; 0 at its end.
  Result<size_t> ReadInput(char* out, size_t capacity);
  struct Inflater;
  ChunkSource source_;
  std::unique_ptr<Inflater> inflater_;  // gzip input: the compressed bytes and zlib's state
  bool detected_ = false;               // whether the input was looked at for the gzip magic
  std::string head_;                    // plain input read while detecting, not yet handed out
  size_t head_pos_ = 0;
  std::shared_ptr<const char[]> chunk_;  // input read so far that is not yet consumed
  size_t begin_ = 0;                     // start of unread data in chunk_
  size_t end_ = 0;                       // end of the data in chunk_
  bool eof_ = false;
  bool skipping_ = false;  // inside the remainder of an over-long line
  std::string error_;
  uint64_t line_number_ = 0;
  uint64_t bytes_read_ = 0;
};

}  // namespace bulwark::input
