// The evidence vault: content addressing, the chain of custody and its verification (edits,
// changed objects and cut entries are found), legal holds that stop deletion, exports whose
// manifest sha256sum itself accepts.

#include "bulwark/forensics/vault.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "../support/files.h"
#include "../support/memory_env.h"
#include "bulwark/core/digest.h"

namespace bulwark::forensics {
namespace {

namespace fs = std::filesystem;

class VaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::TestDataDir("bulwark-vault");
    auto vault = Vault::Open((dir_ / "vault").string(), Env::Default());
    ASSERT_TRUE(vault) << vault.error().ToString();
    vault_ = std::move(*vault);
  }
  void TearDown() override {
    vault_.reset();
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    for (auto& entry : fs::recursive_directory_iterator(dir_)) {
      fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
    }
    testing_support::RemoveTree(dir_);
  }

  EvidenceItem Item(int64_t incident, const std::string& name) {
    EvidenceItem item;
    item.incident_id = incident;
    item.system_id = "s-web1";
    item.kind = "logs";
    item.name = name;
    item.method = "collected from the store";
    item.tool = "bulwark";
    item.tool_version = "test";
    item.acquired_by = "analyst:alice";
    item.clock_note = "source clock within 1 s of ours (NTP)";
    return item;
  }

  fs::path dir_;
  std::unique_ptr<Vault> vault_;
};

TEST_F(VaultTest, StoresByContentAndKeepsACustodyChain) {
  auto added = vault_->Add("line one\nline two\n", Item(1, "auth.log"));
  ASSERT_TRUE(added) << added.error().ToString();
  EXPECT_EQ(added->sha256, Sha256Hex("line one\nline two\n"));
  EXPECT_EQ(added->size, 18u);
  EXPECT_EQ(*vault_->Read(added->sha256), "line one\nline two\n");
  struct stat info {};
  ASSERT_EQ(stat((dir_ / "vault" / "objects" / added->sha256.substr(0, 2) / added->sha256).c_str(),
                 &info),
            0);
  EXPECT_EQ(info.st_mode & 0777, 0444u);
  ASSERT_TRUE(vault_->Transfer(added->sha256, "analyst:alice", "LKA Berlin", "case 4711"));
  auto items = vault_->Items(1);
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].clock_note, "source clock within 1 s of ours (NTP)");
  auto custody = vault_->Custody();
  ASSERT_TRUE(custody);
  ASSERT_EQ(custody->size(), 2u);
  EXPECT_EQ((*custody)[0].action, "acquired");
  EXPECT_EQ((*custody)[1].action, "transferred");
  EXPECT_EQ((*custody)[1].prev_hash, (*custody)[0].hash);
  auto verdict = vault_->Verify("auditor:carol");
  ASSERT_TRUE(verdict);
  EXPECT_TRUE(verdict->ok);
  EXPECT_EQ(verdict->items, 1u);
  EXPECT_FALSE(vault_->Transfer(std::string(64, 'a'), "x", "y", "z"));
  // A second holder of the same vault is refused.
  EXPECT_FALSE(Vault::Open((dir_ / "vault").string(), Env::Default()));
}

TEST_F(VaultTest, VerifyFindsEditsChangedObjectsAndCuts) {
  auto a = vault_->Add("first", Item(1, "a"));
  auto b = vault_->Add("second", Item(1, "b"));
  ASSERT_TRUE(a && b);
  vault_.reset();
  fs::path custody = dir_ / "vault" / "custody.jsonl";
  std::string original = testing_support::ReadAll(custody);
  // An edited entry.
  std::string edited = original;
  edited.replace(edited.find("analyst:alice"), 13, "analyst:mallo");
  std::ofstream(custody, std::ios::trunc) << edited;
  auto vault = Vault::Open((dir_ / "vault").string(), Env::Default());
  ASSERT_TRUE(vault);
  auto verdict = (*vault)->Verify("auditor");
  ASSERT_TRUE(verdict);
  EXPECT_FALSE(verdict->ok);
  ASSERT_FALSE(verdict->problems.empty());
  EXPECT_NE(verdict->problems[0].find("edited"), std::string::npos) << verdict->problems[0];
  vault->reset();
  // The first entry cut off.
  std::ofstream(custody, std::ios::trunc) << original.substr(original.find('\n') + 1);
  vault = Vault::Open((dir_ / "vault").string(), Env::Default());
  verdict = (*vault)->Verify("auditor");
  EXPECT_FALSE(verdict->ok);
  vault->reset();
  // A changed object.
  std::ofstream(custody, std::ios::trunc) << original;
  fs::path object = dir_ / "vault" / "objects" / b->sha256.substr(0, 2) / b->sha256;
  fs::permissions(object, fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(object, std::ios::trunc) << "SECOND";
  vault = Vault::Open((dir_ / "vault").string(), Env::Default());
  verdict = (*vault)->Verify("auditor");
  ASSERT_TRUE(verdict);
  EXPECT_FALSE(verdict->ok);
  ASSERT_EQ(verdict->problems.size(), 1u);
  EXPECT_NE(verdict->problems[0].find("changed"), std::string::npos);
}

TEST_F(VaultTest, LegalHoldStopsDeletionAcrossRestarts) {
  auto a = vault_->Add("evidence", Item(7, "a"));
  ASSERT_TRUE(a);
  ASSERT_TRUE(vault_->Hold(7, "legal:dave", "law enforcement request 2026-123"));
  vault_.reset();
  auto vault = Vault::Open((dir_ / "vault").string(), Env::Default());
  ASSERT_TRUE(vault);
  EXPECT_TRUE((*vault)->OnHold(7));
  auto refused = (*vault)->Delete(a->sha256, "retention", "7 days passed");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("legal hold"), std::string::npos);
  ASSERT_TRUE((*vault)->Release(7, "legal:dave", "case closed"));
  ASSERT_TRUE((*vault)->Delete(a->sha256, "retention", "7 days passed"));
  EXPECT_FALSE((*vault)->Read(a->sha256));
  EXPECT_TRUE((*vault)->Items(7)->empty());
  auto verdict = (*vault)->Verify("auditor");
  EXPECT_TRUE(verdict && verdict->ok);
}

