// Syslog load over TCP for bench/receive_bench.py: sends `messages` lines (LF framing) over
// `connections` parallel TCP connections to HOST:PORT as fast as the receiver takes them, and
// prints the messages and seconds on stdout. KIND `sshd` (the default): RFC 3164 sshd lines, each
// a failed login from its own address, so that detection has the most work to do; `loggen`: the
// 256-byte messages of syslog-ng's loggen (sequence number, thread, run id, time stamp, padding),
// which no rule matches.
//
// Usage: syslog_load HOST PORT MESSAGES [CONNECTIONS [KIND]]

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

// loggen's padding: its messages are 256 bytes long.
constexpr const char* kPadding =
    "PADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPADDPA"
    "DDPADDPADDPADDPADDPADDPADDPADDPADDPADD";

// Sends messages [first, first + count) on one connection; false when it could not connect.
bool SendRange(const char* host, int port, long first, long count, bool loggen) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host, &to.sin_addr) != 1 ||
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    close(fd);
    return false;
  }
  std::string buffer;
  buffer.reserve(1 << 20);
  char line[512];
  for (long i = first; i < first + count; ++i) {
    int length = loggen
                     ? std::snprintf(line, sizeof line,
                                     "<38>2026-12-05T10:%02ld:%02ld localhost prg00000[1234]: seq: "
                                     "%010ld, thread: %04ld, runid: 1764928800, stamp: "
                                     "2026-12-05T10:%02ld:%02ld %s\n",
                                     (i / 60) % 60, i % 60, i, first % 10000, (i / 60) % 60, i % 60,
                                     kPadding)
                     : std::snprintf(line, sizeof line,
                                     "<38>Nov 26 10:%02ld:%02ld web1 sshd[%ld]: Failed password "
                                     "for invalid user u%ld from "
                                     "10.%ld.%ld.%ld port %ld ssh2\n",
                                     (i / 60) % 60, i % 60, 1000 + i % 50000, i % 977,
                                     (i >> 16) & 255, (i >> 8) & 255, i & 255, 1024 + i % 60000);
    buffer.append(line, static_cast<size_t>(length));
    if (buffer.size() > (1 << 20) - 256 || i + 1 == first + count) {
      size_t sent = 0;
      while (sent < buffer.size()) {
        ssize_t n = write(fd, buffer.data() + sent, buffer.size() - sent);
        if (n <= 0) {
          close(fd);
          return false;
        }
        sent += static_cast<size_t>(n);
      }
      buffer.clear();
    }
  }
  close(fd);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: syslog_load HOST PORT MESSAGES [CONNECTIONS [sshd|loggen]]\n");
    return 2;
  }
  const char* host = argv[1];
  int port = std::atoi(argv[2]);
  long messages = std::atol(argv[3]);
  int connections = argc > 4 ? std::atoi(argv[4]) : 4;
  bool loggen = argc > 5 && std::string(argv[5]) == "loggen";
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::vector<char> ok(static_cast<size_t>(connections), 0);
  long each = messages / connections;
  for (int c = 0; c < connections; ++c) {
    long first = c * each;
    long count = c + 1 == connections ? messages - first : each;
    threads.emplace_back(
        [&, c, first, count] { ok[c] = SendRange(host, port, first, count, loggen); });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (char good : ok) {
    if (!good) {
      std::fprintf(stderr, "syslog_load: a connection failed\n");
      return 1;
    }
  }
  std::printf("%ld %.3f\n", messages, seconds);
  return 0;
}
