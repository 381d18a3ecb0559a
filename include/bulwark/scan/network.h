#pragma once
// The scanner's network side: discovery of open TCP ports at a bounded rate (SYN with its own
// retransmits and a confirmation pass when raw sockets are permitted, else TCP connect), and one
// conversation with an open port (optionally inside TLS) with time and size limits. Every
// function here sends only to the addresses it is given: scope is checked before (scanner.h).

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/event/ip.h"
#include "bulwark/scan/certificate.h"

namespace bulwark::scan {

struct Endpoint {
  event::IpAddress address;
  int port = 0;
  bool operator==(const Endpoint&) const = default;
};

enum class DiscoveryMethod {
  kAuto,     // SYN for IPv4 when raw sockets are permitted (root, CAP_NET_RAW), else connect
  kSyn,      // SYN for IPv4 (IPv6 addresses are connect-scanned); connect when not permitted
  kConnect,  // a full TCP connect per port
};

struct DiscoverOptions {
  DiscoveryMethod method = DiscoveryMethod::kAuto;
  std::chrono::milliseconds timeout{1000};  // per probe (SYN or connection attempt)
  int retries = 1;                          // probes again after a timeout (not after a reset)
  // Connection attempts open at once; 0: enough for `rate` over `timeout` (so that ports that
  // never answer do not slow the scan below its rate), within the open-files limit.
  size_t max_in_flight = 0;
  double rate = 5000;              // connection attempts per second, over all targets
  double rate_per_network = 1000;  // per /24 (IPv4) or /64 (IPv6); 0 = no own limit
  // Set (by another thread) to stop: no new attempt starts, those in flight are dropped, and
  // what was found so far is returned. May be null.
  const std::atomic<bool>* cancel = nullptr;
};

struct DiscoverStats {
  size_t attempts = 0, open = 0, closed = 0, filtered = 0;
  std::string method = "connect";  // "syn" when any address was SYN-scanned
  // SYN scan: ports that answered a SYN but refused or ignored the confirming connection (they
  // are not in `open`).
  size_t unconfirmed = 0;
};

// Whether this process may open a raw IPv4 TCP socket (SYN discovery).
bool CanSendRaw();

// Finds the open TCP ports of every address; returns them in address, port order.
// SYN (see DiscoveryMethod): a SYN-ACK is open, a reset closed, silence after every retransmit
// filtered; each port that answered SYN-ACK is then confirmed by a TCP connect. Connect: a
// refused connection is closed; one that times out after every retry, or is unreachable, is
// filtered. Blocking; thread-safe (no shared state).
std::vector<Endpoint> DiscoverTcp(const std::vector<event::IpAddress>& addresses,
                                  const std::vector<int>& ports, const DiscoverOptions& options,
                                  DiscoverStats* stats = nullptr);

struct ConverseLimits {
  std::chrono::milliseconds connect{2000};
  std::chrono::milliseconds first_byte{1500};  // wait for the first byte of an answer
  std::chrono::milliseconds idle{300};         // an answer ends after this long without bytes
  std::chrono::milliseconds total{5000};       // the whole conversation
  size_t max_bytes = 16384;                    // more is cut off (truncated)
};

struct Conversation {
  bool connected = false;
  std::string banner;  // what the service said before we sent (read_banner)
  std::string answer;  // what it said after (or, when nothing is sent, its banner)
  bool truncated = false;
  std::string error;  // why it ended early ("" = normally), e.g. "connection reset"
  std::optional<TlsSession> tls;
};

struct ConverseRequest {
  bool tls = false;          // handshake first; `send` then goes inside the session
  bool read_banner = false;  // read what the service says first, then send
  std::string send;          // nothing: just read
};

// What a TLS client hello offers (empty: everything OpenSSL knows, every version): the one
// protocol version ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"), and the cipher list (OpenSSL's
// syntax; TLS 1.2 and below) or the TLS 1.3 cipher suites.
struct TlsOffer {
  std::string version;
  std::string ciphers;
};

// What a TLS server accepts: each protocol version, and each cipher (for every version up to
// TLS 1.2, and the TLS 1.3 suites), in the order the server chose them.
struct TlsProfile {
  std::vector<std::string> versions;
  std::vector<std::string> ciphers;
  size_t handshakes = 0;
};

// Finds what `endpoint` accepts by handshakes that each offer one version and, one by one, fewer
// ciphers (the server's choice is taken out of the next offer; the weak kinds are offered
// first), at most `max_handshakes` in all and within 4 x limits.total. A service that is not TLS
// gives an empty profile. Ciphers this OpenSSL does not have (Debian's: RC4, DES, export) cannot
// be offered, so they are never found. Never throws.
TlsProfile ProbeTls(const Endpoint& endpoint, const ConverseLimits& limits,
                    size_t max_handshakes = 64);

// One conversation with `endpoint`; a TLS handshake offers `offer`. Never throws; a failure is in
// `error`.
Conversation Converse(const Endpoint& endpoint, const ConverseRequest& request,
                      const ConverseLimits& limits, const TlsOffer& offer = {});

// One UDP datagram to `endpoint` and its reply: sent again once when no reply came within
// limits.first_byte. `connected` is true when a reply came; otherwise `error` says "no answer"
// or "port unreachable" (ICMP). A reply longer than limits.max_bytes is cut (truncated).
Conversation ConverseUdp(const Endpoint& endpoint, const std::string& datagram,
                         const ConverseLimits& limits);

}  // namespace bulwark::scan
