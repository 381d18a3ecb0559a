// NetFlow v5 from softflowd, captured on the wire, against nfdump's decoding of the same flows
// (exported as NetFlow v9 in the same run: whole seconds only, so times agree within a second).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "../support/files.h"
#include "bulwark/flow/flow.h"
#include "nfdump.h"

namespace bulwark::flow {
namespace {

const std::string kPerimeter = std::string(BULWARK_SHARED_DIR) + "/perimeter/";

// nfdump's flag letters, highest bit first: CWR ECE URG ACK PSH RST SYN FIN.
std::string Flags(uint8_t flags) {
  const char* letters = "CEUAPRSF";
  std::string out(8, '.');
  for (int bit = 0; bit < 8; ++bit) {
    if (flags & (0x80 >> bit)) out[bit] = letters[bit];
  }
  return out;
}

using Key = std::tuple<std::string, std::string, std::string, std::string, std::string, std::string,
                       std::string, std::string, std::string>;

// Decodes every export datagram of `pcap` with one decoder (templates carry over) and checks
// each record against nfdump's CSV: the same addresses, ports, protocol, flags, ToS, packets and
// bytes, and a start within a second (NetFlow v9 carries whole seconds). Returns the records.
std::vector<FlowRecord> ExpectAgreesWithNfdump(const std::string& pcap, const std::string& csv_file,
                                               size_t datagrams_expected) {
  std::vector<FlowRecord> records;
  size_t datagrams = 0;
  ExportDecoder decoder;
  auto read = ForEachUdpDatagram(kPerimeter + pcap, [&](const Datagram& d) {
    ++datagrams;
    auto decoded =
        decoder.Decode(d.payload, d.source, 0, [&](const FlowRecord& r) { records.push_back(r); });
    EXPECT_TRUE(decoded) << decoded.error().ToString();
  });
  EXPECT_TRUE(read) << read.error().ToString();
  EXPECT_EQ(datagrams, datagrams_expected) << pcap;
  EXPECT_EQ(decoder.counters().unknown_template_sets, 0u) << pcap;
  std::map<Key, std::vector<int64_t>> expected;
  size_t rows = 0;
  std::stringstream csv(testing_support::ReadAll(kPerimeter + csv_file));
  std::string line;
  std::getline(csv, line);  // header
  while (std::getline(csv, line)) {
    std::vector<std::string> c;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) c.push_back(cell);
    if (c.size() < 13) {
      ADD_FAILURE() << line;
      continue;
    }
    auto start = ParseTimestamp(c[0]);  // "2026-11-26 14:39:28", UTC on the producing machine
    EXPECT_TRUE(start) << c[0];
    if (!start) continue;
    expected[{c[3], c[4], c[5], c[6], c[7], c[8], c[10], c[11], c[12]}].push_back(*start /
                                                                                  kNsPerSecond);
    ++rows;
  }
  EXPECT_EQ(records.size(), rows) << pcap;
  for (const FlowRecord& r : records) {
    Key key{r.source.ToString(),           r.destination.ToString(),
            std::to_string(r.source_port), std::to_string(r.destination_port),
            NfdumpProtocol(r.protocol),    Flags(r.tcp_flags),
            std::to_string(r.tos),         std::to_string(r.packets),
            std::to_string(r.bytes)};
    auto found = expected.find(key);
    if (found == expected.end()) {
      ADD_FAILURE() << pcap << ": no such row in " << csv_file << ": " << std::get<0>(key) << " "
                    << std::get<1>(key) << " " << std::get<2>(key) << " " << std::get<3>(key) << " "
                    << std::get<4>(key) << " " << std::get<5>(key) << " " << std::get<7>(key) << " "
                    << std::get<8>(key);
      return records;
    }
    auto& starts = found->second;
    int64_t second = r.start / kNsPerSecond;
    auto near = std::find_if(starts.begin(), starts.end(),
                             [&](int64_t s) { return std::llabs(s - second) <= 1; });
    if (near == starts.end()) {
      ADD_FAILURE() << pcap << ": start " << FormatTimestamp(r.start) << " not within a second";
      return records;
    }
    starts.erase(near);
    EXPECT_LE(r.start, r.end);
  }
  return records;
}

TEST(Netflow, SoftflowdV5AgreesWithNfdump) {
  auto records =
      ExpectAgreesWithNfdump("softflowd-nfv5.pcap", "softflowd-nfv9-run1.nfdump.csv", 43);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records[0].exporter.ToString(), "127.0.0.1");
}

