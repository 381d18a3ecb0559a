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
    auto detector = Spec("trw_scan").make(settings);
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
  auto detector = Spec("trw_scan").make(Settings{});
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
  auto detector = Spec("beaconing").make(settings);
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
          if (r.protocol == 6) {
            o.outcome = (r.tcp_flags & 0x10)   ? Observation::Outcome::kSucceeded
                        : (r.tcp_flags & 0x02) ? Observation::Outcome::kFailed
                                               : Observation::Outcome::kUnknown;
          }
          out.push_back(o);
        });
      });
  EXPECT_TRUE(read);
  return out;
}

TEST(FlowDetectorsOnRealExports, NmapIsAScannerTheServerIsNot) {
  auto detector = Spec("trw_scan").make(Settings{});
  std::set<std::string> scanners;
  std::vector<Detection> out;
  for (const Observation& o : Observations("softflowd-nfv9.pcap")) detector->Observe(o, out);
  for (const Detection& d : out) scanners.insert(d.group.at(0).second);
  EXPECT_EQ(scanners, (std::set<std::string>{"10.213.7.1"}));
}

TEST(FlowDetectorsOnRealExports, PmacctdsFlowsOfTheTwoSecondBeacon) {
  Settings settings;
  settings.beaconing.min_connections = 5;  // the capture holds 5 beacon requests
  auto detector = Spec("beaconing").make(settings);
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
