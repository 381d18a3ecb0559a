// Joining the lines of one sshd process: address-less failures take the process's address, or
// wait for it; other programs are left alone.

#include "bulwark/decode/session.h"

#include <gtest/gtest.h>

#include "bulwark/data/builtin_env.h"
#include "bulwark/decode/decoder.h"
#include "bulwark/input/parser.h"

namespace bulwark::decode {
namespace {

namespace fid = event::fid;

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
    ASSERT_TRUE(set) << set.error().ToString();
    set_ = std::move(*set);
    scratch_ = set_->NewScratch();
  }

  // The line parsed, decoded and joined: "outcome ip".
  std::string Feed(std::string_view line) {
    input::ParseOptions options;
    options.year = 2026;
    input::LineParser parser(options);
    event::Event event;
    input::Repairs repairs;
    parser.Parse(line, event, repairs);
    set_->Decode(event, *scratch_);
    tracker_.Apply(event);
    return std::string(event.Get(fid::kEventOutcome).value_or("-")) + " " +
           std::string(event.Get(fid::kSourceIp).value_or("-"));
  }

  std::shared_ptr<const DecoderSet> set_;
  std::unique_ptr<DecodeScratch> scratch_;
  SessionTracker tracker_;
};

TEST_F(SessionTest, AnAddresslessFailureTakesTheAddressOfItsProcess) {
  EXPECT_EQ(Feed("Nov 26 15:03:30 host sshd[22440]: Connection from 192.0.2.3 port 39678 on "
                 "192.168.1.9 port 22"),
            "- 192.0.2.3");
  EXPECT_EQ(Feed("Nov 26 15:03:31 host sshd[22440]: fatal: Unable to negotiate a key exchange "
                 "method [preauth]"),
            "failure 192.0.2.3");
  // Another process of the same host knows no address: its failure waits.
  EXPECT_EQ(Feed("Nov 26 15:03:31 host sshd[22441]: Disconnecting: Too many authentication "
                 "failures [preauth]"),
            "unknown -");
  // ... and its next line that names one becomes the failure.
  EXPECT_EQ(Feed("Nov 26 15:03:32 host sshd[22441]: Connection closed by 198.51.100.9 port 4242"),
            "failure 198.51.100.9");
  EXPECT_EQ(Feed("Nov 26 15:03:33 host sshd[22441]: Connection closed by 198.51.100.9 port 4242"),
            "- 198.51.100.9");
  // The same pid on another host is another process.
  EXPECT_EQ(Feed("Nov 26 15:03:34 other sshd[22440]: error: kex_exchange_identification: read: "
                 "Connection reset by peer"),
            "unknown -");
}

TEST_F(SessionTest, OtherProgramsAndResetAreLeftAlone) {
  // A local user's sudo failure has no address by nature: it stays a failure.
  std::string sudo = Feed(
      "Nov 26 15:04:00 host sudo: pam_unix(sudo:auth): authentication failure; logname=bob "
      "uid=1000 euid=0 tty=/dev/pts/0 ruser=bob rhost=  user=bob");
  EXPECT_TRUE(sudo.starts_with("failure")) << sudo;
  Feed("Nov 26 15:03:30 host sshd[5]: Connection from 192.0.2.3 port 39678 on 192.168.1.9 port 22");
  tracker_.Reset();
  EXPECT_EQ(Feed("Nov 26 15:03:31 host sshd[5]: fatal: Read from socket failed: Connection reset "
                 "by peer [preauth]"),
            "unknown -");
}

TEST(SessionTracker, MemoryIsBounded) {
  SessionTracker tracker({"sshd"}, 4);
  for (int pid = 1; pid < 100; ++pid) {
    event::Event event;
    event.Set(fid::kProcessName, "sshd");
    event.Set(fid::kProcessPid, std::to_string(pid));
    event.Set(fid::kSourceIp, "192.0.2.1");
    tracker.Apply(event);
  }
  // Four slots: most of the 99 processes were displaced by newer ones.
  event::Event late;
  late.Set(fid::kProcessName, "sshd");
  late.Set(fid::kProcessPid, "1");
  late.Set(fid::kEventOutcome, "failure");
  tracker.Apply(late);
  EXPECT_FALSE(late.Has(fid::kSourceIp));
}

}  // namespace
}  // namespace bulwark::decode
