// Certificates a TLS server hands the scanner: any bytes are read or refused with a reason, never
// a crash; what is read has a fingerprint of 64 hex digits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bulwark/scan/certificate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view der(reinterpret_cast<const char*>(data), size);
  auto info = bulwark::scan::ReadCertificate(der);
  if (!info) {
    if (info.error().message.empty()) __builtin_trap();
    return 0;
  }
  if (info->sha256.size() != 64) __builtin_trap();
  return 0;
}
