// The countermeasure controller over a real store and a real nftables bridge: the lifecycle and
// its audit chain, the guard rails, and reconciliation (drift, a changed port, expiry, a restart
// in the middle of an apply).

#include "bulwark/countermeasure/countermeasures.h"

#include <gtest/gtest.h>

#include "../support/files.h"
#include "../support/lab.h"
#include "../support/lab_inventory.h"
#include "../support/memory_env.h"
#include "bulwark/countermeasure/nftables.h"
#include "bulwark/incident/audit.h"

namespace bulwark::countermeasure {
namespace {

using model::CountermeasureKind;
using S = model::CountermeasureState;
using testing_support::Lab;

constexpr TimeNs kNow = 1'780'000'000LL * kNsPerSecond;

model::Inventory Fleet() {
  return testing_support::LabInventory("c-acme", {{"s-vm1", "vm1p", "10.77.0.11"},
                                                  {"s-vm2", "vm2p", "10.77.0.12"},
                                                  {"s-db", "vm2p", "10.77.0.13", true}});
}

class CountermeasuresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(lab_.ok());
    dir_ = testing_support::TestDataDir("bulwark-cm");
    auto store = store::OpenSqliteStore(dir_.string());
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);
    ASSERT_TRUE(store_->WriteInventory(Fleet()));
    index_ = std::make_shared<inventory::AttributionIndex>(Fleet());
    NftablesSettings nft;
    nft.netns = lab_.Namespace("sw");
    nft.forensics = {*model::Prefix::Parse("10.77.0.50")};
    auto enforcer = NftablesEnforcer::Create(nft);
    ASSERT_TRUE(enforcer);
    nftables_ = std::move(*enforcer);
    env_.now = kNow;
    settings_.forensics = nft.forensics;
    settings_.automatic = {AutomaticRule{"opened",
                                         model::Severity::kHigh,
                                         {"intrusion-attempts/"},
                                         CountermeasureKind::kQuarantine,
                                         {},
                                         0}};
  }
  void TearDown() override { testing_support::RemoveTree(dir_); }

  std::unique_ptr<Countermeasures> Controller() {
    return std::make_unique<Countermeasures>(
        [this](const std::function<Result<void>(store::Store&)>& body) {
          return store_->Transaction([&] { return body(*store_); });
        },
        [this] { return std::shared_ptr<const inventory::AttributionIndex>(index_); },
        std::map<std::string, Enforcer*>{{"nftables", nftables_.get()}}, settings_, env_);
  }

  model::Incident Incident(const std::string& system, model::Severity severity) {
    model::Incident incident;
    incident.customer_id = "c-acme";
    incident.system_id = system;
    incident.kind = "intrusion-attempts/brute-force";
    incident.severity = severity;
    incident.opened_at = kNow;
    incident.id = *store_->CreateIncident(incident);
    return incident;
  }

  // A quarantine of s-vm1 proposed, approved and applied through `cms`; nullopt (with the test
  // failed) when it did not become active.
  std::optional<model::Countermeasure> ActiveQuarantine(Countermeasures& cms) {
    ProposeRequest request;
    request.system_id = "s-vm1";
    auto c = cms.Propose(request, "a");
    if (!c || !cms.Approve(c->id, "a", "")) {
      ADD_FAILURE() << "could not propose and approve";
      return std::nullopt;
    }
    auto applied = cms.Apply(c->id, "a", "");
    if (!applied || applied->state != S::kActive) {
      ADD_FAILURE() << "the quarantine did not become active";
      return std::nullopt;
    }
    return *applied;
  }

  std::vector<std::string> Actions() {
    std::vector<std::string> actions;
    auto entries = store_->ReadAudit(0);
    for (const auto& entry : *entries) actions.push_back(entry.action);
    return actions;
  }

  Lab lab_{{{"vm1", "10.77.0.11"}, {"vm2", "10.77.0.12"}, {"inet", "10.77.0.100"}}};
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<inventory::AttributionIndex> index_;
  std::unique_ptr<NftablesEnforcer> nftables_;
  testing_support::MemoryEnv env_;
  PolicySettings settings_;
};