// Templates 1024/1025 (IPv4) and 2048/2049 (IPv6), an options template; uptime-relative times.
TEST(Netflow, SoftflowdV9AgreesWithNfdump) {
  auto records =
      ExpectAgreesWithNfdump("softflowd-nfv9.pcap", "softflowd-nfv9-run1.nfdump.csv", 41);
  // Durations come from the uptime-relative times (the 5 pings lasted 0.8 s).
  EXPECT_TRUE(std::any_of(records.begin(), records.end(),
                          [](const FlowRecord& r) { return r.end - r.start > 500'000'000; }));
}

// IPFIX with uptime-relative times (IE 22/21), made absolute with the exporter's
// systemInitTimeMilliseconds from its options data.
TEST(Ipfix, SoftflowdRelativeTimesAgreeWithNfdump) {
  auto records =
      ExpectAgreesWithNfdump("softflowd-ipfix.pcap", "softflowd-nfv9-run1.nfdump.csv", 41);
  EXPECT_TRUE(std::any_of(records.begin(), records.end(),
                          [](const FlowRecord& r) { return r.end - r.start > 500'000'000; }));
}

// Templates are learned, withdrawn and missed per exporter and domain; enterprise elements and
// variable-length fields are skipped by their length.
TEST(Ipfix, TemplatesAreKeptPerExporterAndWithdrawn) {
  auto u16 = [](uint16_t v) { return std::string{char(v >> 8), char(v & 0xff)}; };
  auto u32 = [&](uint32_t v) { return u16(uint16_t(v >> 16)) + u16(uint16_t(v)); };
  auto message = [&](const std::string& sets) {
    return u16(10) + u16(uint16_t(16 + sets.size())) + u32(1764168000) + u32(1) + u32(7) + sets;
  };
  // Template 256: source IPv4 (8), an enterprise element (4 bytes), destination IPv4 (12), a
  // variable-length field (id 96), packets (2, reduced to 2 bytes).
  std::string fields = u16(8) + u16(4) + u16(0x8000 | 99) + u16(4) + u32(29305) + u16(12) + u16(4) +
                       u16(96) + u16(0xFFFF) + u16(2) + u16(2);
  std::string tmpl = u16(2) + u16(uint16_t(4 + 4 + fields.size())) + u16(256) + u16(5) + fields;
  std::string record =
      u32(0x0a000001) + u32(0xdeadbeef) + u32(0x0a000002) + std::string("\x03") + "abc" + u16(7);
  std::string data = u16(256) + u16(uint16_t(4 + record.size())) + record;
  ExportDecoder decoder;
  std::vector<FlowRecord> got;
  auto keep = [&](const FlowRecord& r) { got.push_back(r); };
  auto a = event::IpAddress::V4(0x7f000001), b = event::IpAddress::V4(0x7f000002);
  EXPECT_EQ(*decoder.Decode(message(data), a, 0, keep), 0u);  // the template is not known yet
  EXPECT_EQ(decoder.counters().unknown_template_sets, 1u);
  // The template comes: the held record, then this datagram's.
  EXPECT_EQ(*decoder.Decode(message(tmpl + data), a, 0, keep), 2u);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(decoder.counters().released_sets, 1u);
  EXPECT_EQ(got[0].source.ToString(), "10.0.0.1");
  EXPECT_EQ(got[0].destination.ToString(), "10.0.0.2");
  EXPECT_EQ(got[0].packets, 7u);
  EXPECT_EQ(got[1].packets, 7u);
  EXPECT_EQ(*decoder.Decode(message(data), b, 0, keep), 0u);  // another exporter's template
  std::string withdraw = u16(2) + u16(8) + u16(256) + u16(0);
  EXPECT_EQ(*decoder.Decode(message(withdraw + data), a, 0, keep), 0u);
  EXPECT_EQ(decoder.counters().unknown_template_sets, 3u);
  // Exporter a's template again: only a's held set is released, not b's.
  EXPECT_EQ(*decoder.Decode(message(tmpl), a, 0, keep), 1u);
  EXPECT_EQ(decoder.counters().released_sets, 2u);
  // Held sets are bounded: the oldest are let go.
  ExportDecoder::Limits small;
  small.max_held_sets = 2;
  ExportDecoder bounded(small);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*bounded.Decode(message(data), a, 0, keep), 0u);
  EXPECT_EQ(bounded.counters().dropped_held_sets, 3u);
  EXPECT_EQ(*bounded.Decode(message(tmpl), a, 0, keep), 2u);
  // A template cut short names its byte.
  std::string cut = u16(2) + u16(12) + u16(257) + u16(3) + u16(8) + u16(4);
  auto broken = decoder.Decode(message(cut), a, 0, keep);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().where, "byte 28");
}

