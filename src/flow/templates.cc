// NetFlow v9 (RFC 3954) and IPFIX (RFC 7011): template-based export, and the version dispatch.

#include <fmt/format.h>

#include <array>
#include <cstring>

#include "bulwark/flow/flow.h"
#include "bytes.h"

namespace bulwark::flow {

namespace {

// An unsigned number of 1 to 8 bytes (reduced-size encoding).
uint64_t Unsigned(std::string_view value) {
  uint64_t out = 0;
  for (char c : value.substr(0, 8)) out = out << 8 | static_cast<uint8_t>(c);
  return out;
}

Error At(size_t offset, std::string message) {
  return Error{std::move(message), fmt::format("byte {}", offset)};
}

// Information elements Bulwark reads (IANA numbers, the same in NetFlow v9).
enum Element : uint16_t {
  kOctetDeltaCount = 1,
  kPacketDeltaCount = 2,
  kProtocol = 4,
  kClassOfService = 5,
  kTcpControlBits = 6,
  kSourcePort = 7,
  kSourceIPv4 = 8,
  kIngressInterface = 10,
  kDestinationPort = 11,
  kDestinationIPv4 = 12,
  kEgressInterface = 14,
  kFlowEndSysUpTime = 21,
  kFlowStartSysUpTime = 22,
  kSourceIPv6 = 27,
  kDestinationIPv6 = 28,
  kIcmpTypeCodeIPv4 = 32,
  kSamplingInterval = 34,
  kOctetTotalCount = 85,
  kPacketTotalCount = 86,
  kIcmpTypeCodeIPv6 = 139,
  kFlowStartSeconds = 150,
  kFlowEndSeconds = 151,
  kFlowStartMilliseconds = 152,
  kFlowEndMilliseconds = 153,
  kSourceMac = 56,
  kDestinationMac = 80,
  kSystemInitTimeMilliseconds = 160,
};

event::IpAddress Address(std::string_view value) {
  if (value.size() == 4) return event::IpAddress::V4(static_cast<uint32_t>(Unsigned(value)));
  std::array<uint8_t, 16> bytes{};
  std::memcpy(bytes.data(), value.data(), std::min<size_t>(16, value.size()));
  return event::IpAddress::FromBytes(bytes);
}

}  // namespace

ExportDecoder::ExportDecoder() : ExportDecoder(Limits{}) {}
ExportDecoder::ExportDecoder(Limits limits) : limits_(limits) {}

Result<size_t> ExportDecoder::Decode(std::string_view datagram, const event::IpAddress& exporter,
                                     TimeNs received, const RecordFn& record) {
  if (datagram.size() < 2) return Fail("a datagram of fewer than 2 bytes", "byte 0");
  unsigned version = U16(datagram, 0);
  // sFlow's version is 32 bits wide: 0x00000005.
  if (version == 0 && datagram.size() >= 4 && U32(datagram, 0) == 5) {
    return DecodeSflowV5(datagram, received, record, counters_handler_);
  }
  switch (version) {
    case 5:
      return DecodeNetflowV5(datagram, exporter, record);
    case 9:
      return DecodeTemplated(datagram, exporter, record, false);
    case 10:
      return DecodeTemplated(datagram, exporter, record, true);
    default:
      return Fail("not a NetFlow v5, v9, IPFIX or sFlow v5 datagram (another version number)",
                  "byte 0");
  }
}

size_t ExportDecoder::DecodeDataSet(std::string_view set, const Template& t, Source& source,
                                    const event::IpAddress& exporter, SetClock clock,
                                    const RecordFn& record) {
  size_t records = 0;
  size_t p = 0;
  while (p < set.size()) {
    FlowRecord flow;
    flow.exporter = exporter;
    int64_t start_ms = -1, end_ms = -1, start_up = -1, end_up = -1;
    bool complete = true;
    size_t begin = p;
    for (const Field& field : t.fields) {
      size_t size = field.length;
      if (size == 0xFFFF) {
        if (p + 1 > set.size()) {
          complete = false;
          break;
        }
        size = static_cast<uint8_t>(set[p++]);
        if (size == 255) {
          if (p + 2 > set.size()) {
            complete = false;
            break;
          }
          size = U16(set, p);
          p += 2;
        }
      }
      if (p + size > set.size()) {
        complete = false;
        break;
      }
      std::string_view value = set.substr(p, size);
      p += size;
      if (field.enterprise != 0) continue;
      if (t.options) {
        if (field.id == kSystemInitTimeMilliseconds) {
          source.system_init_ms = static_cast<int64_t>(Unsigned(value));
        }
        continue;
      }
      switch (field.id) {
        case kOctetDeltaCount:
        case kOctetTotalCount:
          flow.bytes = Unsigned(value);
          break;
        case kPacketDeltaCount:
        case kPacketTotalCount:
          flow.packets = Unsigned(value);
          break;
        case kProtocol:
          flow.protocol = static_cast<uint8_t>(Unsigned(value));
          break;
        case kClassOfService:
          flow.tos = static_cast<uint8_t>(Unsigned(value));
          break;
        case kTcpControlBits:
          flow.tcp_flags = static_cast<uint8_t>(Unsigned(value));
          break;
        case kSourcePort:
          flow.source_port = static_cast<uint16_t>(Unsigned(value));
          break;
        case kDestinationPort:
          flow.destination_port = static_cast<uint16_t>(Unsigned(value));
          break;
        case kSourceIPv4:
        case kSourceIPv6:
          flow.source = Address(value);
          break;
        case kDestinationIPv4:
        case kDestinationIPv6:
          flow.destination = Address(value);
          break;
        case kIngressInterface:
          flow.input_interface = static_cast<uint32_t>(Unsigned(value));
          break;
        case kEgressInterface:
          flow.output_interface = static_cast<uint32_t>(Unsigned(value));
          break;
        case kIcmpTypeCodeIPv4:
        case kIcmpTypeCodeIPv6:
          if (flow.destination_port == 0) {
            flow.destination_port = static_cast<uint16_t>(Unsigned(value));
          }
          break;
        case kSourceMac:
          flow.source_mac = Unsigned(value.substr(0, 6));
          break;
        case kDestinationMac:
          flow.destination_mac = Unsigned(value.substr(0, 6));
          break;
        case kSamplingInterval:
          flow.sampling_rate = std::max<uint32_t>(1, static_cast<uint32_t>(Unsigned(value)));
          break;
        case kFlowStartSysUpTime:
          start_up = static_cast<int64_t>(Unsigned(value));
          break;
        case kFlowEndSysUpTime:
          end_up = static_cast<int64_t>(Unsigned(value));
          break;
        case kFlowStartSeconds:
          start_ms = static_cast<int64_t>(Unsigned(value)) * 1000;
          break;
        case kFlowEndSeconds:
          end_ms = static_cast<int64_t>(Unsigned(value)) * 1000;
          break;
        case kFlowStartMilliseconds:
          start_ms = static_cast<int64_t>(Unsigned(value));
          break;
        case kFlowEndMilliseconds:
          end_ms = static_cast<int64_t>(Unsigned(value));
          break;
        default:
          break;
      }
    }
    if (!complete || p == begin) break;  // the rest is padding
    if (t.options) continue;
    // Uptime-relative times: v9 against the header's uptime and clock; IPFIX against the
    // exporter's init time from its options data.
    auto absolute = [&](int64_t up) -> int64_t {
      if (up < 0) return -1;
      if (!clock.ipfix) return clock.clock_ms - (clock.uptime_ms - up);
      return source.system_init_ms >= 0 ? source.system_init_ms + up : -1;
    };
    if (start_ms < 0) start_ms = absolute(start_up);
    if (end_ms < 0) end_ms = absolute(end_up);
    if (end_ms < 0) end_ms = clock.clock_ms;
    if (start_ms < 0) start_ms = end_ms;
    flow.start = start_ms * 1'000'000;
    flow.end = end_ms * 1'000'000;
    ScaleBySampling(flow);
    record(flow);
    ++records;
  }
  return records;
}

void ExportDecoder::Hold(Source& source, uint16_t template_id, std::string_view set,
                         SetClock clock) {
  // The oldest of this source's sets make room; another source's are not touched (a flood of
  // forged exporters cannot push out a real exporter's data).
  while (!source.held.empty() && (source.held.size() >= limits_.max_held_sets ||
                                  held_bytes_ + set.size() > limits_.max_held_bytes)) {
    held_bytes_ -= source.held.front().bytes.size();
    source.held.pop_front();
    ++counters_.dropped_held_sets;
  }
  if (limits_.max_held_sets == 0 || held_bytes_ + set.size() > limits_.max_held_bytes) {
    ++counters_.dropped_held_sets;
    return;
  }
  source.held.push_back(HeldSet{template_id, std::string(set), clock});
  held_bytes_ += set.size();
}

size_t ExportDecoder::Release(Source& source, uint16_t template_id,
                              const event::IpAddress& exporter, const RecordFn& record) {
  size_t records = 0;
  const Template& t = source.templates.at(template_id);
  for (auto it = source.held.begin(); it != source.held.end();) {
    if (it->template_id != template_id) {
      ++it;
      continue;
    }
    records += DecodeDataSet(it->bytes, t, source, exporter, it->clock, record);
    held_bytes_ -= it->bytes.size();
    it = source.held.erase(it);
    ++counters_.released_sets;
  }
  return records;
}

Result<size_t> ExportDecoder::DecodeTemplated(std::string_view d, const event::IpAddress& exporter,
                                              const RecordFn& record, bool ipfix) {
  const size_t header = ipfix ? 16 : 20;
  if (d.size() < header) {
    return Fail(fmt::format("a header needs {} bytes, the datagram has {}", header, d.size()),
                "byte 0");
  }
  size_t end = d.size();
  if (ipfix) {
    size_t length = U16(d, 2);
    if (length < header || length > d.size()) {
      return Fail(fmt::format("message length {} but {} bytes", length, d.size()), "byte 2");
    }
    end = length;
  }
  // v9: uptime (ms) and clock in the header; IPFIX: the export time in seconds.
  const int64_t uptime_ms = ipfix ? 0 : U32(d, 4);
  const int64_t clock_ms = static_cast<int64_t>(U32(d, 8)) * 1000;
  const uint32_t domain = U32(d, ipfix ? 12 : 16);
  std::pair<std::string, uint32_t> key{exporter.ToString(), domain};
  auto known = sources_.find(key);
  if (known == sources_.end()) {
    if (sources_.size() >= limits_.max_sources) {
      ++counters_.refused_sources;
      return Fail(fmt::format("more than {} exporters and domains: {} domain {} not kept",
                              limits_.max_sources, key.first, domain),
                  "byte 0");
    }
    known = sources_.emplace(key, Source{}).first;
  }
  Source& source = known->second;
  const SetClock clock{uptime_ms, clock_ms, ipfix};
  const uint16_t template_set = ipfix ? 2 : 0;
  const uint16_t options_set = ipfix ? 3 : 1;
  size_t records = 0;
  for (size_t at = header; at + 4 <= end;) {
    uint16_t id = U16(d, at);
    size_t length = U16(d, at + 2);
    if (length < 4 || at + length > end) {
      return tl::unexpected(
          At(at, fmt::format("set {} of length {} overruns the datagram", id, length)));
    }
    std::string_view set = d.substr(at + 4, length - 4);
    size_t set_at = at + 4;
    at += length;
    if (id == template_set || id == options_set) {
      size_t p = 0;
      while (p + 4 <= set.size()) {
        uint16_t template_id = U16(set, p);
        uint16_t count = U16(set, p + 2);
        p += 4;
        Template t;
        t.options = id == options_set;
        if (t.options) {
          if (p + 2 > set.size() && !(ipfix && count == 0)) break;
          if (ipfix) {
            // IPFIX options: field count, then the scope field count.
            if (count == 0) {
              source.templates.erase(template_id);
              continue;
            }
            t.scope_fields = U16(set, p);
            p += 2;
          } else {
            // v9 options: scope length and option length in bytes, then (type, length) pairs.
            size_t scope_bytes = count;
            size_t option_bytes = U16(set, p);
            p += 2;
            count = static_cast<uint16_t>((scope_bytes + option_bytes) / 4);
            t.scope_fields = scope_bytes / 4;
          }
        } else if (count == 0) {
          if (template_id == template_set) {  // all templates withdrawn
            source.templates.clear();
          } else {
            source.templates.erase(template_id);
          }
          continue;
        }
        for (uint16_t f = 0; f < count; ++f) {
          if (p + 4 > set.size()) {
            return tl::unexpected(
                At(set_at + p, fmt::format("template {} is cut short", template_id)));
          }
          Field field{U16(set, p), 0, U16(set, p + 2)};
          p += 4;
          if (ipfix && (field.id & 0x8000)) {
            if (p + 4 > set.size()) {
              return tl::unexpected(
                  At(set_at + p, fmt::format("template {} is cut short", template_id)));
            }
            field.id &= 0x7fff;
            field.enterprise = U32(set, p);
            p += 4;
          }
          if (!ipfix && field.length == 0xFFFF) {
            return tl::unexpected(At(set_at + p - 2, "a v9 field of variable length"));
          }
          t.fields.push_back(field);
        }
        if (template_id < 256) {
          return tl::unexpected(At(set_at, fmt::format("template id {} (below 256)", template_id)));
        }
        bool known_id = source.templates.count(template_id) > 0;
        if (t.fields.size() > limits_.max_fields ||
            (!known_id && source.templates.size() >= limits_.max_templates_per_source)) {
          ++counters_.refused_templates;
          continue;
        }
        source.templates[template_id] = std::move(t);
        ++counters_.templates;
        records += Release(source, template_id, exporter, record);
      }
      continue;
    }
    if (id < 256) continue;  // reserved set ids
    auto found = source.templates.find(id);
    if (found == source.templates.end()) {
      ++counters_.unknown_template_sets;
      Hold(source, id, set, clock);
      continue;
    }
    records += DecodeDataSet(set, found->second, source, exporter, clock, record);
  }
  return records;
}

}  // namespace bulwark::flow
