#pragma once
// The Prometheus text of /metrics (private to the server module).

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "bulwark/intake/intake.h"

namespace bulwark::server {

// What /metrics shows, gathered without waiting for the store's writer.
struct MetricsSnapshot {
  std::map<int, uint64_t> requests_by_status;
  intake::IntakeCounts intake;
  uint64_t mails_sent = 0, mails_retried = 0, mails_failed = 0;
  uint64_t input_lines = 0;
  // Incidents by state name; nullopt when the store could not be read.
  std::optional<std::map<std::string, int64_t>> incidents;
};

// The exposition format, version 0.0.4.
std::string RenderMetrics(const MetricsSnapshot& snapshot);

}  // namespace bulwark::server
