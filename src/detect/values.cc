#include "values.h"

#include <fmt/format.h>

#include <algorithm>

#include "bulwark/match/database.h"

namespace bulwark::detect {

using sigma::Modifier;

namespace {

bool Has(const std::vector<Modifier>& modifiers, Modifier m) {
  return std::find(modifiers.begin(), modifiers.end(), m) != modifiers.end();
}

// A value as a sequence of literal text and wildcards, after Sigma's escape rules:
// \* \? \\ are literals, any other backslash is itself.
struct Piece {
  enum class Kind { kText, kStar, kQuestion } kind;
  std::string text;
};

std::vector<Piece> SplitWildcards(std::string_view value) {
  std::vector<Piece> pieces;
  std::string text;
  auto flush = [&] {
    if (!text.empty()) pieces.push_back({Piece::Kind::kText, std::move(text)});
    text.clear();
  };
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' && i + 1 < value.size() &&
        (value[i + 1] == '*' || value[i + 1] == '?' || value[i + 1] == '\\')) {
      text.push_back(value[++i]);
    } else if (c == '*') {
      flush();
      pieces.push_back({Piece::Kind::kStar, ""});
    } else if (c == '?') {
      flush();
      pieces.push_back({Piece::Kind::kQuestion, ""});
    } else {
      text.push_back(c);
    }
  }
  flush();
  return pieces;
}

