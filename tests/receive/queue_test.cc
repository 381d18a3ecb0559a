// The durable queue: what was synced survives a kill -9 at any moment, processing resumes after
// the committed position, torn tails are cut, damage is reported, the bound holds.

#include "bulwark/receive/queue.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../support/files.h"

namespace bulwark::receive {
namespace {

namespace fs = std::filesystem;

std::string Payload(uint64_t sequence) {
  return "<13>1 2026-12-05T00:00:00Z host app - - - message " + std::to_string(sequence) +
         std::string(sequence % 50, 'x');
}

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::TestDataDir("bulwark-queue"); }
  void TearDown() override { testing_support::RemoveTree(dir_); }

  std::unique_ptr<DurableQueue> Open(DurableQueue::Options options = {}) {
    auto queue = DurableQueue::Open(dir_.string(), options);
    EXPECT_TRUE(queue) << queue.error().ToString();
    return queue ? std::move(*queue) : nullptr;
  }

  // Every record Read() gives, checked against Payload().
  std::vector<uint64_t> ReadAll(DurableQueue& queue) {
    std::vector<uint64_t> got;
    auto read = queue.Read(1'000'000, [&](uint64_t sequence, std::string_view record) {
      EXPECT_EQ(record, Payload(sequence));
      got.push_back(sequence);
    });
    EXPECT_TRUE(read) << read.error().ToString();
    return got;
  }

  fs::path dir_;
};

TEST_F(QueueTest, ProcessingResumesAfterTheCommittedPosition) {
  DurableQueue::Options small;
  small.segment_bytes = 4096;  // many segments
  {
    auto queue = Open(small);
    for (uint64_t i = 1; i <= 1000; ++i) ASSERT_EQ(*queue->Append(Payload(i)), i);
    ASSERT_TRUE(queue->Sync());
    std::vector<uint64_t> first;
    ASSERT_TRUE(queue->Read(400, [&](uint64_t s, std::string_view) { first.push_back(s); }));
    ASSERT_EQ(first.size(), 400u);
    EXPECT_EQ(first.front(), 1u);
    EXPECT_EQ(first.back(), 400u);
    size_t files = std::distance(fs::directory_iterator(dir_), fs::directory_iterator());
    ASSERT_TRUE(queue->Commit(400));
    size_t after = std::distance(fs::directory_iterator(dir_), fs::directory_iterator());
    EXPECT_LT(after, files);  // segments wholly processed are gone
    auto rest = ReadAll(*queue);
    EXPECT_EQ(rest.front(), 401u);
    EXPECT_EQ(rest.size(), 600u);
  }
  auto reopened = Open(small);
  EXPECT_EQ(reopened->committed(), 400u);
  EXPECT_EQ(reopened->recovery().records, 600u);
  EXPECT_EQ(reopened->recovery().torn_bytes, 0u);
  auto rest = ReadAll(*reopened);
  ASSERT_EQ(rest.size(), 600u);
  EXPECT_EQ(rest.front(), 401u);
  EXPECT_EQ(*reopened->Append(Payload(1001)), 1001u);
}

TEST_F(QueueTest, OnlySyncedRecordsAreReadAndTheBoundHolds) {
  DurableQueue::Options bounded;
  bounded.segment_bytes = 1024;
  bounded.max_bytes = 4096;
  auto queue = Open(bounded);
  uint64_t last = 0;
  while (true) {
    auto appended = queue->Append(Payload(last + 1));
    if (!appended) {
      EXPECT_EQ(appended.error().message, "full");
      break;
    }
    last = *appended;
  }
  EXPECT_GT(last, 10u);
  EXPECT_LE(queue->bytes(), bounded.max_bytes);
  ASSERT_TRUE(queue->Sync());
  auto all = ReadAll(*queue);
  ASSERT_EQ(all.size(), last);
  ASSERT_TRUE(queue->Commit(last));
  // Processed segments went, so there is room again.
  EXPECT_TRUE(queue->Append(Payload(last + 1)));
  EXPECT_TRUE(ReadAll(*queue).empty());  // not synced yet
  ASSERT_TRUE(queue->Sync());
  EXPECT_EQ(ReadAll(*queue), (std::vector<uint64_t>{last + 1}));
}

