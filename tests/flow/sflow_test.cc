// sFlow v5: a real agent (pmacctd's sfprobe plugin, reading the traffic of a shared capture)
// against a real collector (nfdump's sfcapd) on the same datagrams, and the format's corners
// with datagrams built here from the specification.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/files.h"
#include "../support/process.h"
#include "bulwark/flow/flow.h"
#include "nfdump.h"

namespace bulwark::flow {
namespace {

const std::string kPerimeter = std::string(BULWARK_SHARED_DIR) + "/perimeter/";
constexpr TimeNs kReceived = 1'764'000'000 * kNsPerSecond;

// The sFlow datagrams pmacctd's sfprobe sends for the packets of `capture`, sampling 1 in `rate`.
std::vector<std::string> PmacctdSflow(const std::filesystem::path& dir, const std::string& capture,
                                      int rate) {
  UdpSink sink;
  std::ofstream(dir / "pmacctd.conf") << "daemonize: false\n"
                                      << "pcap_savefile: " << capture << "\n"
                                      << "pcap_savefile_wait: false\n"
                                      << "plugins: sfprobe\n"
                                      << "sfprobe_receiver: 127.0.0.1:" << sink.port << "\n"
                                      << "sfprobe_agentip: 127.0.0.1\n"
                                      << "sampling_rate: " << rate << "\n";
  std::vector<std::string> datagrams;
  std::thread collector([&] { datagrams = sink.Collect(3000); });
  std::string command = "timeout 60 /usr/sbin/pmacctd -f " + (dir / "pmacctd.conf").string() +
                        " >> " + (dir / "pmacctd.log").string() + " 2>&1";
  int status = std::system(command.c_str());
  collector.join();
  // pmacctd exits with 1 when its plugin ends before the core at the end of a savefile
  // ("connection lost"); 124 is timeout's.
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) <= 1)
      << status << testing_support::ReadAll(dir / "pmacctd.log");
  return datagrams;
}

std::string LowerMac(uint64_t mac) {
  std::string text = MacText(mac);
  std::replace(text.begin(), text.end(), '-', ':');
  std::transform(text.begin(), text.end(), text.begin(), ::tolower);
  return text;
}

// A record as the columns nfdump prints: addresses, ports (ICMP: type and code), protocol,
// packets, bytes, source and destination MAC.
std::string Key(const FlowRecord& r) {
  bool icmp = r.protocol == 1 || r.protocol == 58;
  std::string sp = icmp ? std::to_string(r.destination_port >> 8) : std::to_string(r.source_port);
  std::string dp =
      icmp ? std::to_string(r.destination_port & 0xff) : std::to_string(r.destination_port);
  return r.source.ToString() + " " + r.destination.ToString() + " " + sp + " " + dp + " " +
         NfdumpProtocol(r.protocol) + " " + std::to_string(r.packets) + " " +
         std::to_string(r.bytes) + " " + LowerMac(r.source_mac) + " " + LowerMac(r.destination_mac);
}

std::string Key(const std::vector<std::string>& c) {
  // ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,...,ismc(27),odmc(28)
  return c[3] + " " + c[4] + " " + c[5] + " " + c[6] + " " + c[7] + " " + c[11] + " " + c[12] +
         " " + c[27] + " " + c[28];
}

class SflowFromPmacctd : public ::testing::TestWithParam<int> {};

TEST_P(SflowFromPmacctd, AgreesWithSfcapdRecordForRecord) {
  ASSERT_EQ(access("/usr/sbin/pmacctd", X_OK), 0) << "pmacct is not installed (tools/deps.sh)";
  ASSERT_EQ(access("/usr/bin/sfcapd", X_OK), 0) << "nfdump-sflow is not installed";
  auto dir = testing_support::TestDataDir("sflow");
  std::filesystem::create_directories(dir);
  const int rate = GetParam();
  auto datagrams = PmacctdSflow(dir, kPerimeter + "traffic-run1.pcap", rate);
  ASSERT_GT(datagrams.size(), 5u) << testing_support::ReadAll(dir / "pmacctd.log");

  std::vector<std::string> ours;
  ExportDecoder decoder;  // pmacctd sends flow samples only (counters: see below)
  for (const std::string& d : datagrams) {
    auto decoded =
        decoder.Decode(d, event::IpAddress::V4(0x7f000001), kReceived, [&](const FlowRecord& r) {
          EXPECT_EQ(r.sampling_rate, static_cast<uint32_t>(rate));
          EXPECT_EQ(r.start, kReceived);
          EXPECT_EQ(r.exporter.ToString(), "127.0.0.1");
          ours.push_back(Key(r));
        });
    ASSERT_TRUE(decoded) << decoded.error().ToString();
  }
  std::vector<std::string> theirs;
  for (const auto& row : CollectorCsv("/usr/bin/sfcapd", dir, datagrams))
    theirs.push_back(Key(row));
  std::sort(ours.begin(), ours.end());
  std::sort(theirs.begin(), theirs.end());
  // traffic-run1 holds 2,359 IP packets (and 50 ARP): all of them sampled, or about a quarter.
  if (rate == 1) {
    EXPECT_EQ(ours.size(), 2359u);
  } else {
    EXPECT_NEAR(static_cast<double>(ours.size()), 2359 / 4.0, 150);
  }
  EXPECT_EQ(ours, theirs);
  testing_support::RemoveTree(dir);
}

