// Fuzzes the JSON-lines flattener (including journalctl -o json mapping).
#include <cstdint>
#include <string_view>

#include "bulwark/input/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bulwark::input::LineParser parser([] {
    bulwark::input::ParseOptions options;
    options.format = bulwark::input::Format::kJsonLines;
    return options;
  }());
  bulwark::event::Event event;
  bulwark::input::Repairs repairs;
  parser.Parse(std::string_view(reinterpret_cast<const char*>(data), size), event, repairs);
  return 0;
}
