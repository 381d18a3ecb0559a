// STACKIT inventory sync against Prism, an OpenAPI-validating mock server started from the real
// API documents in ../shared/stackit: every request is checked against the contract (a violation
// is answered with 4xx, which fails the sync), answers come from the documents' examples.

#include "bulwark/cloud/stackit.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "../support/net.h"
#include "../support/prism.h"
#include "bulwark/inventory/attribution.h"

namespace bulwark::cloud {
namespace {

constexpr const char* kProject = "54066bf4-1aff-4f7b-9f83-fb23c348fee3";  // the examples' project

using bulwark::testing_support::Accepts;
using bulwark::testing_support::FreePort;

using bulwark::testing_support::Prism;

class StackitSyncTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(access(BULWARK_PRISM, X_OK), 0) << "Prism is missing: tools/deps.sh installs it";
    log_dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                         ("bulwark-prism-" + std::to_string(getpid())));
    std::filesystem::create_directories(*log_dir_);
    std::string shared = BULWARK_SHARED_DIR;
    iaas_ = new Prism(shared + "/stackit/services/iaas/v2/iaas.json", *log_dir_ / "iaas.log");
    resources_ = new Prism(shared + "/stackit/services/resource-manager/v0/resource-manager.json",
                           *log_dir_ / "rm.log");
  }
  static void TearDownTestSuite() {
    delete iaas_;
    delete resources_;
    std::filesystem::remove_all(*log_dir_);
    delete log_dir_;
  }

  void SetUp() override {
    ASSERT_TRUE(iaas_->up() && resources_->up()) << "Prism did not start; see its log";
    dir_ = std::filesystem::temp_directory_path() /
           ("bulwark-stackit-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto store = store::OpenSqliteStore(dir_.string());
    ASSERT_TRUE(store);
    store_ = std::move(*store);
    model::Inventory customers;
    customers.customers = {
        {"c-acme", "ACME GmbH", "de", {{"sec@acme.example", "security"}}, "", ""}};
    ASSERT_TRUE(store_->WriteInventory(customers));
    settings_.resource_manager_url = resources_->url();
    settings_.iaas_url = iaas_->url();
    settings_.organization = "my-organization-1";
    settings_.token = "service-account-token";
    settings_.project_customers = {{kProject, "c-acme"}};
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static Prism* iaas_;
  static Prism* resources_;
  static std::filesystem::path* log_dir_;
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  StackitSettings settings_;
};

Prism* StackitSyncTest::iaas_ = nullptr;
Prism* StackitSyncTest::resources_ = nullptr;
std::filesystem::path* StackitSyncTest::log_dir_ = nullptr;

TEST_F(StackitSyncTest, ServersNicsAndPublicIpsBecomeAddressHistory) {
  TimeNs first = *ParseTimestamp("2026-11-01T00:00:00Z");
  auto report = SyncStackit(*store_, settings_, first);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->projects, 1u);
  EXPECT_EQ(report->servers, 1u);
  EXPECT_TRUE(report->import.clean());
  EXPECT_GT(report->import.written.assignments_added, 0u);
  auto inventory = store_->ReadInventory();
  ASSERT_TRUE(inventory);
  inventory::AttributionIndex index(std::move(*inventory));
  // The example server's NIC has 10.0.0.1 and the public IP 192.0.2.1.
  for (const char* address : {"10.0.0.1", "192.0.2.1"}) {
    auto who = index.Lookup(*event::IpAddress::Parse(address), first + kNsPerSecond);
    ASSERT_TRUE(who && who->system) << address;
    EXPECT_EQ(who->system->name, "server1");
    EXPECT_TRUE(who->system->internet_exposed);
    ASSERT_TRUE(who->customer);
    EXPECT_EQ(who->customer->id, "c-acme");
    ASSERT_TRUE(who->interface);
    EXPECT_EQ(who->interface->port, "0507bb7e-9612-40a5-9d5f-bb6aedbce880");
  }
  // The NIC list's example carries security groups: they are recorded with the interface.
  bool groups = false;
  for (const auto& i : index.inventory().interfaces) groups |= !i.security_groups.empty();
  EXPECT_TRUE(groups);
  EXPECT_FALSE(index.Lookup(*event::IpAddress::Parse("10.0.0.1"), first - kNsPerSecond));
  // A second sync sees the same: nothing added, the start stays.
  auto again = SyncStackit(*store_, settings_, first + 3600 * kNsPerSecond);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->import.written.assignments_added, 0u);
  EXPECT_EQ(again->closed, 0u);
}

TEST_F(StackitSyncTest, ProjectsWithoutACustomerAreSkippedWithTheReason) {
  settings_.project_customers.clear();
  auto report = SyncStackit(*store_, settings_, *ParseTimestamp("2026-11-01T00:00:00Z"));
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->projects, 0u);
  ASSERT_EQ(report->skipped.size(), 1u);
  EXPECT_NE(report->skipped[0].find("bulwark-customer"), std::string::npos);
}

TEST_F(StackitSyncTest, TheContractIsChecked) {
  settings_.region = "";  // an empty path segment breaks the IaaS contract
  auto broken = SyncStackit(*store_, settings_, *ParseTimestamp("2026-11-01T00:00:00Z"));
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("HTTP 4"), std::string::npos) << broken.error().message;
  auto inventory = store_->ReadInventory();
  EXPECT_TRUE(inventory->assignments.empty());  // nothing written
  settings_.region = "eu01";
  settings_.token.clear();
  unsetenv("STACKIT_SERVICE_ACCOUNT_TOKEN");
  unsetenv("STACKIT_SERVICE_ACCOUNT_KEY_PATH");
  auto no_token = SyncStackit(*store_, settings_, 0);
  ASSERT_FALSE(no_token);
  EXPECT_NE(no_token.error().message.find("no credentials"), std::string::npos);
  // A configured key means the key flow (tests/cloud/key_flow_test.cc covers the exchange).
  settings_.token = "ignored when a key is configured";
  settings_.service_account_key = "{}";
  auto key_flow = SyncStackit(*store_, settings_, 0);
  ASSERT_FALSE(key_flow);
  EXPECT_NE(key_flow.error().message.find("key flow"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::cloud
