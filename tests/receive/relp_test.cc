// Syslog over RELP into the durable queue, with a real rsyslogd sending through omrelp: every
// message arrives; with a full queue the receiver waits for room, so nothing is lost; the engine
// stops promptly.

#include "bulwark/receive/relp.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "../support/files.h"
#include "../support/net.h"
#include "../support/rsyslog.h"
#include "drain.h"

namespace bulwark::receive {
namespace {

namespace fs = std::filesystem;

class RelpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing_support::RsyslogSender::Available() ||
        !fs::exists("/usr/lib/x86_64-linux-gnu/rsyslog/omrelp.so")) {
      GTEST_SKIP() << "no rsyslogd with omrelp (packages rsyslog, rsyslog-relp)";
    }
    dir_ = testing_support::TestDataDir("bulwark-relp");
  }
  void TearDown() override { testing_support::RemoveTree(dir_); }

  // An rsyslogd that forwards what it gets over UDP to `port` with omrelp.
  std::unique_ptr<testing_support::RsyslogSender> Sender(int port) {
    return std::make_unique<testing_support::RsyslogSender>(
        dir_ / "rsyslog", "module(load=\"omrelp\")",
        "action(type=\"omrelp\" target=\"127.0.0.1\" port=\"" + std::to_string(port) +
            "\" template=\"RSYSLOG_SyslogProtocol23Format\" action.resumeInterval=\"1\" "
            "action.resumeRetryCount=\"-1\")");
  }

  static void Log(int rsyslog_port, int from, int count) {
    for (int i = from; i < from + count; ++i) {
      std::string command = "logger --udp -n 127.0.0.1 -P " + std::to_string(rsyslog_port) +
                            " -t app 'relp message " + std::to_string(i) + "'";
      ASSERT_EQ(std::system(command.c_str()), 0);
    }
  }

  fs::path dir_;
};

TEST_F(RelpTest, RsyslogsOmrelpDeliversEveryMessage) {
  auto queue = DurableQueue::Open((dir_ / "queue").string(), {});
  ASSERT_TRUE(queue);
  std::mutex mutex;
  SenderStats senders;
  int port = testing_support::FreePort();
  auto receiver = RelpReceiver::Start("127.0.0.1:" + std::to_string(port), **queue, mutex,
                                      Env::Default(), &senders, 64 * 1024);
  ASSERT_TRUE(receiver) << receiver.error().ToString();
  auto rsyslog = Sender(port);
  Log(rsyslog->input_port(), 0, 50);
  for (int i = 0; i < 500 && (*receiver)->counters().queued < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  rsyslog->Stop();
  auto started = std::chrono::steady_clock::now();
  (*receiver)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  auto messages = DrainQueued(**queue, mutex);
  ASSERT_EQ(messages.size(), 50u) << rsyslog->output();
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(messages[i].text.starts_with("<13>1 ")) << messages[i].text;
    EXPECT_TRUE(messages[i].text.ends_with("relp message " + std::to_string(i)))
        << messages[i].text;
    EXPECT_EQ(messages[i].sender.ToString(), "127.0.0.1");
  }
  EXPECT_EQ((*receiver)->counters().backpressure, 0u);
}

// A queue with room for a few messages, drained late: the receiver waits for room instead of
// acknowledging what it could not store; in the end every message is there once, in order.
TEST_F(RelpTest, AFullQueueMakesTheSenderWait) {
  DurableQueue::Options tiny;
  tiny.max_bytes = 2048;
  auto queue = DurableQueue::Open((dir_ / "queue").string(), tiny);
  ASSERT_TRUE(queue);
  std::mutex mutex;
  SenderStats senders;
  int port = testing_support::FreePort();
  auto receiver = RelpReceiver::Start("127.0.0.1:" + std::to_string(port), **queue, mutex,
                                      Env::Default(), &senders, 64 * 1024);
  ASSERT_TRUE(receiver);
  auto rsyslog = Sender(port);
  constexpr int kMessages = 40;
  Log(rsyslog->input_port(), 0, kMessages);
  for (int i = 0; i < 500 && (*receiver)->counters().backpressure == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT((*receiver)->counters().backpressure, 0u);
  std::vector<QueuedMessage> received;
  for (int i = 0; i < 3000 && received.size() < kMessages; ++i) {
    auto some = DrainQueued(**queue, mutex, /*commit=*/true);
    received.insert(received.end(), some.begin(), some.end());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  rsyslog->Stop();
  (*receiver)->Stop();
  ASSERT_EQ(received.size(), static_cast<size_t>(kMessages)) << rsyslog->output();
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_TRUE(received[i].text.ends_with("relp message " + std::to_string(i)))
        << received[i].text;
  }
  std::map<std::string, uint64_t> counts;
  for (const auto& c : senders.Snapshot()) counts[c.what] = c.count;
  EXPECT_EQ(counts["messages"], static_cast<uint64_t>(kMessages));
  EXPECT_EQ(counts["waited_queue_full"], (*receiver)->counters().backpressure);
  EXPECT_EQ((*receiver)->counters().lost, 0u);
}

TEST(RelpReceiver, BadListenAddressesAreRefused) {
  auto dir = testing_support::TestDataDir("bulwark-relp-listen");
  auto queue = DurableQueue::Open(dir.string(), {});
  ASSERT_TRUE(queue);
  std::mutex mutex;
  for (const char* listen : {"127.0.0.1:0", "127.0.0.1", "[127.0.0.1]:2514", "::1:2514"}) {
    EXPECT_FALSE(RelpReceiver::Start(listen, **queue, mutex, Env::Default(), nullptr, 1024))
        << listen;
  }
  testing_support::RemoveTree(dir);
}

}  // namespace
}  // namespace bulwark::receive
