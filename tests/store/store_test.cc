// The store conformance suite: every Store implementation must pass it. Today it runs against
// SQLite; the PostgreSQL store will be added to the list of implementations below.

#include "bulwark/store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <functional>

namespace bulwark::store {
namespace {

struct Implementation {
  std::string name;
  std::function<Result<std::unique_ptr<Store>>(const std::string& dir)> open;
};

class StoreConformance : public ::testing::TestWithParam<Implementation> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bulwark-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> Open() {
    auto store = GetParam().open(dir_.string());
    EXPECT_TRUE(store) << store.error().ToString();
    return store ? std::move(*store) : nullptr;
  }

  static model::Inventory Sample() {
    model::Inventory inv;
    inv.customers.push_back({"c1", "ACME", "de", {{"sec@acme.example", "security"}}, "", "f:1"});
    inv.projects.push_back({"p1", "c1", "prod", {{"env", "prod"}}, "f:2"});
    inv.systems.push_back({"s1", "p1", "web1", {{"role", "web"}}, true, false, "f:3"});
    inv.interfaces.push_back({"s1",
                              "fa:16:3e:00:00:01",
                              "port-1",
                              model::kBeginningOfTime,
                              model::kEndOfTime,
                              "f:4",
                              {"sg-web", "sg-ssh"}});
    model::Assignment a;
    a.system_id = "s1";
    a.interface_key = "port-1";
    a.prefix = *model::Prefix::Parse("203.0.113.7");
    a.from = *ParseTimestamp("2026-01-01T00:00:00Z");
    a.origin = "f:5";
    inv.assignments.push_back(a);
    return inv;
  }

  std::filesystem::path dir_;
};

TEST_P(StoreConformance, MigratesAndReopens) {
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_GE(store->schema_version(), 1);
  ASSERT_TRUE(store->WriteInventory(Sample()));
  store.reset();
  auto again = Open();
  ASSERT_TRUE(again);
  auto inventory = again->ReadInventory();
  ASSERT_TRUE(inventory) << inventory.error().ToString();
  EXPECT_EQ(inventory->customers.size(), 1u);
}

TEST_P(StoreConformance, InventoryRoundTrips) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto stats = store->WriteInventory(Sample());
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_EQ(stats->assignments_added, 1u);
  auto inv = store->ReadInventory();
  ASSERT_TRUE(inv);
  ASSERT_EQ(inv->customers.size(), 1u);
  EXPECT_EQ(inv->customers[0].language, "de");
  ASSERT_EQ(inv->customers[0].contacts.size(), 1u);
  EXPECT_EQ(inv->customers[0].contacts[0].email, "sec@acme.example");
  ASSERT_EQ(inv->projects.size(), 1u);
  EXPECT_EQ(inv->projects[0].labels.at("env"), "prod");
  ASSERT_EQ(inv->systems.size(), 1u);
  EXPECT_TRUE(inv->systems[0].internet_exposed);
  EXPECT_EQ(inv->systems[0].labels.at("role"), "web");
  ASSERT_EQ(inv->interfaces.size(), 1u);
  EXPECT_EQ(inv->interfaces[0].mac, "fa:16:3e:00:00:01");
  EXPECT_EQ(inv->interfaces[0].security_groups, (std::vector<std::string>{"sg-web", "sg-ssh"}));
  ASSERT_EQ(inv->assignments.size(), 1u);
  const auto& a = inv->assignments[0];
  EXPECT_EQ(a.prefix.ToString(), "203.0.113.7");
  EXPECT_EQ(a.from, *ParseTimestamp("2026-01-01T00:00:00Z"));
  EXPECT_EQ(a.until, model::kEndOfTime);
  EXPECT_EQ(a.origin, "f:5");
}

TEST_P(StoreConformance, HistoryIsKeptAndEndsMove) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->WriteInventory(Sample()));
  // Same claim again: unchanged. The same claim with an end: updated, not duplicated.
  auto again = store->WriteInventory(Sample());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->assignments_unchanged, 1u);
  auto ended = Sample();
  ended.assignments[0].until = *ParseTimestamp("2026-06-01T00:00:00Z");
  auto moved = store->WriteInventory(ended);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->assignments_updated, 1u);
  // A later claim of the same address by the same interface is a new interval.
  auto later = Sample();
  later.assignments[0].from = *ParseTimestamp("2026-09-01T00:00:00Z");
  ASSERT_TRUE(store->WriteInventory(later));
  auto held = store->AssignmentsOf(*model::Prefix::Parse("203.0.113.7"));
  ASSERT_TRUE(held);
  ASSERT_EQ(held->size(), 2u);
  EXPECT_EQ((*held)[0].until, *ParseTimestamp("2026-06-01T00:00:00Z"));
  EXPECT_EQ((*held)[1].from, *ParseTimestamp("2026-09-01T00:00:00Z"));
}

