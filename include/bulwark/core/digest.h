#pragma once
// Message digests. Pure and thread-safe.

#include <string>
#include <string_view>

namespace bulwark {

// SHA-256 of `data` as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

// HMAC-SHA256 of `data` under `key` as 64 lower-case hex digits.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// `data` as lower-case hex digits, two per byte.
std::string HexEncode(std::string_view data);

}  // namespace bulwark
