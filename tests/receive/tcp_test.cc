// Syslog over TCP into the durable queue: rsyslog's real streams sent in small pieces, util-linux
// logger, a real rsyslogd forwarding with omfwd; backpressure that loses nothing; connection
// limits and bad input counted per sender.

#include "bulwark/receive/tcp.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include "../support/files.h"
#include "../support/rsyslog.h"
#include "bulwark/receive/framing.h"
#include "drain.h"

namespace bulwark::receive {
namespace {

namespace fs = std::filesystem;
const std::string kPerimeter = std::string(BULWARK_SHARED_DIR) + "/perimeter/";

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t wrote = write(fd, bytes.data(), bytes.size());
    ASSERT_GT(wrote, 0);
    bytes.remove_prefix(static_cast<size_t>(wrote));
  }
}

// Counts of `senders` for one sender, by name.
std::map<std::string, uint64_t> CountsOf(const SenderStats& senders, const std::string& sender) {
  std::map<std::string, uint64_t> out;
  for (const auto& c : senders.Snapshot()) {
    if (c.sender == sender) out[c.what] = c.count;
  }
  return out;
}

class TcpTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::TestDataDir("bulwark-tcp"); }
  void TearDown() override { testing_support::RemoveTree(dir_); }

  // Waits until `queued` messages are in the queue (at most 10 s).
  static void AwaitQueued(const TcpSyslogReceiver& receiver, uint64_t queued) {
    for (int i = 0; i < 1000 && receiver.counters().queued < queued; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  fs::path dir_;
};

TEST_F(TcpTest, RsyslogsStreamsArriveWholeWhateverThePieces) {
  for (const char* file :
       {"rsyslog-rfc5424-octet-counted-tcp.raw", "rsyslog-forwardformat-lf-framed-tcp.raw"}) {
    std::string stream = testing_support::ReadAll(kPerimeter + file);
    ASSERT_FALSE(stream.empty()) << file;
    std::vector<std::string> expected;
    SyslogFramer framer([&](std::string_view m, uint64_t) { expected.emplace_back(m); }, nullptr);
    framer.Feed(stream);
    framer.Finish();
    ASSERT_EQ(expected.size(), 15u);

    testing_support::RemoveTree(dir_);
    auto queue = DurableQueue::Open(dir_.string(), {});
    ASSERT_TRUE(queue);
    std::mutex mutex;
    SenderStats senders;
    auto receiver =
        TcpSyslogReceiver::Start("127.0.0.1:0", **queue, mutex, Env::Default(), &senders, {});
    ASSERT_TRUE(receiver) << receiver.error().ToString();
    int fd = Connect((*receiver)->port());
    ASSERT_GE(fd, 0);
    // Pieces of 7 bytes, each its own segment: frames span reads.
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    for (size_t at = 0; at < stream.size(); at += 7) {
      WriteAll(fd, std::string_view(stream).substr(at, 7));
    }
    close(fd);
    AwaitQueued(**receiver, expected.size());
    (*receiver)->Stop();
    auto messages = DrainQueued(**queue, mutex);
    ASSERT_EQ(messages.size(), expected.size()) << file;
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(messages[i].text, expected[i]);
      EXPECT_EQ(messages[i].sender.ToString(), "127.0.0.1");
      EXPECT_GT(messages[i].received, 0);
    }
    auto counts = CountsOf(senders, "127.0.0.1");
    EXPECT_EQ(counts["messages"], 15u);
    EXPECT_EQ(counts["connections"], 1u);
    EXPECT_EQ((*receiver)->counters().problems, 0u);
    EXPECT_EQ((*receiver)->counters().open, 0u);
  }
}