TEST_P(StoreConformance, AWriteIsAllOrNothing) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto broken = Sample();
  broken.projects[0].customer_id = "nobody";  // referential error after the customer was written
  auto written = store->WriteInventory(broken);
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("project 'p1'"), std::string::npos)
      << written.error().ToString();
  auto inv = store->ReadInventory();
  ASSERT_TRUE(inv);
  EXPECT_TRUE(inv->customers.empty());
}

TEST_P(StoreConformance, FindingsAndIncidents) {
  auto store = Open();
  ASSERT_TRUE(store);
  model::Incident incident;
  incident.customer_id = "c1";
  incident.system_id = "s1";
  incident.kind = "vulnerable/vulnerable-system";
  incident.severity = model::Severity::kHigh;
  incident.opened_at = 10;
  incident.updated_at = 10;
  incident.last_seen = 5;
  incident.findings = 1;
  auto id = store->CreateIncident(incident);
  ASSERT_TRUE(id) << id.error().ToString();
  incident.id = *id;
  StoredFinding finding{0, R"({"feed.name":"f"})", "f|1.2.3.4|22|x", 5, {"s1", "c1"}, *id, 11};
  auto finding_id = store->AddFinding(finding);
  ASSERT_TRUE(finding_id);
  StoredFinding orphan{0, R"({"feed.name":"g"})", "g|9.9.9.9|0|y", 6, {}, 0, 12};
  ASSERT_TRUE(store->AddFinding(orphan));
  auto queue = store->Unattributed({0, 10});
  ASSERT_TRUE(queue);
  ASSERT_EQ(queue->size(), 1u);
  EXPECT_EQ((*queue)[0].fingerprint, "g|9.9.9.9|0|y");
  auto of = store->FindingsOfIncident(*id);
  ASSERT_TRUE(of);
  ASSERT_EQ(of->size(), 1u);
  auto one = store->GetFinding(*finding_id);
  ASSERT_TRUE(one && *one);
  EXPECT_EQ((*one)->document, R"({"feed.name":"f"})");
  auto repeated = store->OpenIncidentOfFingerprint("f|1.2.3.4|22|x", 0);
  ASSERT_TRUE(repeated && *repeated);
  EXPECT_EQ(**repeated, *id);
  EXPECT_FALSE(*store->OpenIncidentOfFingerprint("f|1.2.3.4|22|x", 6));  // before the window
  auto open = store->OpenIncident("c1", "s1", "vulnerable/vulnerable-system");
  ASSERT_TRUE(open && *open);
  incident.state = model::IncidentState::kResolved;
  incident.deadline = 99;
  ASSERT_TRUE(store->UpdateIncident(incident));
  EXPECT_FALSE(*store->OpenIncident("c1", "s1", "vulnerable/vulnerable-system"));
  EXPECT_FALSE(*store->OpenIncidentOfFingerprint("f|1.2.3.4|22|x", 0));  // resolved: not open
  auto latest = store->LatestIncident("c1", "s1", "vulnerable/vulnerable-system");
  ASSERT_TRUE(latest && *latest);
  EXPECT_EQ((*latest)->state, model::IncidentState::kResolved);
  EXPECT_EQ((*latest)->deadline, 99);
  EXPECT_EQ((*latest)->severity, model::Severity::kHigh);
  IncidentFilter filter;
  filter.state = model::IncidentState::kResolved;
  EXPECT_EQ(store->ListIncidents(filter)->size(), 1u);
  filter.customer_id = "c2";
  EXPECT_TRUE(store->ListIncidents(filter)->empty());
  EXPECT_EQ(store->CountIncidents()->at("resolved"), 1);
  // A transaction that fails leaves nothing behind.
  auto failed = store->Transaction([&]() -> Result<void> {
    model::Incident other = incident;
    other.system_id = "s9";
    if (auto created = store->CreateIncident(other); !created)
      return tl::unexpected(created.error());
    return Fail("changed my mind");
  });
  ASSERT_FALSE(failed);
  EXPECT_FALSE(*store->LatestIncident("c1", "s9", "vulnerable/vulnerable-system"));
}