INSTANTIATE_TEST_SUITE_P(SamplingRates, SflowFromPmacctd, ::testing::Values(1, 4));

// sFlow datagrams built item by item (XDR: big-endian 32-bit words, opaque data padded to 4).
struct Xdr {
  std::string bytes;
  Xdr& U32(uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>(v >> shift));
    return *this;
  }
  Xdr& U64(uint64_t v) { return U32(static_cast<uint32_t>(v >> 32)).U32(static_cast<uint32_t>(v)); }
  Xdr& Opaque(const std::string& data) {
    U32(static_cast<uint32_t>(data.size()));
    bytes += data;
    bytes.append((4 - data.size() % 4) % 4, '\0');
    return *this;
  }
  Xdr& Item(uint32_t format, const Xdr& body) { return U32(format).Opaque(body.bytes); }
};

std::string Hex(const char* hex) {
  std::string out;
  for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex + i, 2), nullptr, 16)));
  }
  return out;
}

// An Ethernet frame with one 802.1Q tag carrying IPv6 TCP SYN 2001:db8::1:4711 -> 2001:db8::2:22.
std::string TaggedIpv6Syn() {
  return Hex(
      "020000000002"
      "020000000001"
      "8100"
      "0064"
      "86dd"
      "60000000"
      "00140640"
      "20010db8000000000000000000000001"
      "20010db8000000000000000000000002"
      "1267"
      "0016"
      "00000000"
      "00000000"
      "5002"
      "ffff"
      "00000000");
}

std::string Datagram(const std::vector<std::pair<uint32_t, Xdr>>& samples) {
  Xdr d;
  d.U32(5)
      .U32(1)
      .U32(0xc0000201)
      .U32(0)
      .U32(7)
      .U32(1000)
      .U32(static_cast<uint32_t>(samples.size()));
  for (const auto& [format, body] : samples) d.Item(format, body);
  return d.bytes;
}

Xdr ExpandedFlowSample(uint32_t rate, const Xdr& records, uint32_t count) {
  Xdr s;
  s.U32(1).U32(0).U32(3).U32(rate).U32(100).U32(0).U32(0).U32(3).U32(0).U32(4).U32(count);
  s.bytes += records.bytes;
  return s;
}

TEST(Sflow, ExpandedSampleWithVlanTaggedIpv6IsScaledByItsRate) {
  Xdr header;
  header.U32(1).U32(1518).U32(4).Opaque(TaggedIpv6Syn());
  Xdr records;
  records.Item(1, header);
  std::vector<FlowRecord> got;
  auto decoded = DecodeSflowV5(Datagram({{3, ExpandedFlowSample(512, records, 1)}}), kReceived,
                               [&](const FlowRecord& r) { got.push_back(r); });
  ASSERT_TRUE(decoded) << decoded.error().ToString();
  ASSERT_EQ(got.size(), 1u);
  const FlowRecord& r = got[0];
  EXPECT_EQ(r.source.ToString(), "2001:db8::1");
  EXPECT_EQ(r.destination.ToString(), "2001:db8::2");
  EXPECT_EQ(r.source_port, 4711);
  EXPECT_EQ(r.destination_port, 22);
  EXPECT_EQ(r.protocol, 6);
  EXPECT_EQ(r.tcp_flags, 0x02);
  EXPECT_EQ(r.packets, 512u);
  EXPECT_EQ(r.bytes, 1518u * 512);
  EXPECT_EQ(r.input_interface, 3u);
  EXPECT_EQ(r.output_interface, 4u);
  EXPECT_EQ(r.exporter.ToString(), "192.0.2.1");
  EXPECT_EQ(MacText(r.source_mac), "02-00-00-00-00-01");
  EXPECT_EQ(MacText(r.destination_mac), "02-00-00-00-00-02");
  EXPECT_EQ(r.start, kReceived);
}

TEST(Sflow, SampledIpv4RecordServesWhenNoHeaderWasSampled) {
  Xdr ip;
  ip.U32(60).U32(17).U32(0x0a000001).U32(0x0a000002).U32(53).U32(33000).U32(0).U32(0x10);
  Xdr records;
  records.Item(4096 * 9 + 1, Xdr{}.U32(1));  // another enterprise's record: skipped
  records.Item(3, ip);
  std::vector<FlowRecord> got;
  ASSERT_TRUE(DecodeSflowV5(Datagram({{3, ExpandedFlowSample(10, records, 2)}}), kReceived,
                            [&](const FlowRecord& r) { got.push_back(r); }));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].source.ToString(), "10.0.0.1");
  EXPECT_EQ(got[0].destination_port, 33000);
  EXPECT_EQ(got[0].protocol, 17);
  EXPECT_EQ(got[0].tos, 0x10);
  EXPECT_EQ(got[0].bytes, 600u);
  EXPECT_EQ(got[0].source_mac, 0u);
}

