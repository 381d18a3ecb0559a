// Address lists as their publishers write them (formats from Spamhaus's and abuse.ch's published
// files: DROP's text and JSON lines, Feodo Tracker's plain list and CSV).

#include "bulwark/detect/address_list.h"

#include <gtest/gtest.h>

namespace bulwark::detect {
namespace {

using Networks = std::vector<std::string>;

TEST(AddressListTest, SpamhausDropTextAndJsonLines) {
  AddressList text = ReadAddressList(
      "; Spamhaus DROP List 2026/12/05 - (c) 2026 The Spamhaus Project SLU\n"
      "; Last-Modified: Fri, 04 Dec 2026 17:04:11 GMT\n"
      "1.10.16.0/20 ; SBL256894\n"
      "2.56.192.0/22 ; SBL459831\r\n"
      "2001:678:738::/48 ; SBL612345\n",
      "drop.txt");
  EXPECT_EQ(text.networks, (Networks{"1.10.16.0/20", "2.56.192.0/22", "2001:678:738::/48"}));
  EXPECT_TRUE(text.problems.empty());
  AddressList json = ReadAddressList(
      "{\"cidr\":\"1.10.16.0/20\",\"sblid\":\"SBL256894\",\"rir\":\"apnic\"}\n"
      "{\"cidr\":\"2.56.192.0/22\",\"sblid\":\"SBL459831\",\"rir\":\"ripencc\"}\n"
      "{\"type\":\"metadata\",\"timestamp\":1733331851,\"size\":70123,\"records\":2}\n",
      "drop_v4.json");
  EXPECT_EQ(json.networks, (Networks{"1.10.16.0/20", "2.56.192.0/22"}));
  EXPECT_TRUE(json.problems.empty());
}

TEST(AddressListTest, FeodoTrackerPlainAndCsv) {
  AddressList plain = ReadAddressList(
      "################################################################\n"
      "# abuse.ch Feodo Tracker Botnet C2 IP Blocklist                #\n"
      "################################################################\n"
      "50.16.16.211\n"
      "162.243.103.246\n"
      "#\n",
      "ipblocklist.txt");
  EXPECT_EQ(plain.networks, (Networks{"50.16.16.211", "162.243.103.246"}));
  AddressList csv = ReadAddressList(
      "# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)\n"
      "\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n"
      "\"2021-01-17 07:44:46\",\"51.178.161.32\",\"4643\",\"online\",\"2026-12-04\",\"Dridex\"\n"
      "\"2023-05-02 13:03:11\",\"2a01:4f8:c17:5b8::1\",\"443\",\"offline\",\"\",\"QakBot\"\n",
      "ipblocklist.csv");
  EXPECT_EQ(csv.networks, (Networks{"51.178.161.32", "2a01:4f8:c17:5b8::1"}));
  EXPECT_TRUE(csv.problems.empty());
}

TEST(AddressListTest, LinesWithoutAnAddressAreNamedAndTheRestKept) {
  AddressList list = ReadAddressList(
      "10.0.0.0/8\nnot an address\n300.1.2.3\n192.0.2.0/33\n"
      "192.0.2.7 # a comment\n",
      "mine.txt");
  EXPECT_EQ(list.networks, (Networks{"10.0.0.0/8", "192.0.2.7"}));
  ASSERT_EQ(list.problems.size(), 3u);
  EXPECT_EQ(list.problems[0].where, "mine.txt:2");
  EXPECT_EQ(list.problems[2].where, "mine.txt:4");
}

TEST(AddressListTest, BuiltinListsAreDeclaredEmptyAndFilesFilled) {
  FieldMap map;
  auto added = AddAddressLists({}, map, Env::Default());
  ASSERT_TRUE(added);
  ASSERT_TRUE(map.placeholders.count("spamhaus_drop"));
  EXPECT_TRUE(map.placeholders["feodo_c2"].empty());
  auto missing = AddAddressLists({{"x", "/no/such/list"}}, map, Env::Default());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("address list x"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::detect