TEST_P(StoreConformance, ReportsAreStoredOncePerContent) {
  auto store = Open();
  ASSERT_TRUE(store);
  std::string content("From: a@b\r\n\r\nbinary \0 bytes", 28);
  StoredReport report{"ab12", "mail-1.eml", "arf", 7, content};
  auto added = store->PutReport(report);
  ASSERT_TRUE(added) << added.error().ToString();
  EXPECT_TRUE(*added);
  report.name = "mail-1-again.eml";
  EXPECT_FALSE(*store->PutReport(report));  // the same content again: kept once
  auto read = store->GetReport("ab12");
  ASSERT_TRUE(read && *read);
  EXPECT_EQ((*read)->name, "mail-1.eml");
  EXPECT_EQ((*read)->format, "arf");
  EXPECT_EQ((*read)->received, 7);
  EXPECT_EQ((*read)->content, content);
  EXPECT_FALSE(*store->GetReport("ffff"));
}

TEST_P(StoreConformance, AuditOutboxAndTokens) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto hash = [](const model::AuditEntry& e) { return "h" + std::to_string(e.seq) + e.prev_hash; };
  auto first =
      store->AppendAudit(model::AuditEntry{0, 1, "a", 7, "opened", "", "new", "r", "", ""}, hash);
  ASSERT_TRUE(first);
  auto second = store->AppendAudit(
      model::AuditEntry{0, 2, "a", 8, "comment", "new", "new", "c", "", ""}, hash);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->seq, 2);
  EXPECT_EQ(second->prev_hash, first->hash);
  EXPECT_EQ(store->ReadAudit(0)->size(), 2u);
  EXPECT_EQ(store->ReadAudit(8)->size(), 1u);

  OutboxEntry mail;
  mail.incident_id = 7;
  mail.kind = "opened";
  mail.channel = "mail";
  mail.recipients = "a@b.example";
  mail.payload = "Subject: x\r\n\r\nbody";
  mail.next_attempt = 100;
  EXPECT_TRUE(*store->Enqueue(mail));
  EXPECT_FALSE(*store->Enqueue(mail));  // queued once
  EXPECT_TRUE(store->ClaimOutbox(99, 200, "", 10)->empty());
  auto due = store->ClaimOutbox(100, 200, "mail", 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].lease_until, 200);
  EXPECT_TRUE(store->ClaimOutbox(150, 300, "", 10)->empty());  // leased
  OutboxEntry sent = (*due)[0];
  sent.state = "sent";
  sent.attempts = 1;
  sent.sent_at = 101;
  ASSERT_TRUE(store->UpdateOutbox(sent));
  EXPECT_TRUE(store->ClaimOutbox(1000, 2000, "", 10)->empty());
  EXPECT_EQ((*store->OutboxOf(7))[0].state, "sent");

  model::Token token{"abc123", "hash", model::Role::kCustomer, "c1", "d", 5, false};
  ASSERT_TRUE(store->CreateToken(token));
  auto found = store->FindToken("abc123");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->role, model::Role::kCustomer);
  EXPECT_EQ((*found)->customer_id, "c1");
  EXPECT_TRUE(*store->RevokeToken("abc123"));
  EXPECT_TRUE((*store->FindToken("abc123"))->revoked);
  EXPECT_FALSE(*store->RevokeToken("nope"));
  EXPECT_EQ(store->ListTokens()->size(), 1u);
}

// A message is claimed by one sender: another sees it again only when the lease has run out
// (the first died) and not at all once it is settled; channels are claimed apart.
TEST_P(StoreConformance, ClaimedMessagesGoToOneSender) {
  auto store = Open();
  ASSERT_TRUE(store);
  OutboxEntry mail;
  mail.incident_id = 1;
  mail.kind = "opened";
  mail.channel = "mail";
  mail.recipients = "a@b.example";
  mail.payload = "m";
  OutboxEntry hook = mail;
  hook.channel = "webhook";
  hook.recipients = "https://hooks.example/x";
  OutboxEntry digest = mail;
  digest.kind = "reminder-1";
  digest.channel = "digest";
  for (const OutboxEntry* e : {&mail, &hook, &digest}) ASSERT_TRUE(*store->Enqueue(*e));
  auto mails = store->ClaimOutbox(10, 100, "mail", 10);
  ASSERT_TRUE(mails);
  ASSERT_EQ(mails->size(), 2u);  // the mail and the digest section
  auto hooks = store->ClaimOutbox(10, 100, "", 10);
  ASSERT_EQ(hooks->size(), 1u);
  EXPECT_EQ((*hooks)[0].channel, "webhook");
  EXPECT_TRUE(store->ClaimOutbox(99, 200, "", 10)->empty());
  auto again = store->ClaimOutbox(100, 200, "", 10);  // every lease ran out
  EXPECT_EQ(again->size(), 3u);
  OutboxEntry retry = (*again)[0];
  retry.next_attempt = 500;
  retry.attempts = 1;
  ASSERT_TRUE(store->UpdateOutbox(retry));  // ends the lease; due again at 500
  EXPECT_EQ(store->ClaimOutbox(300, 1000, "", 10)->size(), 2u);
  EXPECT_EQ(store->ClaimOutbox(500, 600, "", 10)->size(), 1u);
}

