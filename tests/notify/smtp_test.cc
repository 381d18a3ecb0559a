// Delivery to a real mail server: OpenSMTPD from Debian on a loopback port, delivering every
// recipient into one Maildir. The test starts and stops the server itself (by PID).

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "../support/files.h"
#include "../support/net.h"
#include "bulwark/core/strings.h"
#include "outbox_fixture.h"

namespace bulwark::notify {
namespace {

using model::IncidentState;
using testing_support::OutboxTest;

constexpr const char* kSmtpd = "/usr/sbin/smtpd";

using bulwark::testing_support::Accepts;
using bulwark::testing_support::FreePort;

using bulwark::testing_support::ReadAll;

class SmtpTest : public OutboxTest {
 protected:
  void SetUp() override {
    OutboxTest::SetUp();
    ASSERT_EQ(access(kSmtpd, X_OK), 0) << "OpenSMTPD is missing: tools/deps.sh installs it";
    ASSERT_EQ(geteuid(), 0u) << "OpenSMTPD needs root to start (it drops privileges itself)";
    mail_dir_ = dir_ / "mail";
    std::filesystem::create_directories(mail_dir_ / "Maildir");
    std::filesystem::permissions(dir_, std::filesystem::perms(0755));
    const passwd* nobody = getpwnam("nobody");
    ASSERT_NE(nobody, nullptr);
    ASSERT_EQ(chown((mail_dir_ / "Maildir").c_str(), nobody->pw_uid, nobody->pw_gid), 0);
    port_ = FreePort();
    std::ofstream(mail_dir_ / "vusers") << "@ nobody\n";
    std::ofstream(mail_dir_ / "smtpd.conf")
        << "table vusers file:" << (mail_dir_ / "vusers").string() << "\n"
        << "listen on 127.0.0.1 port " << port_ << "\n"
        << "action \"maildir\" maildir \"" << (mail_dir_ / "Maildir").string()
        << "\" virtual <vusers>\n"
        << "match from any for any action \"maildir\"\n";
    StartServer();
    SmtpSettings settings;
    settings.url = "smtp://127.0.0.1:" + std::to_string(port_);
    settings.starttls = "off";
    settings.timeout_seconds = 10;
    mailer_ = NewSmtpMailer(settings);
  }

  void TearDown() override {
    StopServer();
    OutboxTest::TearDown();
  }

  void StartServer() {
    std::string log = (mail_dir_ / "smtpd.log").string();
    std::string conf = (mail_dir_ / "smtpd.conf").string();
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::freopen(log.c_str(), "a", stdout);
      (void)out;
      dup2(fileno(stdout), fileno(stderr));
      execl(kSmtpd, kSmtpd, "-d", "-f", conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100 && !Accepts(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(Accepts(port_)) << "smtpd did not start:\n" << ReadAll(mail_dir_ / "smtpd.log");
  }

  void StopServer() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    // Its privilege-separated children follow the parent out; wait until the port is free.
    for (int i = 0; i < 50 && Accepts(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // Delivered messages, waiting up to 10 s for `count` of them.
  std::vector<std::string> Delivered(size_t count) {
    std::vector<std::string> mails;
    for (int i = 0; i < 100; ++i) {
      mails.clear();
      std::error_code missing;  // Maildir/new appears with the first delivery
      for (const auto& entry :
           std::filesystem::directory_iterator(mail_dir_ / "Maildir" / "new", missing)) {
        mails.push_back(ReadAll(entry.path()));
      }
      if (mails.size() >= count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::sort(mails.begin(), mails.end());
    return mails;
  }

  std::filesystem::path mail_dir_;
  int port_ = 0;
  pid_t pid_ = 0;
  std::unique_ptr<Mailer> mailer_;
};

TEST_F(SmtpTest, DeliversTheThreadToTheSecurityContact) {
  auto taken = Take("203.0.113.7");
  auto first = notifier_->Deliver(*mailer_, *incidents_);
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_EQ(first->sent, 1u) << (*store_->OutboxOf(taken.incident_id))[0].last_error;
  env_.now += 3 * 86400 * kNsPerSecond + 1;
  ASSERT_EQ(*notifier_->QueueReminders(), 1u);
  ASSERT_EQ(notifier_->Deliver(*mailer_, *incidents_)->sent, 1u);
  auto mails = Delivered(2);
  ASSERT_EQ(mails.size(), 2u);
  const std::string* opened = nullptr;
  const std::string* reminder = nullptr;
  for (const auto& mail : mails) {
    (mail.find("In-Reply-To:") == std::string::npos ? opened : reminder) = &mail;
  }
  ASSERT_TRUE(opened && reminder);
  for (const std::string* mail : {opened, reminder}) {
    EXPECT_NE(mail->find("Delivered-To: sec@acme.example"), std::string::npos) << *mail;
    EXPECT_EQ(mail->find("ops@acme.example"), std::string::npos);  // technical contact: not
    EXPECT_NE(mail->find("Sehr geehrtes Team von ACME GmbH"), std::string::npos);
    EXPECT_NE(mail->find("kein Managed Service"), std::string::npos);
  }
  EXPECT_NE(opened->find("Message-ID: <incident-1@bulwark.provider.example>"), std::string::npos);
  EXPECT_NE(opened->find("SSH-2.0-OpenSSH_9.2p1"), std::string::npos);
  EXPECT_NE(opened->find("203.0.113.7 port 22"), std::string::npos);
  EXPECT_NE(reminder->find("In-Reply-To: <incident-1@bulwark.provider.example>"),
            std::string::npos);
  EXPECT_NE(reminder->find("Erinnerung"), std::string::npos);
}

TEST_F(SmtpTest, AStoppedServerDelaysButNeverLosesMail) {
  auto taken = Take("203.0.113.7");
  StopServer();
  auto refused = notifier_->Deliver(*mailer_, *incidents_);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->retried, 1u);
  EXPECT_EQ((**store_->GetIncident(taken.incident_id)).state, IncidentState::kNew);
  StartServer();
  env_.now += 61 * kNsPerSecond;
  auto delivered = notifier_->Deliver(*mailer_, *incidents_);
  ASSERT_TRUE(delivered);
  EXPECT_EQ(delivered->sent, 1u);
  auto mails = Delivered(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a duplicate would show now
  mails = Delivered(1);
  EXPECT_EQ(mails.size(), 1u);
  EXPECT_EQ((**store_->GetIncident(taken.incident_id)).state, IncidentState::kAwaitingFix);
}

}  // namespace
}  // namespace bulwark::notify
