// The spine as serve and the commands share it: reads beside writes, one sender per message
// (serve and `notify send` on one store), delivery recorded before the connection closes, and
// shutdown that does not wait for a hanging mail server.

#include "bulwark/spine/spine.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "../support/sample_inventory.h"
#include "bulwark/finding/intelmq.h"
#include "bulwark/intake/intake.h"

namespace bulwark::spine {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Critical findings of different kinds about Globex's shop: each opens an incident whose first
// mail goes out at once.
std::vector<model::Finding> Findings(size_t how_many) {
  static const char* kTypes[] = {"vulnerable-system", "potentially-unwanted-accessible",
                                 "weak-crypto",       "information-disclosure",
                                 "ddos-amplifier",    "infected-system",
                                 "c2-server",         "scanner",
                                 "brute-force",       "exploit",
                                 "phishing",          "spam"};
  std::vector<model::Finding> out;
  input::JsonFlattener flattener;
  for (size_t i = 0; i < how_many && i < std::size(kTypes); ++i) {
    std::string line =
        fmt::format(R"({{"feed.name":"test","classification.type":"{}",)"
                    R"("classification.identifier":"issue-{}","source.ip":"198.51.100.20",)"
                    R"("time.source":"2026-07-01T00:00:00Z","extra.severity":"critical"}})",
                    kTypes[i], i);
    auto finding = finding::ParseHarmonized(line, 0, flattener);
    EXPECT_TRUE(finding) << finding.error().ToString();
    if (finding) out.push_back(std::move(*finding));
  }
  return out;
}

// Records what it is asked to send, after `delay`.
class RecordingMailer final : public notify::Mailer {
 public:
  explicit RecordingMailer(std::chrono::milliseconds delay = 0ms) : delay_(delay) {}
  notify::SendResult Send(const std::string&, const std::vector<std::string>&,
                          const std::string& rendered,
                          const notify::AcceptedFn& accepted) override {
    std::this_thread::sleep_for(delay_);
    {
      std::lock_guard lock(mutex_);
      sent_.push_back(rendered);
    }
    notify::SendResult ok{true, "250 ok"};
    if (accepted) accepted(ok);
    return ok;
  }
  std::vector<std::string> sent() {
    std::lock_guard lock(mutex_);
    return sent_;
  }

 private:
  std::chrono::milliseconds delay_;
  std::mutex mutex_;
  std::vector<std::string> sent_;
};

class SpineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::TestDataDir("bulwark-spine");
    ASSERT_TRUE(testing_support::SampleStore(dir_));
    config_.data_dir = dir_.string();
    config_.mail.print = (dir_ / "mails.txt").string();
    spine_ = Open();
    ASSERT_TRUE(spine_);
  }
  void TearDown() override {
    spine_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Spine> Open() {
    auto opened = Spine::Open(config_, Env::Default());
    EXPECT_TRUE(opened) << opened.error().ToString();
    return opened ? std::move(*opened) : nullptr;
  }

 public:
  // Pending messages of the outbox.
  size_t Pending() {
    size_t pending = 0;
    auto read = spine_->Read([&](store::Store& store) -> Result<void> {
      auto incidents = store.ListIncidents({});
      if (!incidents) return tl::unexpected(incidents.error());
      for (const auto& incident : *incidents) {
        auto outbox = store.OutboxOf(incident.id);
        if (!outbox) return tl::unexpected(outbox.error());
        for (const auto& entry : *outbox) pending += entry.state == "pending" ? 1 : 0;
      }
      return {};
    });
    EXPECT_TRUE(read) << read.error().ToString();
    return pending;
  }

 protected:
  fs::path dir_;
  config::Config config_;
  std::unique_ptr<Spine> spine_;
};

// A read is not held up by a write in progress (before, one lock covered both).
TEST_F(SpineTest, ReadsDoNotWaitForAWrite) {
  ASSERT_TRUE(intake::Intake(*spine_).TakeFindings(Findings(1)));
  std::promise<void> writing, finish;
  std::thread writer([&] {
    auto written = spine_->Write([&](Spine::Writer& w) -> Result<void> {
      auto taken = w.incidents.Take(Findings(2)[1]);
      if (!taken) return tl::unexpected(taken.error());
      writing.set_value();
      finish.get_future().wait();
      return {};
    });
    EXPECT_TRUE(written) << written.error().ToString();
  });
  writing.get_future().wait();
  auto read = std::async(std::launch::async, [&] {
    size_t incidents = 0;
    auto done = spine_->Read([&](store::Store& store) -> Result<void> {
      auto list = store.ListIncidents({});
      if (!list) return tl::unexpected(list.error());
      incidents = list->size();
      return {};
    });
    EXPECT_TRUE(done) << done.error().ToString();
    return incidents;
  });
  bool answered = read.wait_for(10s) == std::future_status::ready;
  finish.set_value();
  writer.join();
  ASSERT_TRUE(answered) << "the read waited for the write";
  EXPECT_EQ(read.get(), 1u);  // what was committed; the write in progress is not seen
}

