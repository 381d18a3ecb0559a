// SYN discovery: one raw IPv4 socket sends SYNs (the kernel adds the IP header) and reads the
// answers. Each SYN's sequence number is a keyed hash of its endpoint, so an answer is recognised
// without per-probe state and a forged one is not. The source port is reserved by a bound TCP
// socket that never listens: no connection of this host can take it, and the kernel resets every
// SYN-ACK, so the targets' half-open connections end at once.

#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "discovery_internal.h"

namespace bulwark::scan {

namespace {

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

int OpenRaw() {
  return socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
}

}  // namespace

bool CanSendRaw() {
  return Socket(OpenRaw()).get() >= 0;
}

namespace internal {

namespace {

uint32_t V4Of(const event::IpAddress& address) {  // network byte order
  uint32_t v4;
  std::memcpy(&v4, address.bytes().data() + 12, 4);
  return v4;
}

// The source address the kernel picks to reach `destination` (both in network byte order);
// nullopt when there is no route.
std::optional<uint32_t> SourceFor(uint32_t destination) {
  Socket probe(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  to.sin_addr.s_addr = destination;
  if (probe.get() < 0 || connect(probe.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
    return std::nullopt;
  }
  sockaddr_in self{};
  socklen_t length = sizeof self;
  if (getsockname(probe.get(), reinterpret_cast<sockaddr*>(&self), &length) < 0) {
    return std::nullopt;
  }
  return self.sin_addr.s_addr;
}

// The Internet checksum (RFC 1071) of `data`, starting from `sum`.
uint16_t Checksum(const uint8_t* data, size_t length, uint32_t sum) {
  for (size_t i = 0; i + 1 < length; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (length % 2) sum += data[length - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint64_t KeyOf(uint32_t address, uint16_t port) {
  return (static_cast<uint64_t>(address) << 16) | port;
}

uint32_t Cookie(uint64_t endpoint_key, uint64_t secret) {  // splitmix64 of the keyed endpoint
  uint64_t z = endpoint_key ^ secret;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return static_cast<uint32_t>(z ^ (z >> 31));
}

void Put16(uint8_t* at, uint16_t value) {
  at[0] = static_cast<uint8_t>(value >> 8);
  at[1] = static_cast<uint8_t>(value);
}
void Put32(uint8_t* at, uint32_t value) {
  Put16(at, static_cast<uint16_t>(value >> 16));
  Put16(at + 2, static_cast<uint16_t>(value));
}
uint16_t Get16(const uint8_t* at) {
  return static_cast<uint16_t>((at[0] << 8) | at[1]);
}
uint32_t Get32(const uint8_t* at) {
  return (static_cast<uint32_t>(Get16(at)) << 16) | Get16(at + 2);
}

// A SYN with an MSS option (24 bytes), checksummed for `source` -> `destination`.
void BuildSyn(uint8_t (&segment)[24], uint32_t source, uint32_t destination, uint16_t source_port,
              uint16_t port, uint32_t sequence) {
  std::memset(segment, 0, sizeof segment);
  Put16(segment, source_port);
  Put16(segment + 2, port);
  Put32(segment + 4, sequence);
  segment[12] = 6 << 4;  // data offset: 6 words
  segment[13] = 0x02;    // SYN
  Put16(segment + 14, 1024);
  segment[20] = 2;  // MSS
  segment[21] = 4;
  Put16(segment + 22, 1460);
  // The pseudo-header: addresses, protocol, TCP length.
  uint32_t sum = 0;
  for (uint32_t address : {ntohl(source), ntohl(destination)}) {
    sum += address >> 16;
    sum += address & 0xffff;
  }
  sum += IPPROTO_TCP + sizeof segment;
  Put16(segment + 16, Checksum(segment, sizeof segment, sum));
}

// Lets through only TCP segments to `port`: the raw socket otherwise copies every TCP segment
// the host receives.
void AttachPortFilter(int fd, uint16_t port) {
  sock_filter code[] = {
      {BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0},  // X = IP header length
      {BPF_LD | BPF_H | BPF_IND, 0, 0, 2},   // A = destination port
      {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, port},
      {BPF_RET | BPF_K, 0, 0, 0xffff},
      {BPF_RET | BPF_K, 0, 0, 0},
  };
  sock_fprog program{static_cast<unsigned short>(std::size(code)), code};
  setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program);
}

}  // namespace

bool DiscoverBySyn(const std::vector<event::IpAddress>& addresses, const std::vector<int>& ports,
                   const DiscoverOptions& options, DiscoverStats& s, std::vector<Endpoint>& open) {
  Socket raw(OpenRaw());
  if (raw.get() < 0) return false;
  Socket reserved(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in bound{};
  bound.sin_family = AF_INET;
  socklen_t length = sizeof bound;
  if (reserved.get() < 0 ||
      bind(reserved.get(), reinterpret_cast<sockaddr*>(&bound), sizeof bound) < 0 ||
      getsockname(reserved.get(), reinterpret_cast<sockaddr*>(&bound), &length) < 0) {
    return false;
  }
  const uint16_t source_port = ntohs(bound.sin_port);
  AttachPortFilter(raw.get(), source_port);
  // Answers come at the probe rate; a deep queue keeps a slow loop turn from dropping any.
  int buffer = 32 << 20;
  if (setsockopt(raw.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) < 0) {
    setsockopt(raw.get(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  }
  const uint64_t secret =
      (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();

  AttemptQueue queue(addresses, ports);
  const size_t open_before = s.open, closed_before = s.closed, filtered_before = s.filtered;
  std::unordered_map<uint64_t, Attempt> pending;  // by KeyOf(address, port)
  struct Deadline {
    Clock::time_point at;
    uint64_t key;
    uint64_t serial;
  };
  std::deque<Deadline> deadlines;      // in send order: one timeout for all, so the earliest first
  std::unordered_set<uint64_t> found;  // open endpoints: answers again are not counted again
  std::unordered_map<uint32_t, std::optional<uint32_t>> sources;
  uint64_t serials = 0;
  RateGate gate(options.rate, options.rate_per_network);
  auto cancelled = [&] { return options.cancel && options.cancel->load(); };

  auto receive = [&] {
    uint8_t packet[128];
    while (true) {
      ssize_t got = recv(raw.get(), packet, sizeof packet, MSG_TRUNC);
      if (got < 0) return;
      size_t size = std::min<size_t>(static_cast<size_t>(got), sizeof packet);
      if (size < 20 || (packet[0] >> 4) != 4 || packet[9] != IPPROTO_TCP) continue;
      size_t header = (packet[0] & 0x0f) * 4u;
      if (header < 20 || size < header + 14) continue;
      const uint8_t* tcp = packet + header;
      if (Get16(tcp + 2) != source_port) continue;
      uint32_t address;
      std::memcpy(&address, packet + 12, 4);
      uint64_t key = KeyOf(address, Get16(tcp));
      if (Get32(tcp + 8) != Cookie(key, secret) + 1) continue;  // not an answer to our SYN
      uint8_t flags = tcp[13];
      bool syn_ack = (flags & 0x12) == 0x12, reset = (flags & 0x04) != 0;
      if (!syn_ack && !reset) continue;
      bool was_pending = pending.erase(key) > 0;
      if (syn_ack && found.insert(key).second) {
        ++s.open;
        open.push_back({event::IpAddress::V4(ntohl(address)), Get16(tcp)});
      } else if (reset && was_pending) {
        ++s.closed;
      }
    }
  };

  while ((queue.HasNext() || !pending.empty()) && !cancelled()) {
    auto now = Clock::now();
    Clock::time_point wake = now + std::chrono::milliseconds(100);
    // Sends what is due, a bounded batch at a time so that answers are read in between.
    constexpr int kBatch = 512;
    int batch = 0;
    for (; batch < kBatch && queue.HasNext(); ++batch) {
      Attempt attempt = queue.Peek();
      uint32_t destination = V4Of(attempt.endpoint.address);
      uint16_t port = static_cast<uint16_t>(attempt.endpoint.port);
      uint64_t key = KeyOf(destination, port);
      if (found.count(key)) {  // a late answer to an earlier try already told
        queue.Pop();
        continue;
      }
      Clock::time_point allowed = gate.AllowedAt(attempt.endpoint.address);
      if (allowed > now) {
        wake = std::min(wake, allowed);
        break;
      }
      auto source = sources.try_emplace(destination, std::nullopt);
      if (source.second) source.first->second = SourceFor(destination);
      if (!source.first->second) {  // no route
        queue.Pop();
        ++s.attempts;
        ++s.filtered;
        continue;
      }
      uint8_t segment[24];
      BuildSyn(segment, *source.first->second, destination, source_port, port, Cookie(key, secret));
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_addr.s_addr = destination;
      if (sendto(raw.get(), segment, sizeof segment, 0, reinterpret_cast<sockaddr*>(&to),
                 sizeof to) < 0) {
        if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {  // try again shortly
          wake = std::min(wake, now + std::chrono::milliseconds(1));
          break;
        }
        queue.Pop();
        ++s.attempts;
        ++s.filtered;
        continue;
      }
      gate.Take(attempt.endpoint.address, now);
      queue.Pop();
      ++attempt.tries;
      ++s.attempts;
      attempt.serial = ++serials;
      pending[key] = attempt;
      deadlines.push_back({now + options.timeout, key, attempt.serial});
    }
    // A full batch with more due: no sleep before the next one.
    if (batch == kBatch && queue.HasNext()) wake = now;
    receive();
    now = Clock::now();
    while (!deadlines.empty() && deadlines.front().at <= now) {
      Deadline due = deadlines.front();
      deadlines.pop_front();
      auto it = pending.find(due.key);
      if (it == pending.end() || it->second.serial != due.serial) continue;
      Attempt attempt = it->second;
      pending.erase(it);
      if (attempt.tries <= options.retries) {
        queue.Retry(attempt);
      } else {
        ++s.filtered;
      }
    }
    if (!deadlines.empty()) wake = std::min(wake, deadlines.front().at);
    // Rounded up: a wait under a millisecond sleeps one, rather than spinning.
    auto left = wake - Clock::now();
    if (left > Clock::duration::zero()) {
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(left);
      pollfd p{raw.get(), POLLIN, 0};
      poll(&p, 1, static_cast<int>(std::min<int64_t>(wait.count(), 100)));
    }
  }
  receive();  // answers that came with the last turn
  if (!cancelled()) {
    // Every endpoint ended open, closed or filtered exactly once: a late SYN-ACK for one given up
    // as filtered made it open, so filtered is what is left.
    s.filtered = filtered_before + addresses.size() * ports.size() - (s.open - open_before) -
                 (s.closed - closed_before);
  }
  return true;
}

}  // namespace internal

}  // namespace bulwark::scan
