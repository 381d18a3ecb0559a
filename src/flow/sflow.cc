// sFlow version 5 (sflow.org, "sFlow Version 5", July 2004): XDR-encoded samples of packets and
// interface counters.

#include <fmt/format.h>

#include <array>
#include <cstring>

#include "bulwark/flow/flow.h"
#include "bytes.h"

namespace bulwark::flow {

namespace {

Error At(size_t offset, std::string message) {
  return Error{std::move(message), fmt::format("byte {}", offset)};
}

// Reads XDR items from a part of the datagram; every read checks the bounds. Offsets in errors
// are the datagram's.
class Xdr {
 public:
  Xdr(std::string_view data, size_t base) : data_(data), base_(base) {}
  size_t offset() const { return base_ + at_; }
  size_t left() const { return data_.size() - at_; }
  Result<uint32_t> U32() {
    if (left() < 4) return tl::unexpected(At(offset(), "cut short"));
    uint32_t value = flow::U32(data_, at_);
    at_ += 4;
    return value;
  }
  Result<uint64_t> U64() {
    auto high = U32();
    if (!high) return tl::unexpected(high.error());
    auto low = U32();
    if (!low) return tl::unexpected(low.error());
    return static_cast<uint64_t>(*high) << 32 | *low;
  }
  // `length` bytes, then the padding to a multiple of 4.
  Result<Xdr> Bytes(size_t length) {
    size_t padded = (length + 3) & ~size_t{3};
    if (padded > left()) {
      return tl::unexpected(
          At(offset(), fmt::format("{} bytes announced, {} left", length, left())));
    }
    Xdr inner(data_.substr(at_, length), offset());
    at_ += padded;
    return inner;
  }
  // An XDR opaque<>: a length, then that many bytes.
  Result<Xdr> Opaque() {
    auto length = U32();
    if (!length) return tl::unexpected(length.error());
    return Bytes(*length);
  }
  std::string_view rest() const { return data_.substr(at_); }
  Result<event::IpAddress> Address() {
    auto type = U32();
    if (!type) return tl::unexpected(type.error());
    if (*type == 1) {
      auto v4 = U32();
      if (!v4) return tl::unexpected(v4.error());
      return event::IpAddress::V4(*v4);
    }
    if (*type == 2) {
      auto bytes = Bytes(16);
      if (!bytes) return tl::unexpected(bytes.error());
      std::array<uint8_t, 16> raw{};
      std::memcpy(raw.data(), bytes->data_.data(), 16);
      return event::IpAddress::FromBytes(raw);
    }
    return tl::unexpected(At(offset() - 4, fmt::format("address type {} (1 or 2)", *type)));
  }

