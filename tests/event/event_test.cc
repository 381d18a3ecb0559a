#include "bulwark/event/event.h"

#include <gtest/gtest.h>

namespace bulwark::event {
namespace {

TEST(IpAddress, ParsesAndNormalises) {
  EXPECT_EQ(IpAddress::Parse("192.0.2.1")->ToString(), "192.0.2.1");
  EXPECT_EQ(IpAddress::Parse("::ffff:1.2.3.4")->ToString(), "1.2.3.4");
  EXPECT_TRUE(IpAddress::Parse("::ffff:1.2.3.4")->is_v4());
  EXPECT_EQ(IpAddress::Parse("2001:DB8:0:0:0:0:0:1")->ToString(), "2001:db8::1");
  EXPECT_EQ(IpAddress::Parse("[fe80::1%eth0]")->ToString(), "fe80::1");
  EXPECT_EQ(IpAddress::Parse("192.030.0.6")->ToString(), "192.30.0.6");
  EXPECT_FALSE(IpAddress::Parse("256.1.1.1"));
  EXPECT_FALSE(IpAddress::Parse("example.com"));
  EXPECT_FALSE(IpAddress::Parse("1.2.3"));
  EXPECT_FALSE(IpAddress::Parse(""));
}

TEST(Cidr, Contains) {
  auto net = Cidr::Parse("10.0.0.0/8");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->Contains(*IpAddress::Parse("10.200.1.1")));
  EXPECT_TRUE(net->Contains(*IpAddress::Parse("::ffff:10.1.1.1")));
  EXPECT_FALSE(net->Contains(*IpAddress::Parse("11.0.0.1")));
  auto v6 = Cidr::Parse("2001:db8::/32");
  EXPECT_TRUE(v6->Contains(*IpAddress::Parse("2001:db8:1::5")));
  EXPECT_FALSE(v6->Contains(*IpAddress::Parse("10.0.0.1")));
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/33"));
  EXPECT_TRUE(Cidr::Parse("1.2.3.4")->Contains(*IpAddress::Parse("1.2.3.4")));
}

TEST(Event, TypedFields) {
  Event event;
  EXPECT_TRUE(event.Set(fid::kSourceIp, "::ffff:203.0.113.7"));
  EXPECT_EQ(*event.Get(fid::kSourceIp), "203.0.113.7");
  EXPECT_FALSE(event.Set(fid::kSourceIp, "not-an-ip"));
  EXPECT_EQ(*event.Get(fid::kSourceIp), "203.0.113.7");
  // Addresses are stored in canonical text whatever their spelling.
  for (auto [given, stored] :
       {std::pair{"192.0.2.10", "192.0.2.10"}, std::pair{"192.000.2.010", "192.0.2.10"},
        std::pair{"0.0.0.0", "0.0.0.0"}, std::pair{"2001:DB8:0:0:0:0:0:1", "2001:db8::1"}}) {
    Event e;
    ASSERT_TRUE(e.Set(fid::kDestinationIp, given)) << given;
    EXPECT_EQ(*e.Get(fid::kDestinationIp), stored) << given;
  }
  event.SetInt(fid::kSourcePort, 2222);
  EXPECT_EQ(event.GetInt(fid::kSourcePort), 2222);
  event.Set("custom.field", "x");
  event.Add("custom.field", "y");
  EXPECT_EQ(event.size(), 4u);
  EXPECT_EQ(FieldName(event.IdAt(0)), "source.ip");
  event.Clear();
  EXPECT_EQ(event.size(), 0u);
  EXPECT_FALSE(event.Has(fid::kSourceIp));
}

TEST(Fields, WellKnownIdsAndTypes) {
  EXPECT_EQ(FieldName(fid::kUserName), "user.name");
  EXPECT_EQ(InternField("user.name"), fid::kUserName);
  EXPECT_EQ(TypeOf(InternField("client.ip")), FieldType::kIp);
  EXPECT_EQ(TypeOf(InternField("http.response.status_code")), FieldType::kInteger);
  EXPECT_EQ(TypeOf(fid::kMessage), FieldType::kString);
}

}  // namespace
}  // namespace bulwark::event
