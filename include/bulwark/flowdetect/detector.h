#pragma once
// Flow analytics: detectors over flow records that Sigma's counting cannot express, each a
// component registered by name with its own defaults. They run in detection's sequencer, in input
// order, on the events of their input rule (the built-in `flow_record`), and raise alerts under
// rules of their own, which the built-in pack adds to the rule set (see Registry()). State is
// bounded per detector; the oldest or a random entry goes when a table is full.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/time.h"
#include "bulwark/detect/ruleset.h"
#include "bulwark/event/event.h"
#include "bulwark/event/ip.h"

namespace bulwark::flowdetect {

// What a detector sees of one flow record.
struct Observation {
  TimeNs time = 0;  // the flow's start
  event::IpAddress source, destination;
  uint16_t destination_port = 0;
  uint8_t protocol = 0;  // IANA number; 0 unknown
  uint64_t packets = 0, bytes = 0;
  uint64_t source_mac = 0;  // 48 bits; 0: not in the record
  // A TCP flow whose packets carried ACK opened a connection (succeeded); SYN without ACK did
  // not (failed); other flows: unknown.
  enum class Outcome { kUnknown, kFailed, kSucceeded } outcome = Outcome::kUnknown;
};

// What a TCP flow's ORed flags say: ACK seen, succeeded; SYN without ACK, failed; else unknown.
Observation::Outcome TcpOutcome(uint64_t flags);

// The observation in a flow record's event (ECS names as flow::FlowRecordJson writes them);
// nullopt without source.ip and destination.ip.
std::optional<Observation> ObservationOf(const event::Event& event);

// Who holds addresses and MAC addresses: the inventory, as the spoofing detector asks it.
// Implementations must be thread-safe.
class AddressBook {
 public:
  virtual ~AddressBook() = default;
  // The id of the system that held `address` at `at`; empty when none did.
  virtual std::string SystemOfAddress(const event::IpAddress& address, TimeNs at) const = 0;
  // The id of the system whose interface had `mac` at `at`; empty when none did.
  virtual std::string SystemOfMac(uint64_t mac, TimeNs at) const = 0;
};

// An alert a detector raises, under its rule, about `group` (ECS name, value).
struct Detection {
  std::vector<std::pair<std::string, std::string>> group;
  int64_t count = 0;  // the evidence: failed first contacts, connections at a regular interval
};

class Detector {
 public:
  virtual ~Detector() = default;
  // Takes one observation in input order; appends what it detects to `out`.
  virtual void Observe(const Observation& observation, std::vector<Detection>& out) = 0;
  // Groups (sources, pairs) whose state is held, and the memory of their tables.
  virtual size_t keys() const = 0;
  virtual size_t memory_bytes() const = 0;
};

// The detectors' parameters, with their defaults.
struct Settings {
  // Threshold random walk (Jung, Paxson, Berger, Balakrishnan: "Fast Portscan Detection Using
  // Sequential Hypothesis Testing", 2004): each first contact of a source with a destination
  // (address and port) that fails multiplies the likelihood ratio by (1-theta1)/(1-theta0),
  // one that succeeds by theta1/theta0; at detection/false_positive the source is a scanner,
  // at (1-detection)/(1-false_positive) it is benign and the walk starts again.
  struct Trw {
    double theta0 = 0.8;  // P(a first contact succeeds | benign)
    double theta1 = 0.2;  // P(a first contact succeeds | scanner)
    double detection = 0.99;
    double false_positive = 0.01;
    size_t max_sources = 1'000'000;
  } trw;
  // Beaconing: connections from one source to one destination and port at a regular interval
  // (malware calling its controller). Fires when the last `min_connections` start times are
  // spaced evenly: the intervals' standard deviation at most `max_jitter` of their mean, the
  // mean between min_interval and max_interval.
  struct Beaconing {
    size_t min_connections = 8;
    double max_jitter = 0.1;
    TimeNs min_interval = kNsPerSecond;
    TimeNs max_interval = 86400 * kNsPerSecond;
    size_t max_pairs = 1'000'000;
  } beaconing;
  // Volumes of one address per time bucket against its own baseline (a moving average of its
  // earlier buckets that raised no alert, `smoothing` the weight of the newest): a bucket whose
  // packets, bytes or flows reach both the floor (per second, times the bucket's seconds; 0: the
  // metric is not used) and `factor` times the baseline raises one alert.
  struct Volume {
    TimeNs bucket = 60 * kNsPerSecond;
    double factor = 10;
    double smoothing = 0.2;
    double min_packets_per_second = 0, min_bytes_per_second = 0, min_flows_per_second = 0;
    size_t max_addresses = 1'000'000;
  };
  // Toward one destination (a DDoS on a customer address): 20,000 packets/s, 1 Gbit/s or 1,000
  // new flows/s (a SYN flood from random ports) in a minute.
  Volume flood_toward{60 * kNsPerSecond, 10, 0.2, 20'000, 125'000'000, 1'000, 1'000'000};
  // From one source (a customer system flooding others): the same floors.
  Volume flood_from{60 * kNsPerSecond, 10, 0.2, 20'000, 125'000'000, 1'000, 1'000'000};
  // Bytes sent by one source in 10 minutes: at least 1 GiB and 20 times its own baseline.
  Volume exfiltration{600 * kNsPerSecond, 20, 0.2, 0, 1'789'570, 0, 1'000'000};
};

// A detector of the registry: its name, the rule its alerts carry (id, title, level, tags, as a
// Sigma rule's), the rule whose events feed it, and how to make one (null when it cannot run:
// the spoofing detector without an address book).
struct DetectorSpec {
  std::string name;
  detect::RuleInfo rule;
  std::string input_rule;  // a rule's name
  std::function<std::unique_ptr<Detector>(const Settings&, std::shared_ptr<const AddressBook>)>
      make;
};

// Every detector, by name: "trw_scan", "beaconing", "flood_toward", "flood_from",
// "exfiltration", "spoofing".
const std::vector<DetectorSpec>& Registry();

// The registry's rules for a rule set (detect::CompileOptions::detector_rules).
std::vector<detect::DetectorRule> DetectorRules();

}  // namespace bulwark::flowdetect
