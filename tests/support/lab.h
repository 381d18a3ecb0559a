#pragma once
// A small network of namespaces the test creates and removes: a switch namespace with a Linux
// bridge, and hosts plugged into it by veth pairs (the switch side of each pair is the host's
// port, named "<host>p" inside the switch namespace). All hosts share 10.77.0.0/24. Nothing
// leaves the namespaces: the names carry the test's PID, so parallel tests do not collide.
//
//   Lab lab({{"vm1", "10.77.0.11"}, {"vm2", "10.77.0.12"}, {"fx", "10.77.0.50"}});
//   lab.Ok("vm1", "ping -c1 -W1 10.77.0.50");

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace bulwark::testing_support {

class Lab {
 public:
  struct Host {
    std::string name;     // short: the port is name + "p" (interface names have 15 bytes)
    std::string address;  // IPv4 in 10.77.0.0/24
  };

  explicit Lab(std::vector<Host> hosts) : hosts_(std::move(hosts)) {
    prefix_ = "bwl" + std::to_string(getpid());
    // Names carry this process's PID, so one that exists is a leftover of a killed process that
    // had the same PID before: no live process can own it.
    RemoveNamespaces();
    ok_ = Sh("ip netns add " + Namespace("sw")) && Sh(In("sw", "ip link add br0 type bridge")) &&
          Sh(In("sw", "ip link set br0 up")) && Sh(In("sw", "ip link set lo up"));
    for (const auto& host : hosts_) {
      ok_ = ok_ && Sh("ip netns add " + Namespace(host.name)) &&
            Sh("ip link add " + host.name + "p netns " + Namespace("sw") +
               " type veth peer name eth0 netns " + Namespace(host.name)) &&
            Sh(In("sw", "ip link set " + host.name + "p master br0 up")) &&
            Sh(In(host.name, "ip link set lo up")) && Sh(In(host.name, "ip link set eth0 up")) &&
            Sh(In(host.name, "ip addr add " + host.address + "/24 dev eth0"));
    }
  }
  ~Lab() { RemoveNamespaces(); }
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  bool ok() const { return ok_; }
  // The namespace of a host ("sw" is the switch).
  std::string Namespace(const std::string& host) const { return prefix_ + host; }
  // `command` as run inside the namespace of `host`.
  std::string In(const std::string& host, const std::string& command) const {
    return "ip netns exec " + Namespace(host) + " " + command;
  }
  // Runs `command` inside `host`; true when it exits 0.
  bool Ok(const std::string& host, const std::string& command) const {
    return Sh(In(host, command) + " >/dev/null 2>&1");
  }
  // One ping from `host` to `address` answered within a second.
  bool Pings(const std::string& host, const std::string& address) const {
    return Ok(host, "ping -n -c1 -W1 " + address);
  }
  // A TCP connection from `host` to `address`:`port` opens within a second.
  bool Connects(const std::string& host, const std::string& address, int port) const {
    return Ok(host, "socat -u OPEN:/dev/null TCP:" + address + ":" + std::to_string(port) +
                        ",connect-timeout=1");
  }
  // argv for ChildProcess: `argv` run inside `host`.
  std::vector<std::string> Argv(const std::string& host, std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"/usr/sbin/ip", "netns", "exec", Namespace(host)});
    return argv;
  }

  static bool Sh(const std::string& command) { return std::system(command.c_str()) == 0; }

 private:
  void RemoveNamespaces() {
    for (const auto& host : hosts_) Sh("ip netns del " + Namespace(host.name) + " 2>/dev/null");
    Sh("ip netns del " + Namespace("sw") + " 2>/dev/null");
  }

  std::vector<Host> hosts_;
  std::string prefix_;
  bool ok_ = false;
};

}  // namespace bulwark::testing_support
