#pragma once
// Flow records from routers, switches and probes (NetFlow, IPFIX, sFlow), decoded from their
// datagrams, and the datagrams of a packet capture. Decoders are pure functions over one datagram:
// bad input is an Error naming the byte offset; records decoded before it stay given.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/core/time.h"
#include "bulwark/event/ip.h"

namespace bulwark::flow {

// One flow, as its exporter counted it.
struct FlowRecord {
  TimeNs start = 0;  // first packet
  TimeNs end = 0;    // last packet
  event::IpAddress source;
  event::IpAddress destination;
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  uint8_t protocol = 0;   // IANA protocol number
  uint8_t tcp_flags = 0;  // ORed over the flow's packets
  uint8_t tos = 0;
  // Estimated totals: what a sampling exporter counted times its sampling rate (sFlow, NetFlow
  // with a sampling interval), so that volumes compare across exporters.
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint32_t input_interface = 0;
  uint32_t output_interface = 0;
  uint32_t sampling_rate = 1;  // 1 in N packets was counted (1: all)
  event::IpAddress exporter;   // who sent the datagram
  uint64_t source_mac = 0;     // 48 bits; 0: not exported
  uint64_t destination_mac = 0;
};

using RecordFn = std::function<void(const FlowRecord& record)>;

// Scales a sampled record's counts by its sampling rate (saturating).
void ScaleBySampling(FlowRecord& record);

// One interface's counters, as an sFlow agent exports them (generic interface counters).
struct InterfaceCounters {
  TimeNs time = 0;  // when the datagram was received
  event::IpAddress agent;
  uint32_t interface = 0;  // ifIndex
  uint64_t speed = 0;      // bits per second
  bool up = false;         // ifOperStatus
  uint64_t in_octets = 0, out_octets = 0;
  uint64_t in_packets = 0, out_packets = 0;  // unicast + multicast + broadcast
  uint64_t in_discards = 0, out_discards = 0;
  uint64_t in_errors = 0, out_errors = 0;
};

using CountersFn = std::function<void(const InterfaceCounters& counters)>;

// The record as one JSON object with Elastic Common Schema names (event.start, source.ip,
// network.packets, observer.ip, ...) and the IPFIX names of what ECS lacks
// (netflow.tcp_control_bits, netflow.ip_class_of_service, netflow.sampling_interval).
std::string FlowRecordJson(const FlowRecord& record);

// The counters as one JSON object: event.kind metric, event.module sflow, observer.ip and
// observer.ingress.interface.id, and sflow.* for the counters.
std::string InterfaceCountersJson(const InterfaceCounters& counters);

// A MAC address as ECS writes it: six upper-case hex pairs joined by '-'.
std::string MacText(uint64_t mac);

// Limits on what an sFlow datagram may claim.
struct SflowLimits {
  uint32_t max_sampling_rate = 1'000'000;  // above: the sample is refused (absurd scaling)
  uint32_t max_samples = 4096;             // per datagram
  uint32_t max_records = 64;               // per sample
};

// sFlow version 5 (sflow.org, sFlow Version 5): flow samples and expanded flow samples become
// one FlowRecord each, scaled by the sampling rate (packets = rate, bytes = frame length x rate),
// taken from the sampled packet header (Ethernet with VLAN tags, IPv4, IPv6; MAC addresses
// kept) or, without one, from the sampled IPv4/IPv6 record. Counter samples give their generic
// interface counters to `counters` (if set). sFlow carries no clock: records are stamped with
// `received`. Unknown sample and record formats are skipped by their length. Returns the flow
// records given. Errors ("byte N: ..."): not version 5, a length the datagram does not hold, a
// sampling rate of 0 or above the limit; records decoded before the error stay given.
Result<size_t> DecodeSflowV5(std::string_view datagram, TimeNs received, const RecordFn& record,
                             const CountersFn& counters = nullptr, const SflowLimits& limits = {});

// Decodes the export datagrams of many exporters by their version field: NetFlow v5, sFlow v5
// (see DecodeSflowV5), and the template-based NetFlow v9 and IPFIX, whose templates it keeps per
// exporter and source id (observation domain). Template and options-template sets are learned (an
// IPFIX template record without fields withdraws its template); options data are read for the
// exporter's systemInitTimeMilliseconds, which makes IPFIX's uptime-relative times (IE 21/22)
// absolute. Enterprise elements and elements it does not use are skipped by their length. Data sets
// whose template is not known yet are held (within bounds per exporter and domain, oldest let go
// first) and decoded when the template arrives: exporters send templates only every few
// minutes, and a collector that starts in between would lose everything until then. Not
// thread-safe: one per receiving thread.
class ExportDecoder {
 public:
  // Bounds on what exporters make it keep: a template flood from one exporter, or datagrams from
  // many forged exporters, cannot grow it without limit.
  struct Limits {
    size_t max_sources = 4096;               // (exporter, domain) pairs
    size_t max_templates_per_source = 1024;  // templates of one of them
    size_t max_fields = 512;                 // fields of one template
    size_t max_held_sets = 256;              // data sets waiting for their template, per source
    size_t max_held_bytes = 16 << 20;        // their bytes, all sources together
  };
  struct Counters {
    uint64_t templates = 0;              // template records learned
    uint64_t unknown_template_sets = 0;  // data sets that came before their template
    uint64_t released_sets = 0;          // of those, decoded once their template came
    uint64_t dropped_held_sets = 0;      // of those, let go to stay within the bounds
    uint64_t refused_templates = 0;      // beyond max_templates_per_source or max_fields
    uint64_t refused_sources = 0;        // datagrams of a source beyond max_sources
  };
  ExportDecoder();
  explicit ExportDecoder(Limits limits);
  // Returns the number of records of the datagram. Errors ("byte N: ..."): another version, a
  // header or set that the datagram does not hold, a template that contradicts itself; records
  // decoded before the error stay given.
  // `received` stamps sFlow's records, which carry no clock of their own.
  Result<size_t> Decode(std::string_view datagram, const event::IpAddress& exporter,
                        TimeNs received, const RecordFn& record);
  const Counters& counters() const { return counters_; }
  // Where sFlow's interface counters go (none by default).
  void set_counters_handler(CountersFn handler) { counters_handler_ = std::move(handler); }

