// The STACKIT enforcer against Prism serving the real IaaS v2 document: the whole quarantine,
// detach and lift sequences go through the contract validator (a violation fails the call, and
// Prism's log must name none); the record of what was there before comes from the API's answers
// and is what the lift sends back. Failures: a server answering 500, one that never answers, an
// operation that never reaches its state.

#include "bulwark/cloud/stackit_enforcer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <fstream>

#include "../support/broken_api.h"
#include "../support/files.h"
#include "../support/memory_env.h"
#include "../support/prism.h"
#include "../support/stackit_server.h"
#include "bulwark/cloud/stackit_forensics.h"
#include "bulwark/countermeasure/countermeasures.h"

namespace bulwark::cloud {
namespace {

using countermeasure::Enforcement;
using countermeasure::Presence;
using model::CountermeasureKind;
using testing_support::Prism;

constexpr const char* kProject = testing_support::kStackitProject;
constexpr const char* kServer = testing_support::kStackitServer;

using testing_support::BrokenApi;

class StackitEnforcerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(access(BULWARK_PRISM, X_OK), 0) << "Prism is missing: tools/deps.sh installs it";
    log_ =
        new std::filesystem::path(std::filesystem::temp_directory_path() /
                                  ("bulwark-prism-enforcer-" + std::to_string(getpid()) + ".log"));
    iaas_ =
        new Prism(std::string(BULWARK_SHARED_DIR) + "/stackit/services/iaas/v2/iaas.json", *log_);
  }
  static void TearDownTestSuite() {
    delete iaas_;
    if (!::testing::UnitTest::GetInstance()->Failed()) std::filesystem::remove(*log_);
    delete log_;
  }
  void SetUp() override {
    ASSERT_TRUE(iaas_->up()) << "Prism did not start";
    baseline_ = Violations();
  }

  StackitEnforcerSettings Settings(const std::string& url) {
    StackitEnforcerSettings settings;
    settings.iaas_url = url;
    settings.token = [] { return Result<std::string>("service-account-token"); };
    settings.forensics = {*model::Prefix::Parse("10.77.0.50"),
                          *model::Prefix::Parse("2001:db8:f::/48")};
    settings.operation_timeout = kNsPerSecond;
    settings.poll_interval = kNsPerSecond / 10;
    settings.timeout_seconds = 2;
    return settings;
  }

  static Enforcement Make(CountermeasureKind kind, std::string server = kServer) {
    Enforcement e;
    e.countermeasure.id = 7;
    e.countermeasure.kind = kind;
    e.countermeasure.system_id = server;
    e.target.project_id = kProject;
    e.target.server_id = std::move(server);
    return e;
  }

  // Contract violations Prism logged during this test.
  size_t NewViolations() const { return Violations() - baseline_; }
  // Lines of Prism's log that report a contract violation.
  static size_t Violations() {
    std::string log = testing_support::ReadAll(*log_);
    size_t count = 0;
    for (size_t at = 0; (at = log.find("✖", at)) != std::string::npos; ++at) ++count;
    return count;
  }

  static Prism* iaas_;
  static std::filesystem::path* log_;
  size_t baseline_ = 0;
};

Prism* StackitEnforcerTest::iaas_ = nullptr;
std::filesystem::path* StackitEnforcerTest::log_ = nullptr;

TEST_F(StackitEnforcerTest, QuarantineAndLiftFollowTheContract) {
  StackitEnforcer enforcer(Settings(iaas_->url()));
  Enforcement e = Make(CountermeasureKind::kQuarantine);
  auto applied = enforcer.Apply(std::span(&e, 1), {}, 0);
  ASSERT_TRUE(applied) << applied.error().ToString();
  ASSERT_EQ(applied->size(), 1u);
  // What the NIC had before, from the API's answer: its groups, nicSecurity, allowed addresses.
  const std::string& record = (*applied)[0];
  EXPECT_NE(record.find("\"securityGroups\":[\"d61a8564-c8dd-4ffb-bc15-143e7d0c85ed\"]"),
            std::string::npos)
      << record;
  EXPECT_NE(record.find("\"allowedAddresses\":[\"10.1.2.10\"]"), std::string::npos) << record;
  e.countermeasure.recorded = record;
  // Applied again (a reconcile): the record keeps what was there before, not the quarantine.
  auto again = enforcer.Apply(std::span(&e, 1), {}, 0);
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)[0], record);
  auto observed = enforcer.Observe(std::span(&e, 1));
  ASSERT_TRUE(observed) << observed.error().ToString();
  auto lifted = enforcer.Lift(std::span(&e, 1), {}, 0);
  ASSERT_TRUE(lifted) << lifted.error().ToString();
  EXPECT_EQ(NewViolations(), 0u);
}

