#pragma once
// An RFC 4180 CSV reader over text in memory or read in chunks (a text too big to hold, such as
// an unpacked archive entry): quoted fields (with commas, doubled quotes and line breaks inside),
// CRLF or LF line ends, a UTF-8 byte order mark at the start. Lenient where real files are
// sloppy: a quote inside an unquoted field is kept as a character, and an unterminated quoted
// field runs to the end of the text (reported by unterminated()). Not thread-safe.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/chunks.h"
#include "bulwark/core/result.h"

namespace bulwark {

class CsvReader {
 public:
  using Chunks = ChunkSource;

  explicit CsvReader(std::string_view text, char separator = ',');
  // Reads the text from `chunks`, holding one chunk (64 KiB) and one record at a time.
  explicit CsvReader(Chunks chunks, char separator = ',');

  // Reads the next record into `fields`; false at the end of the text (or when the chunks
  // failed: see error()). Empty lines are skipped.
  bool Next(std::vector<std::string>& fields);
  // The 1-based line number where the last record returned by Next() started.
  size_t line() const { return record_line_; }
  // True when the last record ended inside a quoted field (the text ended first).
  bool unterminated() const { return unterminated_; }
  // Why the chunks stopped before the end of the text; empty when they did not.
  const std::string& error() const { return error_; }

 private:
  // True when a character is available at pos_, reading the next chunk when needed.
  bool More() { return pos_ < text_.size() || Refill(); }
  bool Refill();

  std::string_view text_;
  char separator_;
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t record_line_ = 0;
  bool unterminated_ = false;
  Chunks chunks_;
  std::string chunk_;
  bool first_chunk_ = true;
  std::string error_;
};

// A CSV text read in passes, each from its beginning: in memory, or read again from its source
// for each pass (a text too big to hold, such as an unpacked archive entry).
struct CsvText {
  std::string_view text;              // the text in memory, when `open` is not set
  std::function<ChunkSource()> open;  // each call reads the text from its beginning

  CsvReader Reader(char separator = ',') const;
  // Its first `max` bytes (enough for the header line); what could be read when the source fails.
  std::string Head(size_t max = 65536) const;
};

}  // namespace bulwark
