#include <fmt/format.h>

#include "bulwark/core/json_writer.h"
#include "bulwark/flow/flow.h"

namespace bulwark::flow {

namespace {
const char* Transport(uint8_t protocol) {
  switch (protocol) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 58:
      return "ipv6-icmp";
    default:
      return nullptr;
  }
}
}  // namespace

std::string FlowRecordJson(const FlowRecord& r) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  json.Member("@timestamp", FormatTimestamp(r.end));
  json.Member("event.kind", "event");
  json.Member("event.category", "network");
  json.Member("event.module", "netflow");
  json.Member("event.dataset", "netflow.log");
  json.Member("event.start", FormatTimestamp(r.start));
  json.Member("event.end", FormatTimestamp(r.end));
  json.Member("source.ip", r.source.ToString());
  json.Member("source.port", static_cast<int64_t>(r.source_port));
  if (r.source_mac != 0) json.Member("source.mac", MacText(r.source_mac));
  json.Member("destination.ip", r.destination.ToString());
  json.Member("destination.port", static_cast<int64_t>(r.destination_port));
  if (r.destination_mac != 0) json.Member("destination.mac", MacText(r.destination_mac));
  json.Member("network.iana_number", std::to_string(r.protocol));
  if (const char* transport = Transport(r.protocol)) json.Member("network.transport", transport);
  json.Member("network.packets", static_cast<int64_t>(r.packets));
  json.Member("network.bytes", static_cast<int64_t>(r.bytes));
  json.Member("observer.ip", r.exporter.ToString());
  json.Member("observer.ingress.interface.id", std::to_string(r.input_interface));
  json.Member("observer.egress.interface.id", std::to_string(r.output_interface));
  json.Member("netflow.tcp_control_bits", static_cast<int64_t>(r.tcp_flags));
  json.Member("netflow.ip_class_of_service", static_cast<int64_t>(r.tos));
  json.Member("netflow.sampling_interval", static_cast<int64_t>(r.sampling_rate));
  json.EndObject();
  return out;
}

void ScaleBySampling(FlowRecord& r) {
  if (r.sampling_rate <= 1) return;
  auto scale = [&](uint64_t& count) {
    count = count > UINT64_MAX / r.sampling_rate ? UINT64_MAX : count * r.sampling_rate;
  };
  scale(r.packets);
  scale(r.bytes);
}

std::string MacText(uint64_t mac) {
  return fmt::format("{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}", (mac >> 40) & 0xff,
                     (mac >> 32) & 0xff, (mac >> 24) & 0xff, (mac >> 16) & 0xff, (mac >> 8) & 0xff,
                     mac & 0xff);
}

std::string InterfaceCountersJson(const InterfaceCounters& c) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  json.Member("@timestamp", FormatTimestamp(c.time));
  json.Member("event.kind", "metric");
  json.Member("event.category", "network");
  json.Member("event.module", "sflow");
  json.Member("event.dataset", "sflow.counters");
  json.Member("observer.ip", c.agent.ToString());
  json.Member("observer.ingress.interface.id", std::to_string(c.interface));
  json.Member("sflow.if_speed", static_cast<int64_t>(c.speed));
  json.Member("sflow.if_oper_status", c.up ? "up" : "down");
  json.Member("sflow.if_in_octets", static_cast<int64_t>(c.in_octets));
  json.Member("sflow.if_in_packets", static_cast<int64_t>(c.in_packets));
  json.Member("sflow.if_in_discards", static_cast<int64_t>(c.in_discards));
  json.Member("sflow.if_in_errors", static_cast<int64_t>(c.in_errors));
  json.Member("sflow.if_out_octets", static_cast<int64_t>(c.out_octets));
  json.Member("sflow.if_out_packets", static_cast<int64_t>(c.out_packets));
  json.Member("sflow.if_out_discards", static_cast<int64_t>(c.out_discards));
  json.Member("sflow.if_out_errors", static_cast<int64_t>(c.out_errors));
  json.EndObject();
  return out;
}

}  // namespace bulwark::flow
