// Syslog over TCP into the durable queue: rsyslog's real streams sent in small pieces, util-linux
// logger, a real rsyslogd forwarding with omfwd; backpressure that loses nothing; connection
// limits and bad input counted per sender.

#include "bulwark/receive/tcp.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include "../support/files.h"
#include "../support/rsyslog.h"
#include "../support/test_pki.h"
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
  TcpSyslogReceiver::Options limits;
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
  TcpSyslogReceiver::Options limits;
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

// Sends `bytes` over TLS to 127.0.0.1:`port` as a client with `certificate`/`key` (empty: none),
// checking the server against `ca`; then closes. Returns whether the handshake succeeded.
bool TlsSend(int port, const std::string& ca, const std::string& certificate,
             const std::string& key, const std::string& bytes) {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(context, ca.c_str(), nullptr);
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  if (!certificate.empty()) {
    SSL_CTX_use_certificate_file(context, certificate.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(context, key.c_str(), SSL_FILETYPE_PEM);
  }
  int fd = Connect(port);
  SSL* tls = SSL_new(context);
  SSL_set_fd(tls, fd);
  SSL_set_tlsext_host_name(tls, "localhost");
  bool ok = SSL_connect(tls) == 1;
  if (ok) {
    SSL_write(tls, bytes.data(), static_cast<int>(bytes.size()));
    SSL_shutdown(tls);
    char buffer[256];
    while (SSL_read(tls, buffer, sizeof buffer) > 0) {
    }
  }
  SSL_free(tls);
  close(fd);
  SSL_CTX_free(context);
  return ok;
}

class TlsTest : public TcpTest {
 protected:
  void SetUp() override {
    TcpTest::SetUp();
    // The test's clients write to connections the receiver closes (a refused client).
    std::signal(SIGPIPE, SIG_IGN);
    pki_ = std::make_unique<testing_support::TestPki>(dir_ / "pki");
    ASSERT_TRUE(pki_->ok()) << "openssl could not make the test certificates";
    ASSERT_TRUE(pki_->Issue("fw1", "fw1.customer.example"));
    ASSERT_TRUE(pki_->Issue("intruder", "intruder.example"));
  }

  TcpSyslogReceiver::Tls ServerTls() const {
    TcpSyslogReceiver::Tls tls;
    tls.certificate_file = pki_->Path("server.pem");
    tls.key_file = pki_->Path("server.key");
    return tls;
  }

  // Waits until `senders` counts `what` for 127.0.0.1 at least `n` times (at most 5 s).
  static void AwaitCount(const SenderStats& senders, const std::string& what, uint64_t n) {
    for (int i = 0; i < 500 && CountsOf(senders, "127.0.0.1")[what] < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  std::unique_ptr<testing_support::TestPki> pki_;
};

TEST_F(TlsTest, ClientCertificatesNameTheSenderAndTheAllowListHolds) {
  auto queue = DurableQueue::Open((dir_ / "queue").string(), {});
  ASSERT_TRUE(queue);
  std::mutex mutex;
  SenderStats senders;
  TcpSyslogReceiver::Options options;
  options.tls = ServerTls();
  options.tls->client_ca_file = pki_->Path("ca.pem");
  options.tls->require_client_certificate = true;
  options.tls->allowed_clients = {"fw1.customer.example"};
  auto receiver =
      TcpSyslogReceiver::Start("127.0.0.1:0", **queue, mutex, Env::Default(), &senders, options);
  ASSERT_TRUE(receiver) << receiver.error().ToString();
  int port = (*receiver)->port();
  std::string ca = pki_->Path("ca.pem");
  // Allowed: its messages arrive with its certificate's name.
  EXPECT_TRUE(TlsSend(port, ca, pki_->Path("fw1.pem"), pki_->Path("fw1.key"),
                      "13 <13>fw1 first14 <13>fw1 second"));
  AwaitQueued(**receiver, 2);
  // A certificate of the same CA that the allow-list does not name; no certificate; not TLS.
  TlsSend(port, ca, pki_->Path("intruder.pem"), pki_->Path("intruder.key"), "<13>intruder\n");
  AwaitCount(senders, "tls_client_not_allowed", 1);
  TlsSend(port, ca, "", "", "<13>anonymous\n");
  int plain = Connect(port);
  WriteAll(plain, "<13>plain text\n");
  close(plain);
  AwaitCount(senders, "tls_handshake_failed", 2);
  (*receiver)->Stop();
  auto messages = DrainQueued(**queue, mutex);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].text, "<13>fw1 first");
  EXPECT_EQ(messages[1].text, "<13>fw1 second");
  EXPECT_EQ(messages[0].sender_name, "fw1.customer.example");
  auto counts = CountsOf(senders, "127.0.0.1");
  EXPECT_EQ(counts["tls_client_not_allowed"], 1u);
  EXPECT_EQ(counts["tls_handshake_failed"], 2u);
  EXPECT_EQ(counts["messages"], 2u);
}

TEST_F(TlsTest, RsyslogForwardsOverTlsWithItsCertificate) {
  if (!testing_support::RsyslogSender::Available()) GTEST_SKIP() << "no rsyslogd";
  if (!fs::exists("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so")) {
    GTEST_SKIP() << "no rsyslog-openssl";
  }
  auto queue = DurableQueue::Open((dir_ / "queue").string(), {});
  ASSERT_TRUE(queue);
  std::mutex mutex;
  TcpSyslogReceiver::Options options;
  options.tls = ServerTls();
  options.tls->client_ca_file = pki_->Path("ca.pem");
  options.tls->allowed_clients = {"fw1.customer.example"};
  auto receiver =
      TcpSyslogReceiver::Start("127.0.0.1:0", **queue, mutex, Env::Default(), nullptr, options);
  ASSERT_TRUE(receiver);
  testing_support::RsyslogSender rsyslog(
      dir_ / "rsyslog",
      "global(DefaultNetstreamDriver=\"ossl\" DefaultNetstreamDriverCAFile=\"" +
          pki_->Path("ca.pem") + "\" DefaultNetstreamDriverCertFile=\"" + pki_->Path("fw1.pem") +
          "\" DefaultNetstreamDriverKeyFile=\"" + pki_->Path("fw1.key") + "\")",
      "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"" + std::to_string((*receiver)->port()) +
          "\" protocol=\"tcp\" StreamDriver=\"ossl\" StreamDriverMode=\"1\" "
          "StreamDriverAuthMode=\"x509/name\" StreamDriverPermittedPeers=\"localhost\" "
          "TCP_Framing=\"octet-counted\" template=\"RSYSLOG_SyslogProtocol23Format\")");
  for (int i = 0; i < 10; ++i) {
    std::string command = "logger --udp -n 127.0.0.1 -P " + std::to_string(rsyslog.input_port()) +
                          " -t app 'over tls " + std::to_string(i) + "'";
    ASSERT_EQ(std::system(command.c_str()), 0);
  }
  AwaitQueued(**receiver, 10);
  rsyslog.Stop();
  (*receiver)->Stop();
  auto messages = DrainQueued(**queue, mutex);
  ASSERT_EQ(messages.size(), 10u) << rsyslog.output();
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(messages[i].text.ends_with("over tls " + std::to_string(i))) << messages[i].text;
    EXPECT_EQ(messages[i].sender_name, "fw1.customer.example");
  }
}

TEST_F(TlsTest, BadTlsFilesStopTheStart) {
  auto queue = DurableQueue::Open((dir_ / "queue").string(), {});
  ASSERT_TRUE(queue);
  std::mutex mutex;
  TcpSyslogReceiver::Options options;
  options.tls = ServerTls();
  options.tls->key_file = pki_->Path("fw1.key");  // another certificate's key
  auto mismatched =
      TcpSyslogReceiver::Start("127.0.0.1:0", **queue, mutex, Env::Default(), nullptr, options);
  ASSERT_FALSE(mismatched);
  EXPECT_NE(mismatched.error().message.find("cannot use the key"), std::string::npos)
      << mismatched.error().ToString();
  options.tls->certificate_file = pki_->Path("missing.pem");
  auto missing =
      TcpSyslogReceiver::Start("127.0.0.1:0", **queue, mutex, Env::Default(), nullptr, options);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().where, pki_->Path("missing.pem"));
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
