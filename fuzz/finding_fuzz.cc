// IntelMQ harmonized findings: any input is read or rejected with a reason, never a crash, and
// what is read survives a round trip through its JSON form.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bulwark/finding/intelmq.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bulwark::input::JsonFlattener flattener;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto finding = bulwark::finding::ParseHarmonized(text, 0, flattener);
  if (!finding) {
    if (finding.error().message.empty()) __builtin_trap();  // every rejection says why
    return 0;
  }
  auto json = bulwark::finding::ToHarmonizedJson(*finding);
  auto again = bulwark::finding::ParseHarmonized(json, 0, flattener);
  if (!again) __builtin_trap();
  return 0;
}
