#pragma once
// Flow records kept for forensic windows (docs/forensics.md): the JSON lines serve's flow
// receivers took, in hourly files <dir>/YYYYMMDDHH.jsonl by arrival, deleted after the retention
// (flow records hold personal data: addresses). Thread-safe.

#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/core/time.h"
#include "bulwark/event/ip.h"

namespace bulwark::forensics {

class FlowArchive {
 public:
  FlowArchive(std::string dir, TimeNs retention) : dir_(std::move(dir)), retention_(retention) {}

  // Appends `lines` (flow records, one JSON object each) to the file of the hour of `received`.
  Result<void> Append(std::span<const std::string> lines, TimeNs received);
  // Deletes the files of hours that ended more than the retention before `now`; returns how many.
  Result<size_t> Prune(TimeNs now);
  // The records that arrived between `from` and `until` whose source.ip or destination.ip is
  // one of `addresses`, as JSON lines. Errors: a file that cannot be read.
  Result<std::string> Window(const std::vector<event::IpAddress>& addresses, TimeNs from,
                             TimeNs until) const;

  // The other ends of those records (a blast radius: who loses connectivity when the addresses
  // are cut), with their number of flows, most flows first, at most `limit`.
  struct Peer {
    std::string address;
    uint64_t flows = 0;
  };
  Result<std::vector<Peer>> Peers(const std::vector<event::IpAddress>& addresses, TimeNs from,
                                  TimeNs until, size_t limit) const;

 private:
  // Calls `each` with every record of the window about one of `addresses` and the other end.
  Result<void> Scan(
      const std::vector<event::IpAddress>& addresses, TimeNs from, TimeNs until,
      const std::function<void(const std::string& line, const std::string& peer)>& each) const;

  std::string dir_;
  TimeNs retention_;
  std::mutex mutex_;
};

}  // namespace bulwark::forensics
