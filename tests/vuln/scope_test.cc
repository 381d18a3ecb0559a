// The scanner's scope on the sample inventory: internet-facing systems' addresses at the time,
// the allow- and deny-lists, opted-out customers; every refusal says why.

#include "bulwark/vuln/scope.h"

#include <gtest/gtest.h>

#include "../support/sample_inventory.h"
#include "bulwark/store/store.h"

namespace bulwark::vuln {
namespace {

class ScopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = testing_support::TestDataDir("bulwark-scope");
    auto store = testing_support::SampleStore(dir);
    ASSERT_TRUE(store);
    auto inventory = store->ReadInventory();
    ASSERT_TRUE(inventory);
    index_ = std::make_shared<const inventory::AttributionIndex>(std::move(*inventory));
    store.reset();
    testing_support::RemoveTree(dir);
  }
  ScopeDecision Check(const ScopeSettings& settings, const char* address, const char* at) {
    return Scope(index_, settings).Check(*event::IpAddress::Parse(address), *ParseTimestamp(at));
  }
  std::shared_ptr<const inventory::AttributionIndex> index_;
};

TEST_F(ScopeTest, OnlyInternetFacingSystemsAtTheTime) {
  ScopeSettings none;
  // 203.0.113.7: ACME's web1 until June, Globex's shop after; both internet-facing.
  auto web1 = Check(none, "203.0.113.7", "2026-03-01T00:00:00Z");
  EXPECT_TRUE(web1.allowed) << web1.reason;
  EXPECT_EQ(web1.system_id, "s-web1");
  auto shop = Check(none, "203.0.113.7", "2026-07-01T00:00:00Z");
  EXPECT_TRUE(shop.allowed);
  EXPECT_EQ(shop.customer_id, "c-globex");
  // ACME's database is not internet-facing.
  auto db = Check(none, "10.0.0.12", "2026-07-01T00:00:00Z");
  EXPECT_FALSE(db.allowed);
  EXPECT_NE(db.reason.find("not internet-facing"), std::string::npos) << db.reason;
  auto nobody = Check(none, "198.18.0.1", "2026-07-01T00:00:00Z");
  EXPECT_FALSE(nobody.allowed);
  EXPECT_NE(nobody.reason.find("nobody held"), std::string::npos);
}

TEST_F(ScopeTest, ListsAndOptOuts) {
  ScopeSettings settings;
  settings.allow = {*model::Prefix::Parse("198.18.0.0/24")};
  settings.deny = {*model::Prefix::Parse("203.0.113.0/28")};
  EXPECT_TRUE(Check(settings, "198.18.0.1", "2026-07-01T00:00:00Z").allowed);
  auto denied = Check(settings, "203.0.113.7", "2026-03-01T00:00:00Z");
  EXPECT_FALSE(denied.allowed);
  EXPECT_NE(denied.reason.find("deny-list"), std::string::npos);
  ScopeSettings opted;
  opted.opted_out = {"c-acme"};
  auto out = Check(opted, "203.0.113.7", "2026-03-01T00:00:00Z");
  EXPECT_FALSE(out.allowed);
  EXPECT_NE(out.reason.find("opted out"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::vuln
