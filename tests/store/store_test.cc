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

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformance,
                         ::testing::Values(Implementation{"sqlite", OpenSqliteStore}),
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

TEST(SqliteStore, UnusableDirectoryIsAnError) {
  auto store = OpenSqliteStore("/proc/bulwark-cannot-be-here");
  ASSERT_FALSE(store);
  EXPECT_FALSE(store.error().ToString().empty());
}

}  // namespace
}  // namespace bulwark::store
