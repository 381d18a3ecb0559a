#pragma once
// An RFC 4180 CSV reader over text in memory: quoted fields (with commas, doubled quotes and line
// breaks inside), CRLF or LF line ends, a UTF-8 byte order mark at the start. Lenient where real
// files are sloppy: a quote inside an unquoted field is kept as a character, and an unterminated
// quoted field runs to the end of the text (reported by unterminated()). Not thread-safe.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark {

class CsvReader {
 public:
  explicit CsvReader(std::string_view text, char separator = ',');

  // Reads the next record into `fields`; false at the end of the text. Empty lines are skipped.
  bool Next(std::vector<std::string>& fields);
  // The 1-based line number where the last record returned by Next() started.
  size_t line() const { return record_line_; }
  // True when the last record ended inside a quoted field (the text ended first).
  bool unterminated() const { return unterminated_; }

 private:
  std::string_view text_;
  char separator_;
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t record_line_ = 0;
  bool unterminated_ = false;
};

}  // namespace bulwark
