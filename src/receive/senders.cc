#include "bulwark/receive/senders.h"

namespace bulwark::receive {

void SenderStats::Add(const event::IpAddress& sender, const std::string& what, uint64_t n) {
  std::string key = sender.ToString();
  std::lock_guard lock(mutex_);
  auto found = counts_.find(key);
  if (found == counts_.end()) {
    if (counts_.size() >= max_senders_) key = event::IpAddress().ToString();
    found = counts_.try_emplace(key).first;
  }
  found->second[what] += n;
}

std::vector<SenderStats::Count> SenderStats::Snapshot() const {
  std::vector<Count> out;
  std::lock_guard lock(mutex_);
  for (const auto& [sender, counts] : counts_) {
    for (const auto& [what, count] : counts) out.push_back({sender, what, count});
  }
  return out;
}

}  // namespace bulwark::receive