// serve and `bulwark notify send` deliver the same outbox at once: every message goes out once.
TEST_F(SpineTest, TwoSendersSendEachMessageOnce) {
  ASSERT_TRUE(intake::Intake(*spine_).TakeFindings(Findings(12)));
  size_t queued = Pending();
  ASSERT_GE(queued, 8u);
  auto other = Open();  // another process's connection to the same store
  ASSERT_TRUE(other);
  RecordingMailer first(20ms), second(20ms);
  auto a = std::async(std::launch::async, [&] { return spine_->Deliver("mail", &first); });
  auto b = std::async(std::launch::async, [&] { return other->Deliver("mail", &second); });
  auto round_a = a.get();
  auto round_b = b.get();
  ASSERT_TRUE(round_a) << round_a.error().ToString();
  ASSERT_TRUE(round_b) << round_b.error().ToString();
  std::vector<std::string> all = first.sent();
  for (const auto& mail : second.sent()) all.push_back(mail);
  std::set<std::string> distinct(all.begin(), all.end());
  EXPECT_EQ(all.size(), queued) << "a message was sent twice or not at all";
  EXPECT_EQ(distinct.size(), all.size());
  EXPECT_EQ(Pending(), 0u);
  EXPECT_EQ(round_a->mail.sent + round_b->mail.sent, queued);
}

// A message is recorded as sent as soon as the server accepted it, before the connection is
// closed: a crash or a hang at QUIT does not send it again.
TEST_F(SpineTest, SentIsRecordedBeforeTheConnectionCloses) {
  ASSERT_TRUE(intake::Intake(*spine_).TakeFindings(Findings(1)));
  ASSERT_EQ(Pending(), 1u);
  struct CheckingMailer final : notify::Mailer {
    SpineTest* test;
    size_t pending_after_accept = 99;
    notify::SendResult Send(const std::string&, const std::vector<std::string>&, const std::string&,
                            const notify::AcceptedFn& accepted) override {
      notify::SendResult ok{true, "250 ok"};
      accepted(ok);
      pending_after_accept = test->Pending();  // still "inside the connection"
      return ok;
    }
  } mailer;
  mailer.test = this;
  auto round = spine_->Deliver("mail", &mailer);
  ASSERT_TRUE(round) << round.error().ToString();
  EXPECT_EQ(mailer.pending_after_accept, 0u);
  EXPECT_EQ(round->mail.sent, 1u);
}

// A mail server that accepts the connection and never answers: cancelling (shutdown) ends the
// round at once instead of after the 30 s timeout per mail, and the messages stay queued
// without an attempt counted.
TEST_F(SpineTest, CancelEndsSendsToAHangingServer) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  socklen_t length = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length);
  config_.mail.smtp_url = "smtp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  config_.mail.starttls = "off";
  ASSERT_TRUE(spine_->Reload(config_));
  ASSERT_TRUE(intake::Intake(*spine_).TakeFindings(Findings(3)));
  size_t queued = Pending();
  ASSERT_EQ(queued, 3u);
  auto started = std::chrono::steady_clock::now();
  auto round = std::async(std::launch::async, [&] { return spine_->Deliver("mail"); });
  std::this_thread::sleep_for(300ms);  // the first send is waiting for the greeting
  spine_->CancelSends();
  ASSERT_EQ(round.wait_for(10s), std::future_status::ready) << "the send was not cut";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  auto result = round.get();
  ASSERT_TRUE(result) << result.error().ToString();
  EXPECT_EQ(result->mail.sent, 0u);
  EXPECT_EQ(Pending(), queued);
  // Nothing counted as an attempt, and no lease left behind: another sender takes them now.
  auto claimed = spine_->Read([&](store::Store& store) -> Result<void> {
    auto incidents = store.ListIncidents({});
    if (!incidents) return tl::unexpected(incidents.error());
    for (const auto& incident : *incidents) {
      auto outbox = store.OutboxOf(incident.id);
      if (!outbox) return tl::unexpected(outbox.error());
      for (const auto& entry : *outbox) {
        EXPECT_EQ(entry.attempts, 0) << entry.kind;
        EXPECT_EQ(entry.lease_until, 0) << entry.kind;
      }
    }
    return {};
  });
  EXPECT_TRUE(claimed);
  close(listener);
}

// A reload whose policy cannot be read changes nothing.
TEST_F(SpineTest, ReloadIsAllOrNothing) {
  config::Config changed = config_;
  changed.mail.from = "new@provider.example";
  changed.policy = (dir_ / "missing-policy.yml").string();
  auto reloaded = spine_->Reload(changed);
  ASSERT_FALSE(reloaded);
  EXPECT_NE(reloaded.error().ToString().find("missing-policy.yml"), std::string::npos);
  EXPECT_EQ(spine_->config()->mail.from, config_.mail.from);
  changed.policy.clear();
  ASSERT_TRUE(spine_->Reload(changed));
  EXPECT_EQ(spine_->config()->mail.from, "new@provider.example");
}

}  // namespace
}  // namespace bulwark::spine