TEST(Sflow, CounterSamplesGiveInterfaceCounters) {
  Xdr counters;
  counters.U32(7).U32(6).U64(10'000'000'000).U32(1).U32(3);  // index, type, speed, dir, up
  counters.U64(123456789).U32(10).U32(2).U32(1).U32(4).U32(5).U32(0);  // in
  counters.U64(987654321).U32(20).U32(0).U32(0).U32(6).U32(7).U32(0);  // out, promiscuous
  Xdr sample;
  sample.U32(9).U32(7).U32(1);
  sample.Item(1, counters);
  std::vector<InterfaceCounters> got;
  auto decoded = DecodeSflowV5(
      Datagram({{2, sample}}), kReceived, [](const FlowRecord&) { ADD_FAILURE(); },
      [&](const InterfaceCounters& c) { got.push_back(c); });
  ASSERT_TRUE(decoded) << decoded.error().ToString();
  EXPECT_EQ(*decoded, 0u);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].interface, 7u);
  EXPECT_EQ(got[0].speed, 10'000'000'000u);
  EXPECT_TRUE(got[0].up);
  EXPECT_EQ(got[0].in_octets, 123456789u);
  EXPECT_EQ(got[0].in_packets, 13u);
  EXPECT_EQ(got[0].in_discards, 4u);
  EXPECT_EQ(got[0].in_errors, 5u);
  EXPECT_EQ(got[0].out_octets, 987654321u);
  EXPECT_EQ(got[0].out_packets, 20u);
  EXPECT_EQ(got[0].out_errors, 7u);
  std::string json = InterfaceCountersJson(got[0]);
  EXPECT_NE(json.find("\"sflow.if_in_octets\":123456789"), std::string::npos) << json;
  EXPECT_NE(json.find("\"observer.ip\":\"192.0.2.1\""), std::string::npos) << json;
}

TEST(Sflow, AbsurdOrLyingDatagramsAreRefusedWithTheirOffset) {
  Xdr header;
  header.U32(1).U32(64).U32(4).Opaque(TaggedIpv6Syn());
  Xdr records;
  records.Item(1, header);
  auto none = [](const FlowRecord&) {};
  for (uint32_t rate : {0u, 4'000'000'000u}) {
    auto refused = DecodeSflowV5(Datagram({{3, ExpandedFlowSample(rate, records, 1)}}), 0, none);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("sampling rate"), std::string::npos);
    EXPECT_EQ(refused.error().where, "byte 48");  // header 28, format and length 8, 3 words
  }
  // A sample whose length runs past the datagram; a record count beyond the limit.
  std::string cut = Datagram({{3, ExpandedFlowSample(2, records, 1)}});
  cut.resize(cut.size() - 8);
  EXPECT_FALSE(DecodeSflowV5(cut, 0, none));
  EXPECT_FALSE(DecodeSflowV5(Datagram({{3, ExpandedFlowSample(2, records, 100000)}}), 0, none));
  // Records of samples before a broken one stay given.
  std::string two =
      Datagram({{3, ExpandedFlowSample(2, records, 1)}, {3, ExpandedFlowSample(0, records, 1)}});
  size_t given = 0;
  EXPECT_FALSE(DecodeSflowV5(two, 0, [&](const FlowRecord&) { ++given; }));
  EXPECT_EQ(given, 1u);
  // Every prefix of a good datagram is refused or decoded, never read past its end.
  std::string good = Datagram({{3, ExpandedFlowSample(2, records, 1)}});
  for (size_t length = 0; length < good.size(); ++length) {
    (void)DecodeSflowV5(good.substr(0, length), 0, none);
  }
}

TEST(Sflow, TheExportDecoderTellsSflowFromNetflowByItsVersionWord) {
  Xdr header;
  header.U32(1).U32(64).U32(4).Opaque(TaggedIpv6Syn());
  Xdr records;
  records.Item(1, header);
  ExportDecoder decoder;
  size_t given = 0;
  auto decoded =
      decoder.Decode(Datagram({{3, ExpandedFlowSample(2, records, 1)}}), event::IpAddress::V4(1),
                     kReceived, [&](const FlowRecord&) { ++given; });
  ASSERT_TRUE(decoded) << decoded.error().ToString();
  EXPECT_EQ(given, 1u);
  EXPECT_FALSE(decoder.Decode(std::string("\x00\x00\x00\x04", 4) + std::string(24, '\0'),
                              event::IpAddress::V4(1), kReceived, [](const FlowRecord&) {}));
}

}  // namespace
}  // namespace bulwark::flow
