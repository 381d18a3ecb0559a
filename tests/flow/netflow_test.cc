// NetFlow v5 from softflowd, captured on the wire, against nfdump's decoding of the same flows
// (exported as NetFlow v9 in the same run: whole seconds only, so times agree within a second).

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "../support/files.h"
#include "bulwark/flow/flow.h"

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

std::string Protocol(uint8_t number) {
  switch (number) {
    case 1:
      return "ICMP";
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    default:
      return std::to_string(number);
  }
}

using Key = std::tuple<std::string, std::string, std::string, std::string, std::string, std::string,
                       std::string, std::string, std::string>;

TEST(NetflowV5, SoftflowdAgreesWithNfdump) {
  std::vector<FlowRecord> records;
  size_t datagrams = 0;
  auto read = ForEachUdpDatagram(kPerimeter + "softflowd-nfv5.pcap", [&](const Datagram& d) {
    ++datagrams;
    EXPECT_EQ(d.destination_port, 2055);
    auto decoded =
        DecodeNetflowV5(d.payload, d.source, [&](const FlowRecord& r) { records.push_back(r); });
    EXPECT_TRUE(decoded) << decoded.error().ToString();
  });
  ASSERT_TRUE(read) << read.error().ToString();
  EXPECT_EQ(datagrams, 43u);
  ASSERT_EQ(records.size(), 1286u);
  EXPECT_EQ(records[0].exporter.ToString(), "127.0.0.1");
  // nfdump's rows by everything but time; each with its start second.
  std::map<Key, std::vector<int64_t>> expected;
  std::stringstream csv(testing_support::ReadAll(kPerimeter + "softflowd-nfv9-run1.nfdump.csv"));
  std::string line;
  std::getline(csv, line);  // header
  while (std::getline(csv, line)) {
    std::vector<std::string> c;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) c.push_back(cell);
    ASSERT_EQ(c.size(), 13u) << line;
    auto start = ParseTimestamp(c[0]);  // "2026-11-26 14:39:28", UTC on the producing machine
    ASSERT_TRUE(start) << c[0];
    expected[{c[3], c[4], c[5], c[6], c[7], c[8], c[10], c[11], c[12]}].push_back(*start /
                                                                                  kNsPerSecond);
  }
  size_t matched = 0;
  for (const FlowRecord& r : records) {
    Key key{r.source.ToString(),           r.destination.ToString(),
            std::to_string(r.source_port), std::to_string(r.destination_port),
            Protocol(r.protocol),          Flags(r.tcp_flags),
            std::to_string(r.tos),         std::to_string(r.packets),
            std::to_string(r.bytes)};
    auto found = expected.find(key);
    ASSERT_NE(found, expected.end())
        << std::get<0>(key) << " " << std::get<1>(key) << " " << std::get<2>(key) << " "
        << std::get<3>(key) << " " << std::get<5>(key) << " " << std::get<7>(key);
    auto& starts = found->second;
    int64_t second = r.start / kNsPerSecond;
    auto near = std::find_if(starts.begin(), starts.end(),
                             [&](int64_t s) { return std::llabs(s - second) <= 1; });
    ASSERT_NE(near, starts.end()) << "start " << FormatTimestamp(r.start);
    starts.erase(near);
    EXPECT_LE(r.start, r.end);
    ++matched;
  }
  EXPECT_EQ(matched, 1286u);
}

TEST(NetflowV5, BadDatagramsNameTheirByte) {
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

}  // namespace
}  // namespace bulwark::flow
