#include "bulwark/core/csv.h"

namespace bulwark {

CsvReader::CsvReader(std::string_view text, char separator) : text_(text), separator_(separator) {
  if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
}

bool CsvReader::Next(std::vector<std::string>& fields) {
  fields.clear();
  unterminated_ = false;
  // Skip empty lines.
  while (pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
    if (text_[pos_] == '\n') ++line_;
    ++pos_;
  }
  if (pos_ >= text_.size()) return false;
  record_line_ = line_;
  std::string field;
  bool quoted = false;      // inside a quoted field
  bool was_quoted = false;  // the current field started with a quote
  while (pos_ < text_.size()) {
    char ch = text_[pos_++];
    if (quoted) {
      if (ch == '"') {
        if (pos_ < text_.size() && text_[pos_] == '"') {
          field.push_back('"');
          ++pos_;
        } else {
          quoted = false;
        }
      } else {
        if (ch == '\n') ++line_;
        field.push_back(ch);
      }
      continue;
    }
    if (ch == separator_) {
      fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (ch == '\n' || ch == '\r') {
      if (ch == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
      ++line_;
      fields.push_back(std::move(field));
      return true;
    } else if (ch == '"' && field.empty() && !was_quoted) {
      quoted = true;
      was_quoted = true;
    } else {
      field.push_back(ch);
    }
  }
  unterminated_ = quoted;
  fields.push_back(std::move(field));
  return true;
}

}  // namespace bulwark
