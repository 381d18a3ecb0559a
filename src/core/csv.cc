#include "bulwark/core/csv.h"

namespace bulwark {

namespace {
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
constexpr size_t kChunk = 64 * 1024;
}  // namespace

CsvReader::CsvReader(std::string_view text, char separator) : text_(text), separator_(separator) {
  if (text_.starts_with(kByteOrderMark)) pos_ = kByteOrderMark.size();
}

CsvReader::CsvReader(Chunks chunks, char separator)
    : separator_(separator), chunks_(std::move(chunks)) {}

bool CsvReader::Refill() {
  if (!chunks_ || !error_.empty()) return false;
  chunk_.resize(kChunk);
  size_t filled = 0;
  // The first chunk holds at least the byte order mark's length, so that a mark is seen whole.
  size_t wanted = first_chunk_ ? kByteOrderMark.size() : 1;
  while (filled < wanted) {
    auto got = chunks_(chunk_.data() + filled, chunk_.size() - filled);
    if (!got) {
      error_ = got.error().ToString();
      return false;
    }
    if (*got == 0) break;
    filled += *got;
  }
  chunk_.resize(filled);
  text_ = chunk_;
  pos_ = 0;
  bool first = first_chunk_;
  first_chunk_ = false;
  if (first && text_.starts_with(kByteOrderMark)) {
    pos_ = kByteOrderMark.size();
    if (pos_ == text_.size()) return Refill();  // the chunk held the mark only
  }
  return pos_ < text_.size();
}

bool CsvReader::Next(std::vector<std::string>& fields) {
  fields.clear();
  unterminated_ = false;
  // Skip empty lines.
  while (More() && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
    if (text_[pos_] == '\n') ++line_;
    ++pos_;
  }
  if (!More()) return false;
  record_line_ = line_;
  std::string field;
  bool quoted = false;      // inside a quoted field
  bool was_quoted = false;  // the current field started with a quote
  while (More()) {
    char ch = text_[pos_++];
    if (quoted) {
      if (ch == '"') {
        if (More() && text_[pos_] == '"') {
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
      if (ch == '\r' && More() && text_[pos_] == '\n') ++pos_;
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

CsvReader CsvText::Reader(char separator) const {
  return open ? CsvReader(open(), separator) : CsvReader(text, separator);
}

std::string CsvText::Head(size_t max) const {
  if (!open) return std::string(text.substr(0, max));
  std::string head(max, '\0');
  ChunkSource source = open();
  size_t at = 0;
  while (at < max) {
    auto got = source(head.data() + at, max - at);
    if (!got || *got == 0) break;
    at += *got;
  }
  head.resize(at);
  return head;
}

}  // namespace bulwark
