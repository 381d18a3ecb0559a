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
  json.Member("destination.ip", r.destination.ToString());
  json.Member("destination.port", static_cast<int64_t>(r.destination_port));
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

}  // namespace bulwark::flow
