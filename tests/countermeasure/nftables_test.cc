// The nftables enforcer on a real bridge: namespaces this test creates (a switch with a bridge,
// two customer VMs, a forensics host, an "internet" host), real packets (ping, TCP) before and
// after each countermeasure.

#include "bulwark/countermeasure/nftables.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../support/lab.h"
#include "../support/process.h"

namespace bulwark::countermeasure {
namespace {

using testing_support::ChildProcess;
using testing_support::Lab;

constexpr TimeNs kNow = 1'700'000'000LL * kNsPerSecond;

Enforcement Make(int64_t id, model::CountermeasureKind kind, std::vector<std::string> ports,
                 std::string address, std::vector<std::string> blocked = {}) {
  Enforcement e;
  e.countermeasure.id = id;
  e.countermeasure.kind = kind;
  e.countermeasure.system_id = "s-" + std::to_string(id);
  e.countermeasure.ports = std::move(blocked);
  e.target.ports = std::move(ports);
  e.target.addresses = {std::move(address)};
  return e;
}

class NftablesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(lab_.ok()) << "could not create the namespaces (root and iproute2 needed)";
    NftablesSettings settings;
    settings.netns = lab_.Namespace("sw");
    settings.forensics = {*model::Prefix::Parse("10.77.0.50"), *model::Prefix::Parse("fd77::50")};
    auto enforcer = NftablesEnforcer::Create(settings);
    ASSERT_TRUE(enforcer) << enforcer.error().ToString();
    enforcer_ = std::move(*enforcer);
    // Every host answers ping; inet and fx listen on TCP 25 and 80.
    for (const char* host : {"inet", "fx", "vm2"}) {
      for (const char* port : {"25", "80"}) {
        listeners_.push_back(std::make_unique<ChildProcess>(
            lab_.Argv(host, {"/usr/bin/socat",
                             std::string("TCP-LISTEN:") + port + ",fork,reuseaddr", "SYSTEM:true"}),
            "/dev/null"));
      }
    }
    for (int i = 0; i < 50 && !lab_.Connects("vm1", "10.77.0.100", 80); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  Lab lab_{{{"vm1", "10.77.0.11"},
            {"vm2", "10.77.0.12"},
            {"fx", "10.77.0.50"},
            {"inet", "10.77.0.100"}}};
  std::unique_ptr<NftablesEnforcer> enforcer_;
  std::vector<std::unique_ptr<ChildProcess>> listeners_;
};

TEST_F(NftablesTest, QuarantineCutsTheSystemButNotForensicsOrTheNeighbour) {
  ASSERT_TRUE(lab_.Pings("vm1", "10.77.0.100"));
  ASSERT_TRUE(lab_.Connects("vm1", "10.77.0.100", 80));
  Enforcement vm1 = Make(1, model::CountermeasureKind::kQuarantine, {"vm1p"}, "10.77.0.11");
  auto applied = enforcer_->Apply(std::span(&vm1, 1), {}, kNow);
  ASSERT_TRUE(applied) << applied.error().ToString();

  EXPECT_FALSE(lab_.Pings("vm1", "10.77.0.100"));
  EXPECT_FALSE(lab_.Pings("inet", "10.77.0.11"));
  EXPECT_FALSE(lab_.Connects("vm1", "10.77.0.100", 80));
  EXPECT_FALSE(lab_.Pings("vm1", "10.77.0.12"));
  // The forensics host still reaches the quarantined VM, both ways.
  EXPECT_TRUE(lab_.Pings("fx", "10.77.0.11"));
  EXPECT_TRUE(lab_.Pings("vm1", "10.77.0.50"));
  EXPECT_TRUE(lab_.Connects("vm1", "10.77.0.50", 80));
  // The neighbour loses nothing.
  EXPECT_TRUE(lab_.Pings("vm2", "10.77.0.100"));
  EXPECT_TRUE(lab_.Connects("vm2", "10.77.0.100", 80));

  // The VM gives itself another address and another MAC: still cut (keyed on its port).
  ASSERT_TRUE(lab_.Ok("vm1", "ip addr add 10.77.0.99/24 dev eth0"));
  ASSERT_TRUE(lab_.Ok("vm1", "ip link set eth0 address 02:00:00:00:00:99"));
  EXPECT_FALSE(lab_.Ok("vm1", "ping -n -c1 -W1 -I 10.77.0.99 10.77.0.100"));
  EXPECT_FALSE(lab_.Pings("inet", "10.77.0.99"));

  auto observed = enforcer_->Observe(std::span(&vm1, 1));
  ASSERT_TRUE(observed) << observed.error().ToString();
  EXPECT_EQ((*observed)[0].presence, Presence::kPresent) << (*observed)[0].detail;

  auto lifted = enforcer_->Lift(std::span(&vm1, 1), {}, kNow);
  ASSERT_TRUE(lifted) << lifted.error().ToString();
  // The internet host still has the VM's old MAC address for it.
  ASSERT_TRUE(lab_.Ok("inet", "ip neigh flush all"));
  EXPECT_TRUE(lab_.Pings("vm1", "10.77.0.100"));
  EXPECT_TRUE(lab_.Connects("vm1", "10.77.0.100", 80));
  observed = enforcer_->Observe(std::span(&vm1, 1));
  ASSERT_TRUE(observed);
  EXPECT_EQ((*observed)[0].presence, Presence::kAbsent);
}

// Running SSH sessions into the VM: the one from the internet host stalls when the quarantine
// is applied, the forensics host's keeps running.
TEST_F(NftablesTest, RunningSshSessionsStopExceptTheForensicsHosts) {
  std::string dir = "/tmp/bwl-ssh-" + std::to_string(getpid());
  ASSERT_TRUE(Lab::Sh("mkdir -p " + dir + " /run/sshd"));
  ASSERT_TRUE(Lab::Sh("ssh-keygen -q -t ed25519 -N '' -f " + dir + "/host && ssh-keygen -q -t " +
                      "ed25519 -N '' -f " + dir + "/client && cp " + dir + "/client.pub " + dir +
                      "/authorized_keys"));
  std::ofstream(dir + "/sshd_config")
      << "ListenAddress 10.77.0.11\nHostKey " << dir << "/host\nAuthorizedKeysFile " << dir
      << "/authorized_keys\nPermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
      << "PidFile " << dir << "/sshd.pid\nLogLevel ERROR\n";
  ChildProcess sshd(lab_.Argv("vm1", {"/usr/sbin/sshd", "-D", "-e", "-f", dir + "/sshd_config"}),
                    dir + "/sshd.log");
  for (int i = 0; i < 50 && !lab_.Connects("inet", "10.77.0.11", 22); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto session = [&](const std::string& host) {
    return std::make_unique<ChildProcess>(
        lab_.Argv(host, {"/usr/bin/ssh", "-i", dir + "/client", "-o", "BatchMode=yes", "-o",
                         "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
                         "LogLevel=ERROR", "root@10.77.0.11",
                         "while true; do echo tick; sleep 0.1; done"}),
        dir + "/" + host + ".out");
  };
  auto size = [&](const std::string& host) {
    std::error_code error;
    return std::filesystem::file_size(dir + "/" + host + ".out", error);
  };
  auto inet = session("inet");
  auto fx = session("fx");
  for (int i = 0; i < 100 && (size("inet") < 20 || size("fx") < 20); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GE(size("inet"), 20u) << "the SSH session from the internet host did not start";
  ASSERT_GE(size("fx"), 20u) << "the SSH session from the forensics host did not start";

  Enforcement vm1 = Make(10, model::CountermeasureKind::kQuarantine, {"vm1p"}, "10.77.0.11");
  ASSERT_TRUE(enforcer_->Apply(std::span(&vm1, 1), {}, kNow));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // what was in flight arrives
  auto inet_before = size("inet"), fx_before = size("fx");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(size("inet"), inet_before) << "the internet host's session still runs";
  EXPECT_GT(size("fx"), fx_before + 50) << "the forensics host's session stopped";

  ASSERT_TRUE(enforcer_->Lift(std::span(&vm1, 1), {}, kNow));
  // The stalled session resumes: TCP retransmits what the quarantine dropped.
  bool resumed = false;
  for (int i = 0; i < 100 && !resumed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    resumed = size("inet") > inet_before + 50;
  }
  EXPECT_TRUE(resumed) << "the internet host's session did not resume after the lift";
  inet.reset();
  fx.reset();
  sshd.Stop();
  Lab::Sh("rm -rf " + dir);
}

// The same over IPv6: neighbour discovery still works, only the forensics host gets through.
TEST_F(NftablesTest, QuarantineHoldsForIpv6) {
  for (auto [host, address] : {std::pair{"vm1", "fd77::11"}, std::pair{"vm2", "fd77::12"},
                               std::pair{"fx", "fd77::50"}, std::pair{"inet", "fd77::100"}}) {
    ASSERT_TRUE(lab_.Ok(host, std::string("ip -6 addr add ") + address + "/64 dev eth0 nodad"));
  }
  ASSERT_TRUE(lab_.Ok("vm1", "ping -6 -n -c1 -W1 fd77::100"));
  Enforcement vm1 = Make(11, model::CountermeasureKind::kQuarantine, {"vm1p"}, "fd77::11");
  ASSERT_TRUE(enforcer_->Apply(std::span(&vm1, 1), {}, kNow));
  EXPECT_FALSE(lab_.Ok("vm1", "ping -6 -n -c1 -W1 fd77::100"));
  EXPECT_FALSE(lab_.Ok("inet", "ping -6 -n -c1 -W1 fd77::11"));
  EXPECT_TRUE(lab_.Ok("fx", "ping -6 -n -c1 -W1 fd77::11"));
  EXPECT_TRUE(lab_.Ok("vm1", "ping -6 -n -c1 -W1 fd77::50"));
  EXPECT_TRUE(lab_.Ok("vm2", "ping -6 -n -c1 -W1 fd77::100"));
  ASSERT_TRUE(enforcer_->Lift(std::span(&vm1, 1), {}, kNow));
  EXPECT_TRUE(lab_.Ok("vm1", "ping -6 -n -c1 -W1 fd77::100"));
}

TEST_F(NftablesTest, EgressBlockDropsOnlyTheNamedPorts) {
  Enforcement vm1 =
      Make(2, model::CountermeasureKind::kEgressBlock, {"vm1p"}, "10.77.0.11", {"tcp/25"});
  ASSERT_TRUE(enforcer_->Apply(std::span(&vm1, 1), {}, kNow));
  EXPECT_FALSE(lab_.Connects("vm1", "10.77.0.100", 25));
  EXPECT_TRUE(lab_.Connects("vm1", "10.77.0.100", 80));
  EXPECT_TRUE(lab_.Connects("vm2", "10.77.0.100", 25));
  EXPECT_TRUE(lab_.Pings("vm1", "10.77.0.100"));
  ASSERT_TRUE(enforcer_->Lift(std::span(&vm1, 1), {}, kNow));
  EXPECT_TRUE(lab_.Connects("vm1", "10.77.0.100", 25));
}

TEST_F(NftablesTest, IdempotentAndKeepsTheOthers) {
  Enforcement vm1 = Make(3, model::CountermeasureKind::kQuarantine, {"vm1p"}, "10.77.0.11");
  Enforcement vm2 = Make(4, model::CountermeasureKind::kQuarantine, {"vm2p"}, "10.77.0.12");
  ASSERT_TRUE(enforcer_->Apply(std::span(&vm1, 1), {}, kNow));
  // Applying again, and applying another while keeping the first, change nothing of the first.
  ASSERT_TRUE(enforcer_->Apply(std::span(&vm1, 1), {}, kNow));
  ASSERT_TRUE(enforcer_->Apply(std::span(&vm2, 1), std::span(&vm1, 1), kNow));
  EXPECT_FALSE(lab_.Pings("vm1", "10.77.0.100"));
  EXPECT_FALSE(lab_.Pings("vm2", "10.77.0.100"));
  // Lifting vm2 keeps vm1; lifting vm2 again is no error.
  ASSERT_TRUE(enforcer_->Lift(std::span(&vm2, 1), std::span(&vm1, 1), kNow));
  ASSERT_TRUE(enforcer_->Lift(std::span(&vm2, 1), std::span(&vm1, 1), kNow));
  EXPECT_TRUE(lab_.Pings("vm2", "10.77.0.100"));
  EXPECT_FALSE(lab_.Pings("vm1", "10.77.0.100"));

  // The drop rules flushed by hand, the sets intact: drift too.
  ASSERT_TRUE(lab_.Ok("sw", "nft flush chain bridge bulwark forward"));
  auto flushed = enforcer_->Observe(std::span(&vm1, 1));
  ASSERT_TRUE(flushed);
  EXPECT_EQ((*flushed)[0].presence, Presence::kAbsent);
  ASSERT_TRUE(enforcer_->Apply(std::span(&vm1, 1), {}, kNow));
  EXPECT_FALSE(lab_.Pings("vm1", "10.77.0.100"));
  // A rule removed by hand is seen as drift, and the next change puts it back.
  ASSERT_TRUE(lab_.Ok("sw", "nft delete element bridge bulwark quarantine '{ \"vm1p\" }'"));
  auto observed = enforcer_->Observe(std::span(&vm1, 1));
  ASSERT_TRUE(observed);
  EXPECT_EQ((*observed)[0].presence, Presence::kAbsent);
  EXPECT_NE((*observed)[0].detail.find("vm1p"), std::string::npos);
  EXPECT_TRUE(lab_.Pings("vm1", "10.77.0.100"));
  ASSERT_TRUE(enforcer_->Apply(std::span(&vm1, 1), {}, kNow));
  EXPECT_FALSE(lab_.Pings("vm1", "10.77.0.100"));
}

// Two quarantines of one port, one expiring: the element does not expire (the longer wins).
TEST_F(NftablesTest, ASharedPortLastsAsLongAsItsLongestCountermeasure) {
  Enforcement expiring = Make(20, model::CountermeasureKind::kQuarantine, {"vm1p"}, "10.77.0.11");
  expiring.countermeasure.expires_at = kNow + 60 * kNsPerSecond;
  Enforcement lasting = Make(21, model::CountermeasureKind::kQuarantine, {"vm1p"}, "10.77.0.11");
  Enforcement both[] = {expiring, lasting};
  std::string script = enforcer_->Script(both, kNow);
  EXPECT_NE(script.find("elements = { \"vm1p\" }"), std::string::npos) << script;
  Enforcement two[] = {expiring, expiring};
  two[1].countermeasure.expires_at = kNow + 120 * kNsPerSecond;
  EXPECT_NE(enforcer_->Script(two, kNow).find("\"vm1p\" timeout 120s"), std::string::npos);
}

TEST_F(NftablesTest, ExpiringEntriesAreLiftedByTheKernel) {
  Enforcement vm1 = Make(5, model::CountermeasureKind::kQuarantine, {"vm1p"}, "10.77.0.11");
  vm1.countermeasure.expires_at = kNow + 2 * kNsPerSecond;
  ASSERT_TRUE(enforcer_->Apply(std::span(&vm1, 1), {}, kNow));
  EXPECT_FALSE(lab_.Pings("vm1", "10.77.0.100"));
  bool back = false;
  for (int i = 0; i < 20 && !back; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    back = lab_.Pings("vm1", "10.77.0.100");
  }
  EXPECT_TRUE(back) << "the entry's timeout did not lift the quarantine";
}

TEST_F(NftablesTest, RateLimitDropsOverTheRate) {
  Enforcement vm1 = Make(6, model::CountermeasureKind::kRateLimit, {"vm1p"}, "10.77.0.11");
  vm1.countermeasure.rate_pps = 5;
  ASSERT_TRUE(enforcer_->Apply(std::span(&vm1, 1), {}, kNow));
  // 100 pings at 10 ms: about 5 a second pass of 100 sent in a second.
  std::string out = "/tmp/bwl-rate-" + std::to_string(getpid());
  Lab::Sh(lab_.In("vm1", "ping -n -q -c100 -i0.01 -W1 10.77.0.100") + " > " + out + " 2>&1");
  FILE* f = std::fopen(out.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char line[512];
  int received = -1;
  while (std::fgets(line, sizeof line, f)) {
    int sent = 0;
    if (std::sscanf(line, "%d packets transmitted, %d received", &sent, &received) == 2) break;
  }
  std::fclose(f);
  std::remove(out.c_str());
  EXPECT_GE(received, 1);
  EXPECT_LE(received, 30);
  auto observed = enforcer_->Observe(std::span(&vm1, 1));
  ASSERT_TRUE(observed);
  EXPECT_EQ((*observed)[0].presence, Presence::kPresent) << (*observed)[0].detail;
}

TEST_F(NftablesTest, RefusesWhatItCannotKeyOnAPort) {
  Enforcement none = Make(7, model::CountermeasureKind::kQuarantine, {}, "10.77.0.11");
  auto applied = enforcer_->Apply(std::span(&none, 1), {}, kNow);
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().message.find("no port"), std::string::npos);
  Enforcement bad = Make(8, model::CountermeasureKind::kQuarantine, {"a b\"; flush ruleset"}, "");
  applied = enforcer_->Apply(std::span(&bad, 1), {}, kNow);
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().message.find("not an interface name"), std::string::npos);
  Enforcement detach = Make(9, model::CountermeasureKind::kDetachPublicIp, {"vm1p"}, "");
  EXPECT_FALSE(enforcer_->Apply(std::span(&detach, 1), {}, kNow));
  EXPECT_TRUE(lab_.Pings("vm1", "10.77.0.100"));
}

// Conntrack entries of a quarantined system are deleted (established connections die); those
// of its forensics host and of other systems stay.
TEST(NftablesConntrackTest, QuarantineDeletesTheSystemsEntries) {
  std::string ns = "bwct" + std::to_string(getpid());
  ASSERT_TRUE(Lab::Sh("ip netns add " + ns));
  auto in = [&](const std::string& command) {
    return Lab::Sh("ip netns exec " + ns + " " + command + " >/dev/null 2>&1");
  };
  auto insert = [&](const char* src, const char* dst, int dport) {
    return in(std::string("conntrack -I -p tcp -s ") + src + " -d " + dst +
              " --sport 40000 --dport " + std::to_string(dport) +
              " --state ESTABLISHED -t 600 -u ASSURED");
  };
  bool inserted = insert("10.77.0.11", "10.77.0.100", 22) &&
                  insert("10.77.0.100", "10.77.0.11", 80) &&
                  insert("10.77.0.50", "10.77.0.11", 22) && insert("10.77.0.12", "10.77.0.100", 22);
  if (!inserted) {
    Lab::Sh("ip netns del " + ns);
    GTEST_SKIP() << "conntrack -I failed (no nf_conntrack in this kernel?)";
  }
  NftablesSettings settings;
  settings.netns = ns;
  settings.forensics = {*model::Prefix::Parse("10.77.0.50")};
  auto enforcer = NftablesEnforcer::Create(settings);
  ASSERT_TRUE(enforcer);
  Enforcement vm1 = Make(1, model::CountermeasureKind::kQuarantine, {"vm1p"}, "10.77.0.11");
  auto applied = (*enforcer)->Apply(std::span(&vm1, 1), {}, kNow);
  EXPECT_TRUE(applied) << applied.error().ToString();
  EXPECT_EQ((*enforcer)->conntrack_deleted(), 2u);
  EXPECT_FALSE(in("sh -c 'conntrack -L 2>/dev/null | grep -q \"src=10.77.0.100 dst=10.77.0.11\"'"));
  EXPECT_TRUE(in("sh -c 'conntrack -L 2>/dev/null | grep -q \"src=10.77.0.50 dst=10.77.0.11\"'"));
  EXPECT_TRUE(in("sh -c 'conntrack -L 2>/dev/null | grep -q \"src=10.77.0.12\"'"));
  Lab::Sh("ip netns del " + ns);
}

}  // namespace
}  // namespace bulwark::countermeasure
