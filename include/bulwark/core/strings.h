#pragma once
// Small string helpers shared by all modules. All functions are pure and thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark {

// ASCII lower-casing; bytes >= 0x80 are left alone.
std::string AsciiLower(std::string_view text);
// Case-insensitive (ASCII) equality.
bool AsciiIEquals(std::string_view a, std::string_view b);
// Removes ASCII whitespace at both ends.
std::string_view Trim(std::string_view text);
// Splits on `sep`; empty pieces are kept.
std::vector<std::string_view> Split(std::string_view text, char sep);
// Parses a whole decimal integer (optional sign); nullopt on any other text or overflow.
std::optional<int64_t> ParseInt(std::string_view text);
// Parses a whole decimal number (integer or fraction); nullopt otherwise.
std::optional<double> ParseDouble(std::string_view text);
// True when `text` is valid UTF-8.
bool IsValidUtf8(std::string_view text);
// Replaces invalid UTF-8 sequences by U+FFFD and NUL bytes by "\0"-free U+2400 so the result can be
// written as JSON and matched safely.
std::string SanitizeUtf8(std::string_view text);
// Base64 (RFC 4648): the standard alphabet with '=' padding, or with `url` the URL-safe alphabet
// without padding (as JWTs use it).
std::string Base64Encode(std::string_view data, bool url = false);
// Appends `text` as a JSON string literal (with quotes) to `out`. Invalid UTF-8 in `text` (bytes
// stored as a third party sent them) is written as U+FFFD, so the output is always valid JSON.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace bulwark
