#pragma once
// nfdump's way of printing flow fields, for tests that compare Bulwark's records with its CSV.

#include <cstdint>
#include <string>

namespace bulwark::flow {

// The protocol column: a name for ICMP, TCP and UDP, else the number.
inline std::string NfdumpProtocol(uint8_t number) {
  switch (number) {
    case 1:
      return "ICMP";
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    default:
      return std::to_string(number);
  }
}

}  // namespace bulwark::flow
