// Exactly once across kill -9: `bulwark serve` receives messages over TCP into its durable queue
// and is killed (SIGKILL) at different moments while it turns them into findings; restarted, it
// resumes behind the last message whose findings were stored. Every queued message ends up as
// exactly one finding: none lost, none written twice.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "../support/files.h"
#include "../support/net.h"
#include "../support/sample_inventory.h"

namespace bulwark {
namespace {

constexpr int kMessagesPerRound = 20000;

// (findings, distinct source addresses among them) in the store of `data`.
std::pair<int64_t, int64_t> CountFindings(const std::string& data) {
  sqlite3* db = nullptr;
  std::pair<int64_t, int64_t> counts{-1, -1};
  if (sqlite3_open_v2((data + "/bulwark.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* statement = nullptr;
    const char* sql =
        "SELECT COUNT(*), COUNT(DISTINCT json_extract(document, '$.\"source.ip\"')) FROM findings";
    if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      counts = {sqlite3_column_int64(statement, 0), sqlite3_column_int64(statement, 1)};
    }
    sqlite3_finalize(statement);
  }
  sqlite3_close(db);
  return counts;
}

class ReceiveCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::TestDataDir("bulwark-receive-crash");
    data_ = (dir_ / "data").string();
    ASSERT_TRUE(testing_support::SampleStore(data_));
    std::ofstream(dir_ / "probe.yml") << R"(title: Crash test probe
id: 5a0c3f0e-1111-4c5e-9a66-000000000001
status: test
logsource: {product: bulwark-test}
detection:
  sel:
    message|contains: crash-probe
  condition: sel
level: high
tags: [attack.reconnaissance, attack.t1595]
)";
    receiver_port_ = testing_support::FreePort();
    api_port_ = testing_support::FreePort();
    std::ofstream(dir_ / "bulwark.yml")
        << "data_dir: " << data_ << "\n"
        << "listen: 127.0.0.1:" << api_port_ << "\n"
        << "rules: [" << (dir_ / "probe.yml").string() << "]\n"
        << "mail: {print: " << (dir_ / "mails.txt").string() << "}\n"
        << "receivers:\n"
        << "  - {name: probe, protocol: tcp, listen: 127.0.0.1:" << receiver_port_
        << ", format: jsonl}\n";
  }
  void TearDown() override {
    if (pid_ > 0) Kill(SIGKILL);
    testing_support::RemoveTree(dir_);
  }

  void StartServe() {
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::freopen((dir_ / "serve.log").c_str(), "a", stderr);
      (void)out;
      std::string config = (dir_ / "bulwark.yml").string();
      execl(BULWARK_BINARY, "bulwark", "serve", "--config", config.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200 && !testing_support::Accepts(receiver_port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ASSERT_TRUE(testing_support::Accepts(receiver_port_)) << Log();
  }

  void Kill(int signal) {
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // Sends messages [first, first + count) over one connection, each from its own address.
  void Send(int first, int count) {
    std::string stream;
    for (int i = first; i < first + count; ++i) {
      stream += R"({"message":"crash-probe )" + std::to_string(i) + R"(","source.ip":"10.)" +
                std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) + "." +
                std::to_string(i & 255) + "\"}\n";
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(receiver_port_));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    std::string_view rest = stream;
    while (!rest.empty()) {
      ssize_t wrote = write(fd, rest.data(), rest.size());
      ASSERT_GT(wrote, 0);
      rest.remove_prefix(static_cast<size_t>(wrote));
    }
    close(fd);
  }

  // The receiver's count of queued messages from /metrics; -1 when it cannot be read.
  int64_t Queued() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(api_port_));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      close(fd);
      return -1;
    }
    std::string request = "GET /metrics HTTP/1.0\r\n\r\n";
    if (write(fd, request.data(), request.size()) < 0) return -1;
    std::string response;
    char buffer[8192];
    ssize_t got;
    while ((got = read(fd, buffer, sizeof buffer)) > 0) response.append(buffer, got);
    close(fd);
    std::string key = "bulwark_receiver_messages_total{receiver=\"probe\",result=\"queued\"} ";
    size_t at = response.find(key);
    return at == std::string::npos ? -1 : std::stoll(response.substr(at + key.size()));
  }

  std::string Log() const { return testing_support::ReadAll(dir_ / "serve.log"); }

  std::filesystem::path dir_;
  std::string data_;
  int receiver_port_ = 0, api_port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(ReceiveCrashTest, KilledWhileProcessingTakesEveryQueuedMessageExactlyOnce) {
  int killed_midway = 0;
  int sent = 0;
  for (int delay_ms : {30, 150, 600}) {
    StartServe();
    Send(sent, kMessagesPerRound);
    sent += kMessagesPerRound;
    // Everything is on disk (queued counts appends; the sync follows within the round).
    for (int i = 0; i < 400 && Queued() < kMessagesPerRound; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ASSERT_EQ(Queued(), kMessagesPerRound) << Log();
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    Kill(SIGKILL);
    auto at_kill = CountFindings(data_);
    if (at_kill.first < sent) ++killed_midway;
    std::cerr << "killed after " << delay_ms << " ms: " << at_kill.first << " of " << sent << "\n";
    EXPECT_EQ(at_kill.first, at_kill.second) << "a message taken twice before the kill";
    // Restarted, it takes the rest.
    StartServe();
    std::pair<int64_t, int64_t> counts;
    for (int i = 0; i < 600; ++i) {
      counts = CountFindings(data_);
      if (counts.first >= sent) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Kill(SIGTERM);
    counts = CountFindings(data_);
    EXPECT_EQ(counts.first, sent) << "killed after " << delay_ms << " ms, findings then "
                                  << at_kill.first << "\n"
                                  << Log();
    EXPECT_EQ(counts.second, sent);
  }
  // The kills hit processing in progress (else the test proves nothing).
  EXPECT_GE(killed_midway, 1);
}

}  // namespace
}  // namespace bulwark
