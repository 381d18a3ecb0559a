#pragma once
// Linux audit records (auditd's audit.log, audisp/syslog forwarding, the kernel's "audit:" lines in
// the journal) as events. Each record line is an event with its own fields, named as auditd
// writes them and as SigmaHQ's `service: auditd` rules read them: `type` (SYSCALL, EXECVE, CWD,
// PATH, PROCTITLE, USER_AUTH ...), `a0`..., `exe`, `comm`, `key`, `name`, `nametype`, `cwd`,
// `proctitle`, `SYSCALL` (the system call's name: from auditd's enriched format, else from the
// number for x86_64 and aarch64); hex-encoded strings (EXECVE arguments, proctitle, paths) are
// decoded; the quoted fields inside `msg='...'` of user-space records are fields too. The event
// time is the record's audit(seconds.millis:serial) time; event.module is auditd.
//
// The records of one event (the same serial) are joined: the record that ends an execve
// (PROCTITLE, or EOE when there is none) also carries the process it started, in ECS fields:
// event.category process, event.type start, process.executable, process.command_line (the
// arguments joined by blanks), process.working_directory, process.name, process.pid,
// process.parent.pid, process.parent.executable (when a record of the parent was seen: its
// execve, or any system call it made),
// process.title, user.id, user.name (enriched format). So Linux `category: process_creation`
// rules see auditd's process starts.
//
// Memory is bounded (the current event per node, a direct-mapped table of recent processes).
// Reset() forgets everything (replay resets per batch of lines, as for sshd sessions). Not
// thread-safe: one joiner per worker.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/event/event.h"

namespace bulwark::decode {

class AuditJoiner {
 public:
  AuditJoiner();
  // Decodes `event` when its message (or raw line) is an audit record; leaves other events alone.
  // Returns whether it was one.
  bool Apply(event::Event& event);
  void Reset();

 private:
  struct Pending {
    std::string serial;  // "seconds.millis:serial" of the event being joined
    bool execve = false;
    bool emitted = false;
    std::string exe, comm, pid, ppid, uid, user, cwd, command_line, title;
  };
  struct Process {
    uint32_t pid = 0;
    uint32_t generation = 0;
    std::string exe;
  };
  void Join(event::Event& event, std::string_view type, std::string_view serial);
  // Records that process `pid` runs `exe`.
  void Remember(uint32_t pid, const std::string& exe);
  Pending pending_;
  std::vector<Process> processes_;
  uint32_t generation_ = 1;
};

// The name of system call `number` on the architecture auditd writes as `arch` (c000003e x86_64,
// c00000b7 aarch64); empty when unknown.
std::string_view SyscallName(std::string_view arch, int number);

}  // namespace bulwark::decode