TEST_F(CountermeasuresTest, LifecycleCutsAndRestoresWithAnAuditTrail) {
  auto cms = Controller();
  model::Incident incident = Incident("s-vm1", model::Severity::kMedium);
  ProposeRequest request;
  request.incident_id = incident.id;
  request.reason = "brute force from this VM";
  auto proposed = cms->Propose(request, "analyst:alice");
  ASSERT_TRUE(proposed) << proposed.error().ToString();
  EXPECT_EQ(proposed->state, S::kProposed);
  EXPECT_EQ(proposed->system_id, "s-vm1");
  EXPECT_EQ(proposed->customer_id, "c-acme");

  // Applying needs an approval first.
  EXPECT_FALSE(cms->Apply(proposed->id, "analyst:alice", ""));
  auto preview = cms->PreviewOf(proposed->id);
  ASSERT_TRUE(preview);
  EXPECT_EQ(preview->target.ports, std::vector<std::string>{"vm1p"});
  EXPECT_EQ(preview->target.addresses, std::vector<std::string>{"10.77.0.11"});
  EXPECT_EQ(preview->still_reach, std::vector<std::string>{"10.77.0.50"});

  ASSERT_TRUE(cms->Approve(proposed->id, "analyst:alice", "ok"));
  EXPECT_TRUE(lab_.Pings("vm1", "10.77.0.100"));
  auto applied = cms->Apply(proposed->id, "analyst:alice", "go");
  ASSERT_TRUE(applied) << applied.error().ToString();
  EXPECT_EQ(applied->state, S::kActive) << applied->last_error;
  EXPECT_FALSE(lab_.Pings("vm1", "10.77.0.100"));
  EXPECT_TRUE(lab_.Pings("vm2", "10.77.0.100"));

  auto lifted = cms->Lift(proposed->id, "analyst:bob", "patched");
  ASSERT_TRUE(lifted);
  EXPECT_EQ(lifted->state, S::kRemoved);
  EXPECT_TRUE(lab_.Pings("vm1", "10.77.0.100"));

  EXPECT_EQ(Actions(),
            (std::vector<std::string>{"countermeasure.proposed", "countermeasure.approved",
                                      "countermeasure.applying", "countermeasure.active",
                                      "countermeasure.pending_removal", "countermeasure.removed"}));
  auto entries = *store_->ReadAudit(incident.id);
  EXPECT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries.back().actor, "analyst:bob");
  EXPECT_NE(entries.back().reason.find("patched"), std::string::npos);
  EXPECT_TRUE(incident::VerifyAudit(*store_->ReadAudit(0)).ok);
}

TEST_F(CountermeasuresTest, TwoPersonRule) {
  settings_.two_person_rule = true;
  auto cms = Controller();
  ProposeRequest request;
  request.system_id = "s-vm1";
  auto proposed = cms->Propose(request, "analyst:alice");
  ASSERT_TRUE(proposed);
  auto self = cms->Approve(proposed->id, "analyst:alice", "");
  ASSERT_FALSE(self);
  EXPECT_NE(self.error().message.find("two-person"), std::string::npos);
  EXPECT_TRUE(cms->Approve(proposed->id, "analyst:bob", ""));
}

TEST_F(CountermeasuresTest, RefusesWhatCannotBeDone) {
  auto cms = Controller();
  ProposeRequest request;
  request.system_id = "s-nobody";
  EXPECT_FALSE(cms->Propose(request, "a"));
  request.system_id = "s-vm1";
  request.kind = CountermeasureKind::kEgressBlock;
  EXPECT_FALSE(cms->Propose(request, "a"));  // no ports
  request.kind = CountermeasureKind::kDetachPublicIp;
  EXPECT_FALSE(cms->Propose(request, "a"));  // nftables cannot
  request.kind = CountermeasureKind::kQuarantine;
  request.enforcer = "stackit";
  EXPECT_FALSE(cms->Propose(request, "a"));  // not configured
}

