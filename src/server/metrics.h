#pragma once
// The Prometheus text of /metrics (private to the server module).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/intake/intake.h"
#include "bulwark/receive/senders.h"

namespace bulwark::server {

// What /metrics shows, gathered without waiting for the store's writer.
struct MetricsSnapshot {
  std::map<int, uint64_t> requests_by_status;
  intake::IntakeCounts intake;
  uint64_t mails_sent = 0, mails_retried = 0, mails_failed = 0;
  uint64_t input_lines = 0;
  // A network receiver's counts (config "receivers").
  struct Receiver {
    std::string name;
    uint64_t received = 0;   // messages (datagrams or frames)
    uint64_t queued = 0;     // on disk in its queue
    uint64_t dropped = 0;    // UDP: refused by a full queue
    uint64_t refused = 0;    // TCP: connections over a limit
    uint64_t problems = 0;   // TCP: framing problems
    uint64_t processed = 0;  // through detection
    uint64_t queue_bytes = 0;
  };
  std::vector<Receiver> receivers;
  std::vector<receive::SenderStats::Count> senders;
  // Incidents by state name; nullopt when the store could not be read.
  std::optional<std::map<std::string, int64_t>> incidents;
  // Countermeasures by state name; nullopt as above.
  std::optional<std::map<std::string, int64_t>> countermeasures;
  uint64_t countermeasure_problems = 0;                      // reconcile and policy problems logged
  uint64_t scans = 0, scan_findings = 0, scan_problems = 0;  // serve's scheduled scans
  std::map<std::string, uint64_t> verifications;             // re-scans by outcome
  uint64_t reactive_report = 0, reactive_cve = 0;            // endpoints re-scanned, by trigger
};

// The exposition format, version 0.0.4.
std::string RenderMetrics(const MetricsSnapshot& snapshot);

}  // namespace bulwark::server
