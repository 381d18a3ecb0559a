// Inventory files (YAML/JSON and CSV): any input yields records and rejections, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bulwark/inventory/import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Both parsers read every input, so that one corpus exercises both.
  for (auto format :
       {bulwark::inventory::FileFormat::kYaml, bulwark::inventory::FileFormat::kCsv}) {
    auto parsed = bulwark::inventory::ParseInventory(text, "fuzz", format);
    if (!parsed) continue;
    for (const auto& assignment : parsed->inventory.assignments) {
      if (assignment.from >= assignment.until) __builtin_trap();  // rejected by contract
    }
  }
  return 0;
}
