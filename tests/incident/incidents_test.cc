// The incident spine against a real SQLite store: attribution, deduplication, grouping,
// lifecycle, deadlines and the audit trail.

#include "bulwark/incident/incidents.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "../support/memory_env.h"
#include "bulwark/incident/audit.h"

namespace bulwark::incident {
namespace {

using model::IncidentState;

TimeNs T(const char* text) {
  return *ParseTimestamp(text);
}

model::Inventory Sample() {
  model::Inventory inv;
  inv.customers = {{"c1", "One", "de", {{"sec@one.example", "security"}}, "", ""},
                   {"c2", "Two", "en", {}, "", ""}};
  inv.projects = {{"p1", "c1", "p1", {}, ""}, {"p2", "c2", "p2", {}, ""}};
  inv.systems = {{"s1", "p1", "web", {}, true, false, ""},
                 {"s2", "p2", "db", {}, false, false, ""}};
  inv.interfaces = {{"s1", "", "if1", model::kBeginningOfTime, model::kEndOfTime, "", {}},
                    {"s2", "", "if2", model::kBeginningOfTime, model::kEndOfTime, "", {}}};
  model::Assignment a;
  a.system_id = "s1";
  a.interface_key = "if1";
  a.prefix = *model::Prefix::Parse("203.0.113.7");
  a.until = T("2027-01-01T00:00:00Z");
  model::Assignment b = a;
  b.system_id = "s2";
  b.interface_key = "if2";
  b.from = T("2027-01-01T00:00:00Z");
  b.until = model::kEndOfTime;
  inv.assignments = {a, b};
  return inv;
}

model::Finding Finding(const char* at, const char* identifier = "open-redis",
                       const char* type = "potentially-unwanted-accessible") {
  model::Finding f;
  f.feed_name = "shadowserver";
  f.type = type;
  f.taxonomy = "vulnerable";
  if (std::string(type) == "brute-force") f.taxonomy = "intrusion-attempts";
  f.identifier = identifier;
  f.source_ip = event::IpAddress::Parse("203.0.113.7");
  f.source_port = 6379;
  f.time_source = T(at);
  return f;
}

class IncidentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bulwark-incidents-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto opened = store::OpenSqliteStore(dir_.string());
    ASSERT_TRUE(opened) << opened.error().ToString();
    store_ = std::move(*opened);
    ASSERT_TRUE(store_->WriteInventory(Sample()));
    auto inventory = store_->ReadInventory();
    ASSERT_TRUE(inventory);
    index_ = std::make_unique<inventory::AttributionIndex>(std::move(*inventory));
    incidents_ = std::make_unique<Incidents>(*store_, *index_, policy_, env_);
  }
  void TearDown() override {
    incidents_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  TakeResult MustTake(const model::Finding& f) {
    auto taken = incidents_->Take(f);
    EXPECT_TRUE(taken) << taken.error().ToString();
    return taken ? *taken : TakeResult{};
  }

  std::filesystem::path dir_;
  testing_support::MemoryEnv env_{T("2026-11-26T12:00:00Z")};  // a clock the test moves
  Policy policy_ = Policy::Default();
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<inventory::AttributionIndex> index_;
  std::unique_ptr<Incidents> incidents_;
};

TEST_F(IncidentsTest, AttributedAsOfTimeSource) {
  auto before = MustTake(Finding("2026-03-01T00:00:00Z"));
  auto after = MustTake(Finding("2027-02-01T00:00:00Z"));
  EXPECT_EQ(before.outcome, Outcome::kOpened);
  EXPECT_EQ(after.outcome, Outcome::kOpened);
  auto first = store_->GetIncident(before.incident_id);
  auto second = store_->GetIncident(after.incident_id);
  ASSERT_TRUE(first && *first && second && *second);
  EXPECT_EQ((*first)->customer_id, "c1");  // the address moved from c1's s1 to c2's s2
  EXPECT_EQ((*second)->customer_id, "c2");
}

TEST_F(IncidentsTest, NobodyHeldItSoItWaitsForAnalysts) {
  auto f = Finding("2026-03-01T00:00:00Z");
  f.source_ip = event::IpAddress::Parse("192.0.2.1");
  auto taken = MustTake(f);
  EXPECT_EQ(taken.outcome, Outcome::kUnattributed);
  EXPECT_EQ(taken.incident_id, 0);
  auto queue = store_->Unattributed({0, 10});
  ASSERT_TRUE(queue);
  ASSERT_EQ(queue->size(), 1u);
  EXPECT_NE((*queue)[0].document.find("192.0.2.1"), std::string::npos);
}

TEST_F(IncidentsTest, SameFindingAgainIsASightingWithinTheWindow) {
  auto first = MustTake(Finding("2026-03-01T00:00:00Z"));
  auto again = MustTake(Finding("2026-03-02T00:00:00Z"));
  EXPECT_EQ(again.outcome, Outcome::kSighting);
  EXPECT_EQ(again.incident_id, first.incident_id);
  auto other = MustTake(Finding("2026-03-03T00:00:00Z", "open-memcached"));
  EXPECT_EQ(other.outcome, Outcome::kAdded);  // same customer, system and kind: same incident
  EXPECT_EQ(other.incident_id, first.incident_id);
  auto brute = MustTake(Finding("2026-03-03T00:00:00Z", "ssh", "brute-force"));
  EXPECT_EQ(brute.outcome, Outcome::kOpened);  // another kind
  auto incident = store_->GetIncident(first.incident_id);
  ASSERT_TRUE(incident && *incident);
  EXPECT_EQ((*incident)->findings, 3);
  EXPECT_EQ((*incident)->last_seen, T("2026-03-03T00:00:00Z"));
  auto findings = store_->FindingsOfIncident(first.incident_id);
  ASSERT_TRUE(findings);
  EXPECT_EQ(findings->size(), 3u);
}

TEST_F(IncidentsTest, LifecycleDeadlineAndReopen) {
  auto opened = MustTake(Finding("2026-03-01T00:00:00Z"));
  // Medium for an open service, raised to high: the system is exposed to the internet.
  EXPECT_EQ(opened.assessment.severity, model::Severity::kHigh);
  auto bad =
      incidents_->Transition(opened.incident_id, IncidentState::kCountermeasureDue, "a:x", "skip");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("can move to notified"), std::string::npos)
      << bad.error().message;
  ASSERT_TRUE(
      incidents_->Transition(opened.incident_id, IncidentState::kNotified, "system", "mail sent"));
  auto waiting = incidents_->Transition(opened.incident_id, IncidentState::kAwaitingFix, "system",
                                        "deadline set");
  ASSERT_TRUE(waiting);
  ASSERT_TRUE(waiting->deadline);
  EXPECT_EQ(*waiting->deadline, env_.now + 7 * 86400 * kNsPerSecond);  // high: 7 days
  // Not yet due.
  env_.now += 6 * 86400 * kNsPerSecond;
  auto none = incidents_->AdvanceDeadlines();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  // Due: verifying, with a verification request in the audit log.
  env_.now += 2 * 86400 * kNsPerSecond;
  auto due = incidents_->AdvanceDeadlines();
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);
  auto incident = store_->GetIncident(opened.incident_id);
  EXPECT_EQ((*incident)->state, IncidentState::kVerifying);
  ASSERT_TRUE(incidents_->Transition(opened.incident_id, IncidentState::kResolved, "analyst:bob",
                                     "re-scan clean"));
  // A late report of something before the resolution is kept with it and reopens nothing.
  auto late = MustTake(Finding("2026-05-15T00:00:00Z"));
  EXPECT_EQ(late.outcome, Outcome::kLate);
  EXPECT_EQ(late.incident_id, opened.incident_id);
  EXPECT_EQ((*store_->GetIncident(opened.incident_id))->state, IncidentState::kResolved);
  // The same kind of finding after the resolution reopens it.
  auto back = MustTake(Finding("2026-12-20T00:00:00Z"));
  EXPECT_EQ(back.outcome, Outcome::kReopened);
  EXPECT_EQ(back.incident_id, opened.incident_id);
  auto history = store_->ReadAudit(opened.incident_id);
  ASSERT_TRUE(history);
  std::vector<std::string> steps;
  for (const auto& e : *history) steps.push_back(e.action + ":" + e.to_state);
  EXPECT_EQ(steps, (std::vector<std::string>{"opened:new", "transition:notified",
                                             "transition:awaiting_fix", "transition:verifying",
                                             "transition:resolved", "transition:reopened"}));
  EXPECT_EQ((*history)[2].actor, "system");
  EXPECT_EQ((*history)[4].actor, "analyst:bob");
  EXPECT_EQ((*history)[4].reason, "re-scan clean");
}

