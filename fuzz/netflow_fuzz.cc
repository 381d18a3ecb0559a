// Fuzzes the flow export decoders (NetFlow v5, v9, IPFIX, sFlow v5) with arbitrary datagrams;
// templates carry over from one input to the next, as they do from a real exporter.
#include <cstdint>
#include <string_view>

#include "bulwark/flow/flow.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto exporter = bulwark::event::IpAddress::V4(0x7f000001);
  static bulwark::flow::ExportDecoder decoder = [] {
    bulwark::flow::ExportDecoder d;
    d.set_counters_handler(
        [](const bulwark::flow::InterfaceCounters& c) { (void)InterfaceCountersJson(c); });
    return d;
  }();
  size_t records = 0;
  auto decoded = decoder.Decode(std::string_view(reinterpret_cast<const char*>(data), size),
                                exporter, 0, [&](const bulwark::flow::FlowRecord& record) {
                                  ++records;
                                  (void)bulwark::flow::FlowRecordJson(record);
                                });
  if (decoded && *decoded != records) __builtin_trap();
  return 0;
}
