#pragma once
// A real rsyslogd for tests, as a sender: it takes messages over UDP on loopback (imudp) and
// forwards them with the action the test gives (omfwd over TCP or TLS, omrelp). Started in the
// foreground in a folder of its own, stopped by its PID; the folder is removed.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "files.h"
#include "net.h"

namespace bulwark::testing_support {

class RsyslogSender {
 public:
  // Whether rsyslogd is installed (tools/deps.sh installs it).
  static bool Available() { return ::access("/usr/sbin/rsyslogd", X_OK) == 0; }

  // `modules`: module() lines the action needs; `action`: the action() statement forwarding
  // every message. The UDP input listens on a free port (input_port()).
  RsyslogSender(const std::filesystem::path& dir, const std::string& modules,
                const std::string& action)
      : dir_(dir) {
    std::filesystem::create_directories(dir_ / "work");
    input_port_ = FreeUdpPort();
    std::ofstream(dir_ / "rsyslog.conf")
        << "global(workDirectory=\"" << (dir_ / "work").string() << "\")\n"
        << "module(load=\"imudp\")\n"
        << modules << "\n"
        << "input(type=\"imudp\" address=\"127.0.0.1\" port=\"" << input_port_ << "\")\n"
        << action << "\n";
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::freopen((dir_ / "stdout").c_str(), "a", stdout);
      (void)out;
      dup2(fileno(stdout), fileno(stderr));
      std::string conf = (dir_ / "rsyslog.conf").string();
      std::string pid = (dir_ / "rsyslogd.pid").string();
      execl("/usr/sbin/rsyslogd", "rsyslogd", "-n", "-f", conf.c_str(), "-i", pid.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    // rsyslogd writes its PID file once its inputs run.
    for (int i = 0; i < 100 && !std::filesystem::exists(dir_ / "rsyslogd.pid"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  ~RsyslogSender() {
    Stop();
    RemoveTree(dir_);
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  int input_port() const { return input_port_; }
  std::string output() const { return ReadAll(dir_ / "stdout"); }

 private:
  static int FreeUdpPort() {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    close(fd);
    return ntohs(address.sin_port);
  }

  std::filesystem::path dir_;
  int input_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace bulwark::testing_support
