#pragma once
// Joins the lines of one process (host.name, process.name, process.pid), as sshd writes one
// connection over several lines. An authentication failure that names no address ("Disconnecting:
// Too many authentication failures [preauth]", "fatal: Read from socket failed", "error:
// kex_exchange_identification: ...") takes the address of an earlier line of the same process.
// When none is known yet it is held back (event.outcome becomes "unknown") and the next line of
// that process that names an address becomes the failure instead, as fail2ban's sshd filter
// does in its multi-line modes.
//
// Two more joins make one credential try count once and one connection count once:
// - PAM's "authentication failure" of a try (pam_auth_failure) comes before sshd's "Failed
//   password" line of the same try; that next Failed line of the process is the same try told
//   twice: its event.outcome becomes "unknown" and event.reason says why. Logs with PAM lines only
//   (old Linux-PAM) count each PAM failure; logs without PAM count each Failed line.
// - A line that names the process's client address without a port (PAM's rhost=) gets the port
//   of the connection, so that connections can be counted by their (address, port).
//
// Only the programs given are joined (sshd by default): other programs' failures without an
// address (sudo, su) are failures of a local user and stay as they are. Memory is fixed: a
// direct-mapped table of `slots` (rounded up to a power of two) processes, where a newer process
// may take an older one's slot. Reset() is O(1). Not thread-safe: one tracker per worker; replay
// resets it per batch so that results do not depend on the number of threads.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/event/event.h"

namespace bulwark::decode {

class SessionTracker {
 public:
  explicit SessionTracker(std::vector<std::string> programs = {"sshd", "sshd-session"},
                          size_t slots = 4096);

  // Applies what earlier lines of the same process taught to `event` (a decoded event), and
  // learns from it. Events without process.pid or of other programs are left alone.
  void Apply(event::Event& event);
  // Forgets every process.
  void Reset() { ++generation_; }

 private:
  // What is looked at for every line: 16 bytes, so that a worker's whole table stays in the
  // processor's cache. The address text is apart (`addresses_`): written for every line that
  // names one, read only for the rare lines that lack it.
  struct Session {
    uint64_t key = 0;
    uint32_t generation = 0;  // valid when equal to the tracker's
    uint8_t flags = 0;        // kPendingFailure, kPamTry
    uint8_t ip_length = 0;
    uint8_t port_length = 0;
  };
  static constexpr uint8_t kPendingFailure = 1;  // a failure without address was held back
  static constexpr uint8_t kPamTry = 2;          // a PAM failure awaits sshd's line of that try
  static_assert(sizeof(Session) == 16);
  struct Address {
    char ip[39];  // the longest canonical text of an address (IPv6, as Event stores it)
    char port[5];
  };
  // The process key of host, program (its index in programs_) and pid; nullopt without a pid.
  std::optional<uint64_t> KeyOf(std::optional<std::string_view> host, size_t program_index,
                                std::optional<std::string_view> pid);
  size_t SlotOf(uint64_t key) const { return key & (slots_.size() - 1); }
  // The process's slot when it holds this process; nullptr otherwise.
  Session* Find(uint64_t key);
  Session& Claim(uint64_t key);

  std::vector<std::string> programs_;
  std::vector<Session> slots_;
  std::vector<Address> addresses_;  // beside slots_, index for index
  uint32_t generation_ = 1;
  std::string last_host_;
  uint64_t last_host_hash_ = 0;
  event::FieldId auth_method_ = event::InternField("auth.method");
};

}  // namespace bulwark::decode
