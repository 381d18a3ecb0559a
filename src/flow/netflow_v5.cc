// NetFlow v5 (Cisco's export format version 5).

#include <fmt/format.h>

#include "bulwark/flow/flow.h"
#include "bytes.h"

namespace bulwark::flow {

namespace {

constexpr size_t kHeader = 24;
constexpr size_t kRecord = 48;

}  // namespace

Result<size_t> DecodeNetflowV5(std::string_view d, const event::IpAddress& exporter,
                               const RecordFn& record) {
  if (d.size() < kHeader) {
    return Fail(
        fmt::format("a NetFlow v5 header needs {} bytes, the datagram has {}", kHeader, d.size()),
        "byte 0");
  }
  if (U16(d, 0) != 5) return Fail(fmt::format("version {}, not 5", U16(d, 0)), "byte 0");
  size_t count = U16(d, 2);
  if (count == 0 || count > 30) return Fail(fmt::format("{} records (1 to 30)", count), "byte 2");
  if (d.size() < kHeader + count * kRecord) {
    return Fail(fmt::format("{} records need {} bytes, the datagram has {}", count,
                            kHeader + count * kRecord, d.size()),
                "byte 2");
  }
  const int64_t uptime_ms = U32(d, 4);
  const TimeNs now = static_cast<TimeNs>(U32(d, 8)) * kNsPerSecond + U32(d, 12);
  // The low 14 bits are the interval; the top 2 the mode (0: none).
  uint32_t sampling = U16(d, 22) & 0x3fff;
  auto at_uptime = [&](uint32_t ms) {
    return now - (uptime_ms - static_cast<int64_t>(ms)) * 1'000'000;
  };
  for (size_t i = 0; i < count; ++i) {
    size_t r = kHeader + i * kRecord;
    FlowRecord flow;
    flow.source = event::IpAddress::V4(U32(d, r));
    flow.destination = event::IpAddress::V4(U32(d, r + 4));
    flow.input_interface = U16(d, r + 12);
    flow.output_interface = U16(d, r + 14);
    flow.packets = U32(d, r + 16);
    flow.bytes = U32(d, r + 20);
    flow.start = at_uptime(U32(d, r + 24));
    flow.end = at_uptime(U32(d, r + 28));
    flow.source_port = U16(d, r + 32);
    flow.destination_port = U16(d, r + 34);
    flow.tcp_flags = static_cast<uint8_t>(d[r + 37]);
    flow.protocol = static_cast<uint8_t>(d[r + 38]);
    flow.tos = static_cast<uint8_t>(d[r + 39]);
    flow.sampling_rate = sampling > 1 ? sampling : 1;
    flow.exporter = exporter;
    ScaleBySampling(flow);
    record(flow);
  }
  return count;
}

}  // namespace bulwark::flow