TEST_F(QueueTest, ATornTailIsCutAndDamageIsReported) {
  DurableQueue::Options small;
  small.segment_bytes = 2048;
  {
    auto queue = Open(small);
    for (uint64_t i = 1; i <= 100; ++i) ASSERT_TRUE(queue->Append(Payload(i)));
    ASSERT_TRUE(queue->Sync());
  }
  std::vector<fs::path> segments;
  for (const auto& entry : fs::directory_iterator(dir_)) segments.push_back(entry.path());
  std::sort(segments.begin(), segments.end());
  ASSERT_GE(segments.size(), 3u);
  // A record half written when the process died, at the end of the last segment.
  {
    std::ofstream(segments.back(), std::ios::app | std::ios::binary)
        << std::string("\x40\0\0\0abc", 7);
  }
  // A flipped byte in the middle of the first segment.
  {
    std::fstream file(segments.front(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(300);
    file.put('#');
  }
  auto queue = Open(small);
  EXPECT_EQ(queue->recovery().torn_bytes, 7u);
  ASSERT_EQ(queue->recovery().damaged.size(), 1u);
  EXPECT_NE(queue->recovery().damaged[0].where.find(segments.front().filename().string()),
            std::string::npos);
  auto got = ReadAll(*queue);
  EXPECT_EQ(got.back(), 100u);  // the other segments are whole
  EXPECT_LT(got.size(), 100u);  // the damaged rest of the first was skipped
  EXPECT_EQ(*queue->Append(Payload(101)), 101u);
  ASSERT_TRUE(queue->Sync());
  EXPECT_EQ(ReadAll(*queue), (std::vector<uint64_t>{101}));
}

// A writer killed with SIGKILL at any moment: every record it was told was synced is there,
// intact, once, in order.
TEST_F(QueueTest, NothingSyncedIsLostToKillNine) {
  for (int round = 0; round < 5; ++round) {
    int acks[2];
    ASSERT_EQ(pipe(acks), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(acks[0]);
      DurableQueue::Options small;
      small.segment_bytes = 64 * 1024;
      auto queue = DurableQueue::Open(dir_.string(), small);
      if (!queue) _exit(2);
      uint64_t next = (*queue)->next_sequence();
      while (true) {
        for (int i = 0; i < 20; ++i) {
          if (!(*queue)->Append(Payload(next++))) _exit(3);
        }
        if (!(*queue)->Sync()) _exit(4);
        uint64_t acknowledged = next - 1;
        if (write(acks[1], &acknowledged, sizeof acknowledged) != sizeof acknowledged) _exit(5);
      }
    }
    close(acks[1]);
    uint64_t acknowledged = 0;
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50 + 37 * round);
    while (std::chrono::steady_clock::now() < until) {
      uint64_t value;
      if (read(acks[0], &value, sizeof value) == sizeof value) acknowledged = value;
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    uint64_t value;
    while (read(acks[0], &value, sizeof value) == sizeof value) acknowledged = value;
    close(acks[0]);
    ASSERT_GT(acknowledged, 0u);
    auto queue = Open();
    EXPECT_TRUE(queue->recovery().damaged.empty());
    auto got = ReadAll(*queue);
    ASSERT_GE(got.size(), acknowledged) << "round " << round;
    for (uint64_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], i + 1);
  }
}

}  // namespace
}  // namespace bulwark::receive

namespace bulwark::receive {
namespace {

// Records are read a chunk (1 MiB) at a time: records that straddle a chunk's end, and records
// bigger than a chunk, come back whole, in order, across reads of any batch size.
TEST(QueueChunks, RecordsAcrossAndAboveTheReadChunkComeBackWhole) {
  auto dir = testing_support::TestDataDir("bulwark-queue-chunks");
  DurableQueue::Options options;
  options.segment_bytes = 64 << 20;  // one segment: every chunk edge falls inside it
  options.max_bytes = 512 << 20;
  auto queue = DurableQueue::Open(dir.string(), options);
  ASSERT_TRUE(queue) << queue.error().ToString();
  std::vector<std::string> records;
  for (size_t i = 0; i < 6000; ++i) {
    size_t size = i == 3000 ? (3 << 20) : 1 + (i * 7919) % 1500;  // one of 3 MiB
    records.push_back(std::string(size, static_cast<char>('a' + i % 26)) + std::to_string(i));
    ASSERT_TRUE((*queue)->Append(records.back()));
  }
  ASSERT_TRUE((*queue)->Sync());
  std::vector<std::string> got;
  for (size_t batch = 1; got.size() < records.size(); batch = batch * 3 + 1) {
    auto read = (*queue)->Read(batch, [&](uint64_t, std::string_view r) { got.emplace_back(r); });
    ASSERT_TRUE(read) << read.error().ToString();
    ASSERT_GT(*read, 0u);
  }
  EXPECT_EQ(got, records);
  testing_support::RemoveTree(dir);
}

}  // namespace
}  // namespace bulwark::receive