TEST_F(TcpTest, LoggerWithAndWithoutOctetCounting) {
  if (std::system("command -v logger >/dev/null") != 0) GTEST_SKIP() << "no logger";
  auto queue = DurableQueue::Open(dir_.string(), {});
  ASSERT_TRUE(queue);
  std::mutex mutex;
  auto receiver =
      TcpSyslogReceiver::Start("127.0.0.1:0", **queue, mutex, Env::Default(), nullptr, {});
  ASSERT_TRUE(receiver);
  std::string port = std::to_string((*receiver)->port());
  ASSERT_EQ(std::system(("logger --tcp --octet-count -n 127.0.0.1 -P " + port +
                         " -t bulwark-test 'counted' && logger --tcp -n 127.0.0.1 -P " + port +
                         " -t bulwark-test 'lf framed'")
                            .c_str()),
            0);
  AwaitQueued(**receiver, 2);
  (*receiver)->Stop();
  auto messages = DrainQueued(**queue, mutex);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_TRUE(messages[0].text.ends_with("counted")) << messages[0].text;
  EXPECT_TRUE(messages[1].text.ends_with("lf framed")) << messages[1].text;
}

TEST_F(TcpTest, RsyslogForwardsOverTcp) {
  if (!testing_support::RsyslogSender::Available()) GTEST_SKIP() << "no rsyslogd";
  auto queue = DurableQueue::Open((dir_ / "queue").string(), {});
  ASSERT_TRUE(queue);
  std::mutex mutex;
  auto receiver =
      TcpSyslogReceiver::Start("127.0.0.1:0", **queue, mutex, Env::Default(), nullptr, {});
  ASSERT_TRUE(receiver);
  testing_support::RsyslogSender rsyslog(dir_ / "rsyslog", "",
                                         "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"" +
                                             std::to_string((*receiver)->port()) +
                                             "\" protocol=\"tcp\" TCP_Framing=\"octet-counted\" "
                                             "template=\"RSYSLOG_SyslogProtocol23Format\")");
  for (int i = 0; i < 20; ++i) {
    std::string command = "logger --udp -n 127.0.0.1 -P " + std::to_string(rsyslog.input_port()) +
                          " -t app 'message " + std::to_string(i) + "'";
    ASSERT_EQ(std::system(command.c_str()), 0);
  }
  AwaitQueued(**receiver, 20);
  rsyslog.Stop();
  (*receiver)->Stop();
  auto messages = DrainQueued(**queue, mutex);
  ASSERT_EQ(messages.size(), 20u) << rsyslog.output();
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(messages[i].text.starts_with("<13>1 ")) << messages[i].text;
    EXPECT_TRUE(messages[i].text.ends_with("message " + std::to_string(i))) << messages[i].text;
  }
}

