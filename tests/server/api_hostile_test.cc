// The service against what the internet and its own customers send it: bounded customer
// writes, paging everywhere, what a customer sees of another party's evidence, declared media
// types, sane dates, ambiguous message framing, oversized request heads, slow connections, and a
// stop that answers the requests in progress.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <future>
#include <thread>

#include "api_fixture.h"

namespace bulwark::server {
namespace {

using namespace std::chrono_literals;

// A TCP connection to the service from `source` (any 127.0.0.0/8 address); -1 when refused.
int Connect(int port, const char* source = "127.0.0.1") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source, &from.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) {
    close(fd);
    return -1;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    close(fd);
    return -1;
  }
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  return fd;
}

// Sends `bytes` as they are and reads until the server closes or 5 s pass.
std::string Raw(int port, const std::string& bytes) {
  int fd = Connect(port);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  std::string reply;
  char buffer[4096];
  ssize_t got;
  while ((got = recv(fd, buffer, sizeof buffer, 0)) > 0) reply.append(buffer, got);
  close(fd);
  return reply;
}

class HostileTest : public ApiTest {
 protected:
  void Configure(config::Config& config) override {
    config.api.max_comment_bytes = 200;
    config.api.comments_per_minute = 3;
    config.api.max_comments_per_incident = 4;
  }
  // The id part of a "bwk_<id>_<secret>" token.
  static std::string TokenId(const std::string& token) {
    return token.substr(4, token.find('_', 4) - 4);
  }
};

TEST_F(HostileTest, CustomerCommentsAreBounded) {
  std::string too_long = R"({"text": ")" + std::string(201, 'x') + R"("})";
  auto big = Call("POST", "/api/v1/incidents/2/comments", globex_, too_long);
  EXPECT_EQ(big.status, 413) << big.body;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Call("POST", "/api/v1/incidents/2/comments", globex_, R"({"text": "hi"})").status,
              201);
  }
  auto fourth = Call("POST", "/api/v1/incidents/2/comments", globex_, R"({"text": "hi"})");
  EXPECT_EQ(fourth.status, 429) << fourth.body;
  EXPECT_NE(fourth.headers.find("Retry-After:"), std::string::npos);
  // Another token has its own rate; the incident has its own bound (4 comments).
  EXPECT_EQ(Call("POST", "/api/v1/incidents/2/comments", analyst_, R"({"text": "ok"})").status,
            201);
  auto full = Call("POST", "/api/v1/incidents/2/comments", analyst_, R"({"text": "more"})");
  EXPECT_EQ(full.status, 409) << full.body;
  // Internal notes are not comments: they do not count, and customers do not see them.
  EXPECT_EQ(Call("POST", "/api/v1/incidents/2/comments", analyst_,
                 R"({"text": "customer is slow", "internal": true})")
                .status,
            201);
}

TEST_F(HostileTest, CustomersSeeNoInternalNotesAndNoStaffTokenIds) {
  ASSERT_EQ(Call("POST", "/api/v1/incidents/2/comments", analyst_,
                 R"({"text": "customer is slow", "internal": true})")
                .status,
            201);
  ASSERT_EQ(
      Call("POST", "/api/v1/incidents/2/comments", analyst_, R"({"text": "please patch"})").status,
      201);
  EXPECT_EQ(
      Call("POST", "/api/v1/incidents/2/comments", globex_, R"({"text": "x", "internal": true})")
          .status,
      403);
  auto staff_view = Call("GET", "/api/v1/incidents/2", analyst_);
  EXPECT_NE(staff_view.body.find("customer is slow"), std::string::npos);
  EXPECT_NE(staff_view.body.find(TokenId(analyst_)), std::string::npos);
  auto customer_view = Call("GET", "/api/v1/incidents/2", globex_);
  ASSERT_EQ(customer_view.status, 200);
  EXPECT_EQ(customer_view.body.find("customer is slow"), std::string::npos) << customer_view.body;
  EXPECT_NE(customer_view.body.find("please patch"), std::string::npos);
  EXPECT_EQ(customer_view.body.find(TokenId(analyst_)), std::string::npos) << customer_view.body;
  EXPECT_NE(customer_view.body.find("\"actor\":\"analyst\""), std::string::npos);
  auto history = Call("GET", "/api/v1/incidents/2/history", globex_);
  EXPECT_EQ(history.body.find("customer is slow"), std::string::npos);
}

