// Fuzzes the flow export decoders (by version: NetFlow v5 so far) with arbitrary datagrams.
#include <cstdint>
#include <string_view>

#include "bulwark/flow/flow.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto exporter = bulwark::event::IpAddress::V4(0x7f000001);
  size_t records = 0;
  auto decoded =
      bulwark::flow::DecodeExport(std::string_view(reinterpret_cast<const char*>(data), size),
                                  exporter, [&](const bulwark::flow::FlowRecord& record) {
                                    ++records;
                                    (void)bulwark::flow::FlowRecordJson(record);
                                  });
  if (decoded && *decoded != records) __builtin_trap();
  return 0;
}