// The same capture taken for two incidents: the hold of either keeps it, both export it, and
// removing it behind the vault's back is found.
TEST_F(VaultTest, OneObjectTwoIncidents) {
  auto a = vault_->Add("shared capture", Item(12, "capture.pcap"));
  ASSERT_TRUE(a);
  ASSERT_TRUE(vault_->Add("shared capture", Item(13, "capture.pcap")));
  EXPECT_EQ(vault_->Items(12)->size(), 1u);
  EXPECT_EQ(vault_->Items(13)->size(), 1u);
  ASSERT_TRUE(vault_->Hold(13, "legal:dave", "case 13"));
  EXPECT_FALSE(vault_->Delete(a->sha256, "retention", "old"));
  auto manifest = vault_->Export(13, (dir_ / "bundle").string(), "a", "b", "[]", "");
  ASSERT_TRUE(manifest);
  EXPECT_NE(manifest->find("capture.pcap"), std::string::npos);
  fs::path object = dir_ / "vault" / "objects" / a->sha256.substr(0, 2) / a->sha256;
  fs::permissions(object, fs::perms::owner_write, fs::perm_options::add);
  fs::remove(object);
  fs::remove(dir_ / "vault" / "items" / (a->sha256 + ".json"));
  auto verdict = vault_->Verify("auditor");
  ASSERT_TRUE(verdict);
  EXPECT_FALSE(verdict->ok);
  ASSERT_FALSE(verdict->problems.empty());
  EXPECT_NE(verdict->problems[0].find("missing"), std::string::npos);
}

TEST_F(VaultTest, TheCustomersAgreementIsRecordedAndWithdrawn) {
  EXPECT_FALSE(vault_->HasAgreement(5));
  ASSERT_TRUE(vault_->RecordAgreement(5, "analyst:alice", "mail from ops@acme, 2026-12-05"));
  EXPECT_TRUE(vault_->HasAgreement(5));
  EXPECT_FALSE(vault_->HasAgreement(6));
  vault_.reset();
  auto vault = Vault::Open((dir_ / "vault").string(), Env::Default());
  ASSERT_TRUE(vault);
  EXPECT_TRUE((*vault)->HasAgreement(5));
  ASSERT_TRUE((*vault)->WithdrawAgreement(5, "analyst:alice", "phone call"));
  EXPECT_FALSE((*vault)->HasAgreement(5));
  EXPECT_FALSE((*vault)->WithdrawAgreement(5, "analyst:alice", "again"));
  EXPECT_EQ((*vault)->Custody()->back().action, "agreement_withdrawn");
}

TEST_F(VaultTest, ExportHasAManifestThatSha256sumAccepts) {
  ASSERT_TRUE(vault_->Add("pcap bytes", Item(3, "capture-1.pcap")));
  std::string file = (dir_ / "auth.log").string();
  std::ofstream(file) << "Dec  4 10:00:00 web1 sshd[1]: Failed password for root from 10.77.0.11\n";
  auto from_file = vault_->AddFile(file, Item(3, "auth.log"));
  ASSERT_TRUE(from_file) << from_file.error().ToString();
  ASSERT_TRUE(vault_->Add("other incident", Item(4, "other")));
  std::string out = (dir_ / "bundle").string();
  auto manifest = vault_->Export(3, out, "analyst:alice", "customer ACME", "[]", "<html></html>");
  ASSERT_TRUE(manifest) << manifest.error().ToString();
  EXPECT_NE(manifest->find("custody.jsonl"), std::string::npos);
  EXPECT_EQ(manifest->find("other"), std::string::npos);
  EXPECT_EQ(std::system(("cd " + out + " && sha256sum --quiet -c MANIFEST.sha256").c_str()), 0);
  // Not into a folder that holds something already.
  EXPECT_FALSE(vault_->Export(3, out, "analyst:alice", "x", "[]", ""));
  auto custody = vault_->Custody();
  EXPECT_EQ(custody->back().action, "exported");
}

}  // namespace
}  // namespace bulwark::forensics
