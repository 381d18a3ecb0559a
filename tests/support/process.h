#pragma once
// A program a test starts and stops by its PID (peers such as sfcapd that run until told to stop).

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace bulwark::testing_support {

class ChildProcess {
 public:
  // Starts `argv[0]` (a path) with `argv`, its output to `log` (appended). pid() is -1 when the
  // fork failed; a failed exec makes the child exit with 127.
  ChildProcess(const std::vector<std::string>& argv, const std::string& log) {
    pid_ = fork();
    if (pid_ != 0) return;
    FILE* out = std::fopen(log.c_str(), "a");
    if (out) {
      dup2(fileno(out), 1);
      dup2(fileno(out), 2);
    }
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { Stop(); }
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits for the process; returns its wait status (-1 if none was running).
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace bulwark::testing_support