std::string Utf16(std::string_view utf8, bool big_endian, bool bom) {
  std::string out;
  if (bom) out += big_endian ? std::string("\xFE\xFF", 2) : std::string("\xFF\xFE", 2);
  auto put = [&](uint16_t unit) {
    char hi = static_cast<char>(unit >> 8), lo = static_cast<char>(unit & 0xFF);
    if (big_endian) {
      out.push_back(hi);
      out.push_back(lo);
    } else {
      out.push_back(lo);
      out.push_back(hi);
    }
  };
  for (size_t i = 0; i < utf8.size();) {
    auto c = static_cast<unsigned char>(utf8[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0xF0 && i + 3 < utf8.size() + 0) {
      cp = ((c & 0x07) << 18) | ((utf8[i + 1] & 0x3F) << 12) | ((utf8[i + 2] & 0x3F) << 6) |
           (utf8[i + 3] & 0x3F);
      len = 4;
    } else if (c >= 0xE0 && i + 2 < utf8.size()) {
      cp = ((c & 0x0F) << 12) | ((utf8[i + 1] & 0x3F) << 6) | (utf8[i + 2] & 0x3F);
      len = 3;
    } else if (c >= 0xC0 && i + 1 < utf8.size()) {
      cp = ((c & 0x1F) << 6) | (utf8[i + 1] & 0x3F);
      len = 2;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(static_cast<uint16_t>(0xD800 + (cp >> 10)));
      put(static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      put(static_cast<uint16_t>(cp));
    }
    i += len;
  }
  return out;
}

// Sigma's `?`: one character. Event text is valid UTF-8 (readers repair invalid bytes), so a
// character is an ASCII byte or a lead byte with its continuation bytes; a stray continuation
// byte counts as one.
constexpr std::string_view kOneCharacter =
    "(?:[\\x00-\\xbf]|[\\xc0-\\xdf][\\x80-\\xbf]|[\\xe0-\\xef][\\x80-\\xbf]{2}|"
    "[\\xf0-\\xff][\\x80-\\xbf]{3})";

constexpr std::string_view kDashes[] = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x80\x95"};

// Regex for literal text; with windash every dash-like character matches any of them.
std::string TextRegex(std::string_view text, bool windash) {
  if (!windash) return match::EscapeRegex(text);
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    bool dash = false;
    for (std::string_view d : kDashes) {
      if (text.substr(i).starts_with(d)) {
        out += "(?:-|/|\\xe2\\x80\\x93|\\xe2\\x80\\x94|\\xe2\\x80\\x95)";
        i += d.size();
        dash = true;
        break;
      }
    }
    if (!dash) {
      out += match::EscapeRegex(text.substr(i, 1));
      ++i;
    }
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> ExpandPlaceholders(const std::string& value,
                                                    const FieldMap& field_map) {
  std::vector<std::string> results{""};
  size_t pos = 0;
  while (pos < value.size()) {
    size_t open = value.find('%', pos);
    size_t close = open == std::string::npos ? std::string::npos : value.find('%', open + 1);
    if (close == std::string::npos) {
      for (auto& r : results) r += value.substr(pos);
      break;
    }
    std::string name = value.substr(open + 1, close - open - 1);
    auto it = field_map.placeholders.find(name);
    if (it == field_map.placeholders.end()) {
      return Fail(
          fmt::format("placeholder %{}% is not declared (configure 'placeholders' in the "
                      "field map, or address_lists)",
                      name));
    }
    std::vector<std::string> next;
    for (const auto& r : results) {
      for (const auto& v : it->second) next.push_back(r + value.substr(pos, open - pos) + v);
    }
    results = std::move(next);
    pos = close + 1;
  }
  return results;
}

std::string PcreForRe2(std::string_view pattern, bool multiline) {
  std::string out;
  out.reserve(pattern.size() + 8);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      out.push_back(c);
      out.push_back(pattern[++i]);
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out.push_back(c);
      continue;
    }
    if (c == '[') {
      in_class = true;
      out.push_back(c);
      // A ']' right after '[' or '[^' is a literal member.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out.push_back(pattern[++i]);
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out.push_back(pattern[++i]);
      continue;
    }
    if (c == '$' && !multiline) {
      out += "(?:\\n?\\z)";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

bool GlobContains(std::string_view text, const std::vector<std::string>& pieces, bool caseless) {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
  size_t from = 0;
  for (const std::string& piece : pieces) {
    size_t found = std::string_view::npos;
    for (size_t i = from; i + piece.size() <= text.size(); ++i) {
      size_t k = 0;
      while (k < piece.size() &&
             (caseless ? lower(text[i + k]) == lower(piece[k]) : text[i + k] == piece[k])) {
        ++k;
      }
      if (k == piece.size()) {
        found = i;
        break;
      }
    }
    if (found == std::string_view::npos) return false;
    from = found + piece.size();
  }
  return true;
}

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                 (static_cast<uint8_t>(bytes[i + 1]) << 8) | static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::vector<std::string> Base64OffsetVariants(std::string_view bytes) {
  // For each shift of 0..2 bytes, drop the characters that depend on unknown neighbours.
  static constexpr size_t kStart[] = {0, 2, 3};
  static constexpr int kEnd[] = {0, -3, -2};  // indexed by (size + shift) % 3; 0 = keep all
  std::vector<std::string> out;
  for (size_t shift = 0; shift < 3; ++shift) {
    std::string encoded = Base64Encode(std::string(shift, ' ') + std::string(bytes));
    int end_cut = kEnd[(bytes.size() + shift) % 3];
    size_t end = end_cut == 0 ? encoded.size() : encoded.size() - static_cast<size_t>(-end_cut);
    if (end > kStart[shift]) out.push_back(encoded.substr(kStart[shift], end - kStart[shift]));
  }
  return out;
}

Result<std::vector<RegexSpec>> BuildRegexes(const sigma::Value& value,
                                            const std::vector<Modifier>& modifiers,
                                            const FieldMap& field_map, bool keyword) {
  std::vector<RegexSpec> out;
  if (Has(modifiers, Modifier::kRe)) {
    RegexSpec spec;
    spec.expression = value.text;
    spec.sigma_re = true;
    if (Has(modifiers, Modifier::kReI)) spec.flags |= match::kCaseless;
    if (Has(modifiers, Modifier::kReM)) spec.flags |= match::kMultiline;
    if (Has(modifiers, Modifier::kReS)) spec.flags |= match::kDotAll;
    spec.flags |= match::kSingleMatch | match::kAllowEmpty;
    out.push_back(std::move(spec));
    return out;
  }
  std::vector<std::string> texts{value.text};
  if (Has(modifiers, Modifier::kExpand)) {
    auto expanded = ExpandPlaceholders(value.text, field_map);
    if (!expanded) return tl::unexpected(expanded.error());
    if (expanded->empty()) return Fail(fmt::format("'{}' expands to no values", value.text));
    texts = std::move(*expanded);
  }
  bool encoded = false;
  bool contains = keyword || Has(modifiers, Modifier::kContains);
  bool starts = Has(modifiers, Modifier::kStartsWith);
  bool ends = Has(modifiers, Modifier::kEndsWith);
  bool windash = Has(modifiers, Modifier::kWindash);
  // Encodings apply in the order written, to literal values.
  for (Modifier m : modifiers) {
    bool is_encoding = m == Modifier::kUtf16Le || m == Modifier::kUtf16Be ||
                       m == Modifier::kUtf16 || m == Modifier::kBase64 ||
                       m == Modifier::kBase64Offset;
    if (!is_encoding) continue;
    std::vector<std::string> next;
    for (const std::string& text : texts) {
      for (const Piece& piece : SplitWildcards(text)) {
        if (piece.kind != Piece::Kind::kText) {
          return Fail("wildcards cannot be combined with base64/utf16 modifiers");
        }
      }
      std::string literal = SplitWildcards(text).empty() ? "" : SplitWildcards(text)[0].text;
      switch (m) {
        case Modifier::kUtf16Le:
          next.push_back(Utf16(literal, false, false));
          break;
        case Modifier::kUtf16Be:
          next.push_back(Utf16(literal, true, false));
          break;
        case Modifier::kUtf16:
          next.push_back(Utf16(literal, false, true));
          break;
        case Modifier::kBase64:
          next.push_back(Base64Encode(literal));
          break;
        case Modifier::kBase64Offset:
          for (auto& variant : Base64OffsetVariants(literal)) next.push_back(variant);
          break;
        default:
          break;
      }
    }
    // Re-escape so that the encoded bytes are not read as wildcards.
    texts.clear();
    for (const std::string& text : next) {
      std::string escaped;
      for (char c : text) {
        if (c == '*' || c == '?' || c == '\\') escaped.push_back('\\');
        escaped.push_back(c);
      }
      texts.push_back(std::move(escaped));
    }
    encoded = true;
  }
  if (Has(modifiers, Modifier::kBase64Offset) && !contains && !starts && !ends) contains = true;
  // startswith adds a trailing wildcard and endswith a leading one (as pySigma applies them):
  // both together mean contains.
  if (starts && ends) contains = true;
  Anchor anchor = (!contains && !ends && !starts) ? Anchor::kWhole
                  : (starts && !contains)         ? Anchor::kStart
                  : (ends && !contains)           ? Anchor::kEnd
                                                  : Anchor::kNone;
  unsigned case_flag = (!encoded && !Has(modifiers, Modifier::kCased)) ? match::kCaseless : 0;
  for (const std::string& text : texts) {
    std::vector<Piece> pieces = SplitWildcards(text);
    // vectorscan's literal API refuses a literal that starts with a NUL byte (a UTF-16BE
    // encoding of ASCII text) as "empty": such text goes the regex way, with the byte escaped.
    auto literal_ok = [](const std::string& text) { return !text.empty() && text[0] != '\0'; };
    bool plain = !windash && pieces.size() == 1 && pieces[0].kind == Piece::Kind::kText &&
                 literal_ok(pieces[0].text);
    if (plain) {
      RegexSpec spec;
      spec.literal = true;
      spec.expression = pieces[0].text;
      spec.anchor = anchor;
      // Anchored literals need every occurrence reported, to find the one in place.
      spec.flags = case_flag | (anchor == Anchor::kNone ? match::kSingleMatch : 0);
      out.push_back(std::move(spec));
      continue;
    }
    bool star_glob = !windash && anchor == Anchor::kNone;
    for (const Piece& piece : pieces) star_glob &= piece.kind != Piece::Kind::kQuestion;
    if (star_glob) {
      // "a*b" anywhere: prefilter on the longest piece, confirm the order of all pieces. Much
      // cheaper to scan than the regex a.*b.
      RegexSpec spec;
      spec.literal = true;
      spec.anchor = Anchor::kNone;
      spec.flags = case_flag | match::kSingleMatch;
      for (const Piece& piece : pieces) {
        if (piece.kind != Piece::Kind::kText) continue;
        spec.glob.push_back(piece.text);
        if (piece.text.size() > spec.expression.size()) spec.expression = piece.text;
      }
      if (literal_ok(spec.expression)) {
        out.push_back(std::move(spec));
        continue;
      }
    }
    RegexSpec spec;
    std::string body;
    for (const Piece& piece : pieces) {
      switch (piece.kind) {
        case Piece::Kind::kText:
          body += TextRegex(piece.text, windash);
          break;
        case Piece::Kind::kStar:
          body += ".*";
          break;
        case Piece::Kind::kQuestion:
          body += kOneCharacter;
          break;
      }
    }
    switch (anchor) {
      case Anchor::kWhole:
        spec.expression = "\\A" + body + "\\z";
        break;
      case Anchor::kStart:
        spec.expression = "\\A" + body;
        break;
      case Anchor::kEnd:
        spec.expression = body + "\\z";
        break;
      case Anchor::kNone:
        spec.expression = body;
        break;
    }
    spec.flags = match::kDotAll | match::kSingleMatch | match::kAllowEmpty | case_flag;
    out.push_back(std::move(spec));
  }
  if (out.empty()) return Fail("the value expands to nothing");
  return out;
}

}  // namespace bulwark::detect