// Nested transactions are savepoints: the inner failure undoes only the inner changes; the
// outer failure undoes everything.
TEST_P(StoreConformance, NestedTransactionsAreSavepoints) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto finding = [](const char* fingerprint) {
    return StoredFinding{0, "{}", fingerprint, 1, {}, 0, 1};
  };
  auto outer = store->Transaction([&]() -> Result<void> {
    if (auto added = store->AddFinding(finding("kept")); !added) return Fail("add");
    auto inner = store->Transaction([&]() -> Result<void> {
      if (auto added = store->AddFinding(finding("undone")); !added) return Fail("add");
      return Fail("inner failure");
    });
    EXPECT_FALSE(inner);
    return {};
  });
  ASSERT_TRUE(outer) << outer.error().ToString();
  auto failed = store->Transaction([&]() -> Result<void> {
    auto inner = store->Transaction([&]() -> Result<void> {
      return store->AddFinding(finding("also undone")).map([](int64_t) {});
    });
    EXPECT_TRUE(inner);
    return Fail("outer failure");
  });
  EXPECT_FALSE(failed);
  auto all = store->Unattributed({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].fingerprint, "kept");
}

// Lists page by id: `after` and `limit`.
TEST_P(StoreConformance, ListsPage) {
  auto store = Open();
  ASSERT_TRUE(store);
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(*store->AddFinding({0, "{}", "f" + std::to_string(i), 1, {}, 0, 1}));
  }
  auto first = store->Unattributed({0, 2});
  ASSERT_EQ(first->size(), 2u);
  auto second = store->Unattributed({first->back().id, 2});
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ((*second)[0].id, ids[2]);
  auto last = store->Unattributed({second->back().id, 2});
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ(last->back().id, ids[4]);
  EXPECT_TRUE(store->Unattributed({ids[4], 2})->empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformance,
                         ::testing::Values(Implementation{
                             "sqlite",
                             [](const std::string& dir) { return OpenSqliteStore(dir); }}),
                         [](const auto& info) { return info.param.name; });

// SQLite specifics: WAL mode, and a database from a newer program is refused.
TEST(SqliteStore, RefusesNewerSchema) {
  auto dir = std::filesystem::temp_directory_path() / ("bulwark-newer-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  {
    auto store = OpenSqliteStore(dir.string());
    ASSERT_TRUE(store);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "bulwark.db").c_str(), &db), SQLITE_OK);
  char* mode = nullptr;
  ASSERT_EQ(sqlite3_exec(
                db, "PRAGMA user_version=999", [](void*, int, char**, char**) { return 0; },
                nullptr, &mode),
            SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &statement, nullptr);
  ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0)), "wal");
  sqlite3_finalize(statement);
  sqlite3_close(db);
  auto refused = OpenSqliteStore(dir.string());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("newer"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// A read-only connection reads what is committed while a writer holds its transaction open
// (WAL), and cannot write.
TEST(SqliteStore, ReadOnlyConnectionsReadBesideAWriter) {
  auto dir = std::filesystem::temp_directory_path() / ("bulwark-ro-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(OpenSqliteStore(dir.string(), OpenMode::kReadOnly));  // nothing there yet
  auto writer = OpenSqliteStore(dir.string());
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->AddFinding({0, "{}", "committed", 1, {}, 0, 1}));
  auto reader = OpenSqliteStore(dir.string(), OpenMode::kReadOnly);
  ASSERT_TRUE(reader) << reader.error().ToString();
  auto during = (*writer)->Transaction([&]() -> Result<void> {
    EXPECT_TRUE((*writer)->AddFinding({0, "{}", "uncommitted", 1, {}, 0, 1}));
    auto seen = (*reader)->Unattributed({});  // does not wait for the writer
    EXPECT_TRUE(seen) << seen.error().ToString();
    EXPECT_EQ(seen->size(), 1u);
    return {};
  });
  ASSERT_TRUE(during);
  EXPECT_EQ((*reader)->Unattributed({})->size(), 2u);
  EXPECT_FALSE((*reader)->AddFinding({0, "{}", "refused", 1, {}, 0, 1}));
  reader->reset();
  writer->reset();
  std::filesystem::remove_all(dir);
}

TEST(SqliteStore, UnusableDirectoryIsAnError) {
  auto store = OpenSqliteStore("/proc/bulwark-cannot-be-here");
  ASSERT_FALSE(store);
  EXPECT_FALSE(store.error().ToString().empty());
}

}  // namespace
}  // namespace bulwark::store
