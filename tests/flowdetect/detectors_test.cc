// The flow detectors: the threshold random walk against a plain reference that keeps every
// contact, beaconing on regular and irregular series, and both on real exports (softflowd's
// NetFlow v9 of nmap's scans, pmacctd's IPFIX of a 2-second beacon).

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>

#include "bulwark/flow/flow.h"
#include "bulwark/flowdetect/detector.h"

namespace bulwark::flowdetect {
namespace {

const DetectorSpec& Spec(const std::string& name) {
  for (const DetectorSpec& spec : Registry()) {
    if (spec.name == name) return spec;
  }
  throw std::runtime_error("no detector " + name);
}

Observation Flow(TimeNs time, const std::string& source, const std::string& destination,
                 uint16_t port, Observation::Outcome outcome) {
  Observation o;
  o.time = time;
  o.source = *event::IpAddress::Parse(source);
  o.destination = *event::IpAddress::Parse(destination);
  o.destination_port = port;
  o.protocol = 6;
  o.outcome = outcome;
  return o;
}

// Jung et al.'s walk written plainly: every contact of a source kept in a set, the ratio as a
// product of doubles.
class ReferenceWalk {
 public:
  explicit ReferenceWalk(const Settings::Trw& s) : s_(s) {}
  // The failures counted when the source is declared a scanner, else 0.
  int64_t Observe(const Observation& o) {
    if (o.outcome == Observation::Outcome::kUnknown) return 0;
    auto& walk = walks_[o.source.ToString()];
    if (!walk.contacts.insert(o.destination.ToString() + ":" + std::to_string(o.destination_port))
             .second) {
      return 0;
    }
    bool failed = o.outcome == Observation::Outcome::kFailed;
    walk.ratio *= failed ? (1 - s_.theta1) / (1 - s_.theta0) : s_.theta1 / s_.theta0;
    walk.failures += failed ? 1 : 0;
    if (walk.ratio >= s_.detection / s_.false_positive) {
      int64_t failures = walk.failures;
      walks_.erase(o.source.ToString());
      return failures;
    }
    if (walk.ratio <= (1 - s_.detection) / (1 - s_.false_positive)) {
      walk.ratio = 1;
      walk.failures = 0;
    }
    return 0;
  }