TEST_F(CountermeasuresTest, PolicyAppliesAutomaticallyWithinTheGuardRails) {
  settings_.max_automatic_per_hour = 1;
  auto cms = Controller();
  // Below the rule's severity: nothing.
  auto low = cms->Automatic(Incident("s-vm1", model::Severity::kMedium), "opened");
  ASSERT_TRUE(low);
  EXPECT_TRUE(low->empty());
  // A protected system: never automatically, and said once.
  model::Incident db = Incident("s-db", model::Severity::kCritical);
  ASSERT_TRUE(cms->Automatic(db, "opened"));
  ASSERT_TRUE(cms->Automatic(db, "opened"));
  EXPECT_EQ(*store_->CountAudit(db.id, "countermeasure.skipped"), 1);
  // The first high one is applied at once.
  model::Incident vm1 = Incident("s-vm1", model::Severity::kHigh);
  auto made = cms->Automatic(vm1, "opened");
  ASSERT_TRUE(made) << made.error().ToString();
  ASSERT_EQ(made->size(), 1u);
  EXPECT_EQ((*made)[0].state, S::kActive) << (*made)[0].last_error;
  EXPECT_TRUE((*made)[0].automatic);
  ASSERT_TRUE((*made)[0].expires_at);
  EXPECT_FALSE(lab_.Pings("vm1", "10.77.0.100"));
  // Again for the same incident: nothing new.
  EXPECT_TRUE(cms->Automatic(vm1, "opened")->empty());
  // The hourly cap: the next one is not applied.
  model::Incident vm2 = Incident("s-vm2", model::Severity::kCritical);
  EXPECT_TRUE(cms->Automatic(vm2, "opened")->empty());
  EXPECT_EQ(*store_->CountAudit(vm2.id, "countermeasure.skipped"), 1);
  EXPECT_TRUE(lab_.Pings("vm2", "10.77.0.100"));
}

TEST_F(CountermeasuresTest, KillSwitchAndDryRunApplyNothing) {
  settings_.enabled = false;
  auto off = Controller();
  ProposeRequest request;
  request.system_id = "s-vm1";
  auto proposed = off->Propose(request, "a");
  ASSERT_TRUE(proposed);
  ASSERT_TRUE(off->Approve(proposed->id, "a", ""));
  auto refused = off->Apply(proposed->id, "a", "");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("switched off"), std::string::npos);
  EXPECT_TRUE(off->Automatic(Incident("s-vm1", model::Severity::kCritical), "opened")->empty());

  settings_.enabled = true;
  settings_.dry_run = true;
  auto dry = Controller();
  auto kept = dry->Apply(proposed->id, "a", "");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->state, S::kApproved);
  EXPECT_TRUE(lab_.Pings("vm1", "10.77.0.100"));
  EXPECT_EQ(*store_->CountAudit(0, "countermeasure.dry_run"), 1);  // about no incident
  EXPECT_EQ(Actions().back(), "countermeasure.dry_run");
}

// Dry run switched on while a quarantine is active: a lift is recorded, not claimed.
TEST_F(CountermeasuresTest, DryRunDoesNotClaimALift) {
  auto live = Controller();
  auto c = ActiveQuarantine(*live);
  ASSERT_TRUE(c);
  settings_.dry_run = true;
  auto dry = Controller();
  auto lifted = dry->Lift(c->id, "a", "fixed");
  ASSERT_TRUE(lifted);
  EXPECT_EQ(lifted->state, S::kActive);
  EXPECT_FALSE(lab_.Pings("vm1", "10.77.0.100"));
  EXPECT_EQ(Actions().back(), "countermeasure.dry_run");
}

// An apply a crash interrupted, found while the kill switch is on: rolled back, not finished.
TEST_F(CountermeasuresTest, KillSwitchRollsBackAnInterruptedApply) {
  auto live = Controller();
  auto c = ActiveQuarantine(*live);
  ASSERT_TRUE(c);
  auto stored = *store_->GetCountermeasure(c->id);  // as if the apply had not finished
  stored->state = S::kApproved;
  stored->pending = "apply";
  ASSERT_TRUE(store_->UpdateCountermeasure(*stored));
  settings_.enabled = false;
  auto off = Controller();
  auto report = off->Reconcile();
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->resumed, 1u);
  EXPECT_EQ((*store_->GetCountermeasure(c->id))->state, S::kRemoved);
  EXPECT_TRUE(lab_.Pings("vm1", "10.77.0.100"));
}