// A collector that starts after the exporter sent its templates (softflowd's real v9 export
// without its first datagram): the data sets wait for the template's next refresh and are
// decoded then; only the skipped datagram's own records are missing.
TEST(Netflow, DataBeforeItsTemplateWaitsForIt) {
  std::vector<Datagram> datagrams;
  std::vector<std::string> payloads;
  ASSERT_TRUE(ForEachUdpDatagram(kPerimeter + "softflowd-nfv9.pcap", [&](const Datagram& d) {
    payloads.emplace_back(d.payload);
    datagrams.push_back(d);
  }));
  // The records as JSON, of every datagram but the first, sorted.
  std::vector<std::string> expected, got;
  ExportDecoder whole;
  for (size_t i = 0; i < payloads.size(); ++i) {
    ASSERT_TRUE(whole.Decode(payloads[i], datagrams[i].source, 0, [&](const FlowRecord& r) {
      if (i > 0) expected.push_back(FlowRecordJson(r));
    }));
  }
  ExportDecoder late;
  for (size_t i = 1; i < payloads.size(); ++i) {
    ASSERT_TRUE(late.Decode(payloads[i], datagrams[i].source, 0,
                            [&](const FlowRecord& r) { got.push_back(FlowRecordJson(r)); }));
  }
  EXPECT_GT(late.counters().released_sets, 0u);
  EXPECT_EQ(late.counters().dropped_held_sets, 0u);
  std::sort(expected.begin(), expected.end());
  std::sort(got.begin(), got.end());
  EXPECT_GT(expected.size(), 1000u);
  EXPECT_EQ(got, expected);
}

// IPFIX with absolute milliseconds (IE 152/153), from pmacctd's nfprobe.
TEST(Ipfix, PmacctdAgreesWithNfdump) {
  ExpectAgreesWithNfdump("pmacctd-nfprobe-ipfix.pcap", "pmacctd-ipfix-run2.nfdump.csv", 33);
}

TEST(Netflow, BadDatagramsNameTheirByte) {
  auto none = [](const FlowRecord&) {};
  auto exporter = event::IpAddress::V4(0x7f000001);
  auto short_header = DecodeNetflowV5("\x00\x05", exporter, none);
  ASSERT_FALSE(short_header);
  EXPECT_EQ(short_header.error().where, "byte 0");
  std::string v9(24, '\0');
  v9[1] = 9;
  EXPECT_NE(DecodeNetflowV5(v9, exporter, none).error().message.find("version 9"),
            std::string::npos);
  std::string lying(24, '\0');
  lying[1] = 5;
  lying[3] = 30;  // 30 records claimed, none there
  auto cut = DecodeNetflowV5(lying, exporter, none);
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().where, "byte 2");
  EXPECT_FALSE(ForEachUdpDatagram("/nonexistent.pcap", [](const Datagram&) {}));
}

// A sampling exporter's counts are scaled by its interval (the header's low 14 bits), so that
// volumes compare with unsampled exporters' and sFlow's.
TEST(Netflow, SampledCountsAreScaledByTheInterval) {
  std::string d(24 + 48, '\0');
  d[1] = 5;
  d[3] = 1;                             // one record
  d[22] = static_cast<char>(0x40);      // mode 1 (deterministic) ...
  d[23] = 100;                          // ... 1 in 100
  d[24 + 19] = 3;                       // packets
  d[24 + 23] = static_cast<char>(180);  // bytes
  std::vector<FlowRecord> got;
  ASSERT_TRUE(
      DecodeNetflowV5(d, event::IpAddress::V4(1), [&](const FlowRecord& r) { got.push_back(r); }));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sampling_rate, 100u);
  EXPECT_EQ(got[0].packets, 300u);
  EXPECT_EQ(got[0].bytes, 18000u);
}

