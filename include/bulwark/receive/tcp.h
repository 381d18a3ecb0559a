#pragma once
// Syslog over TCP (RFC 6587: octet counting and LF framing, told apart frame by frame), received
// into the durable queue.
//
// One thread serves every connection (poll). Each connection has its own SyslogFramer; the
// messages a read completes are appended to the queue with the sender's address and the time
// they arrived, and the queue is synced once per round. Backpressure: when the queue is full, a
// connection's framed messages wait and the connection is not read until they are queued, so TCP
// flow control slows the sender down and nothing it sent is dropped. A connection over
// `max_connections`, or over `max_connections_per_sender` for one address, is accepted and closed
// at once, and counted. What a sender did wrong (cut messages, lying octet counts, refused
// connections, failed TLS handshakes, a client certificate not allowed) is counted per sender in
// the SenderStats. With TLS, a client certificate's name travels with each message
// (QueuedMessage::sender_name).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/receive/queue.h"
#include "bulwark/receive/senders.h"

namespace bulwark::receive {

class TcpSyslogReceiver {
 public:
  // Syslog over TLS (RFC 5425): the receiver's certificate, and what it asks of clients.
  struct Tls {
    std::string certificate_file;  // PEM, the chain of the receiver's certificate
    std::string key_file;          // PEM
    // CA certificates (PEM) that client certificates must chain to; empty: none is asked for.
    std::string client_ca_file;
    bool require_client_certificate = false;
    // Who may send: a certificate's subject CN or one of its DNS names, or "sha256:<hex>" of
    // the certificate; empty: any client that passed the checks above. Others are closed right
    // after the handshake and counted.
    std::vector<std::string> allowed_clients;
  };
  struct Options {
    size_t max_connections = 1024;
    size_t max_connections_per_sender = 64;
    size_t max_message = 64 * 1024;  // longer messages are cut
    TimeNs idle_timeout = 0;         // a connection silent this long is closed; 0: never
    std::optional<Tls> tls;          // set: every connection speaks TLS (1.2 or later)
  };
  struct Counters {
    uint64_t accepted = 0;      // connections
    uint64_t refused = 0;       // connections over a limit
    uint64_t open = 0;          // connections now
    uint64_t messages = 0;      // framed
    uint64_t queued = 0;        // appended to the queue
    uint64_t problems = 0;      // framing problems
    uint64_t backpressure = 0;  // rounds in which a connection waited for room in the queue
  };

  // Binds `listen` ("127.0.0.1:6514", "[::1]:6514"; port 0 picks one) and starts the thread;
  // arrival times come from `env`. `queue` is shared with its reader: every use of it holds
  // `queue_mutex`. `senders` (not owned, may be null) gets the counts per sender. Errors: a bad
  // address, a port in use, TLS files that cannot be read or do not match.
  static Result<std::unique_ptr<TcpSyslogReceiver>> Start(const std::string& listen,
                                                          DurableQueue& queue,
                                                          std::mutex& queue_mutex, const Env& env,
                                                          SenderStats* senders, Options options);
  ~TcpSyslogReceiver();  // stops
  // Stops accepting and reading; messages framed by then are queued (as far as there is room)
  // and synced; connections are closed.
  void Stop();
  int port() const { return port_; }
  Counters counters() const;

 private:
  struct Impl;
  explicit TcpSyslogReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace bulwark::receive