// Globex's shop attacked ACME's web1: Globex sees the attack, not ACME's log lines, host or
// user names - in the API and in the mail.
TEST_F(HostileTest, TheAttackersOwnerSeesTheAttackNotTheVictimsLogs) {
  std::string alert =
      R"({"feed.name": "bulwark-detect", "classification.type": "brute-force", )"
      R"("classification.identifier": "ssh-brute-force", "source.ip": "198.51.100.21", )"
      R"("time.source": "2026-11-20T10:00:00Z", "extra.severity": "high", )"
      R"("extra.rule_title": "SSH brute force", "extra.count": "25", )"
      R"("extra.user_name": "acme-admin", "destination.fqdn": "web1.acme.example", )"
      R"("raw": "Nov 20 10:00:00 web1 sshd[1]: Failed password for acme-admin from 198.51.100.21"})";
  auto posted = Call("POST", "/api/v1/findings", analyst_, alert);
  ASSERT_EQ(posted.status, 200) << posted.body;
  size_t at = posted.body.find("\"incident\":");
  ASSERT_NE(at, std::string::npos);
  std::string id = posted.body.substr(at + 11, posted.body.find_first_of(",}", at) - at - 11);
  auto staff = Call("GET", "/api/v1/incidents/" + id, analyst_);
  EXPECT_NE(staff.body.find("Failed password"), std::string::npos) << staff.body;
  auto customer = Call("GET", "/api/v1/incidents/" + id, globex_);
  ASSERT_EQ(customer.status, 200) << customer.body;
  for (const char* secret : {"Failed password", "acme-admin", "web1.acme.example"}) {
    EXPECT_EQ(customer.body.find(secret), std::string::npos) << secret << "\n" << customer.body;
  }
  EXPECT_NE(customer.body.find("25 events matching"), std::string::npos) << customer.body;
  service_->Tick();  // the mail to Globex
  std::string mails = testing_support::ReadAll(config_.mail.print);
  ASSERT_NE(mails.find("abuse@globex.example"), std::string::npos);
  for (const char* secret : {"Failed password", "acme-admin", "web1.acme.example"}) {
    EXPECT_EQ(mails.find(secret), std::string::npos) << secret;
  }
}

