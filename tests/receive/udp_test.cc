// Syslog over UDP into the durable queue: rsyslog's real datagrams (replayed from the capture over
// a real socket) and util-linux logger arrive with their sender; a full queue counts drops.

#include "bulwark/receive/udp.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include "../support/files.h"
#include "bulwark/flow/flow.h"
#include "drain.h"

namespace bulwark::receive {
namespace {

namespace fs = std::filesystem;

class UdpTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::TestDataDir("bulwark-udp"); }
  void TearDown() override { testing_support::RemoveTree(dir_); }

  void Send(int port, const std::string& payload) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    close(fd);
  }

  // Waits until the receiver has seen `count` datagrams (at most 5 s).
  void AwaitDatagrams(const UdpReceiver& receiver, uint64_t count) {
    for (int i = 0; i < 500 && receiver.counters().datagrams < count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  fs::path dir_;
};

TEST_F(UdpTest, RsyslogsDatagramsAndLoggerArriveWithTheirSender) {
  auto queue = DurableQueue::Open(dir_.string(), {});
  ASSERT_TRUE(queue);
  std::mutex mutex;
  auto receiver = UdpReceiver::Start("127.0.0.1:0", **queue, mutex, Env::Default());
  ASSERT_TRUE(receiver) << receiver.error().ToString();
  // rsyslog's UDP forwards, as captured on the wire (port 5140), sent again over loopback.
  std::vector<std::string> sent;
  auto read = flow::ForEachUdpDatagram(
      std::string(BULWARK_SHARED_DIR) + "/perimeter/rsyslog-wire-udp-tcp-tls.pcap",
      [&](const flow::Datagram& d) {
        if (d.destination_port != 5140) return;
        sent.emplace_back(d.payload);
        Send((*receiver)->port(), sent.back());
      });
  ASSERT_TRUE(read);
  ASSERT_EQ(sent.size(), 15u);
  ASSERT_EQ(std::system(("logger --udp -n 127.0.0.1 -P " + std::to_string((*receiver)->port()) +
                         " -t bulwark-test 'over UDP'")
                            .c_str()),
            0);
  AwaitDatagrams(**receiver, 16);
  (*receiver)->Stop();
  auto counters = (*receiver)->counters();
  EXPECT_EQ(counters.datagrams, 16u);
  EXPECT_EQ(counters.queued, 16u);
  EXPECT_EQ(counters.dropped, 0u);
  auto messages = DrainQueued(**queue, mutex);
  ASSERT_EQ(messages.size(), 16u);
  for (size_t i = 0; i < sent.size(); ++i) {
    std::string expected = sent[i];
    while (!expected.empty() && (expected.back() == '\n' || expected.back() == '\0')) {
      expected.pop_back();
    }
    EXPECT_EQ(messages[i].text, expected);
    EXPECT_EQ(messages[i].sender.ToString(), "127.0.0.1");
    EXPECT_GT(messages[i].received, 0);
  }
  // rsyslog escaped the embedded newline as #012; it stays as sent.
  EXPECT_TRUE(std::any_of(messages.begin(), messages.end(), [](const QueuedMessage& m) {
    return m.text.find("#012") != std::string::npos;
  }));
  EXPECT_TRUE(messages.back().text.ends_with("over UDP")) << messages.back().text;
}

TEST_F(UdpTest, AFullQueueCountsDrops) {
  DurableQueue::Options tiny;
  tiny.max_bytes = 1000;
  auto queue = DurableQueue::Open(dir_.string(), tiny);
  ASSERT_TRUE(queue);
  std::mutex mutex;
  SenderStats senders;
  auto receiver = UdpReceiver::Start("127.0.0.1:0", **queue, mutex, Env::Default(), &senders);
  ASSERT_TRUE(receiver);
  for (int i = 0; i < 40; ++i) Send((*receiver)->port(), "<13>" + std::string(100, 'x'));
  AwaitDatagrams(**receiver, 40);
  (*receiver)->Stop();
  auto counters = (*receiver)->counters();
  EXPECT_EQ(counters.datagrams, 40u);
  EXPECT_GT(counters.dropped, 0u);
  EXPECT_EQ(counters.queued + counters.dropped, 40u);
  EXPECT_EQ(DrainQueued(**queue, mutex).size(), counters.queued);
  // Counted for the sender too.
  std::map<std::string, uint64_t> counts;
  for (const auto& c : senders.Snapshot()) {
    EXPECT_EQ(c.sender, "127.0.0.1");
    counts[c.what] = c.count;
  }
  EXPECT_EQ(counts["messages"], counters.queued);
  EXPECT_EQ(counts["dropped_queue_full"], counters.dropped);
}

TEST(Udp, ARecordWithoutItsHeaderIsRefused) {
  EXPECT_FALSE(DecodeQueued("short"));
  QueuedMessage m{event::IpAddress::V4(0x0a000001), 42, "", "<13>hello"};
  auto back = DecodeQueued(EncodeQueued(m));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sender.ToString(), "10.0.0.1");
  EXPECT_EQ(back->received, 42);
  EXPECT_EQ(back->sender_name, "");
  EXPECT_EQ(back->text, "<13>hello");
  m.sender_name = "fw1.customer.example";
  back = DecodeQueued(EncodeQueued(m));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sender_name, "fw1.customer.example");
  EXPECT_EQ(back->text, "<13>hello");
  // A name longer than the record holds.
  std::string record = EncodeQueued(m);
  EXPECT_FALSE(DecodeQueued(record.substr(0, 30)));
}

}  // namespace
}  // namespace bulwark::receive
