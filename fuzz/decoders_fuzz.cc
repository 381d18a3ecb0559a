// Fuzzes the built-in decoders over arbitrary syslog lines.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "bulwark/decode/decoder.h"
#include "bulwark/input/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto decoders = [] {
    auto set = bulwark::decode::DecoderSet::Load({});
    if (!set) std::abort();
    return *set;
  }();
  static auto scratch = decoders->NewScratch();
  static bulwark::input::LineParser parser(bulwark::input::ParseOptions{});
  bulwark::event::Event event;
  bulwark::input::Repairs repairs;
  if (parser.Parse(std::string_view(reinterpret_cast<const char*>(data), size), event, repairs) ==
      bulwark::input::Reject::kNone) {
    decoders->Decode(event, *scratch);
  }
  return 0;
}