TEST_F(HostileTest, ListsPageAndSayWhenTheyEnd) {
  // Three incidents: a page of three is the last page.
  auto all = Call("GET", "/api/v1/incidents?limit=3", analyst_);
  EXPECT_NE(all.body.find("\"next_after\":null"), std::string::npos) << all.body;
  EXPECT_EQ(Call("GET", "/api/v1/incidents?limit=0", analyst_).status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/incidents?after=x", analyst_).status, 400);
  // The unattributed queue pages like the others.
  std::string nobody;
  for (int i = 0; i < 3; ++i) {
    nobody += fmt::format(
        R"({{"feed.name": "t", "classification.type": "scanner", "source.ip": "192.0.2.{}", )"
        R"("time.source": "2026-11-20T10:00:00Z"}})"
        "\n",
        200 + i);
  }
  ASSERT_EQ(Call("POST", "/api/v1/findings", analyst_, nobody).status, 200);
  auto first = Call("GET", "/api/v1/findings/unattributed?limit=2", analyst_);
  size_t at = first.body.find("\"next_after\":");
  ASSERT_NE(at, std::string::npos) << first.body;
  std::string next = first.body.substr(at + 13, first.body.find('}', at) - at - 13);
  ASSERT_NE(next, "null");
  auto second = Call("GET", "/api/v1/findings/unattributed?limit=2&after=" + next, analyst_);
  EXPECT_NE(second.body.find("192.0.2.202"), std::string::npos) << second.body;
  EXPECT_NE(second.body.find("\"next_after\":null"), std::string::npos) << second.body;
  // An incident's findings page too (incident 1 has two).
  auto one = Call("GET", "/api/v1/incidents/1?limit=1", analyst_);
  at = one.body.find("\"finding_list_next_after\":");
  ASSERT_NE(at, std::string::npos) << one.body;
  next = one.body.substr(at + 26, one.body.find(',', at) - at - 26);
  ASSERT_NE(next, "null");
  auto rest = Call("GET", "/api/v1/incidents/1/findings?limit=1&after=" + next, analyst_);
  EXPECT_EQ(rest.status, 200);
  EXPECT_NE(rest.body.find("\"next_after\":null"), std::string::npos) << rest.body;
  EXPECT_NE(rest.body.find("2026-03-02"), std::string::npos) << rest.body;
}

TEST_F(HostileTest, BodiesAreOfTheDeclaredType) {
  auto form = Call("POST", "/api/v1/incidents/1/comments", analyst_, R"({"text": "x"})",
                   {"Content-Type: application/x-www-form-urlencoded"});
  EXPECT_EQ(form.status, 415) << form.body;
  EXPECT_NE(form.body.find("--data-binary"), std::string::npos);
  EXPECT_EQ(
      Call("POST", "/api/v1/reports", analyst_, "x", {"Content-Type: multipart/form-data"}).status,
      415);
  EXPECT_EQ(Call("POST", "/api/v1/findings", analyst_, "{}", {"Content-Type: text/html"}).status,
            415);
  EXPECT_EQ(Call("POST", "/api/v1/incidents/1/comments", analyst_, R"({"text": "x"})",
                 {"Content-Type: application/json; charset=utf-8"})
                .status,
            201);
}

TEST_F(HostileTest, DatesOutsideASaneRangeAreRefused) {
  auto old = Call("POST", "/api/v1/findings", analyst_,
                  R"({"feed.name": "t", "classification.type": "scanner", )"
                  R"("source.ip": "203.0.113.77", "time.source": "1970-01-01T00:00:00Z"})");
  EXPECT_EQ(old.status, 422);
  EXPECT_NE(old.body.find("not between 1990"), std::string::npos) << old.body;
  auto future = Call("POST", "/api/v1/findings", analyst_,
                     R"({"feed.name": "t", "classification.type": "scanner", )"
                     R"("source.ip": "203.0.113.77", "time.source": "2999-01-01T00:00:00Z"})");
  EXPECT_EQ(future.status, 422);
  EXPECT_EQ(
      Call("GET", "/api/v1/attribution?ip=203.0.113.7&at=1800-01-01T00:00:00Z", analyst_).status,
      400);
}

// Content-Length beside Transfer-Encoding is how a second request hides in a body: refused, and
// the connection closed, so the hidden request is never served.
TEST_F(HostileTest, AmbiguousFramingIsRefused) {
  std::string smuggled =
      "POST /api/v1/findings HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string reply = Raw(service_->port(), smuggled);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << reply;
  EXPECT_NE(reply.find("application/problem+json"), std::string::npos);
  EXPECT_EQ(reply.find("ok\n"), std::string::npos) << "the hidden request was served:\n" << reply;
  std::string gzip =
      "POST /api/v1/findings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      "0\r\n\r\n";
  EXPECT_TRUE(Raw(service_->port(), gzip).starts_with("HTTP/1.1 400"));
  // The server's own refusals are counted like the API's answers (they were not).
  auto metrics = Call("GET", "/metrics", "");
  EXPECT_NE(metrics.body.find("bulwark_http_requests_total{code=\"400\"} 2"), std::string::npos)
      << metrics.body;
}

// Limits on the request head are answered as problem details like every other error.
TEST_F(HostileTest, OversizedHeadsAreProblems) {
  auto long_uri = Call("GET", "/api/v1/incidents?x=" + std::string(9000, 'a'), analyst_);
  EXPECT_EQ(long_uri.status, 414);
  EXPECT_EQ(long_uri.content_type, "application/problem+json");
  auto big_header =
      Call("GET", "/api/v1/incidents", analyst_, "", {"X-Filler: " + std::string(20000, 'b')});
  EXPECT_EQ(big_header.status, 431);
  EXPECT_EQ(big_header.content_type, "application/problem+json");
  auto metrics = Call("GET", "/metrics", "");
  EXPECT_NE(metrics.body.find("bulwark_http_requests_total{code=\"414\"} 1"), std::string::npos);
}

// SIGTERM while a request waits for the store: the request finishes and its client gets the
// answer (before, the work was committed and the client got an empty reply).
TEST_F(HostileTest, AStopAnswersTheRequestsInProgress) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "bulwark.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto request = std::async(std::launch::async, [&] {
    return Call("POST", "/api/v1/findings", analyst_,
                R"({"feed.name": "t", "classification.type": "scanner", )"
                R"("source.ip": "203.0.113.77", "time.source": "2026-11-20T10:00:00Z"})");
  });
  std::this_thread::sleep_for(500ms);  // the request is waiting for the store's lock
  auto stopping = std::async(std::launch::async, [&] { service_->Stop(); });
  std::this_thread::sleep_for(500ms);
  // A request begun during the drain is answered, with 503, not served.
  Reply late = Call("GET", "/healthz", "");
  EXPECT_EQ(late.status, 503) << late.body;
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  Reply reply = request.get();
  stopping.get();
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find("\"outcome\":\"opened\""), std::string::npos) << reply.body;
}

