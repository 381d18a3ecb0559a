#pragma once
// A store with a small inventory, the incident spine and a notifier over it, for the notification
// tests (outbox logic and the real mail server).

#include <gtest/gtest.h>

#include <filesystem>

#include "../support/memory_env.h"
#include "bulwark/notify/notifier.h"

namespace bulwark::notify::testing_support {

using model::IncidentState;

inline TimeNs T(const char* text) {
  return *ParseTimestamp(text);
}

// Records what it is asked to send; refuses while `down`.
class RecordingMailer final : public Mailer {
 public:
  bool down = false;
  std::vector<std::pair<std::vector<std::string>, std::string>> sent;
  SendResult Send(const std::string&, const std::vector<std::string>& to,
                  const std::string& rendered, const AcceptedFn& accepted) override {
    if (down) return {false, "connection refused"};
    sent.emplace_back(to, rendered);
    SendResult ok{true, "250 ok"};
    if (accepted) accepted(ok);
    return ok;
  }
};

// The outbox against a real SQLite store: ACME (German, two contacts) holds 203.0.113.7 on an
// internet-exposed system; Nobody Ltd (no contacts) holds 203.0.113.8.
class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bulwark-outbox-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto opened = store::OpenSqliteStore(dir_.string());
    ASSERT_TRUE(opened) << opened.error().ToString();
    store_ = std::move(*opened);
    model::Inventory inv;
    inv.customers = {{"c1",
                      "ACME GmbH",
                      "de",
                      {{"sec@acme.example", "security"}, {"ops@acme.example", "technical"}},
                      "",
                      ""},
                     {"c2", "Nobody Ltd", "en", {}, "", ""}};
    inv.projects = {{"p1", "c1", "prod", {}, ""}, {"p2", "c2", "p2", {}, ""}};
    inv.systems = {{"s1", "p1", "web1", {}, true, false, ""},
                   {"s2", "p2", "x", {}, true, false, ""}};
    inv.interfaces = {{"s1", "", "if1", model::kBeginningOfTime, model::kEndOfTime, "", {}},
                      {"s2", "", "if2", model::kBeginningOfTime, model::kEndOfTime, "", {}}};
    model::Assignment a;
    a.system_id = "s1";
    a.interface_key = "if1";
    a.prefix = *model::Prefix::Parse("203.0.113.7");
    model::Assignment b = a;
    b.system_id = "s2";
    b.interface_key = "if2";
    b.prefix = *model::Prefix::Parse("203.0.113.8");
    inv.assignments = {a, b};
    ASSERT_TRUE(store_->WriteInventory(inv));
    auto inventory = store_->ReadInventory();
    ASSERT_TRUE(inventory);
    index_ = std::make_unique<inventory::AttributionIndex>(std::move(*inventory));
    auto templates = Templates::Load("", Env::Default());
    ASSERT_TRUE(templates);
    templates_ = std::move(*templates);
    incidents_ = std::make_unique<incident::Incidents>(*store_, *index_, policy_, env_);
    notifier_ =
        std::make_unique<Notifier>(*store_, *index_, policy_, templates_, env_, NotifierSettings{});
    incidents_->SetNotificationSink(notifier_.get());
  }
  void TearDown() override {
    incidents_.reset();
    notifier_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  incident::TakeResult Take(const char* ip, double cvss = 8.0) {
    model::Finding f;
    f.feed_name = "scan";
    f.taxonomy = "vulnerable";
    f.type = "vulnerable-system";
    f.identifier = "openssh";
    f.source_ip = event::IpAddress::Parse(ip);
    f.source_port = 22;
    f.time_source = T("2026-11-26T10:00:00Z");
    f.cvss_score = cvss;
    f.evidence = "SSH-2.0-OpenSSH_9.2p1";
    auto taken = incidents_->Take(f);
    EXPECT_TRUE(taken) << taken.error().ToString();
    return taken ? *taken : incident::TakeResult{};
  }

  model::Incident Incident(int64_t id) { return **store_->GetIncident(id); }

  std::filesystem::path dir_;
  bulwark::testing_support::MemoryEnv env_{T("2026-11-26T12:00:00Z"),
                                           bulwark::testing_support::MemoryEnv::kRealFiles};
  incident::Policy policy_ = incident::Policy::Default();
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<inventory::AttributionIndex> index_;
  Templates templates_ = *Templates::Load("", Env::Default());
  std::unique_ptr<incident::Incidents> incidents_;
  std::unique_ptr<Notifier> notifier_;
};

}  // namespace bulwark::notify::testing_support
