#pragma once
// nfdump as the reference for flow tests: its collectors (nfcapd, sfcapd) take the datagrams
// Bulwark decoded, and its CSV is compared with Bulwark's records. With the UDP plumbing such
// tests need.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/files.h"
#include "../support/process.h"

namespace bulwark::flow {

// nfdump's protocol column: a name for ICMP, TCP, UDP and ICMPv6, else the number.
inline std::string NfdumpProtocol(uint8_t number) {
  switch (number) {
    case 1:
      return "ICMP";
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    case 58:
      return "ICMP6";
    default:
      return std::to_string(number);
  }
}

// A UDP socket on `address` (127.0.0.1 by default) with a port of its own.
struct UdpSink {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int port = 0;
  explicit UdpSink(const char* address = "127.0.0.1") {
    sockaddr_in bound{};
    bound.sin_family = AF_INET;
    inet_pton(AF_INET, address, &bound.sin_addr);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&bound), sizeof bound), 0) << address;
    socklen_t length = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
    port = ntohs(bound.sin_port);
    int buffer = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
  }
  ~UdpSink() {
    if (fd >= 0) close(fd);
  }
  // Datagrams until none came for `quiet_ms`.
  std::vector<std::string> Collect(int quiet_ms) {
    std::vector<std::string> out;
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, quiet_ms) > 0) {
      std::string d(65535, '\0');
      ssize_t got = recv(fd, d.data(), d.size(), 0);
      if (got < 0) break;
      d.resize(static_cast<size_t>(got));
      out.push_back(std::move(d));
    }
    return out;
  }
};

// Sends `datagrams` to 127.0.0.1:`port`, a millisecond apart.
inline void SendTo(int port, const std::vector<std::string>& datagrams) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (const std::string& d : datagrams) {
    sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  close(fd);
}

// nfdump's collector `binary` (/usr/bin/nfcapd, /usr/bin/sfcapd) receives `datagrams` on
// loopback; returns the rows of `nfdump -o csv` of what it stored (columns ts,te,td,sa,da,sp,dp,
// pr,flg,fwd,stos,ipkt,ibyt,...).
inline std::vector<std::vector<std::string>> CollectorCsv(
    const std::string& binary, const std::filesystem::path& dir,
    const std::vector<std::string>& datagrams) {
  std::filesystem::create_directories(dir / "flows");
  int port = 0;
  {
    UdpSink probe;  // a free port, given to the collector
    port = probe.port;
  }
  testing_support::ChildProcess collector(
      {binary, "-b", "127.0.0.1", "-p", std::to_string(port), "-w", (dir / "flows").string()},
      (dir / "collector.log").string());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  SendTo(port, datagrams);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  collector.Stop();
  std::string command = "/usr/bin/nfdump -q -R " + (dir / "flows").string() + " -o csv > " +
                        (dir / "nfdump.csv").string() + " 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0);
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(testing_support::ReadAll(dir / "nfdump.csv"));
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> columns;
    std::stringstream fields(line);
    for (std::string c; std::getline(fields, c, ',');) columns.push_back(c);
    if (columns.size() > 30 && columns[0] != "ts") rows.push_back(columns);
  }
  return rows;
}

}  // namespace bulwark::flow
