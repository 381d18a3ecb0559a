#include "bulwark/decode/session.h"

#include <algorithm>
#include <functional>

#include "bulwark/event/fields.h"

namespace bulwark::decode {

namespace fid = event::fid;

SessionTracker::SessionTracker(std::vector<std::string> programs, size_t max_sessions)
    : programs_(std::move(programs)), max_sessions_(max_sessions) {}

void SessionTracker::Apply(event::Event& event) {
  auto pid = event.Get(fid::kProcessPid);
  auto program = event.Get(fid::kProcessName);
  if (!pid || !program ||
      std::find(programs_.begin(), programs_.end(), *program) == programs_.end()) {
    return;
  }
  std::hash<std::string_view> hash;
  uint64_t key =
      hash(event.Get(fid::kHostName).value_or("")) * 1000003u ^ hash(*program) * 31u ^ hash(*pid);
  bool failure = event.Get(fid::kEventOutcome).value_or("") == "failure";
  if (auto ip = event.Get(fid::kSourceIp)) {
    if (sessions_.size() >= max_sessions_ && !sessions_.count(key)) sessions_.clear();
    Session& session = sessions_[key];
    session.ip = std::string(*ip);
    session.port = std::string(event.Get(fid::kSourcePort).value_or(""));
    if (session.pending_failure && !failure) {
      // The failure an earlier line of this process could not attribute.
      event.Set(fid::kEventOutcome, "failure");
    }
    session.pending_failure = false;
    return;
  }
  if (!failure || event.Has(fid::kSourceAddress)) return;
  auto known = sessions_.find(key);
  if (known != sessions_.end() && !known->second.ip.empty()) {
    event.Set(fid::kSourceIp, known->second.ip);
    if (!known->second.port.empty()) event.Set(fid::kSourcePort, known->second.port);
    return;
  }
  if (sessions_.size() >= max_sessions_ && known == sessions_.end()) sessions_.clear();
  sessions_[key].pending_failure = true;
  event.Set(fid::kEventOutcome, "unknown");
}

}  // namespace bulwark::decode
