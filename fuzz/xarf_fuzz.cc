// X-ARF 0.1/0.2 YAML and XARF JSON: any input is a report or a rejection with a reason, never a
// crash. The input is read both ways; JSON is also validated against the published XARF schemas
// when ../shared holds them (as in CI, which runs the targets from the project folder). A report
// always names an address and a time.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "bulwark/abuse/xarf.h"

namespace {

const bulwark::abuse::XarfSchemas* Schemas() {
  static const std::shared_ptr<const bulwark::abuse::XarfSchemas> schemas = [] {
    std::vector<std::string> files;
    for (const char* file : {"../shared/abuse/xarf/schemas/3/xarf.schema.json",
                             "../shared/abuse/xarf-spec/schemas/v4/xarf-v4-master.json"}) {
      if (std::filesystem::exists(file)) files.push_back(file);
    }
    auto loaded = bulwark::abuse::XarfSchemas::Load(files);
    return loaded ? *loaded : nullptr;
  }();
  return schemas.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto fields :
       {bulwark::abuse::ReadXarfYaml(text), bulwark::abuse::ReadXarfJson(text, nullptr),
        bulwark::abuse::ReadXarfJson(text, Schemas())}) {
    if (fields && (!fields->keys.count("source.ip") || !fields->keys.count("time.source"))) {
      __builtin_trap();
    }
    if (!fields && fields.error().message.empty()) __builtin_trap();
  }
  return 0;
}
