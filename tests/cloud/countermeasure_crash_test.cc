// A restart in the middle of an apply, for real: `bulwark countermeasures apply` talks to a cloud
// that never answers and is killed with SIGKILL while its STACKIT quarantine is in flight; the
// countermeasure says so (pending apply), and `bulwark countermeasures reconcile` against the
// API (Prism on the real IaaS document) finishes it.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "../support/broken_api.h"
#include "../support/files.h"
#include "../support/prism.h"
#include "../support/process.h"
#include "../support/stackit_server.h"
#include "bulwark/store/store.h"

namespace bulwark {
namespace {

constexpr const char* kProject = testing_support::kStackitProject;
constexpr const char* kServer = testing_support::kStackitServer;

using testing_support::BrokenApi;
using testing_support::ChildProcess;
using testing_support::Prism;

TEST(CountermeasureCrashTest, AnApplyKilledInFlightIsFinishedByReconcile) {
  ASSERT_EQ(access(BULWARK_PRISM, X_OK), 0) << "Prism is missing: tools/deps.sh installs it";
  auto dir = testing_support::TestDataDir("bulwark-cm-crash");
  std::string data = (dir / "data").string();
  {
    auto store = store::OpenSqliteStore(data);
    ASSERT_TRUE(store);
    model::Inventory inventory = testing_support::StackitServerInventory();
    ASSERT_TRUE((*store)->WriteInventory(inventory));
  }
  std::ofstream(dir / "token") << "service-account-token\n";
  auto write_config = [&](const std::string& iaas_url) {
    std::ofstream(dir / "bulwark.yml")
        << "data_dir: " << data << "\nstackit: {iaas_url: '" << iaas_url
        << "', token_file: " << (dir / "token").string() << "}\n"
        << "countermeasures:\n  default_enforcer: stackit\n  forensics: [192.0.2.50]\n"
        << "  stackit: {operation_timeout: 5s, poll_interval: 1s}\n";
  };
  auto run = [&](const std::string& arguments) {
    return std::system((std::string(BULWARK_BINARY) + " " + arguments + " --config " +
                        (dir / "bulwark.yml").string() + " >>" + (dir / "out.txt").string() +
                        " 2>&1")
                           .c_str());
  };
  auto stored = [&]() {
    auto store = store::OpenSqliteStore(data, store::OpenMode::kReadOnly);
    EXPECT_TRUE(store);
    return *(*store)->GetCountermeasure(1);
  };

  BrokenApi hanging(0);
  write_config(hanging.url());
  ASSERT_EQ(run(std::string("countermeasures propose --system ") + kServer +
                " --approve --actor analyst:alice --reason brute-force"),
            0);
  ChildProcess apply({BULWARK_BINARY, "countermeasures", "apply", "1", "--actor", "analyst:alice",
                      "--config", (dir / "bulwark.yml").string()},
                     (dir / "apply.txt").string());
  bool in_flight = false;
  for (int i = 0; i < 100 && !in_flight; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto c = stored();
    in_flight = c && c->pending == "apply";
  }
  ASSERT_TRUE(in_flight) << "the apply never recorded its change";
  kill(apply.pid(), SIGKILL);
  apply.Stop();
  auto left = stored();
  ASSERT_TRUE(left);
  EXPECT_EQ(left->state, model::CountermeasureState::kApproved);
  EXPECT_EQ(left->pending, "apply");  // the record says a change was in flight

  Prism iaas(std::string(BULWARK_SHARED_DIR) + "/stackit/services/iaas/v2/iaas.json",
             dir / "prism.log");
  ASSERT_TRUE(iaas.up());
  write_config(iaas.url());
  EXPECT_EQ(run("countermeasures reconcile"), 0) << testing_support::ReadAll(dir / "out.txt");
  auto finished = stored();
  ASSERT_TRUE(finished);
  EXPECT_EQ(finished->state, model::CountermeasureState::kActive) << finished->last_error;
  EXPECT_TRUE(finished->pending.empty());
  EXPECT_NE(finished->recorded.find("securityGroups"), std::string::npos);
  EXPECT_NE(testing_support::ReadAll(dir / "out.txt").find("\"resumed\":1"), std::string::npos);
  testing_support::RemoveTree(dir);
}

}  // namespace
}  // namespace bulwark
