#include "bulwark/decode/session.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "bulwark/event/fields.h"

namespace bulwark::decode {

namespace fid = event::fid;

SessionTracker::SessionTracker(std::vector<std::string> programs, size_t slots)
    : programs_(std::move(programs)), slots_(std::max<size_t>(slots, 1)) {}

SessionTracker::Session* SessionTracker::Find(uint64_t key) {
  Session& slot = slots_[key % slots_.size()];
  return slot.generation == generation_ && slot.key == key ? &slot : nullptr;
}

SessionTracker::Session& SessionTracker::Claim(uint64_t key) {
  Session& slot = slots_[key % slots_.size()];
  if (slot.generation != generation_ || slot.key != key) {
    slot.key = key;
    slot.generation = generation_;
    slot.pending_failure = false;
    slot.ip_length = 0;
    slot.port_length = 0;
  }
  return slot;
}

void SessionTracker::Apply(event::Event& event) {
  auto pid = event.Get(fid::kProcessPid);
  if (!pid) return;
  auto program = event.Get(fid::kProcessName);
  if (!program || std::find(programs_.begin(), programs_.end(), *program) == programs_.end()) {
    return;
  }
  std::hash<std::string_view> hash;
  uint64_t key =
      hash(event.Get(fid::kHostName).value_or("")) * 1000003u ^ hash(*program) * 31u ^ hash(*pid);
  bool failure = event.Get(fid::kEventOutcome).value_or("") == "failure";
  if (auto ip = event.Get(fid::kSourceIp)) {
    Session& session = Claim(key);
    if (session.pending_failure && !failure) {
      // The failure an earlier line of this process could not attribute.
      event.Set(fid::kEventOutcome, "failure");
    }
    session.pending_failure = false;
    session.ip_length = static_cast<uint8_t>(std::min(ip->size(), sizeof session.ip));
    std::memcpy(session.ip, ip->data(), session.ip_length);
    std::string_view port = event.Get(fid::kSourcePort).value_or("");
    session.port_length = static_cast<uint8_t>(std::min(port.size(), sizeof session.port));
    std::memcpy(session.port, port.data(), session.port_length);
    return;
  }
  if (!failure || event.Has(fid::kSourceAddress)) return;
  Session* known = Find(key);
  if (known && known->ip_length > 0) {
    event.Set(fid::kSourceIp, std::string_view(known->ip, known->ip_length));
    if (known->port_length > 0) {
      event.Set(fid::kSourcePort, std::string_view(known->port, known->port_length));
    }
    return;
  }
  Claim(key).pending_failure = true;
  event.Set(fid::kEventOutcome, "unknown");
}

}  // namespace bulwark::decode
