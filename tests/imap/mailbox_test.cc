// The IMAP client against a real Dovecot on loopback (TLS with a certificate made for the run).

#include "bulwark/imap/mailbox.h"

#include <gtest/gtest.h>

#include "../support/dovecot.h"

namespace bulwark::imap {
namespace {

using testing_support::DovecotServer;

std::string Mail(const std::string& subject, const std::string& body) {
  return "From: reporter@example.net\r\nTo: abuse@provider.example\r\nSubject: " + subject +
         "\r\nMessage-ID: <" + subject + "@example.net>\r\n\r\n" + body + "\r\n";
}

class MailboxTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.error().empty()) << server_.error(); }

  std::unique_ptr<Mailbox> Open(const std::string& folder = "INBOX") {
    Settings settings;
    settings.url = server_.url(folder);
    settings.username = DovecotServer::kUser;
    settings.password = DovecotServer::kPassword;
    settings.ca_file = server_.ca_file();
    settings.timeout_seconds = 10;
    auto mailbox = Mailbox::Open(settings);
    EXPECT_TRUE(mailbox) << mailbox.error().ToString();
    return mailbox ? std::move(*mailbox) : nullptr;
  }

  DovecotServer server_;
};

TEST_F(MailboxTest, AppendListFetch) {
  auto inbox = Open();
  ASSERT_TRUE(inbox);
  auto empty = inbox->List();
  ASSERT_TRUE(empty) << empty.error().ToString();
  EXPECT_TRUE(empty->empty());
  std::string first = Mail("one", "first report");
  auto appended = inbox->Append("INBOX", first);
  ASSERT_TRUE(appended) << appended.error().ToString();
  ASSERT_TRUE(inbox->Append("INBOX", Mail("two", "second report")));
  auto uids = inbox->List();
  ASSERT_TRUE(uids) << uids.error().ToString();
  ASSERT_EQ(uids->size(), 2u);
  auto fetched = inbox->Fetch(uids->front());
  ASSERT_TRUE(fetched) << fetched.error().ToString();
  EXPECT_EQ(*fetched, first);
}

TEST_F(MailboxTest, PollMovesReadMailsAndStoresRejectedOnesWithTheReason) {
  auto inbox = Open();
  ASSERT_TRUE(inbox);
  for (const char* subject : {"good-1", "bad-1", "good-2"}) {
    ASSERT_TRUE(inbox->Append("INBOX", Mail(subject, "body")));
  }
  std::vector<uint32_t> seen;
  auto stats =
      PollMailbox(*inbox, "Bulwark/Processed", "Bulwark/Failed",
                  [&](std::string_view message, uint32_t uid) -> Result<void> {
                    seen.push_back(uid);
                    if (message.find("Subject: bad") != std::string_view::npos) {
                      return Fail("no report in the mail", "imap:INBOX/" + std::to_string(uid));
                    }
                    return {};
                  });
  ASSERT_TRUE(stats) << stats.error().ToString() << "\n" << server_.Log();
  EXPECT_EQ(stats->processed, 2u);
  EXPECT_EQ(stats->failed, 1u);
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_TRUE(inbox->List()->empty());

  auto processed = Open("Bulwark/Processed");
  ASSERT_TRUE(processed);
  EXPECT_EQ(processed->List()->size(), 2u);
  auto failed = Open("Bulwark/Failed");
  ASSERT_TRUE(failed);
  auto failed_uids = failed->List();
  ASSERT_TRUE(failed_uids);
  ASSERT_EQ(failed_uids->size(), 1u);
  auto rejected = failed->Fetch(failed_uids->front());
  ASSERT_TRUE(rejected);
  EXPECT_TRUE(rejected->starts_with("X-Bulwark-Rejected: imap:INBOX/2: no report in the mail\r\n"))
      << *rejected;
  EXPECT_NE(rejected->find("Subject: bad-1"), std::string::npos);

  // A second round finds nothing more to do.
  auto again = PollMailbox(*inbox, "Bulwark/Processed", "Bulwark/Failed",
                           [](std::string_view, uint32_t) -> Result<void> { return {}; });
  ASSERT_TRUE(again);
  EXPECT_EQ(again->processed + again->failed, 0u);
}

TEST_F(MailboxTest, TlsIsVerifiedAndLoginFailuresAreReported) {
  Settings settings;
  settings.url = server_.url();
  settings.username = DovecotServer::kUser;
  settings.password = DovecotServer::kPassword;
  settings.timeout_seconds = 10;
  // The run's self-signed certificate is not trusted without its CA file.
  auto untrusted = Mailbox::Open(settings);
  ASSERT_TRUE(untrusted);
  auto refused = (*untrusted)->List();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("certificate"), std::string::npos)
      << refused.error().message;

  settings.ca_file = server_.ca_file();
  settings.password = "wrong";
  auto wrong = Mailbox::Open(settings);
  ASSERT_TRUE(wrong);
  auto denied = (*wrong)->List();
  ASSERT_FALSE(denied);
  EXPECT_NE(denied.error().message.find("Login denied"), std::string::npos)
      << denied.error().message;

  Settings https = settings;
  https.url = "https://127.0.0.1/INBOX";
  EXPECT_FALSE(Mailbox::Open(https));
  settings.url = "imaps://127.0.0.1:" + std::to_string(testing_support::FreePort()) + "/INBOX";
  settings.password = DovecotServer::kPassword;
  auto down = Mailbox::Open(settings);
  ASSERT_TRUE(down);
  EXPECT_FALSE((*down)->List());
}

TEST(RejectionHeader, IsOneLineOnTop) {
  EXPECT_EQ(WithRejectionHeader("Subject: x\r\n\r\nbody", "bad\r\nthing\x01"),
            "X-Bulwark-Rejected: bad  thing \r\nSubject: x\r\n\r\nbody");
  EXPECT_EQ(WithRejectionHeader("From a@b Thu Nov 26\nSubject: x\n", "r"),
            "From a@b Thu Nov 26\nX-Bulwark-Rejected: r\r\nSubject: x\n");
}

}  // namespace
}  // namespace bulwark::imap
