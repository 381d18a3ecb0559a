#pragma once
// Counts per sender: what each sender's messages, connections and bad input came to, so that an
// operator sees which device sends garbage. Bounded: senders beyond `max_senders` are counted
// under the unspecified address (::). Thread-safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "bulwark/event/ip.h"

namespace bulwark::receive {

class SenderStats {
 public:
  explicit SenderStats(size_t max_senders = 4096) : max_senders_(max_senders) {}

  // Adds `n` to the count `what` (a stable name such as "messages", "dropped_queue_full",
  // "message_cut") of `sender`.
  void Add(const event::IpAddress& sender, const std::string& what, uint64_t n = 1);

  struct Count {
    std::string sender;  // canonical text; "::" for senders beyond the bound
    std::string what;
    uint64_t count = 0;
  };
  // Every count, ordered by sender and name.
  std::vector<Count> Snapshot() const;

 private:
  size_t max_senders_;
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, uint64_t>> counts_;
};

}  // namespace bulwark::receive
