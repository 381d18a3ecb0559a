#pragma once
// Prism, the OpenAPI-validating mock server (tools/deps.sh installs it), serving one API
// document: every request is checked against the contract (with --errors a violation is answered
// with 4xx), answers come from the document's examples. Tests define BULWARK_PRISM (its path).

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "net.h"

namespace bulwark::testing_support {

// One Prism process serving `spec`; stopped (by PID) with the object.
class Prism {
 public:
  // `dynamic`: answers generated from the schemas (random values) instead of the examples.
  Prism(const std::string& spec, const std::filesystem::path& log, bool dynamic = false)
      : port_(testing_support::FreePort()) {
    std::string port = std::to_string(port_);
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);  // its own group: node's children go with it
      FILE* out = std::freopen(log.c_str(), "w", stdout);
      (void)out;
      dup2(fileno(stdout), fileno(stderr));
      execl(BULWARK_PRISM, BULWARK_PRISM, "mock", "--errors", dynamic ? "--dynamic" : "--errors",
            "-h", "127.0.0.1", "-p", port.c_str(), spec.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 300 && !testing_support::Accepts(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~Prism() {
    if (pid_ > 0) {
      kill(-pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  bool up() const { return testing_support::Accepts(port_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  pid_t pid_ = -1;
};

}  // namespace bulwark::testing_support
