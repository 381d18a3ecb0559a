// Service databases (scan.services): any text is parsed or refused with its place, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bulwark/scan/service_db.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto db = bulwark::scan::ServiceDb::Parse(text, "fuzz.yml");
  if (!db && db.error().message.empty()) __builtin_trap();
  return 0;
}
