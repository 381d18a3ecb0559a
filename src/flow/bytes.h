#pragma once
// Big-endian numbers inside datagrams, for the flow decoders. The caller checks the bounds.

#include <cstdint>
#include <string_view>

namespace bulwark::flow {

inline uint16_t U16(std::string_view d, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(d[at]) << 8 | static_cast<uint8_t>(d[at + 1]));
}
inline uint32_t U32(std::string_view d, size_t at) {
  return static_cast<uint32_t>(U16(d, at)) << 16 | U16(d, at + 2);
}

}  // namespace bulwark::flow
