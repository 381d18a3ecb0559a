#pragma once
// Message digests. Pure and thread-safe.

#include <string>
#include <string_view>

namespace bulwark {

// SHA-256 of `data` as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

// HMAC-SHA256 of `data` under `key` as 64 lower-case hex digits.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// Appends `value` to `out` length-prefixed ("5:hello;"), so that no two sequences of fields
// serialise alike: the input of a hash chain's entry hash (audit log, chain of custody).
void AppendHashField(std::string& out, std::string_view value);

// `data` as lower-case hex digits, two per byte.
std::string HexEncode(std::string_view data);

}  // namespace bulwark