TEST_F(StackitEnforcerTest, PublicIpDetachAndReattachFollowTheContract) {
  StackitEnforcer enforcer(Settings(iaas_->url()));
  Enforcement e = Make(CountermeasureKind::kDetachPublicIp);
  auto applied = enforcer.Apply(std::span(&e, 1), {}, 0);
  ASSERT_TRUE(applied) << applied.error().ToString();
  EXPECT_NE((*applied)[0].find("\"publicIps\":[{\"id\":"), std::string::npos) << (*applied)[0];
  e.countermeasure.recorded = (*applied)[0];
  ASSERT_TRUE(enforcer.Lift(std::span(&e, 1), {}, 0));
  EXPECT_EQ(NewViolations(), 0u);
}

// Forensic collection through the API: the console log and a snapshot of the boot volume.
TEST_F(StackitEnforcerTest, ConsoleLogAndSnapshotFollowTheContract) {
  auto console = StackitConsoleLog(Settings(iaas_->url()), kProject, kServer, 500);
  ASSERT_TRUE(console) << console.error().ToString();
  EXPECT_EQ(console->kind, "console");
  EXPECT_FALSE(console->content.empty());
  auto snapshot = StackitSnapshot(Settings(iaas_->url()), kProject, kServer, "bulwark-incident-12");
  ASSERT_TRUE(snapshot) << snapshot.error().ToString();
  EXPECT_EQ(snapshot->kind, "snapshot");
  EXPECT_NE(snapshot->content.find("\"id\""), std::string::npos);
  EXPECT_NE(snapshot->method.find("CreateSnapshot of volume"), std::string::npos);
  EXPECT_EQ(NewViolations(), 0u);
  BrokenApi broken(500);
  EXPECT_FALSE(StackitSnapshot(Settings(broken.url()), kProject, kServer, "x"));
}

// Volatile data with Run Command, in RFC 3227's order, against Prism serving the Run Command
// document. Its answers are generated (the document has no example of a finished command), so
// the command's status is random: polled until it is completed or failed.
TEST_F(StackitEnforcerTest, RunCommandFollowsItsContract) {
  std::filesystem::path log = *log_;
  log += ".run-command";
  Prism run_command(
      std::string(BULWARK_SHARED_DIR) + "/stackit/services/run-command/v2/run-command.json", log,
      true);
  ASSERT_TRUE(run_command.up());
  const auto& order = VolatileOrder();
  ASSERT_EQ(order.front().name, "network");  // the most volatile first
  auto settings = Settings(iaas_->url());
  settings.operation_timeout = 10 * kNsPerSecond;
  settings.poll_interval = kNsPerSecond / 20;
  auto evidence = StackitRunCommand(settings, run_command.url(), kProject, kServer, order[0]);
  ASSERT_TRUE(evidence) << evidence.error().ToString();
  EXPECT_EQ(evidence->kind, "volatile");
  EXPECT_NE(evidence->method.find("RunShellScript (network)"), std::string::npos);
  std::string text = testing_support::ReadAll(log);
  EXPECT_EQ(text.find("✖"), std::string::npos) << text;
  std::filesystem::remove(log);
}

TEST_F(StackitEnforcerTest, ContractViolationsFail) {
  StackitEnforcer enforcer(Settings(iaas_->url()));
  Enforcement e = Make(CountermeasureKind::kQuarantine, "not-a-server-id");
  auto applied = enforcer.Apply(std::span(&e, 1), {}, 0);
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().message.find("HTTP 4"), std::string::npos) << applied.error().message;
}

