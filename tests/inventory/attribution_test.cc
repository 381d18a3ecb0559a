#include "bulwark/inventory/attribution.h"

#include <gtest/gtest.h>

namespace bulwark::inventory {
namespace {

TimeNs T(const char* text) {
  return *ParseTimestamp(text);
}

model::Assignment Claim(const char* system, const char* prefix,
                        TimeNs from = model::kBeginningOfTime, TimeNs until = model::kEndOfTime) {
  model::Assignment a;
  a.system_id = system;
  a.interface_key = std::string("if-") + system;
  a.prefix = *model::Prefix::Parse(prefix);
  a.from = from;
  a.until = until;
  return a;
}

AttributionIndex Sample() {
  model::Inventory inv;
  inv.customers = {{"c1", "One", "de", {{"a@one.example", "security"}}, "", ""},
                   {"c2", "Two", "en", {}, "", ""}};
  inv.projects = {{"p1", "c1", "p1", {}, ""}, {"p2", "c2", "p2", {}, ""}};
  inv.systems = {{"s1", "p1", "s1", {}, true, false, ""},
                 {"s2", "p2", "s2", {}, false, true, ""},
                 {"s3", "p2", "s3", {}, false, false, ""}};
  inv.interfaces = {
      {"s1",
       "fa:16:3e:00:00:01",
       "if-s1",
       model::kBeginningOfTime,
       T("2026-06-01T00:00:00Z"),
       "",
       {}},
      {"s2", "fa:16:3e:00:00:01", "if-s2", T("2026-06-01T00:00:00Z"), model::kEndOfTime, "", {}},
      {"s3", "", "if-s3", model::kBeginningOfTime, model::kEndOfTime, "", {}}};
  inv.assignments = {
      Claim("s1", "203.0.113.7", T("2026-01-01T00:00:00Z"), T("2026-06-01T00:00:00Z")),
      Claim("s2", "203.0.113.7", T("2026-06-01T00:00:00Z")),
      Claim("s3", "203.0.113.0/24"),
      Claim("s3", "2001:db8::/32"),
      Claim("s2", "2001:db8:1::1"),
  };
  return AttributionIndex(std::move(inv));
}

std::string Who(const AttributionIndex& index, const char* address, const char* at) {
  auto found = index.Lookup(*event::IpAddress::Parse(address), T(at));
  return found && found->system ? found->system->id : "nobody";
}

TEST(Attribution, AsOfTheInstant) {
  auto index = Sample();
  EXPECT_EQ(Who(index, "203.0.113.7", "2025-12-31T23:59:59Z"), "s3");  // only the /24 then
  EXPECT_EQ(Who(index, "203.0.113.7", "2026-01-01T00:00:00Z"), "s1");  // from is inclusive
  EXPECT_EQ(Who(index, "203.0.113.7", "2026-05-31T23:59:59Z"), "s1");
  EXPECT_EQ(Who(index, "203.0.113.7", "2026-06-01T00:00:00Z"), "s2");  // until is exclusive
  EXPECT_EQ(Who(index, "203.0.113.8", "2026-03-01T00:00:00Z"), "s3");
  EXPECT_EQ(Who(index, "203.0.114.1", "2026-03-01T00:00:00Z"), "nobody");
  EXPECT_EQ(Who(index, "::ffff:203.0.113.7", "2026-03-01T00:00:00Z"), "s1");
}

TEST(Attribution, IPv6MostSpecificWins) {
  auto index = Sample();
  EXPECT_EQ(Who(index, "2001:db8:1::1", "2026-03-01T00:00:00Z"), "s2");
  EXPECT_EQ(Who(index, "2001:db8:1::2", "2026-03-01T00:00:00Z"), "s3");
  EXPECT_EQ(Who(index, "2001:db9::1", "2026-03-01T00:00:00Z"), "nobody");
}

TEST(Attribution, ChainReachesTheContacts) {
  auto index = Sample();
  auto found = index.Lookup(*event::IpAddress::Parse("203.0.113.7"), T("2026-03-01T00:00:00Z"));
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->customer);
  EXPECT_EQ(found->customer->id, "c1");
  ASSERT_EQ(found->customer->contacts.size(), 1u);
  ASSERT_TRUE(found->interface);
  EXPECT_EQ(found->interface->mac, "fa:16:3e:00:00:01");
  EXPECT_EQ(found->assignment->prefix.ToString(), "203.0.113.7");
}

TEST(Attribution, MacAddressesMoveToo) {
  auto index = Sample();
  auto before = index.LookupMac("FA-16-3E-00-00-01", T("2026-03-01T00:00:00Z"));
  ASSERT_TRUE(before && before->system);
  EXPECT_EQ(before->system->id, "s1");
  auto after = index.LookupMac("fa16.3e00.0001", T("2026-07-01T00:00:00Z"));
  ASSERT_TRUE(after && after->system);
  EXPECT_EQ(after->system->id, "s2");
  EXPECT_FALSE(index.LookupMac("fa:16:3e:00:00:77", T("2026-07-01T00:00:00Z")));
  EXPECT_FALSE(index.LookupMac("not a mac", T("2026-07-01T00:00:00Z")));
}

TEST(Prefix, ParseAndContain) {
  EXPECT_FALSE(model::Prefix::Parse("203.0.113.7/24"));  // host bits set
  EXPECT_FALSE(model::Prefix::Parse("203.0.113.0/33"));
  auto p = model::Prefix::Parse("203.0.113.0/25");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->Contains(*event::IpAddress::Parse("203.0.113.127")));
  EXPECT_FALSE(p->Contains(*event::IpAddress::Parse("203.0.113.128")));
  EXPECT_FALSE(p->Contains(*event::IpAddress::Parse("2001:db8::1")));
  EXPECT_EQ(model::NormalizeMac("FA:16:3E:00:00:0A").value_or(""), "fa:16:3e:00:00:0a");
  EXPECT_FALSE(model::NormalizeMac("fa:16:3e:00:00"));
  // As 48 bits, for flow records and detectors, in each notation.
  EXPECT_EQ(model::MacBits("FA-16-3E-00-00-03"), 0xfa163e000003u);
  EXPECT_EQ(model::MacBits("fa:16:3e:00:00:03"), 0xfa163e000003u);
  EXPECT_EQ(model::MacBits("fa16.3e00.0003"), 0xfa163e000003u);
  EXPECT_FALSE(model::MacBits("fa:16:3e:00:00:03:01"));
  EXPECT_FALSE(model::MacBits("fa:16:3e:00:00:0g"));
}

}  // namespace
}  // namespace bulwark::inventory