// A template flood from one exporter, and datagrams from many forged exporters, stay bounded.
TEST(Ipfix, TemplateFloodsAreBounded) {
  auto u16 = [](uint16_t v) { return std::string{char(v >> 8), char(v & 0xff)}; };
  auto u32 = [&](uint32_t v) { return u16(uint16_t(v >> 16)) + u16(uint16_t(v)); };
  auto message = [&](const std::string& sets, uint32_t domain) {
    return u16(10) + u16(uint16_t(16 + sets.size())) + u32(1764168000) + u32(1) + u32(domain) +
           sets;
  };
  ExportDecoder::Limits limits;
  limits.max_sources = 3;
  limits.max_templates_per_source = 10;
  ExportDecoder decoder(limits);
  auto none = [](const FlowRecord&) {};
  auto exporter = event::IpAddress::V4(0x7f000001);
  for (uint16_t id = 256; id < 356; ++id) {
    std::string tmpl = u16(2) + u16(12) + u16(id) + u16(1) + u16(8) + u16(4);
    ASSERT_TRUE(decoder.Decode(message(tmpl, 1), exporter, 0, none));
  }
  EXPECT_EQ(decoder.counters().templates, 10u);
  EXPECT_EQ(decoder.counters().refused_templates, 90u);
  for (uint32_t domain = 2; domain < 10; ++domain)
    (void)decoder.Decode(message("", domain), exporter, 0, none);
  EXPECT_EQ(decoder.counters().refused_sources, 6u);
}

}  // namespace
}  // namespace bulwark::flow

namespace bulwark::flow {
namespace {

// nfcapd's file of softflowd's v9 datagrams reads back (through nfdump) as the same records as
// the datagrams decoded directly: addresses, ports, protocol, flags, counts; times to the second.
TEST(NfdumpFile, NfcapdsFileGivesTheRecordsOfItsDatagrams) {
  auto dir = testing_support::TestDataDir("bulwark-nfcapd-file");
  std::vector<std::string> payloads;
  std::multiset<std::string> direct;
  ExportDecoder decoder;
  ASSERT_TRUE(ForEachUdpDatagram(kPerimeter + "softflowd-nfv9.pcap", [&](const Datagram& d) {
    payloads.emplace_back(d.payload);
    (void)decoder.Decode(d.payload, d.source, d.time, [&](const FlowRecord& r) {
      direct.insert(r.source.ToString() + " " + r.destination.ToString() + " " +
                    std::to_string(r.source_port) + " " + std::to_string(r.destination_port) + " " +
                    std::to_string(r.protocol) + " " + std::to_string(r.tcp_flags) + " " +
                    std::to_string(r.packets) + " " + std::to_string(r.bytes) + " " +
                    std::to_string(r.start / kNsPerSecond));
    });
  }));
  (void)CollectorCsv("/usr/bin/nfcapd", dir, payloads);
  std::string file;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "flows")) {
    if (entry.path().filename().string().starts_with("nfcapd.")) file = entry.path().string();
  }
  ASSERT_FALSE(file.empty());
  EXPECT_TRUE(IsNfdumpFile(file));
  EXPECT_FALSE(IsNfdumpFile(kPerimeter + "softflowd-nfv9.pcap"));
  std::multiset<std::string> read;
  auto count = ForEachNfdumpRecord(file, [&](const FlowRecord& r) {
    read.insert(r.source.ToString() + " " + r.destination.ToString() + " " +
                std::to_string(r.source_port) + " " + std::to_string(r.destination_port) + " " +
                std::to_string(r.protocol) + " " + std::to_string(r.tcp_flags) + " " +
                std::to_string(r.packets) + " " + std::to_string(r.bytes) + " " +
                std::to_string(r.start / kNsPerSecond));
    EXPECT_EQ(r.exporter.ToString(), "127.0.0.1");
  });
  ASSERT_TRUE(count) << count.error().ToString();
  EXPECT_EQ(*count, 1286u);
  EXPECT_EQ(read, direct);
  EXPECT_FALSE(ForEachNfdumpRecord((dir / "no-such-file").string(), [](const FlowRecord&) {}));
  testing_support::RemoveTree(dir);
}

}  // namespace
}  // namespace bulwark::flow
