// RFC 6587 framing of syslog streams: rsyslog's real streams (octet-counted, over TLS, LF
// framed), util-linux logger over a real TCP connection, every split of the stream, bad input.

#include "bulwark/receive/framing.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "../support/files.h"

namespace bulwark::receive {
namespace {

const std::string kPerimeter = std::string(BULWARK_SHARED_DIR) + "/perimeter/";

struct Framed {
  std::vector<std::string> messages;
  std::vector<FramingProblem> problems;
};

// The stream fed in pieces of `piece` bytes (0: at once).
Framed Frame(std::string_view stream, size_t piece = 0, SyslogFramer::Options options = {}) {
  Framed out;
  SyslogFramer framer([&](std::string_view m, uint64_t) { out.messages.emplace_back(m); },
                      [&](const FramingProblem& p) { out.problems.push_back(p); }, options);
  if (piece == 0) piece = stream.size() + 1;
  for (size_t at = 0; at < stream.size(); at += piece) framer.Feed(stream.substr(at, piece));
  framer.Finish();
  return out;
}

TEST(SyslogFramer, ReadsRsyslogsStreams) {
  std::string counted =
      testing_support::ReadAll(kPerimeter + "rsyslog-rfc5424-octet-counted-tcp.raw");
  std::string tls =
      testing_support::ReadAll(kPerimeter + "rsyslog-rfc5424-octet-counted-tls-decrypted.raw");
  std::string lines =
      testing_support::ReadAll(kPerimeter + "rsyslog-forwardformat-lf-framed-tcp.raw");
  ASSERT_FALSE(counted.empty());
  Framed a = Frame(counted);
  Framed b = Frame(tls);
  Framed c = Frame(lines);
  EXPECT_TRUE(a.problems.empty());
  EXPECT_TRUE(c.problems.empty());
  ASSERT_EQ(a.messages.size(), 15u);
  EXPECT_EQ(a.messages, b.messages);
  ASSERT_EQ(c.messages.size(), a.messages.size());
  for (size_t i = 0; i < a.messages.size(); ++i) {
    // rsyslog's trailing newline inside each counted frame is gone.
    EXPECT_TRUE(a.messages[i].starts_with("<")) << a.messages[i];
    EXPECT_FALSE(a.messages[i].ends_with("\n")) << i;
    EXPECT_TRUE(c.messages[i].starts_with("<")) << c.messages[i];
    // The same message text in both formats: the part after the header.
    std::string tail = c.messages[i].substr(c.messages[i].size() - 20);
    EXPECT_NE(a.messages[i].find(tail), std::string::npos) << a.messages[i] << "\n" << tail;
  }
  EXPECT_NE(a.messages[0].find("Failed password for root from 10.213.7.1"), std::string::npos);
}

// Where the pieces of a stream end does not change what it says.
TEST(SyslogFramer, EverySplitReadsAlike) {
  std::string stream =
      testing_support::ReadAll(kPerimeter + "rsyslog-rfc5424-octet-counted-tcp.raw") +
      testing_support::ReadAll(kPerimeter + "rsyslog-forwardformat-lf-framed-tcp.raw") +
      "12 <13>1 - - x\n" + "7 \n\n\n" + "2026-11-26 plain line\r\n";
  Framed whole = Frame(stream);
  for (size_t piece = 1; piece <= 64; ++piece) {
    Framed split = Frame(stream, piece);
    ASSERT_EQ(split.messages, whole.messages) << "pieces of " << piece;
    ASSERT_EQ(split.problems.size(), whole.problems.size());
  }
}

TEST(SyslogFramer, BadFramesAreReadAndReported) {
  SyslogFramer::Options small;
  small.max_message = 16;
  // A count over the limit: the frame is read as a line, and said so.
  Framed lying = Frame("999999 <13>too long a claim\n5 <13>x", 0, small);
  ASSERT_EQ(lying.messages.size(), 2u);
  EXPECT_EQ(lying.messages[0], "999999 <13>too l");  // and cut to the limit
  EXPECT_EQ(lying.messages[1], "<13>x");
  ASSERT_EQ(lying.problems.size(), 2u);
  EXPECT_NE(lying.problems[0].reason.find("octet count 999999"), std::string::npos);
  EXPECT_NE(lying.problems[1].reason.find("cut"), std::string::npos);
  // Digits that are no count begin a line; leading zeros are no count. (Digits and a space are
  // a count, as for rsyslog: a message framed by LF begins with its <PRI>.)
  Framed digits = Frame("2026-11-26 starts with a date\n0 zero\n", 0);
  EXPECT_EQ(digits.messages, (std::vector<std::string>{"2026-11-26 starts with a date", "0 zero"}));
  EXPECT_TRUE(digits.problems.empty());
  // A counted frame cut by the end of the stream is given, and reported with its offset.
  Framed cut = Frame("<1>a\n10 <13>abc", 0);
  EXPECT_EQ(cut.messages, (std::vector<std::string>{"<1>a", "<13>abc"}));
  ASSERT_EQ(cut.problems.size(), 1u);
  EXPECT_EQ(cut.problems[0].offset, 5u);
  // An over-long line is cut and the rest of it skipped; the next message is whole.
  Framed long_line = Frame(std::string(40, 'x') + "\n<13>next\n", 3, small);
  EXPECT_EQ(long_line.messages, (std::vector<std::string>{std::string(16, 'x'), "<13>next"}));
}

// util-linux logger over a real TCP connection, with and without octet counting.
TEST(SyslogFramer, ReadsLoggerOverTcp) {
  if (std::system("command -v logger >/dev/null") != 0) GTEST_SKIP() << "no logger";
  for (bool octets : {true, false}) {
    int server = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(server, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t length = sizeof address;
    getsockname(server, reinterpret_cast<sockaddr*>(&address), &length);
    ASSERT_EQ(listen(server, 1), 0);
    std::string command = "logger --tcp " + std::string(octets ? "--octet-count " : "") +
                          "-n 127.0.0.1 -P " + std::to_string(ntohs(address.sin_port)) +
                          " -t bulwark-test 'first message' && logger --tcp " +
                          std::string(octets ? "--octet-count " : "") + "-n 127.0.0.1 -P " +
                          std::to_string(ntohs(address.sin_port)) +
                          " -t bulwark-test 'second message'";
    FILE* sender = popen(command.c_str(), "r");
    ASSERT_NE(sender, nullptr);
    std::vector<std::string> messages;
    SyslogFramer framer([&](std::string_view m, uint64_t) { messages.emplace_back(m); },
                        [](const FramingProblem& p) { ADD_FAILURE() << p.reason; });
    for (int connection = 0; connection < 2; ++connection) {
      int client = accept(server, nullptr, nullptr);
      ASSERT_GE(client, 0);
      char buffer[4096];
      ssize_t got;
      while ((got = read(client, buffer, sizeof buffer)) > 0) {
        framer.Feed(std::string_view(buffer, static_cast<size_t>(got)));
      }
      framer.Finish();
      close(client);
    }
    EXPECT_EQ(pclose(sender), 0);
    close(server);
    ASSERT_EQ(messages.size(), 2u) << (octets ? "octet counting" : "LF framing");
    EXPECT_TRUE(messages[0].ends_with("first message")) << messages[0];
    EXPECT_TRUE(messages[1].ends_with("second message")) << messages[1];
    EXPECT_TRUE(messages[0].starts_with("<13>1 ")) << messages[0];  // RFC 5424, user.notice
  }
}

}  // namespace
}  // namespace bulwark::receive