 private:
  struct Walk {
    double ratio = 1;
    int64_t failures = 0;
    std::set<std::string> contacts;
  };
  Settings::Trw s_;
  std::map<std::string, Walk> walks_;
};

TEST(ThresholdRandomWalk, AgreesWithThePlainWalkOnRandomTraffic) {
  Settings settings;
  std::mt19937 random(7);
  size_t detections = 0;
  for (int round = 0; round < 50; ++round) {
    auto detector = Spec("trw_scan").make(settings, nullptr);
    // A new reference per round and sources that never revisit an old destination: the
    // detector remembers the last 10 contacts of a source, the reference all of them.
    ReferenceWalk reference(settings.trw);
    std::vector<Detection> out;
    std::map<std::string, int> next_destination;
    double scanner_share = std::uniform_real_distribution<>(0, 1)(random);
    for (int i = 0; i < 2000; ++i) {
      std::string source = "198.51.100." + std::to_string(random() % 40);
      bool scanner = (random() % 1000) < scanner_share * 1000;
      int destination = random() % 3 == 0 && next_destination[source] > 0
                            ? next_destination[source] - 1  // the last one again
                            : next_destination[source]++;
      auto outcome = (random() % 100) < (scanner ? 20 : 80) ? Observation::Outcome::kSucceeded
                                                            : Observation::Outcome::kFailed;
      Observation o =
          Flow(i * kNsPerSecond, source, "203.0.113." + std::to_string(destination % 250),
               static_cast<uint16_t>(1 + destination / 250), outcome);
      out.clear();
      detector->Observe(o, out);
      int64_t expected = reference.Observe(o);
      ASSERT_EQ(out.size(), expected > 0 ? 1u : 0u) << "round " << round << " flow " << i;
      if (!out.empty()) {
        EXPECT_EQ(out[0].count, expected);
        EXPECT_EQ(out[0].group.at(0).second, source);
        ++detections;
      }
    }
  }
  EXPECT_GT(detections, 100u);  // the comparison saw scanners, not only silence
}

TEST(ThresholdRandomWalk, FourFailedFirstContactsMakeAScannerRepeatsDoNot) {
  auto detector = Spec("trw_scan").make(Settings{}, nullptr);
  std::vector<Detection> out;
  for (int i = 0; i < 10; ++i) {  // one closed port, tried again and again: one first contact
    detector->Observe(Flow(i, "192.0.2.1", "203.0.113.5", 23, Observation::Outcome::kFailed), out);
  }
  EXPECT_TRUE(out.empty());
  for (int port = 1; port <= 3; ++port) {
    detector->Observe(Flow(port, "192.0.2.1", "203.0.113.5", static_cast<uint16_t>(port),
                           Observation::Outcome::kFailed),
                      out);
  }
  ASSERT_EQ(out.size(), 1u);  // (0.8 / 0.2)^4 = 256 >= 99
  EXPECT_EQ(out[0].count, 4);
}

// Start times every `period` seconds with `jitter` seconds of noise.
std::vector<Detection> Beacon(const Settings& settings, int connections, double period,
                              double jitter, uint32_t seed) {
  auto detector = Spec("beaconing").make(settings, nullptr);
  std::mt19937 random(seed);
  std::uniform_real_distribution<> noise(-jitter, jitter);
  std::vector<Detection> out;
  for (int i = 0; i < connections; ++i) {
    auto time = static_cast<TimeNs>((i * period + noise(random)) * 1e9) + 1'000 * kNsPerSecond;
    detector->Observe(
        Flow(time, "192.0.2.7", "198.51.100.66", 443, Observation::Outcome::kSucceeded), out);
  }
  return out;
}

TEST(Beaconing, RegularConnectionsFireIrregularOnesDoNot) {
  Settings settings;
  auto regular = Beacon(settings, 8, 60, 1, 1);
  ASSERT_EQ(regular.size(), 1u);
  EXPECT_EQ(regular[0].count, 8);
  EXPECT_EQ(regular[0].group.at(1).second, "198.51.100.66");
  EXPECT_TRUE(Beacon(settings, 7, 60, 1, 1).empty());       // one connection short
  EXPECT_TRUE(Beacon(settings, 30, 60, 25, 2).empty());     // a person clicking now and then
  EXPECT_TRUE(Beacon(settings, 30, 0.2, 0.01, 3).empty());  // one download's many flows
  settings.beaconing.max_interval = 30 * kNsPerSecond;
  EXPECT_TRUE(Beacon(settings, 30, 60, 1, 4).empty());  // slower than the longest interval
}

// `flows_per_second` flows of `packets` packets each toward (or from) one address, every second
// for `seconds` seconds from `start`.
void Traffic(Detector& detector, int64_t start, int seconds, int flows_per_second, uint64_t packets,
             bool toward, std::vector<Detection>& out) {
  for (int second = 0; second < seconds; ++second) {
    for (int i = 0; i < flows_per_second; ++i) {
      std::string other = "198.51.100." + std::to_string(1 + i % 200);
      Observation o = Flow((start + second) * kNsPerSecond, toward ? other : "192.0.2.10",
                           toward ? "192.0.2.10" : other, 80, Observation::Outcome::kSucceeded);
      o.packets = packets;
      o.bytes = packets * 100;
      detector.Observe(o, out);
    }
  }
}

TEST(Volume, AFloodFarAboveTheBaselineFiresOnceSteadyTrafficNever) {
  Settings settings;
  settings.flood_toward.min_packets_per_second = 1'000;  // small, for a short test
  auto detector = Spec("flood_toward").make(settings, nullptr);
  std::vector<Detection> out;
  // Ten minutes of 20 flows/s of 10 packets (200 packets/s): baseline, no alert.
  Traffic(*detector, 0, 600, 20, 10, true, out);
  EXPECT_TRUE(out.empty());
  // A minute of 2,500 packets/s: above the floor (1,000/s) and ten times the baseline.
  Traffic(*detector, 600, 60, 50, 50, true, out);
  ASSERT_EQ(out.size(), 1u);  // once per bucket
  EXPECT_EQ(out[0].group.at(0).first, "destination.ip");
  EXPECT_EQ(out[0].group.at(0).second, "192.0.2.10");
  EXPECT_GE(out[0].count, 60'000);  // the packets of the bucket when it fired
  // The flood did not become the baseline: the next minute of it fires again.
  Traffic(*detector, 660, 60, 50, 50, true, out);
  EXPECT_EQ(out.size(), 2u);
}

TEST(Volume, BelowTheFloorOrTheFactorNothingFires) {
  Settings settings;
  settings.flood_from.min_packets_per_second = 1'000;
  auto detector = Spec("flood_from").make(settings, nullptr);
  std::vector<Detection> out;
  // A busy sender from the start (3,000 packets/s): one alert, then it is its baseline.
  Traffic(*detector, 0, 300, 30, 100, false, out);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].group.at(0).first, "source.ip");
  // Five times its baseline is below the factor of ten.
  Traffic(*detector, 300, 60, 50, 300, false, out);
  EXPECT_EQ(out.size(), 1u);
  // A quiet address far above its own baseline but below the floor.
  auto quiet = Spec("flood_from").make(settings, nullptr);
  std::vector<Detection> none;
  Traffic(*quiet, 0, 300, 1, 1, false, none);
  Traffic(*quiet, 300, 60, 10, 50, false, none);  // 500 packets/s < 1,000
  EXPECT_TRUE(none.empty());
}

TEST(Volume, ExfiltrationComparesBytesWithTheSystemsOwnPast) {
  Settings settings;
  settings.exfiltration.min_bytes_per_second = 10'000;  // 6 MB in 10 minutes, for the test
  auto detector = Spec("exfiltration").make(settings, nullptr);
  std::vector<Detection> out;
  Traffic(*detector, 0, 3600, 1, 10, false, out);  // an hour of 1 kB/s
  EXPECT_TRUE(out.empty());
  Traffic(*detector, 3600, 600, 1, 1'000, false, out);  // 100 kB/s for ten minutes
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].group.at(0).second, "192.0.2.10");
}

