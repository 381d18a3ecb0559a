#pragma once
// Datagrams over UDP received into the durable queue: syslog (RFC 5426: one message per
// datagram) or, with another handler, what a datagram holds (flow records: flow_receive.h).
//
// A thread reads the socket, turns each datagram into messages with its handler, and appends them,
// with the sender and the time the datagram arrived, to the queue; it syncs the queue in batches
// (when the socket has nothing more, or every 1,024 datagrams). UDP has no acknowledgement, so a
// full queue means a counted drop. The syslog handler drops trailing LF, CR and NUL bytes and
// keeps a message otherwise as sent (rsyslog's `#012` escapes included).

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/core/time.h"
#include "bulwark/event/ip.h"
#include "bulwark/receive/message.h"
#include "bulwark/receive/queue.h"
#include "bulwark/receive/senders.h"

namespace bulwark::receive {

// Turns a datagram from `sender` into the texts of the messages to queue (none, one or many).
// An Error rejects the datagram (counted per sender as rejected_datagram); texts it gave before
// the error are queued. Called on the receiver's thread only.
using DatagramHandler = std::function<Result<void>(
    const event::IpAddress& sender, std::string_view datagram, std::vector<std::string>& texts)>;

// Syslog: the datagram is one message.
DatagramHandler SyslogDatagram();

class UdpReceiver {
 public:
  struct Counters {
    uint64_t datagrams = 0;  // received
    uint64_t queued = 0;     // messages appended to the queue
    uint64_t dropped = 0;    // messages refused by a full queue (or a queue error)
    uint64_t rejected = 0;   // datagrams the handler refused
  };
  // Binds `listen` ("127.0.0.1:5514", "[::1]:5514"; port 0 picks one) and starts the thread;
  // arrival times come from `env`. `queue` is shared with its reader: every use of it holds
  // `queue_mutex`. `senders` (not owned, may be null) gets the counts per sender. `handler`
  // (default: SyslogDatagram()) makes the messages. Errors: a bad address, a port in use.
  static Result<std::unique_ptr<UdpReceiver>> Start(const std::string& listen, DurableQueue& queue,
                                                    std::mutex& queue_mutex, const Env& env,
                                                    SenderStats* senders = nullptr,
                                                    DatagramHandler handler = nullptr);
  ~UdpReceiver();  // stops
  // Stops the thread after it has queued and synced what it received.
  void Stop();
  int port() const { return port_; }
  Counters counters() const;

 private:
  struct Impl;
  explicit UdpReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace bulwark::receive
