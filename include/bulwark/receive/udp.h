#pragma once
// Syslog over UDP (RFC 5426: one message per datagram), received into the durable queue.
//
// A thread reads the socket and appends each datagram, with its sender and the time it arrived,
// to the queue; it syncs the queue in batches (when the socket has nothing more, or every 1,024
// datagrams). UDP has no acknowledgement, so a full queue means a counted drop. Trailing LF, CR
// and NUL bytes are dropped from a message; a message is otherwise kept as sent (rsyslog's
// `#012` escapes included).

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/core/time.h"
#include "bulwark/event/ip.h"
#include "bulwark/receive/message.h"
#include "bulwark/receive/queue.h"
#include "bulwark/receive/senders.h"

namespace bulwark::receive {

class UdpSyslogReceiver {
 public:
  struct Counters {
    uint64_t datagrams = 0;  // received
    uint64_t queued = 0;     // appended to the queue
    uint64_t dropped = 0;    // refused by a full queue (or a queue error)
  };
  // Binds `listen` ("127.0.0.1:5514", "[::1]:5514"; port 0 picks one) and starts the thread;
  // arrival times come from `env`. `queue` is shared with its reader: every use of it holds
  // `queue_mutex`. `senders` (not owned, may be null) gets the counts per sender. Errors: a bad
  // address, a port in use.
  static Result<std::unique_ptr<UdpSyslogReceiver>> Start(const std::string& listen,
                                                          DurableQueue& queue,
                                                          std::mutex& queue_mutex, const Env& env,
                                                          SenderStats* senders = nullptr);
  ~UdpSyslogReceiver();  // stops
  // Stops the thread after it has queued and synced what it received.
  void Stop();
  int port() const { return port_; }
  Counters counters() const;

 private:
  struct Impl;
  explicit UdpSyslogReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace bulwark::receive