// A store held by another writer past its timeout: 503 with Retry-After, not a 500.
TEST_F(HostileTest, ABusyStoreIsAServiceUnavailable) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "bulwark.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto reply = Call("POST", "/api/v1/incidents/1/comments", analyst_, R"({"text": "x"})");
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(reply.status, 503) << reply.body;
  EXPECT_NE(reply.headers.find("Retry-After: 5"), std::string::npos);
  // Reads went on meanwhile (they do not wait for writers); now writes do too.
  EXPECT_EQ(Call("POST", "/api/v1/incidents/1/comments", analyst_, R"({"text": "x"})").status, 201);
}

// About 1,000 connections (1,200) from one address that never finish their request do not starve
// /healthz for everybody else. The slow clients are another process (started and stopped here
// by PID); the service has the descriptors a default service unit gets (1,024).
TEST_F(HostileTest, SlowConnectionsFromOneAddressDoNotStarveOthers) {
  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  rlimit service_limit = saved;
  service_limit.rlim_cur = std::min<rlim_t>(saved.rlim_max, 1024);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  int port = service_->port();
  pid_t clients = fork();
  ASSERT_GE(clients, 0);
  if (clients == 0) {
    rlimit many = saved;
    many.rlim_cur = std::min<rlim_t>(saved.rlim_max, 4096);
    setrlimit(RLIMIT_NOFILE, &many);
    int opened = 0;
    for (int i = 0; i < 1200; ++i) {
      int fd = Connect(port, "127.0.0.2");
      if (fd < 0) continue;
      send(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n", 32, MSG_NOSIGNAL);  // never finished
      ++opened;
    }
    ssize_t written = write(ready[1], &opened, sizeof opened);
    (void)written;
    pause();
    _exit(0);
  }
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &service_limit), 0);
  int opened = 0;
  ASSERT_EQ(read(ready[0], &opened, sizeof opened), static_cast<ssize_t>(sizeof opened));
  close(ready[0]);
  close(ready[1]);
  EXPECT_GE(opened, 1000);
  std::this_thread::sleep_for(500ms);  // the service has taken in what it takes
  auto health = std::async(std::launch::async, [&] { return Call("GET", "/healthz", ""); });
  bool answered = health.wait_for(10s) == std::future_status::ready;
  kill(clients, SIGKILL);
  waitpid(clients, nullptr, 0);
  setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_TRUE(answered) << "/healthz starved";
  EXPECT_EQ(health.get().status, 200);
}

class TimeoutTest : public ApiTest {
 protected:
  void Configure(config::Config& config) override { config.api.request_timeout = 1 * kNsPerSecond; }
};

// A client that stops in the middle of its request is cut off after the request timeout.
TEST_F(TimeoutTest, AStalledRequestIsCutOff) {
  int fd = Connect(service_->port());
  ASSERT_GE(fd, 0);
  send(fd, "GET /healthz HTTP/1.1\r\nHost:", 28, MSG_NOSIGNAL);
  char buffer[64];
  auto started = std::chrono::steady_clock::now();
  ssize_t got = recv(fd, buffer, sizeof buffer, 0);  // 0: closed by the server
  close(fd);
  EXPECT_EQ(got, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

}  // namespace
}  // namespace bulwark::server