// An inventory of two systems: s-a holds 192.0.2.1 with MAC 02:00:00:00:00:0a, s-b holds
// 192.0.2.2 with 02:00:00:00:00:0b until t=100 s, when 192.0.2.2 moves to s-a.
class TwoSystems : public AddressBook {
 public:
  std::string SystemOfAddress(const event::IpAddress& a, TimeNs at) const override {
    if (a.ToString() == "192.0.2.1") return "s-a";
    if (a.ToString() == "192.0.2.2") return at < 100 * kNsPerSecond ? "s-b" : "s-a";
    return "";
  }
  std::string SystemOfMac(uint64_t mac, TimeNs) const override {
    return mac == 0x02000000000a ? "s-a" : mac == 0x02000000000b ? "s-b" : "";
  }
};

TEST(Spoofing, ASystemSendingFromAnAddressItDoesNotHoldThen) {
  EXPECT_EQ(Spec("spoofing").make(Settings{}, nullptr), nullptr);  // no inventory: no detector
  auto detector = Spec("spoofing").make(Settings{}, std::make_shared<TwoSystems>());
  ASSERT_NE(detector, nullptr);
  std::vector<Detection> out;
  auto send = [&](TimeNs at, const char* ip, uint64_t mac) {
    Observation o = Flow(at, ip, "198.51.100.1", 53, Observation::Outcome::kUnknown);
    o.source_mac = mac;
    detector->Observe(o, out);
  };
  send(10 * kNsPerSecond, "192.0.2.1", 0x02000000000a);   // its own address
  send(10 * kNsPerSecond, "192.0.2.1", 0x0200000000ff);   // a router's MAC: says nothing
  send(10 * kNsPerSecond, "192.0.2.1", 0);                // no MAC in the record
  send(200 * kNsPerSecond, "192.0.2.2", 0x02000000000a);  // s-a holds .2 by then
  EXPECT_TRUE(out.empty());
  send(10 * kNsPerSecond, "192.0.2.2", 0x02000000000a);    // s-a uses s-b's address
  send(20 * kNsPerSecond, "203.0.113.9", 0x02000000000b);  // s-b uses nobody's address
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].group.at(0), (std::pair<std::string, std::string>{"host.id", "s-a"}));
  EXPECT_EQ(out[0].group.at(1).second, "192.0.2.2");
  EXPECT_EQ(out[0].group.at(2).second, "02-00-00-00-00-0A");
  EXPECT_EQ(out[1].group.at(0).second, "s-b");
}

// Decodes every export datagram of a shared capture into observations, in order.
std::vector<Observation> Observations(const std::string& capture) {
  std::vector<Observation> out;
  flow::ExportDecoder decoder;
  auto read = flow::ForEachUdpDatagram(
      std::string(BULWARK_SHARED_DIR) + "/perimeter/" + capture, [&](const flow::Datagram& d) {
        (void)decoder.Decode(d.payload, d.source, d.time, [&](const flow::FlowRecord& r) {
          Observation o;
          o.time = r.start;
          o.source = r.source;
          o.destination = r.destination;
          o.destination_port = r.destination_port;
          o.protocol = r.protocol;
          if (r.protocol == 6) o.outcome = TcpOutcome(r.tcp_flags);
          out.push_back(o);
        });
      });
  EXPECT_TRUE(read);
  return out;
}

TEST(FlowDetectorsOnRealExports, NmapIsAScannerTheServerIsNot) {
  auto detector = Spec("trw_scan").make(Settings{}, nullptr);
  std::set<std::string> scanners;
  std::vector<Detection> out;
  for (const Observation& o : Observations("softflowd-nfv9.pcap")) detector->Observe(o, out);
  for (const Detection& d : out) scanners.insert(d.group.at(0).second);
  EXPECT_EQ(scanners, (std::set<std::string>{"10.213.7.1"}));
}

TEST(FlowDetectorsOnRealExports, PmacctdsFlowsOfTheTwoSecondBeacon) {
  Settings settings;
  settings.beaconing.min_connections = 5;  // the capture holds 5 beacon requests
  auto detector = Spec("beaconing").make(settings, nullptr);
  std::vector<Detection> out;
  for (const Observation& o : Observations("pmacctd-nfprobe-ipfix.pcap")) {
    detector->Observe(o, out);
  }
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].group.at(0).second, "10.213.7.1");
  EXPECT_EQ(out[0].group.at(1).second, "10.213.7.2");
  EXPECT_EQ(out[0].count, 5);
}

}  // namespace
}  // namespace bulwark::flowdetect
