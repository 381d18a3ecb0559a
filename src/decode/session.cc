#include "bulwark/decode/session.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <optional>

#include "bulwark/event/fields.h"

namespace bulwark::decode {

namespace fid = event::fid;

SessionTracker::SessionTracker(std::vector<std::string> programs, size_t slots)
    : programs_(std::move(programs)),
      slots_(std::bit_ceil(std::max<size_t>(slots, 1))),
      addresses_(slots_.size()) {}

std::optional<uint64_t> SessionTracker::KeyOf(std::optional<std::string_view> host,
                                              size_t program_index,
                                              std::optional<std::string_view> pid) {
  if (!pid) return std::nullopt;
  // The host's hash is kept while the host repeats, as it does in one log.
  std::string_view host_name = host.value_or("");
  if (host_name != last_host_) {
    last_host_.assign(host_name);
    last_host_hash_ = std::hash<std::string_view>{}(host_name);
  }
  uint64_t pid_number = 0;
  for (char c : *pid) pid_number = pid_number * 10 + static_cast<uint64_t>(c - '0');
  return (pid_number * 0x9E3779B97F4A7C15ull) ^ (last_host_hash_ * 31) ^
         static_cast<uint64_t>(program_index);
}

SessionTracker::Session* SessionTracker::Find(uint64_t key) {
  Session& slot = slots_[SlotOf(key)];
  return slot.generation == generation_ && slot.key == key ? &slot : nullptr;
}

SessionTracker::Session& SessionTracker::Claim(uint64_t key) {
  Session& slot = slots_[SlotOf(key)];
  if (slot.generation != generation_ || slot.key != key) {
    slot.key = key;
    slot.generation = generation_;
    slot.flags = 0;
    slot.ip_length = 0;
    slot.port_length = 0;
  }
  return slot;
}

void SessionTracker::Apply(event::Event& event) {
  // Most lines of other programs (cron, systemd) leave at once.
  auto program = event.Get(fid::kProcessName);
  if (!program) return;
  auto joined = std::find(programs_.begin(), programs_.end(), *program);
  if (joined == programs_.end()) return;
  // One pass over the event's fields (Get() would scan them once per field); the first value of
  // a field counts, as for Get().
  std::optional<std::string_view> pid, host, ip, port, outcome, action, method;
  bool has_address = false;
  for (size_t i = 0; i < event.size(); ++i) {
    switch (event.IdAt(i)) {
      case fid::kProcessPid:
        if (!pid) pid = event.ValueAt(i);
        break;
      case fid::kHostName:
        if (!host) host = event.ValueAt(i);
        break;
      case fid::kSourceIp:
        if (!ip) ip = event.ValueAt(i);
        break;
      case fid::kSourcePort:
        if (!port) port = event.ValueAt(i);
        break;
      case fid::kEventOutcome:
        if (!outcome) outcome = event.ValueAt(i);
        break;
      case fid::kSourceAddress:
        has_address = true;
        break;
      case fid::kEventAction:
        if (!action) action = event.ValueAt(i);
        break;
      default:
        if (event.IdAt(i) == auth_method_ && !method) method = event.ValueAt(i);
        break;
    }
  }
  auto process_key = KeyOf(host, static_cast<size_t>(joined - programs_.begin()), pid);
  if (!process_key) return;
  uint64_t key = *process_key;
  bool failure = outcome.value_or("") == "failure";
  if (ip) {
    Session& session = Claim(key);
    if ((session.flags & kPendingFailure) && !failure) {
      // The failure an earlier line of this process could not attribute.
      event.Set(fid::kEventOutcome, "failure");
    }
    session.flags &= static_cast<uint8_t>(~kPendingFailure);
    std::string_view action_text = action.value_or("");
    if (failure && action_text == "pam_auth_failure") {
      session.flags |= kPamTry;
    } else if (failure && action_text == "ssh_login" && method.value_or("") != "none" &&
               (session.flags & kPamTry)) {
      session.flags &= static_cast<uint8_t>(~kPamTry);
      event.Set(fid::kEventOutcome, "unknown");
      event.Set("event.reason", "the same try as the PAM authentication failure before it");
    }
    Address& address = addresses_[SlotOf(key)];
    std::string_view known_ip(address.ip, session.ip_length);
    if (!port && session.port_length > 0 && known_ip == *ip) {
      event.Set(fid::kSourcePort, std::string_view(address.port, session.port_length));
      return;
    }
    session.ip_length = static_cast<uint8_t>(std::min(ip->size(), sizeof address.ip));
    std::memcpy(address.ip, ip->data(), session.ip_length);
    std::string_view port_text = port.value_or("");
    session.port_length = static_cast<uint8_t>(std::min(port_text.size(), sizeof address.port));
    std::memcpy(address.port, port_text.data(), session.port_length);
    return;
  }
  if (!failure || has_address) return;
  Session* known = Find(key);
  if (known && known->ip_length > 0) {
    const Address& address = addresses_[SlotOf(key)];
    event.Set(fid::kSourceIp, std::string_view(address.ip, known->ip_length));
    if (known->port_length > 0) {
      event.Set(fid::kSourcePort, std::string_view(address.port, known->port_length));
    }
    return;
  }
  Claim(key).flags |= kPendingFailure;
  event.Set(fid::kEventOutcome, "unknown");
}

}  // namespace bulwark::decode
