// X-ARF 0.1/0.2 YAML and XARF JSON: any input is a report or a rejection with a reason, never a
// crash. The input is read both ways; a report always names an address and a time.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bulwark/abuse/xarf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto fields :
       {bulwark::abuse::ReadXarfYaml(text), bulwark::abuse::ReadXarfJson(text, nullptr)}) {
    if (fields && (!fields->keys.count("source.ip") || !fields->keys.count("time.source"))) {
      __builtin_trap();
    }
    if (!fields && fields.error().message.empty()) __builtin_trap();
  }
  return 0;
}
