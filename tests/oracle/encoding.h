#pragma once
// Encodings the oracles and the generators of test data share, written from their definitions
// (RFC 4648 base64, UTF-16), apart from the engine's own.

#include <string>
#include <string_view>

namespace bulwark::oracle {

// Length of the UTF-8 character starting at text[at] (1 for a stray byte), within the text.
size_t CharLength(std::string_view text, size_t at);

// RFC 4648 base64 with padding.
std::string Base64(std::string_view bytes);

// `utf8` as UTF-16 (surrogate pairs above U+FFFF), little- or big-endian, with a byte order mark
// when `bom`.
std::string Utf16(std::string_view utf8, bool big_endian, bool bom);

}  // namespace bulwark::oracle
