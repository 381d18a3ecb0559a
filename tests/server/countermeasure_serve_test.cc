// End to end in serve: a VM of the lab brute-forces another host over SSH; the sshd log lines
// go in, the policy quarantines the VM at the bridge, and its packets stop. The neighbour keeps
// its connectivity, the incident is mitigated and the customer is told.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "../support/attack_lines.h"
#include "../support/files.h"
#include "../support/lab.h"
#include "../support/lab_inventory.h"
#include "bulwark/data/builtin_env.h"
#include "bulwark/server/service.h"
#include "bulwark/store/store.h"

namespace bulwark {
namespace {

using testing_support::Lab;

TEST(CountermeasureServeTest, BruteForcingVmIsQuarantinedAndItsPacketsStop) {
  Lab lab({{"vm1", "10.77.0.11"}, {"vm2", "10.77.0.12"}, {"inet", "10.77.0.100"}});
  ASSERT_TRUE(lab.ok());
  auto dir = testing_support::TestDataDir("bulwark-cm-serve");
  std::string log = (dir / "auth.log").string();
  std::ofstream(log).close();
  config::Config config;
  config.data_dir = (dir / "data").string();
  config.listen = "127.0.0.1:0";
  config.mail.print = (dir / "mails.txt").string();
  config.inputs = {{log, "auto", ""}};
  config.countermeasures.nftables.configured = true;
  config.countermeasures.nftables.netns = lab.Namespace("sw");
  config.countermeasures.automatic = {{"opened", "low", {}, "quarantine", {}, 0}};
  {
    auto store = store::OpenSqliteStore(config.data_dir);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->WriteInventory(testing_support::LabInventory(
        "c-lab", {{"s-vm1", "vm1p", "10.77.0.11"}, {"s-vm2", "vm2p", "10.77.0.12"}})));
  }
  ASSERT_TRUE(lab.Pings("vm1", "10.77.0.100"));
  auto service = server::Service::Start(config, "", data::BuiltinEnv::Default());
  ASSERT_TRUE(service) << service.error().ToString();

  std::ofstream(log, std::ios::app) << testing_support::SshBruteForce("10.77.0.11", 12);
  bool cut = false;
  for (int i = 0; i < 40 && !cut; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    cut = !lab.Pings("vm1", "10.77.0.100");
  }
  EXPECT_TRUE(cut) << "the brute-forcing VM still reaches the internet host";
  EXPECT_TRUE(lab.Pings("vm2", "10.77.0.100"));
  (*service)->Stop();

  auto store = store::OpenSqliteStore(config.data_dir, store::OpenMode::kReadOnly);
  ASSERT_TRUE(store);
  auto active = (*store)->ListCountermeasures({});
  ASSERT_TRUE(active);
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].system_id, "s-vm1");
  EXPECT_EQ((*active)[0].state, model::CountermeasureState::kActive);
  EXPECT_TRUE((*active)[0].automatic);
  auto incident = (*store)->GetIncident((*active)[0].incident_id);
  ASSERT_TRUE(incident && *incident);
  EXPECT_EQ((*incident)->state, model::IncidentState::kMitigated);
  auto outbox = (*store)->OutboxOf((*incident)->id);
  ASSERT_TRUE(outbox);
  bool told = false;
  for (const auto& entry : *outbox) told = told || entry.kind.rfind("countermeasure-", 0) == 0;
  EXPECT_TRUE(told) << "no mail about the countermeasure was queued";
  testing_support::RemoveTree(dir);
}

}  // namespace
}  // namespace bulwark
