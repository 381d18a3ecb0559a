#include <charconv>

#include "bulwark/flowdetect/detector.h"
#include "bulwark/model/inventory.h"

namespace bulwark::flowdetect {

namespace {

uint64_t Number(const event::Event& event, event::FieldId field) {
  auto text = event.Get(field);
  uint64_t value = 0;
  if (text) std::from_chars(text->data(), text->data() + text->size(), value);
  return value;
}

}  // namespace

std::optional<Observation> ObservationOf(const event::Event& event) {
  static const event::FieldId kSourceIp = event::InternField("source.ip");
  static const event::FieldId kDestinationIp = event::InternField("destination.ip");
  static const event::FieldId kDestinationPort = event::InternField("destination.port");
  static const event::FieldId kProtocol = event::InternField("network.iana_number");
  static const event::FieldId kTransport = event::InternField("network.transport");
  static const event::FieldId kPackets = event::InternField("network.packets");
  static const event::FieldId kBytes = event::InternField("network.bytes");
  static const event::FieldId kFlags = event::InternField("netflow.tcp_control_bits");
  static const event::FieldId kStart = event::InternField("event.start");
  static const event::FieldId kSourceMac = event::InternField("source.mac");
  auto source = event.Get(kSourceIp);
  auto destination = event.Get(kDestinationIp);
  if (!source || !destination) return std::nullopt;
  auto source_ip = event::IpAddress::Parse(*source);
  auto destination_ip = event::IpAddress::Parse(*destination);
  if (!source_ip || !destination_ip) return std::nullopt;
  Observation o;
  o.source = *source_ip;
  o.destination = *destination_ip;
  o.time = event.timestamp();
  if (auto start = event.Get(kStart)) {
    if (auto parsed = ParseTimestamp(*start)) o.time = *parsed;
  }
  o.destination_port = static_cast<uint16_t>(Number(event, kDestinationPort));
  o.protocol = static_cast<uint8_t>(Number(event, kProtocol));
  if (o.protocol == 0 && event.Get(kTransport) == "tcp") o.protocol = 6;
  if (auto mac = event.Get(kSourceMac)) o.source_mac = model::MacBits(*mac).value_or(0);
  o.packets = Number(event, kPackets);
  o.bytes = Number(event, kBytes);
  if (o.protocol == 6 && event.Get(kFlags)) {
    o.outcome = TcpOutcome(Number(event, kFlags));
  }
  return o;
}

Observation::Outcome TcpOutcome(uint64_t flags) {
  if (flags & 0x10) return Observation::Outcome::kSucceeded;
  if (flags & 0x02) return Observation::Outcome::kFailed;
  return Observation::Outcome::kUnknown;
}

}  // namespace bulwark::flowdetect