TEST_F(CountermeasuresTest, EnforcerFailureIsFailedNotHalfCut) {
  model::Inventory fleet = Fleet();
  fleet.interfaces[0].port = "no such port name!";
  index_ = std::make_shared<inventory::AttributionIndex>(fleet);
  auto cms = Controller();
  ProposeRequest request;
  request.system_id = "s-vm1";
  auto proposed = cms->Propose(request, "a");
  ASSERT_TRUE(proposed);
  ASSERT_TRUE(cms->Approve(proposed->id, "a", ""));
  auto applied = cms->Apply(proposed->id, "a", "");
  ASSERT_TRUE(applied);
  EXPECT_EQ(applied->state, S::kFailed);
  EXPECT_NE(applied->last_error.find("rolled back"), std::string::npos) << applied->last_error;
  EXPECT_TRUE(lab_.Pings("vm1", "10.77.0.100"));
}

TEST_F(CountermeasuresTest, ReconcileRepairsDriftFollowsPortsAndLiftsExpired) {
  auto cms = Controller();
  ProposeRequest request;
  request.system_id = "s-vm1";
  request.expires_in = 3600 * kNsPerSecond;
  auto c = cms->Propose(request, "a");
  ASSERT_TRUE(c);
  ASSERT_TRUE(cms->Approve(c->id, "a", ""));
  ASSERT_EQ(cms->Apply(c->id, "a", "")->state, S::kActive);

  // Nothing to do.
  auto report = cms->Reconcile();
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->checked, 1u);
  EXPECT_EQ(report->drifted, 0u);

  // Removed by hand: drift, repaired.
  ASSERT_TRUE(lab_.Ok("sw", "nft flush set bridge bulwark quarantine"));
  EXPECT_TRUE(lab_.Pings("vm1", "10.77.0.100"));
  report = cms->Reconcile();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->drifted, 1u);
  EXPECT_EQ(report->repaired, 1u);
  EXPECT_FALSE(lab_.Pings("vm1", "10.77.0.100"));

  // The system moved to another port (vm2's, in this lab): the quarantine follows it.
  model::Inventory moved = Fleet();
  moved.interfaces[0].port = "vm2p";
  index_ = std::make_shared<inventory::AttributionIndex>(moved);
  report = cms->Reconcile();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->repaired, 1u);
  EXPECT_FALSE(lab_.Pings("vm2", "10.77.0.100"));
  EXPECT_TRUE(lab_.Pings("vm1", "10.77.0.100"));
  EXPECT_NE((*store_->GetCountermeasure(c->id))->targets.find("vm2p"), std::string::npos);

  // Expiry lifts it.
  env_.now += 3601 * kNsPerSecond;
  report = cms->Reconcile();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->expired, 1u);
  EXPECT_EQ((*store_->GetCountermeasure(c->id))->state, S::kRemoved);
  EXPECT_TRUE(lab_.Pings("vm2", "10.77.0.100"));
  EXPECT_TRUE(incident::VerifyAudit(*store_->ReadAudit(0)).ok);
}

TEST_F(CountermeasuresTest, RestartInTheMiddleOfAnApplyIsFinished) {
  auto cms = Controller();
  ProposeRequest request;
  request.system_id = "s-vm1";
  auto c = cms->Propose(request, "a");
  ASSERT_TRUE(c);
  ASSERT_TRUE(cms->Approve(c->id, "a", ""));
  // What a process that died after recording the intent and before the enforcer ran left.
  auto stored = *store_->GetCountermeasure(c->id);
  stored->pending = "apply";
  ASSERT_TRUE(store_->UpdateCountermeasure(*stored));
  auto restarted = Controller();
  auto report = restarted->Reconcile();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->resumed, 1u);
  EXPECT_EQ((*store_->GetCountermeasure(c->id))->state, S::kActive);
  EXPECT_FALSE(lab_.Pings("vm1", "10.77.0.100"));
  // And one that died in the middle of a lift.
  stored = *store_->GetCountermeasure(c->id);
  stored->state = S::kPendingRemoval;
  stored->pending = "lift";
  ASSERT_TRUE(store_->UpdateCountermeasure(*stored));
  report = restarted->Reconcile();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->resumed, 1u);
  EXPECT_EQ((*store_->GetCountermeasure(c->id))->state, S::kRemoved);
  EXPECT_TRUE(lab_.Pings("vm1", "10.77.0.100"));
}

}  // namespace
}  // namespace bulwark::countermeasure