TEST_F(StackitEnforcerTest, AnOperationThatNeverCompletesFails) {
  // Prism's server is always ACTIVE: a stop is accepted (202) but never reaches INACTIVE.
  StackitEnforcer enforcer(Settings(iaas_->url()));
  Enforcement e = Make(CountermeasureKind::kStop);
  auto applied = enforcer.Apply(std::span(&e, 1), {}, 0);
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().message.find("not INACTIVE"), std::string::npos)
      << applied.error().message;
  EXPECT_EQ(NewViolations(), 0u);
}

TEST_F(StackitEnforcerTest, ServerErrorsAndTimeoutsFail) {
  for (int status : {500, 0}) {
    BrokenApi broken(status);
    StackitEnforcer enforcer(Settings(broken.url()));
    Enforcement e = Make(CountermeasureKind::kQuarantine);
    auto applied = enforcer.Apply(std::span(&e, 1), {}, 0);
    ASSERT_FALSE(applied);
    EXPECT_NE(applied.error().message.find(status ? "HTTP 500" : "timed out"), std::string::npos)
        << applied.error().message;
  }
}

// Through the controller: a cloud that fails leaves the countermeasure failed, saying where;
// one that works takes it to active and back, with what was there recorded before the change.
TEST_F(StackitEnforcerTest, ControllerRecordsFailureAndSuccess) {
  auto dir = testing_support::TestDataDir("bulwark-stackit-cm");
  auto store = store::OpenSqliteStore(dir.string());
  ASSERT_TRUE(store);
  model::Inventory inventory = testing_support::StackitServerInventory();
  ASSERT_TRUE((*store)->WriteInventory(inventory));
  auto index = std::make_shared<const inventory::AttributionIndex>(inventory);
  testing_support::MemoryEnv env;
  countermeasure::PolicySettings policy;
  policy.default_enforcer = "stackit";
  // Proposes, approves and applies a quarantine of the server through `enforcer`.
  auto quarantine = [&](StackitEnforcer& enforcer) {
    auto cms = std::make_unique<countermeasure::Countermeasures>(
        [&](const std::function<Result<void>(store::Store&)>& body) {
          return (*store)->Transaction([&] { return body(**store); });
        },
        [&] { return index; },
        std::map<std::string, countermeasure::Enforcer*>{{"stackit", &enforcer}}, policy, env);
    countermeasure::ProposeRequest request;
    request.system_id = kServer;
    auto c = cms->Propose(request, "analyst:alice");
    EXPECT_TRUE(c) << c.error().ToString();
    EXPECT_TRUE(cms->Approve(c->id, "analyst:alice", ""));
    auto applied = cms->Apply(c->id, "analyst:alice", "");
    EXPECT_TRUE(applied);
    return std::make_pair(std::move(cms), *applied);
  };
  {
    BrokenApi broken(500);
    StackitEnforcer enforcer(Settings(broken.url()));
    auto [cms, failed] = quarantine(enforcer);
    EXPECT_EQ(failed.state, model::CountermeasureState::kFailed);
    EXPECT_NE(failed.last_error.find("HTTP 500"), std::string::npos) << failed.last_error;
    // It failed before anything changed: while recording what is there.
    EXPECT_NE(failed.last_error.find("recording what is there"), std::string::npos)
        << failed.last_error;
  }
  StackitEnforcer enforcer(Settings(iaas_->url()));
  auto [cms, applied] = quarantine(enforcer);
  EXPECT_EQ(applied.state, model::CountermeasureState::kActive) << applied.last_error;
  EXPECT_NE(applied.recorded.find("d61a8564"), std::string::npos);
  auto lifted = cms->Lift(applied.id, "analyst:alice", "fixed");
  ASSERT_TRUE(lifted);
  EXPECT_EQ(lifted->state, model::CountermeasureState::kRemoved) << lifted->last_error;
  EXPECT_EQ(NewViolations(), 0u);
  testing_support::RemoveTree(dir);
}

}  // namespace
}  // namespace bulwark::cloud
