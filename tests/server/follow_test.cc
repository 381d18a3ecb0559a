// Following log files: FileFollower (appends, partial lines, rotation, truncation) and the
// service turning what it reads into incidents, across a rotation.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../support/attack_lines.h"
#include "../support/incidents.h"
#include "../support/sample_inventory.h"
#include "bulwark/core/time.h"
#include "bulwark/data/builtin_env.h"
#include "bulwark/input/follower.h"
#include "bulwark/inventory/import.h"
#include "bulwark/server/service.h"

namespace bulwark {
namespace {

class FollowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bulwark-follow-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    log_ = (dir_ / "auth.log").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Append(const std::string& text) { std::ofstream(log_, std::ios::app) << text; }
  // A configuration of the service on a data directory of the test's holding the sample
  // inventory: the API on a free port, mails printed to a file.
  config::Config ServiceConfig() {
    config::Config config;
    config.data_dir = (dir_ / "data").string();
    config.listen = "127.0.0.1:0";
    config.mail.print = (dir_ / "mails.txt").string();
    auto store = store::OpenSqliteStore(config.data_dir);
    EXPECT_TRUE(store);
    if (store) {
      EXPECT_TRUE(testing_support::ImportSampleInventory(**store));
    }
    return config;
  }

  std::filesystem::path dir_;
  std::string log_;
};

TEST_F(FollowTest, FollowerReadsWhatIsAppendedAcrossRotations) {
  Append("before\n");
  input::FileFollower follower(log_);
  std::vector<std::string> lines;
  ASSERT_TRUE(follower.Poll(lines));
  EXPECT_TRUE(lines.empty());  // starts at the end
  Append("one\ntw");
  ASSERT_TRUE(follower.Poll(lines));
  EXPECT_EQ(lines, (std::vector<std::string>{"one"}));
  Append("o\r\n");
  ASSERT_TRUE(follower.Poll(lines));
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"}));
  // logrotate: rename, then a new file.
  std::filesystem::rename(log_, log_ + ".1");
  std::ofstream(log_ + ".1", std::ios::app) << "last of old\n";
  Append("first of new\n");
  lines.clear();
  ASSERT_TRUE(follower.Poll(lines));
  EXPECT_EQ(lines, (std::vector<std::string>{"last of old", "first of new"}));
  EXPECT_EQ(follower.rotations(), 1u);
  // copytruncate: the same file, shorter (noticed at the next poll), then written again.
  std::filesystem::resize_file(log_, 0);
  lines.clear();
  ASSERT_TRUE(follower.Poll(lines));
  EXPECT_TRUE(lines.empty());
  Append("after truncation\n");
  ASSERT_TRUE(follower.Poll(lines));
  EXPECT_EQ(lines, (std::vector<std::string>{"after truncation"}));
  EXPECT_EQ(follower.rotations(), 2u);
}

TEST_F(FollowTest, AFileThatAppearsLaterIsReadFromItsStart) {
  input::FileFollower follower(log_);
  std::vector<std::string> lines;
  ASSERT_TRUE(follower.Poll(lines));
  EXPECT_TRUE(lines.empty());
  Append("hello\n");
  ASSERT_TRUE(follower.Poll(lines));
  EXPECT_EQ(lines, (std::vector<std::string>{"hello"}));
}

TEST_F(FollowTest, ServiceTurnsFollowedLinesIntoIncidents) {
  Append("");  // the file exists before the service starts
  config::Config config = ServiceConfig();
  const std::string& data = config.data_dir;
  config.inputs = {{log_, "auto", ""}};
  auto service = server::Service::Start(config, "", data::BuiltinEnv::Default());
  ASSERT_TRUE(service) << service.error().ToString();
  auto incidents_of = [&](const std::string& customer) {
    return testing_support::AwaitIncidentsOf(data, customer);
  };
  // Globex's compromised shop brute-forces web1.
  Append(testing_support::SshBruteForce("198.51.100.23", 12));
  EXPECT_EQ(incidents_of("c-globex"), 1u);
  // Rotation: the old file is renamed, a new one starts; Initech's legacy system attacks next.
  std::filesystem::rename(log_, log_ + ".1");
  Append(testing_support::SshBruteForce("192.0.2.10", 12));
  EXPECT_EQ(incidents_of("c-initech"), 1u);
  (*service)->Stop();
}

// Each input is read in its own format (config inputs[].format): the same sshd lines in a file
// declared `plain` are messages without a syslog header, so no sshd decoder reads them. And a
// `builtin:` policy path works in the service as on the command line (both read files through
// the builtin: overlay).
TEST_F(FollowTest, EachInputInItsFormatAndBuiltinPolicy) {
  std::string plain = (dir_ / "plain.log").string();
  Append("");
  std::ofstream(plain, std::ios::app) << "";
  config::Config config = ServiceConfig();
  const std::string& data = config.data_dir;
  config.policy = "builtin:samples/policy.yml";
  config.inputs = {{log_, "auto", ""}, {plain, "plain", ""}};
  auto service = server::Service::Start(config, "", data::BuiltinEnv::Default());
  ASSERT_TRUE(service) << service.error().ToString();
  auto incidents_of = [&](const std::string& customer, int polls) {
    return testing_support::AwaitIncidentsOf(data, customer, polls);
  };
  // The same attack in both files: Globex's shop in the syslog file, Initech's system in the
  // plain one.
  std::ofstream(plain, std::ios::app) << testing_support::SshBruteForce("192.0.2.10", 12);
  Append(testing_support::SshBruteForce("198.51.100.23", 12));
  EXPECT_EQ(incidents_of("c-globex", 50), 1u);
  EXPECT_EQ(incidents_of("c-initech", 10), 0u);  // both files were read in the same round
  (*service)->Stop();
}

// Address lists: a customer system's connection to an address on the configured Feodo list makes
// an incident about that customer; a list rewritten while serve runs is read again (rules
// compiled with it), and only then do connections to its new entries count.
TEST_F(FollowTest, AddressListsAreReadAgainWhenTheyChange) {
  std::string flows = (dir_ / "flows.jsonl").string();
  std::string list = (dir_ / "feodo.txt").string();
  std::ofstream(flows) << "";
  std::ofstream(list) << "# Feodo Tracker (test)\n203.0.113.99\n";
  config::Config config = ServiceConfig();
  const std::string& data = config.data_dir;
  config.inputs = {{flows, "jsonl", ""}};
  config.address_lists = {{"feodo_c2", list}};
  auto service = server::Service::Start(config, "", data::BuiltinEnv::Default());
  ASSERT_TRUE(service) << service.error().ToString();
  // Globex's shop (198.51.100.23) talks to 203.0.113.66, which is not listed yet.
  auto flow_line = [&] {
    return "{\"@timestamp\":\"" + FormatTimestamp(Env::Default().Now()) +
           "\",\"event.module\":\"netflow\",\"event.category\":\"network\","
           "\"network.transport\":\"tcp\",\"source.ip\":\"198.51.100.23\","
           "\"source.port\":40000,\"destination.ip\":\"203.0.113.66\","
           "\"destination.port\":443,\"netflow.tcp_control_bits\":27}\n";
  };
  auto check = (*service)->CheckAddressLists();
  ASSERT_TRUE(check) << check.error().ToString();
  EXPECT_FALSE(*check);  // nothing changed since the start
  std::ofstream(flows, std::ios::app) << flow_line();
  EXPECT_EQ(testing_support::AwaitIncidentsOf(data, "c-globex", 20), 0u);
  // The list is rewritten (another size: noticed even within the same second).
  std::ofstream(list) << "# Feodo Tracker (test)\n203.0.113.99\n203.0.113.66\n";
  check = (*service)->CheckAddressLists();
  ASSERT_TRUE(check) << check.error().ToString();
  EXPECT_TRUE(*check);
  std::ofstream(flows, std::ios::app) << flow_line();
  EXPECT_EQ(testing_support::AwaitIncidentsOf(data, "c-globex"), 1u);
  // A list that disappears keeps the running rules, and says why.
  std::filesystem::remove(list);
  EXPECT_FALSE((*service)->CheckAddressLists());
  (*service)->Stop();
}

// Spoofing: Globex's shop sends sFlow-sampled frames from db1's address (ACME's), and a switch's
// dynamic ARP inspection drops ARP from Initech's legacy system claiming that address: each
// system is found by its MAC address in the inventory, and each customer gets an incident.
TEST_F(FollowTest, SpoofedAddressesLeadToTheSystemThatSentThem) {
  std::string flows = (dir_ / "flows.jsonl").string();
  std::ofstream(flows) << "";
  Append("");
  config::Config config = ServiceConfig();
  const std::string& data = config.data_dir;
  config.inputs = {{flows, "jsonl", ""}, {log_, "syslog", ""}};
  auto service = server::Service::Start(config, "", data::BuiltinEnv::Default());
  ASSERT_TRUE(service) << service.error().ToString();
  std::string now = FormatTimestamp(Env::Default().Now());
  // The shop's own address with its MAC: nothing.
  std::ofstream(flows, std::ios::app)
      << "{\"@timestamp\":\"" << now
      << "\",\"event.module\":\"netflow\",\"source.ip\":\"198.51.100.17\","
         "\"source.mac\":\"FA-16-3E-00-00-03\",\"destination.ip\":\"192.0.2.99\"}\n";
  EXPECT_EQ(testing_support::AwaitIncidentsOf(data, "c-globex", 15), 0u);
  std::ofstream(flows, std::ios::app)
      << "{\"@timestamp\":\"" << now
      << "\",\"event.module\":\"netflow\",\"source.ip\":\"10.0.0.12\","
         "\"source.mac\":\"FA-16-3E-00-00-03\",\"destination.ip\":\"192.0.2.99\"}\n";
  EXPECT_EQ(testing_support::AwaitIncidentsOf(data, "c-globex"), 1u);
  Append("<180>" + FormatTimestamp(Env::Default().Now()) +
         " sw1 %SW_DAI-4-DHCP_SNOOPING_DENY: 1 Invalid ARPs (Req) on Gi1/0/5, vlan 10.([fa16."
         "3e00.0004/10.0.0.12/0000.0000.0000/10.0.0.1/07:00:00 UTC Sat Dec 5 2026])\n");
  EXPECT_EQ(testing_support::AwaitIncidentsOf(data, "c-initech"), 1u);
  EXPECT_EQ(testing_support::AwaitIncidentsOf(data, "c-acme", 5), 0u);  // db1 sent nothing
  (*service)->Stop();
}

}  // namespace
}  // namespace bulwark