// A queue with room for a few messages and a slow reader: the receiver stops reading the
// connection instead of dropping; every message arrives, in order.
TEST_F(TcpTest, AFullQueuePushesBackAndLosesNothing) {
  DurableQueue::Options tiny;
  tiny.max_bytes = 2048;
  auto queue = DurableQueue::Open(dir_.string(), tiny);
  ASSERT_TRUE(queue);
  std::mutex mutex;
  auto receiver =
      TcpSyslogReceiver::Start("127.0.0.1:0", **queue, mutex, Env::Default(), nullptr, {});
  ASSERT_TRUE(receiver);
  constexpr int kMessages = 3000;
  std::thread sender([port = (*receiver)->port()] {
    int fd = Connect(port);
    std::string stream;
    for (int i = 0; i < kMessages; ++i) {
      stream += "<13>message " + std::to_string(i) + " " + std::string(60, 'x') + "\n";
    }
    WriteAll(fd, stream);
    close(fd);
  });
  std::vector<QueuedMessage> received;
  for (int round = 0; round < 2000 && received.size() < kMessages; ++round) {
    auto some = DrainQueued(**queue, mutex, /*commit=*/true);
    received.insert(received.end(), some.begin(), some.end());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  sender.join();
  (*receiver)->Stop();
  ASSERT_EQ(received.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(received[i].text.starts_with("<13>message " + std::to_string(i) + " "));
  }
  EXPECT_GT((*receiver)->counters().backpressure, 0u);
}

TEST_F(TcpTest, ConnectionsOverTheLimitsAreRefusedAndCounted) {
  auto queue = DurableQueue::Open(dir_.string(), {});
  ASSERT_TRUE(queue);
  std::mutex mutex;
  SenderStats senders;
  TcpSyslogReceiver::Limits limits;
  limits.max_connections_per_sender = 2;
  auto receiver =
      TcpSyslogReceiver::Start("127.0.0.1:0", **queue, mutex, Env::Default(), &senders, limits);
  ASSERT_TRUE(receiver);
  int port = (*receiver)->port();
  int first = Connect(port), second = Connect(port), third = Connect(port);
  ASSERT_GE(third, 0);
  // The third is accepted and closed at once: its read ends.
  char byte;
  EXPECT_EQ(read(third, &byte, 1), 0);
  WriteAll(first, "<13>first\n");
  WriteAll(second, "<13>second\n");
  close(first);
  close(second);
  close(third);
  AwaitQueued(**receiver, 2);
  (*receiver)->Stop();
  EXPECT_EQ((*receiver)->counters().refused, 1u);
  EXPECT_EQ(DrainQueued(**queue, mutex).size(), 2u);
  auto counts = CountsOf(senders, "127.0.0.1");
  EXPECT_EQ(counts["refused_too_many_connections_from_sender"], 1u);
  EXPECT_EQ(counts["connections"], 2u);
}

TEST_F(TcpTest, BadFramesAreCountedPerSenderAndTheStreamGoesOn) {
  auto queue = DurableQueue::Open(dir_.string(), {});
  ASSERT_TRUE(queue);
  std::mutex mutex;
  SenderStats senders;
  TcpSyslogReceiver::Limits limits;
  limits.max_message = 64;
  auto receiver =
      TcpSyslogReceiver::Start("127.0.0.1:0", **queue, mutex, Env::Default(), &senders, limits);
  ASSERT_TRUE(receiver);
  int fd = Connect((*receiver)->port());
  // A lying count, an over-long line, a good counted frame, a frame cut by the end of stream.
  WriteAll(fd, "999999 lies\n<13>" + std::string(100, 'y') + "\n9 <13>good\n20 <13>cut");
  close(fd);
  AwaitQueued(**receiver, 4);
  (*receiver)->Stop();
  auto messages = DrainQueued(**queue, mutex);
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0].text, "999999 lies");
  EXPECT_EQ(messages[1].text.size(), 64u);
  EXPECT_EQ(messages[2].text, "<13>good");
  EXPECT_EQ(messages[3].text, "<13>cut");
  auto counts = CountsOf(senders, "127.0.0.1");
  EXPECT_EQ(counts["count_over_limit"], 1u);
  EXPECT_EQ(counts["message_cut"], 1u);
  EXPECT_EQ(counts["stream_ended_short"], 1u);
  EXPECT_EQ((*receiver)->counters().problems, 3u);
}

TEST(TcpReceiver, BadListenAddressesAreRefused) {
  auto queue_dir = testing_support::TestDataDir("bulwark-tcp-listen");
  auto queue = DurableQueue::Open(queue_dir.string(), {});
  ASSERT_TRUE(queue);
  std::mutex mutex;
  for (const char* listen : {"localhost", "127.0.0.1:99999", "::1:514", "300.1.1.1:514"}) {
    auto receiver = TcpSyslogReceiver::Start(listen, **queue, mutex, Env::Default(), nullptr, {});
    EXPECT_FALSE(receiver) << listen;
  }
  auto v6 = TcpSyslogReceiver::Start("[::1]:0", **queue, mutex, Env::Default(), nullptr, {});
  if (v6) {
    EXPECT_GT((*v6)->port(), 0);  // where the machine has IPv6 loopback
  }
  testing_support::RemoveTree(queue_dir);
}

}  // namespace
}  // namespace bulwark::receive
