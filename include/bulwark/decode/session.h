#pragma once
// Joins the lines of one process (host.name, process.name, process.pid), as sshd writes one
// connection over several lines. An authentication failure that names no address ("Disconnecting:
// Too many authentication failures [preauth]", "fatal: Read from socket failed", "error:
// kex_exchange_identification: ...") takes the address of an earlier line of the same process.
// When none is known yet it is held back (event.outcome becomes "unknown") and the next line of
// that process that names an address becomes the failure instead, as fail2ban's sshd filter
// does in its multi-line modes.
//
// Only the programs given are joined (sshd by default): other programs' failures without an
// address (sudo, su) are failures of a local user and stay as they are. Memory is bounded (the
// table is cleared when full). Not thread-safe: one tracker per worker; replay resets it per batch
// so that results do not depend on the number of threads.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "bulwark/event/event.h"

namespace bulwark::decode {

class SessionTracker {
 public:
  explicit SessionTracker(std::vector<std::string> programs = {"sshd", "sshd-session"},
                          size_t max_sessions = 16384);

  // Applies what earlier lines of the same process taught to `event` (a decoded event), and
  // learns from it. Events without process.pid or of other programs are left alone.
  void Apply(event::Event& event);
  // Forgets every process.
  void Reset() { sessions_.clear(); }

 private:
  struct Session {
    std::string ip;
    std::string port;
    bool pending_failure = false;
  };
  std::vector<std::string> programs_;
  size_t max_sessions_;
  std::unordered_map<uint64_t, Session> sessions_;
};

}  // namespace bulwark::decode
