#include "bulwark/event/event.h"

#include <gtest/gtest.h>

#include <array>
#include <random>

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
        std::pair{"0.0.0.0", "0.0.0.0"}, std::pair{"255.255.255.255", "255.255.255.255"},
        std::pair{"2001:DB8:0:0:0:0:0:1", "2001:db8::1"}}) {
    Event e;
    ASSERT_TRUE(e.Set(fid::kDestinationIp, given)) << given;
    EXPECT_EQ(*e.Get(fid::kDestinationIp), stored) << given;
  }
  for (const char* wrong : {"256.1.1.1", "1.2.3.256", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.4 "}) {
    Event e;
    EXPECT_FALSE(e.Set(fid::kDestinationIp, wrong)) << wrong;
    EXPECT_FALSE(e.Has(fid::kDestinationIp)) << wrong;
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

// Fields set from parts of the raw line refer to it; they keep their values when the raw line
// is replaced or the event copied, and replacing a field does not disturb the others.
TEST(Event, FieldsFromTheRawLine) {
  Event event;
  event.SetRaw("sshd[42]: Failed password for root from 192.0.2.7 port 2222 ssh2");
  std::string_view raw = event.raw();
  EXPECT_TRUE(event.InRaw(raw.substr(0, 4)));
  EXPECT_FALSE(event.InRaw("sshd"));
  ASSERT_TRUE(event.Set(fid::kProcessName, raw.substr(0, 4)));
  ASSERT_TRUE(event.Set(fid::kSourceIp, raw.substr(raw.find("192."), 9)));
  ASSERT_TRUE(event.Set(fid::kMessage, raw.substr(raw.find("Failed"))));
  ASSERT_TRUE(event.Set(fid::kUserName, "root"));  // not from the raw line: copied
  Event copy = event;
  event.SetRaw("something else entirely, longer than the first line was, to move the buffer");
  for (const Event* e : {&event, &copy}) {
    EXPECT_EQ(*e->Get(fid::kProcessName), "sshd");
    EXPECT_EQ(*e->Get(fid::kSourceIp), "192.0.2.7");
    EXPECT_EQ(*e->Get(fid::kMessage), "Failed password for root from 192.0.2.7 port 2222 ssh2");
    EXPECT_EQ(*e->Get(fid::kUserName), "root");
  }
  EXPECT_EQ(copy.raw(), "sshd[42]: Failed password for root from 192.0.2.7 port 2222 ssh2");
  ASSERT_TRUE(copy.Set(fid::kProcessName, copy.raw().substr(5, 2)));
  EXPECT_EQ(*copy.Get(fid::kProcessName), "42");
  EXPECT_EQ(*copy.Get(fid::kSourceIp), "192.0.2.7");
  copy.ClearFields();
  EXPECT_EQ(copy.size(), 0u);
  EXPECT_FALSE(copy.raw().empty());
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

namespace bulwark::event {
namespace {

// The radix tree against Cidr::Contains tried prefix by prefix: random prefixes of both
// families at every length, and addresses inside, beside and outside them.
TEST(PrefixSetTest, AgreesWithCidrContainsOnRandomPrefixes) {
  std::mt19937_64 random(20261205);
  auto address = [&](bool v4) {
    std::array<uint8_t, 16> bytes{};
    for (auto& b : bytes) b = static_cast<uint8_t>(random());
    if (v4) {
      return IpAddress::V4(static_cast<uint32_t>(random() & 0x0f0f00ffu));  // few distinct
    }
    bytes[0] = 0x20;
    bytes[1] = static_cast<uint8_t>(random() & 1);
    return IpAddress::FromBytes(bytes);
  };
  for (int round = 0; round < 20; ++round) {
    PrefixSet set;
    std::vector<Cidr> prefixes;
    size_t count = round == 0 ? 0 : 1 + random() % 400;
    for (size_t i = 0; i < count; ++i) {
      bool v4 = random() % 2 == 0;
      int length = static_cast<int>(random() % ((v4 ? 32 : 128) + 1));
      auto cidr = Cidr::Parse(address(v4).ToString() + "/" + std::to_string(length));
      ASSERT_TRUE(cidr);
      prefixes.push_back(*cidr);
      set.Add(*cidr);
    }
    EXPECT_EQ(set.size(), count);
    for (int probe = 0; probe < 5000; ++probe) {
      IpAddress a = probe % 3 == 0 && !prefixes.empty()
                        ? prefixes[random() % prefixes.size()].network()
                        : address(random() % 2 == 0);
      bool expected = false;
      for (const Cidr& c : prefixes) expected = expected || c.Contains(a);
      ASSERT_EQ(set.Contains(a), expected) << a.ToString() << " round " << round;
    }
  }
  // IPv4 stays in IPv4 prefixes: ::/0 holds no IPv4 address, 0.0.0.0/0 no IPv6 one.
  PrefixSet all_v6;
  all_v6.Add(*Cidr::Parse("::/0"));
  EXPECT_FALSE(all_v6.Contains(*IpAddress::Parse("192.0.2.1")));
  EXPECT_TRUE(all_v6.Contains(*IpAddress::Parse("2001:db8::1")));
  PrefixSet all_v4;
  all_v4.Add(*Cidr::Parse("0.0.0.0/0"));
  EXPECT_TRUE(all_v4.Contains(*IpAddress::Parse("::ffff:192.0.2.1")));
  EXPECT_FALSE(all_v4.Contains(*IpAddress::Parse("2001:db8::1")));
}

}  // namespace
}  // namespace bulwark::event
