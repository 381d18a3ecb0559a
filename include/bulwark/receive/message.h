#pragma once
// What a receiver's queue holds of a received message: who sent it, when it arrived, and its
// text. Encoded as `[16 bytes sender address][8 bytes arrival, ns][u16 name length][sender name]
// [text]` (host byte order: the queue is local to one machine).

#include <string>
#include <string_view>

#include "bulwark/core/result.h"
#include "bulwark/core/time.h"
#include "bulwark/event/ip.h"

namespace bulwark::receive {

struct QueuedMessage {
  event::IpAddress sender;
  TimeNs received = 0;
  // The sender's name when it proved one (a TLS client certificate's subject CN or first DNS
  // name); empty otherwise. At most 65,535 bytes.
  std::string sender_name;
  std::string text;
};

std::string EncodeQueued(const QueuedMessage& message);
// An Error when `record` is no encoded message (shorter than its header or its name).
Result<QueuedMessage> DecodeQueued(std::string_view record);

}  // namespace bulwark::receive
