#pragma once
// Reads what a receiver put into the durable queue (tests of the receive module).

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "bulwark/receive/message.h"
#include "bulwark/receive/queue.h"

namespace bulwark::receive {

// Every synced record not read before, decoded; `commit`: and marks them processed.
inline std::vector<QueuedMessage> DrainQueued(DurableQueue& queue, std::mutex& mutex,
                                              bool commit = false) {
  std::vector<QueuedMessage> out;
  std::lock_guard lock(mutex);
  uint64_t last = 0;
  auto read = queue.Read(100000, [&](uint64_t sequence, std::string_view record) {
    auto message = DecodeQueued(record);
    EXPECT_TRUE(message);
    if (message) out.push_back(*message);
    last = sequence;
  });
  EXPECT_TRUE(read);
  if (commit && last > 0) {
    EXPECT_TRUE(queue.Commit(last));
  }
  return out;
}

}  // namespace bulwark::receive
