// Vulnerability data files (bulwark vulndb import): any bytes are imported or refused with a
// reason, never a crash; what was imported can be matched against.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bulwark/vuln/vulndb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto db = bulwark::vuln::VulnDb::Open(":memory:");
  if (!db) __builtin_trap();
  std::string_view content(reinterpret_cast<const char*>(data), size);
  auto stats = (*db)->Import(content, "fuzz");
  if (!stats && stats.error().message.empty()) __builtin_trap();
  auto matches = (*db)->Match({"cpe:2.3:a:openbsd:openssh:9.2:p1:*:*:*:*:*:*", "9.2p1", "Debian:12",
                               "openssh", "1:9.2p1-2+deb12u3"});
  if (!matches) __builtin_trap();
  return 0;
}
