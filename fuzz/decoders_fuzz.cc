// Fuzzes the built-in decoders over arbitrary syslog lines. Each line is decoded twice through one
// scratch (the second time from the decoders' memory of repeated messages) and once through a
// fresh scratch: all three must give the same event.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../tests/support/event_text.h"
#include "bulwark/data/builtin_env.h"
#include "bulwark/decode/decoder.h"
#include "bulwark/input/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto decoders = [] {
    auto set = bulwark::decode::DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
    if (!set) std::abort();
    return *set;
  }();
  static auto scratch = decoders->NewScratch();
  static bulwark::input::LineParser parser(bulwark::input::ParseOptions{});
  std::string_view line(reinterpret_cast<const char*>(data), size);
  std::string rendered[3];
  for (int run = 0; run < 3; ++run) {
    bulwark::event::Event event;
    bulwark::input::Repairs repairs;
    if (parser.Parse(line, event, repairs) != bulwark::input::Reject::kNone) return 0;
    int matched = run < 2 ? decoders->Decode(event, *scratch)
                          : decoders->Decode(event, *decoders->NewScratch());
    rendered[run] = std::to_string(matched) + "@" + bulwark::testing_support::EventText(event);
  }
  if (rendered[0] != rendered[1] || rendered[0] != rendered[2]) std::abort();
  return 0;
}