 private:
  std::string_view data_;
  size_t base_;
  size_t at_ = 0;
};

uint64_t Mac(std::string_view six) {
  uint64_t mac = 0;
  for (char c : six.substr(0, 6)) mac = mac << 8 | static_cast<uint8_t>(c);
  return mac;
}

// The transport header at `l4` of protocol `protocol`: ports (ICMP: type * 256 + code in the
// destination port, as NetFlow does) and TCP flags.
void ReadTransport(std::string_view packet, size_t l4, uint8_t protocol, FlowRecord& flow) {
  if (protocol == 6 || protocol == 17 || protocol == 132) {
    if (l4 + 4 > packet.size()) return;
    flow.source_port = U16(packet, l4);
    flow.destination_port = U16(packet, l4 + 2);
    if (protocol == 6 && l4 + 14 <= packet.size()) {
      flow.tcp_flags = static_cast<uint8_t>(packet[l4 + 13]);
    }
  } else if (protocol == 1 || protocol == 58) {
    if (l4 + 2 > packet.size()) return;
    flow.destination_port = U16(packet, l4);
  }
}

// IPv4 or IPv6 at `at` (by its version nibble). Returns false when no IP header is there.
bool ReadIp(std::string_view packet, size_t at, FlowRecord& flow) {
  if (at >= packet.size()) return false;
  unsigned version = static_cast<uint8_t>(packet[at]) >> 4;
  if (version == 4) {
    if (at + 20 > packet.size()) return false;
    size_t header = (static_cast<uint8_t>(packet[at]) & 0x0f) * 4u;
    flow.tos = static_cast<uint8_t>(packet[at + 1]);
    flow.protocol = static_cast<uint8_t>(packet[at + 9]);
    flow.source = event::IpAddress::V4(U32(packet, at + 12));
    flow.destination = event::IpAddress::V4(U32(packet, at + 16));
    bool later_fragment = (U16(packet, at + 6) & 0x1fff) != 0;
    if (!later_fragment && header >= 20) ReadTransport(packet, at + header, flow.protocol, flow);
    return true;
  }
  if (version == 6) {
    if (at + 40 > packet.size()) return false;
    flow.tos = static_cast<uint8_t>(U16(packet, at) >> 4);
    std::array<uint8_t, 16> raw{};
    std::memcpy(raw.data(), packet.data() + at + 8, 16);
    flow.source = event::IpAddress::FromBytes(raw);
    std::memcpy(raw.data(), packet.data() + at + 24, 16);
    flow.destination = event::IpAddress::FromBytes(raw);
    uint8_t next = static_cast<uint8_t>(packet[at + 6]);
    size_t p = at + 40;
    // Hop-by-hop, routing and destination options headers are skipped; after a fragment header
    // only the first fragment has ports.
    for (int hops = 0; hops < 8; ++hops) {
      if ((next == 0 || next == 43 || next == 60) && p + 2 <= packet.size()) {
        next = static_cast<uint8_t>(packet[p]);
        p += (static_cast<uint8_t>(packet[p + 1]) + 1u) * 8;
      } else if (next == 44 && p + 8 <= packet.size()) {
        bool later_fragment = (U16(packet, p + 2) & 0xfff8) != 0;
        next = static_cast<uint8_t>(packet[p]);
        p += 8;
        if (later_fragment) {
          flow.protocol = next;
          return true;
        }
      } else {
        break;
      }
    }
    flow.protocol = next;
    ReadTransport(packet, p, next, flow);
    return true;
  }
  return false;
}

// A sampled packet header of `protocol` (1: Ethernet, 11: IPv4, 12: IPv6). Returns false when
// it holds no IP packet Bulwark reads.
bool ReadHeader(uint32_t protocol, std::string_view packet, FlowRecord& flow) {
  if (protocol == 11 || protocol == 12) return ReadIp(packet, 0, flow);
  if (protocol != 1 || packet.size() < 14) return false;
  flow.destination_mac = Mac(packet.substr(0, 6));
  flow.source_mac = Mac(packet.substr(6, 6));
  size_t at = 12;
  uint16_t type = U16(packet, at);
  while ((type == 0x8100 || type == 0x88a8) && at + 6 <= packet.size()) {
    at += 4;
    type = U16(packet, at);
  }
  if (type != 0x0800 && type != 0x86dd) return false;
  return ReadIp(packet, at + 2, flow);
}

// The sampled IPv4 (format 3) or IPv6 (format 4) record: length, protocol, addresses, ports,
// flags and ToS.
Result<void> ReadSampledIp(Xdr& r, bool v6, FlowRecord& flow, uint64_t& length) {
  auto frame = r.U32();
  auto protocol = r.U32();
  if (!frame || !protocol) return tl::unexpected(At(r.offset(), "sampled IP record cut short"));
  length = *frame;
  flow.protocol = static_cast<uint8_t>(*protocol);
  if (v6) {
    auto source = r.Bytes(16);
    auto destination = source ? r.Bytes(16) : source;
    if (!source || !destination) return tl::unexpected(At(r.offset(), "sampled IPv6 cut short"));
    std::array<uint8_t, 16> raw{};
    std::memcpy(raw.data(), source->rest().data(), 16);
    flow.source = event::IpAddress::FromBytes(raw);
    std::memcpy(raw.data(), destination->rest().data(), 16);
    flow.destination = event::IpAddress::FromBytes(raw);
  } else {
    auto source = r.U32();
    auto destination = r.U32();
    if (!source || !destination) return tl::unexpected(At(r.offset(), "sampled IPv4 cut short"));
    flow.source = event::IpAddress::V4(*source);
    flow.destination = event::IpAddress::V4(*destination);
  }
  auto source_port = r.U32();
  auto destination_port = r.U32();
  auto flags = r.U32();
  auto tos = r.U32();
  if (!tos) return tl::unexpected(At(r.offset(), "sampled IP record cut short"));
  flow.source_port = static_cast<uint16_t>(*source_port);
  flow.destination_port = static_cast<uint16_t>(*destination_port);
  flow.tcp_flags = static_cast<uint8_t>(*flags);
  flow.tos = static_cast<uint8_t>(*tos);
  return {};
}

// A flow sample (format 1) or expanded flow sample (format 3) from after its header fields.
Result<bool> ReadFlowSample(Xdr& s, bool expanded, const event::IpAddress& agent, TimeNs received,
                            const SflowLimits& limits, const RecordFn& record) {
  FlowRecord flow;
  flow.exporter = agent;
  flow.start = flow.end = received;
  auto sequence = s.U32();
  if (!sequence) return tl::unexpected(sequence.error());
  if (expanded) {
    auto type = s.U32();
    auto index = type ? s.U32() : type;
    if (!index) return tl::unexpected(index.error());
  } else if (auto source = s.U32(); !source) {
    return tl::unexpected(source.error());
  }
  size_t rate_at = s.offset();
  auto rate = s.U32();
  auto pool = rate ? s.U32() : rate;
  auto drops = pool ? s.U32() : pool;
  if (!drops) return tl::unexpected(drops.error());
  if (*rate == 0 || *rate > limits.max_sampling_rate) {
    return tl::unexpected(
        At(rate_at, fmt::format("sampling rate {} (1 to {})", *rate, limits.max_sampling_rate)));
  }
  flow.sampling_rate = *rate;
  // Interfaces: compact (2 format bits, 30 value bits) or expanded (format, value).
  for (uint32_t* interface : {&flow.input_interface, &flow.output_interface}) {
    auto first = s.U32();
    if (!first) return tl::unexpected(first.error());
    if (expanded) {
      auto value = s.U32();
      if (!value) return tl::unexpected(value.error());
      *interface = *first == 0 ? *value : 0;
    } else {
      *interface = (*first >> 30) == 0 ? (*first & 0x3fffffff) : 0;
    }
    if (*interface == 0x3fffffff) *interface = 0;  // unknown
  }
  auto count = s.U32();
  if (!count) return tl::unexpected(count.error());
  if (*count > limits.max_records) {
    return tl::unexpected(At(s.offset() - 4, fmt::format("{} flow records in a sample (at most {})",
                                                         *count, limits.max_records)));
  }
  bool from_header = false, from_ip = false;
  FlowRecord ip_flow = flow;
  uint64_t frame_length = 0, ip_length = 0;
  for (uint32_t i = 0; i < *count; ++i) {
    auto format = s.U32();
    if (!format) return tl::unexpected(format.error());
    auto data = s.Opaque();
    if (!data) return tl::unexpected(data.error());
    if ((*format >> 12) != 0) continue;  // another enterprise's record
    switch (*format & 0xfff) {
      case 1: {  // sampled packet header
        auto protocol = data->U32();
        auto frame = protocol ? data->U32() : protocol;
        auto stripped = frame ? data->U32() : frame;
        if (!stripped) return tl::unexpected(stripped.error());
        auto header = data->Opaque();
        if (!header) return tl::unexpected(header.error());
        if (ReadHeader(*protocol, header->rest(), flow)) {
          from_header = true;
          frame_length = *frame;
        }
        break;
      }
      case 3:
      case 4: {  // sampled IPv4 / IPv6
        auto read = ReadSampledIp(*data, (*format & 0xfff) == 4, ip_flow, ip_length);
        if (!read) return tl::unexpected(read.error());
        from_ip = true;
        break;
      }
      default:
        break;
    }
  }
  if (!from_header && !from_ip) return false;
  if (!from_header) {
    ip_flow.source_mac = ip_flow.destination_mac = 0;
    flow = ip_flow;
    frame_length = ip_length;
  }
  flow.packets = 1;
  flow.bytes = frame_length;
  ScaleBySampling(flow);
  record(flow);
  return true;
}

// A counter sample (format 2) or expanded counter sample (format 4) from after its header.
Result<void> ReadCounterSample(Xdr& s, bool expanded, const event::IpAddress& agent,
                               TimeNs received, const SflowLimits& limits,
                               const CountersFn& counters) {
  auto sequence = s.U32();
  auto source = sequence ? s.U32() : sequence;
  if (expanded && source) source = s.U32();
  auto count = source ? s.U32() : source;
  if (!count) return tl::unexpected(count.error());
  if (*count > limits.max_records) {
    return tl::unexpected(At(s.offset() - 4, fmt::format("{} counter records (at most {})", *count,
                                                         limits.max_records)));
  }
  for (uint32_t i = 0; i < *count; ++i) {
    auto format = s.U32();
    if (!format) return tl::unexpected(format.error());
    auto data = s.Opaque();
    if (!data) return tl::unexpected(data.error());
    if (*format != 1 || !counters) continue;  // only generic interface counters
    // ifIndex, ifType, ifSpeed, ifDirection, ifStatus, ifInOctets, ifInUcastPkts,
    // ifInMulticastPkts, ifInBroadcastPkts, ifInDiscards, ifInErrors, ifInUnknownProtos,
    // ifOutOctets, ifOutUcastPkts, ifOutMulticastPkts, ifOutBroadcastPkts, ifOutDiscards,
    // ifOutErrors, ifPromiscuousMode: 88 bytes.
    if (data->left() < 88)
      return tl::unexpected(At(data->offset(), "interface counters cut short"));
    InterfaceCounters c;
    c.time = received;
    c.agent = agent;
    c.interface = *data->U32();
    (void)data->U32();
    c.speed = *data->U64();
    (void)data->U32();
    c.up = (*data->U32() & 2) != 0;
    c.in_octets = *data->U64();
    for (int k = 0; k < 3; ++k) c.in_packets += *data->U32();
    c.in_discards = *data->U32();
    c.in_errors = *data->U32();
    (void)data->U32();
    c.out_octets = *data->U64();
    for (int k = 0; k < 3; ++k) c.out_packets += *data->U32();
    c.out_discards = *data->U32();
    c.out_errors = *data->U32();
    counters(c);
  }
  return {};
}

}  // namespace

Result<size_t> DecodeSflowV5(std::string_view datagram, TimeNs received, const RecordFn& record,
                             const CountersFn& counters, const SflowLimits& limits) {
  Xdr d(datagram, 0);
  auto version = d.U32();
  if (!version) return tl::unexpected(version.error());
  if (*version != 5) return Fail(fmt::format("sFlow version {}, not 5", *version), "byte 0");
  auto agent = d.Address();
  if (!agent) return tl::unexpected(agent.error());
  auto sub_agent = d.U32();
  auto sequence = sub_agent ? d.U32() : sub_agent;
  auto uptime = sequence ? d.U32() : sequence;
  auto samples = uptime ? d.U32() : uptime;
  if (!samples) return tl::unexpected(samples.error());
  if (*samples > limits.max_samples) {
    return tl::unexpected(
        At(d.offset() - 4, fmt::format("{} samples (at most {})", *samples, limits.max_samples)));
  }
  size_t records = 0;
  for (uint32_t i = 0; i < *samples; ++i) {
    auto format = d.U32();
    if (!format) return tl::unexpected(format.error());
    auto sample = d.Opaque();
    if (!sample) return tl::unexpected(sample.error());
    if ((*format >> 12) != 0) continue;  // another enterprise's sample
    uint32_t kind = *format & 0xfff;
    if (kind == 1 || kind == 3) {
      auto given = ReadFlowSample(*sample, kind == 3, *agent, received, limits, record);
      if (!given) return tl::unexpected(given.error());
      records += *given ? 1 : 0;
    } else if (kind == 2 || kind == 4) {
      auto read = ReadCounterSample(*sample, kind == 4, *agent, received, limits, counters);
      if (!read) return tl::unexpected(read.error());
    }
  }
  return records;
}

}  // namespace bulwark::flow
