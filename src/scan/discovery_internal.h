#pragma once
// What the two discovery methods (connect in network.cc, SYN in syn.cc) share: the pacing of
// probes, globally and per network, and the order in which probes are made. Private to the scan
// module.

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "bulwark/scan/network.h"

namespace bulwark::scan::internal {

using Clock = std::chrono::steady_clock;

// The /24 (IPv4) or /64 (IPv6) an address is in, as a map key.
inline std::string NetworkOf(const event::IpAddress& address) {
  const auto& b = address.bytes();
  return address.is_v4() ? std::string(reinterpret_cast<const char*>(b.data()) + 12, 3)
                         : std::string(reinterpret_cast<const char*>(b.data()), 8);
}

// Spaces events 1/rate apart on average (rate <= 0: no limit). Time not used is saved up to
// 5 ms worth (at least 4 events), so that a loop that wakes once a millisecond keeps the rate;
// no burst is longer than that.
class Pacer {
 public:
  explicit Pacer(double rate)
      : interval_(rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(1.0 / rate))
                           : Clock::duration::zero()),
        credit_(std::max<Clock::duration>(4 * interval_, std::chrono::milliseconds(5))) {}
  Clock::time_point next() const { return next_; }
  void Take(Clock::time_point now) { next_ = std::max(next_, now - credit_) + interval_; }

 private:
  Clock::duration interval_;
  Clock::duration credit_;
  Clock::time_point next_{};
};

// The global rate and one Pacer per network.
class RateGate {
 public:
  RateGate(double rate, double rate_per_network)
      : global_(rate), rate_per_network_(rate_per_network) {}
  // When a probe to `address` may go next.
  Clock::time_point AllowedAt(const event::IpAddress& address) {
    return std::max(global_.next(), NetworkPacer(address).next());
  }
  // Books a probe to `address` sent at `now`.
  void Take(const event::IpAddress& address, Clock::time_point now) {
    global_.Take(now);
    NetworkPacer(address).Take(now);
  }

 private:
  Pacer& NetworkPacer(const event::IpAddress& address) {
    return networks_.try_emplace(NetworkOf(address), Pacer(rate_per_network_)).first->second;
  }
  Pacer global_;
  double rate_per_network_;
  std::map<std::string, Pacer> networks_;
};

// A probe of one endpoint: how often it was tried, and a serial that tells this try from a later
// one.
struct Attempt {
  Endpoint endpoint;
  int tries = 0;
  uint64_t serial = 0;
};

// The probes to make, generated as they are due, port-major (one port across every address, then
// the next, so that one host is not hit by a burst of consecutive ports); only retries wait in a
// queue, and go first. Memory stays flat however many addresses and ports there are.
class AttemptQueue {
 public:
  // Every port of every address. Both must outlive the queue.
  AttemptQueue(const std::vector<event::IpAddress>& addresses, const std::vector<int>& ports)
      : addresses_(&addresses), ports_(&ports), total_(addresses.size() * ports.size()) {}
  // These endpoints, in this order. Must outlive the queue.
  explicit AttemptQueue(const std::vector<Endpoint>& endpoints)
      : endpoints_(&endpoints), total_(endpoints.size()) {}
  bool HasNext() const { return !retries_.empty() || next_index_ < total_; }
  // The next probe; HasNext() must be true.
  Attempt Peek() const {
    if (!retries_.empty()) return retries_.front();
    if (endpoints_) return {(*endpoints_)[next_index_]};
    size_t count = addresses_->size();
    return {{(*addresses_)[next_index_ % count], (*ports_)[next_index_ / count]}};
  }
  void Pop() {
    if (!retries_.empty()) {
      retries_.pop_front();
    } else {
      ++next_index_;
    }
  }
  void Retry(const Attempt& attempt) { retries_.push_back(attempt); }

 private:
  const std::vector<event::IpAddress>* addresses_ = nullptr;
  const std::vector<int>* ports_ = nullptr;
  const std::vector<Endpoint>* endpoints_ = nullptr;
  size_t total_;
  size_t next_index_ = 0;
  std::deque<Attempt> retries_;
};

// Sorts endpoints by address, then port.
void SortEndpoints(std::vector<Endpoint>& endpoints);

// The connect scan (network.cc) of what `queue` holds; adds to `stats`, returns the open
// endpoints unsorted.
std::vector<Endpoint> DiscoverByConnect(AttemptQueue queue, const DiscoverOptions& options,
                                        DiscoverStats& stats);

// The SYN scan of IPv4 addresses (syn.cc): the open ports by SYN-ACK, before confirmation.
// Returns false (and scans nothing) when no raw socket can be opened.
bool DiscoverBySyn(const std::vector<event::IpAddress>& addresses, const std::vector<int>& ports,
                   const DiscoverOptions& options, DiscoverStats& stats,
                   std::vector<Endpoint>& open);

}  // namespace bulwark::scan::internal
