#pragma once
// Syslog over RELP (librelp's server): acknowledged delivery. A message is appended to the
// durable queue and synced to disk before librelp's callback returns, and only then does librelp
// send the client its "200 OK"; so a message the client saw acknowledged survives `kill -9`.
// librelp 1.11 acknowledges whatever the callback returns, so a full queue makes the callback
// wait for room: the engine stops reading and every client's window fills (backpressure without
// loss). Only a queue that fails to write loses the message (counted as `lost`).

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/receive/queue.h"
#include "bulwark/receive/senders.h"

namespace bulwark::receive {

class RelpReceiver {
 public:
  struct Counters {
    uint64_t messages = 0;      // received
    uint64_t queued = 0;        // on disk, acknowledged
    uint64_t backpressure = 0;  // messages that waited for room in the queue
    uint64_t lost = 0;          // acknowledged although the queue failed to write them
  };

  // Listens on `listen` ("HOST:PORT" or "[IPV6]:PORT", a fixed port: librelp does not report a
  // port it picked) and starts librelp's engine on a thread of its own; arrival times come from
  // `env`. `queue` is shared with its reader: every use of it holds `queue_mutex`. `senders` (not
  // owned, may be null) gets the counts per sender. Messages over `max_message` bytes are cut.
  // Errors: a bad address, a port in use.
  static Result<std::unique_ptr<RelpReceiver>> Start(const std::string& listen, DurableQueue& queue,
                                                     std::mutex& queue_mutex, const Env& env,
                                                     SenderStats* senders, size_t max_message);
  ~RelpReceiver();  // stops
  // Stops the engine; sessions are closed (what they sent and were not told is resent by the
  // clients). A message waiting for room goes into the queue beyond its bound.
  void Stop();
  int port() const { return port_; }
  Counters counters() const;

 private:
  struct Impl;
  explicit RelpReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace bulwark::receive