  struct Field {
    uint16_t id = 0;          // information element (enterprise bit removed)
    uint32_t enterprise = 0;  // 0: IANA
    uint16_t length = 0;      // 0xFFFF: variable (IPFIX)
  };
  struct Template {
    std::vector<Field> fields;
    bool options = false;
    size_t scope_fields = 0;
  };

 private:
  // The time fields of the header a data set came in, and a data set that came before its
  // template, with them.
  struct SetClock {
    int64_t uptime_ms = 0, clock_ms = 0;
    bool ipfix = false;
  };
  struct HeldSet {
    uint16_t template_id = 0;
    std::string bytes;
    SetClock clock;
  };
  struct Source {  // one exporter's source id / observation domain
    std::map<uint16_t, Template> templates;
    int64_t system_init_ms = -1;  // from options data (IE 160)
    std::deque<HeldSet> held;
  };
  Result<size_t> DecodeTemplated(std::string_view datagram, const event::IpAddress& exporter,
                                 const RecordFn& record, bool ipfix);
  // Decodes the records of one data set with its template; returns how many it gave.
  size_t DecodeDataSet(std::string_view set, const Template& t, Source& source,
                       const event::IpAddress& exporter, SetClock clock, const RecordFn& record);
  // Keeps a data set whose template has not come, within the bounds.
  void Hold(Source& source, uint16_t template_id, std::string_view set, SetClock clock);
  // Decodes the held data sets of `template_id`, now that it came.
  size_t Release(Source& source, uint16_t template_id, const event::IpAddress& exporter,
                 const RecordFn& record);
  Limits limits_;
  std::map<std::pair<std::string, uint32_t>, Source> sources_;
  size_t held_bytes_ = 0;  // of every source's held sets
  Counters counters_;
  CountersFn counters_handler_;
};

// NetFlow v5: a 24-byte header and up to 30 records of 48 bytes. Times are the exporter's uptime
// in milliseconds, made absolute with the header's clock. Returns the number of records.
// Errors ("byte N: ..."): not version 5, a count the datagram does not hold.
Result<size_t> DecodeNetflowV5(std::string_view datagram, const event::IpAddress& exporter,
                               const RecordFn& record);

// One UDP datagram of a capture.
struct Datagram {
  TimeNs time = 0;
  event::IpAddress source;
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  std::string_view payload;  // valid during the call
};

// Every UDP datagram (IPv4 and IPv6, over Ethernet, Linux cooked or loopback framing) of the
// pcap file at `path`, in order; returns how many. Other packets are skipped. Errors: the file
// cannot be read as a capture.
Result<size_t> ForEachUdpDatagram(const std::string& path,
                                  const std::function<void(const Datagram&)>& datagram);

// Whether `path` is an nfdump flow file (nfcapd's output): it starts with nfdump's magic.
bool IsNfdumpFile(const std::string& path);

// Every record of an nfdump flow file, as nfdump itself reads it (`nfdump -r FILE -o csv`, run
// without a shell; its binary format changes between versions and is compressed): times in
// whole seconds, counts as stored. Returns how many. Errors: nfdump is not installed, cannot read
// the file, or printed rows this reader does not understand.
Result<size_t> ForEachNfdumpRecord(const std::string& path, const RecordFn& record);

}  // namespace bulwark::flow