// A customer's "fixed" that a re-scan does not confirm sends the incident back to awaiting_fix
// with the deadline it had: claiming a fix buys no time. After the deadline, awaiting_fix starts
// a new one.
TEST_F(IncidentsTest, ABackFromVerifyingKeepsARunningDeadline) {
  auto opened = MustTake(Finding("2026-03-01T00:00:00Z"));
  auto waiting = incidents_->Transition(opened.incident_id, IncidentState::kAwaitingFix, "system",
                                        "deadline set");
  ASSERT_TRUE(waiting && waiting->deadline);
  TimeNs deadline = *waiting->deadline;
  env_.now += 86400 * kNsPerSecond;
  ASSERT_TRUE(
      incidents_->Transition(opened.incident_id, IncidentState::kVerifying, "customer", "fixed"));
  auto back = incidents_->Transition(opened.incident_id, IncidentState::kAwaitingFix,
                                     "system:scanner", "still found");
  ASSERT_TRUE(back && back->deadline);
  EXPECT_EQ(*back->deadline, deadline);
  env_.now = deadline + kNsPerSecond;
  ASSERT_TRUE(
      incidents_->Transition(opened.incident_id, IncidentState::kVerifying, "customer", "fixed"));
  auto anew = incidents_->Transition(opened.incident_id, IncidentState::kAwaitingFix, "analyst:bob",
                                     "one more week");
  ASSERT_TRUE(anew && anew->deadline);
  EXPECT_EQ(*anew->deadline, env_.now + 7 * 86400 * kNsPerSecond);
}

TEST_F(IncidentsTest, AuditLogDetectsEdits) {
  MustTake(Finding("2026-03-01T00:00:00Z"));
  ASSERT_TRUE(incidents_->Transition(1, IncidentState::kClosed, "analyst:eve", "not ours"));
  auto entries = store_->ReadAudit(0);
  ASSERT_TRUE(entries);
  auto intact = VerifyAudit(*entries);
  EXPECT_TRUE(intact.ok) << intact.reason;
  EXPECT_EQ(intact.entries, 2u);
  // The database refuses edits...
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "bulwark.db").c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit_log SET reason = 'typo' WHERE seq = 2", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  // ...and whoever drops the guard is caught by the chain.
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TRIGGER audit_no_update; UPDATE audit_log SET reason = 'ours "
                         "after all' WHERE seq = 2",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto edited = store_->ReadAudit(0);
  ASSERT_TRUE(edited);
  auto verdict = VerifyAudit(*edited);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.broken_at, 2);
  // A deleted entry in the middle breaks the next link.
  auto shortened = *entries;
  shortened.erase(shortened.begin());
  EXPECT_FALSE(VerifyAudit(shortened).ok);
}

}  // namespace
}  // namespace bulwark::incident
