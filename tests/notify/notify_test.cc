// Customer notification: templates, message form, the outbox (retries, backoff, giving up,
// threading, reminders, escalation) and the incident transitions it drives.

#include <gtest/gtest.h>

#include <filesystem>

#include "bulwark/notify/notifier.h"
#include "outbox_fixture.h"

namespace bulwark::notify {
namespace {

using model::IncidentState;
using testing_support::OutboxTest;
using testing_support::RecordingMailer;
using testing_support::T;

TEST(Templates, EveryPlaceholderIsFilled) {
  auto templates = Templates::Load("", Env::Default());
  ASSERT_TRUE(templates) << templates.error().ToString();
  std::map<std::string, std::string> values;
  for (const char* key : {"reference",  "customer.name",    "project.name", "system.name",
                          "system.id",  "address",          "port_suffix",  "kind",
                          "identifier", "first_seen",       "opened",       "feed",
                          "severity",   "severity_reasons", "cves",         "evidence",
                          "deadline",   "signature",        "count",        "items"}) {
    values.emplace(key, "X");
  }
  for (const char* language : {"de", "en"}) {
    for (const char* kind : {"opened", "reminder", "escalation", "digest"}) {
      ASSERT_TRUE(templates->Has(language, kind)) << language << "/" << kind;
      auto [subject, body] = templates->Render(language, kind, values);
      EXPECT_EQ(subject.find("{{"), std::string::npos) << language << "/" << kind;
      EXPECT_EQ(body.find("{{"), std::string::npos) << language << "/" << kind << body;
      // The policy's promise: notifications say that they are not a managed service.
      EXPECT_TRUE(body.find("not a managed service") != std::string::npos ||
                  body.find("kein Managed Service") != std::string::npos)
          << language << "/" << kind;
    }
  }
}

TEST(Templates, FilesOverrideTheBundledOnes) {
  auto dir = std::filesystem::temp_directory_path() / ("bulwark-tpl-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "en");
  {
    std::FILE* f = std::fopen((dir / "en" / "opened.txt").c_str(), "w");
    std::fputs("Subject: Custom {{reference}}\n\nBody for {{customer.name}}\n", f);
    std::fclose(f);
  }
  auto templates = Templates::Load(dir.string(), Env::Default());
  ASSERT_TRUE(templates);
  auto [subject, body] =
      templates->Render("en", "opened", {{"reference", "R"}, {"customer.name", "C"}});
  EXPECT_EQ(subject, "Custom R");
  EXPECT_EQ(body, "Body for C\n");
  auto [de_subject, de_body] = templates->Render("de", "opened", {});
  EXPECT_NE(de_subject.find("Sicherheitsproblem"), std::string::npos);  // still bundled
  {
    std::FILE* f = std::fopen((dir / "en" / "reminder.txt").c_str(), "w");
    std::fputs("no subject line\n", f);
    std::fclose(f);
  }
  auto broken = Templates::Load(dir.string(), Env::Default());
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().where.find("reminder.txt"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// Templates are read through the Env they are given (here files in memory), and a folder that is
// not there is an error rather than silently the bundled templates.
TEST(Templates, AreReadThroughTheEnv) {
  bulwark::testing_support::MemoryEnv env;
  env.files["tpl/de/opened.txt"] = "Subject: Aus dem Speicher {{reference}}\n\nText\n";
  auto templates = Templates::Load("tpl", env);
  ASSERT_TRUE(templates) << templates.error().ToString();
  EXPECT_EQ(templates->Render("de", "opened", {{"reference", "R"}}).first, "Aus dem Speicher R");
  EXPECT_NE(templates->Render("en", "opened", {}).first.find("Security issue"), std::string::npos);
  auto missing = Templates::Load("no-such-folder", env);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().ToString().find("no-such-folder"), std::string::npos);
}

TEST(Message, RendersHeadersAndBody) {
  Message m;
  m.from = "security@provider.example";
  m.to = {"a@acme.example", "b@acme.example"};
  m.subject = "Sicherheitsproblem auf Größe";
  m.body = "line one\nline two\n" + std::string(1500, 'x');
  m.message_id = "incident-1-reminder-1@bulwark.example";
  m.in_reply_to = "incident-1@bulwark.example";
  m.date = T("2026-11-26T12:00:00Z");
  std::string text = Render(m);
  EXPECT_NE(text.find("To: a@acme.example, b@acme.example\r\n"), std::string::npos);
  EXPECT_NE(text.find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(text.find("Date: Thu, 26 Nov 2026 12:00:00 +0000\r\n"), std::string::npos);
  EXPECT_NE(text.find("In-Reply-To: <incident-1@bulwark.example>\r\n"), std::string::npos);
  EXPECT_NE(text.find("References: <incident-1@bulwark.example>\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\n\r\nline one\r\nline two\r\n"), std::string::npos);
  for (size_t pos = 0, end; (end = text.find("\r\n", pos)) != std::string::npos; pos = end + 2) {
    EXPECT_LE(end - pos, 998u);
  }
}

TEST_F(OutboxTest, OpenedIncidentMailsTheSecurityContactsInTheirLanguage) {
  auto taken = Take("203.0.113.7");
  ASSERT_EQ(taken.outcome, incident::Outcome::kOpened);
  RecordingMailer mailer;
  auto stats = notifier_->Deliver(mailer, *incidents_);
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_EQ(stats->sent, 1u);
  ASSERT_EQ(mailer.sent.size(), 1u);
  EXPECT_EQ(mailer.sent[0].first, (std::vector<std::string>{"sec@acme.example"}));
  const std::string& mail = mailer.sent[0].second;
  EXPECT_NE(mail.find("Message-ID: <incident-1@bulwark.provider.example>"), std::string::npos);
  EXPECT_NE(mail.find("Sehr geehrtes Team von ACME GmbH"), std::string::npos);
  EXPECT_NE(mail.find("SSH-2.0-OpenSSH_9.2p1"), std::string::npos);
  EXPECT_NE(mail.find("kein Managed Service"), std::string::npos);
  auto incident = Incident(taken.incident_id);
  EXPECT_EQ(incident.state, IncidentState::kAwaitingFix);
  ASSERT_TRUE(incident.deadline);
  EXPECT_EQ(*incident.deadline, env_.now + 7 * 86400 * kNsPerSecond);  // high: 7 days
  // Nothing is sent twice.
  auto again = notifier_->Deliver(mailer, *incidents_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->sent, 0u);
  EXPECT_EQ(mailer.sent.size(), 1u);
}

TEST_F(OutboxTest, NoContactIsAStateNotAnError) {
  auto taken = Take("203.0.113.8");
  EXPECT_EQ(taken.outcome, incident::Outcome::kOpened);
  EXPECT_EQ(Incident(taken.incident_id).state, IncidentState::kNoContact);
  auto outbox = store_->OutboxOf(taken.incident_id);
  ASSERT_TRUE(outbox);
  EXPECT_TRUE(outbox->empty());
}

TEST_F(OutboxTest, RefusedMailIsRetriedWithBackoffNeverLost) {
  auto taken = Take("203.0.113.7");
  RecordingMailer mailer;
  mailer.down = true;
  auto first = notifier_->Deliver(mailer, *incidents_);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->retried, 1u);
  EXPECT_EQ(Incident(taken.incident_id).state, IncidentState::kNew);
  auto queued = (*store_->OutboxOf(taken.incident_id))[0];
  EXPECT_EQ(queued.state, "pending");
  EXPECT_EQ(queued.next_attempt, env_.now + 60 * kNsPerSecond);
  EXPECT_EQ(queued.last_error, "connection refused");
  // Not due yet: nothing is tried.
  env_.now += 30 * kNsPerSecond;
  ASSERT_EQ(notifier_->Deliver(mailer, *incidents_)->retried, 0u);
  env_.now += 31 * kNsPerSecond;
  ASSERT_EQ(notifier_->Deliver(mailer, *incidents_)->retried, 1u);
  EXPECT_EQ((*store_->OutboxOf(taken.incident_id))[0].next_attempt,
            env_.now + 120 * kNsPerSecond);  // doubled
  // The server is back.
  mailer.down = false;
  env_.now += 121 * kNsPerSecond;
  ASSERT_EQ(notifier_->Deliver(mailer, *incidents_)->sent, 1u);
  EXPECT_EQ(mailer.sent.size(), 1u);
  EXPECT_EQ(Incident(taken.incident_id).state, IncidentState::kAwaitingFix);
}

TEST_F(OutboxTest, GivesUpVisiblyAfterDays) {
  auto taken = Take("203.0.113.7");
  RecordingMailer mailer;
  mailer.down = true;
  for (int hour = 0; hour < 80; ++hour) {
    ASSERT_TRUE(notifier_->Deliver(mailer, *incidents_));
    env_.now += 3600 * kNsPerSecond;
  }
  auto entry = (*store_->OutboxOf(taken.incident_id))[0];
  EXPECT_EQ(entry.state, "failed");
  EXPECT_EQ(entry.last_error, "connection refused");
  EXPECT_EQ(Incident(taken.incident_id).state, IncidentState::kNew);
}

TEST_F(OutboxTest, DigestRatedNoticesGoOutTogetherAtTheDigestHour) {
  auto low = [&](const char* type, const char* identifier) {
    model::Finding f;
    f.feed_name = "scan";
    f.taxonomy = "vulnerable";
    f.type = type;
    f.identifier = identifier;
    f.source_ip = event::IpAddress::Parse("203.0.113.7");
    f.time_source = T("2026-11-26T10:00:00Z");
    f.cvss_score = 2.0;  // low, raised to medium by exposure: both notify in the digest
    auto taken = incidents_->Take(f);
    EXPECT_TRUE(taken) << taken.error().ToString();
    return taken ? taken->incident_id : 0;
  };
  int64_t first = low("weak-crypto", "tls-1.0");
  int64_t second = low("information-disclosure", "server-status");
  ASSERT_NE(first, second);
  EXPECT_EQ((*store_->OutboxOf(first))[0].next_attempt, T("2026-11-27T08:00:00Z"));
  RecordingMailer mailer;
  ASSERT_EQ(notifier_->Deliver(mailer, *incidents_)->sent, 0u);  // not yet
  env_.now = T("2026-11-27T08:00:00Z");
  auto stats = notifier_->Deliver(mailer, *incidents_);
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_EQ(stats->sent, 2u);         // two sections...
  ASSERT_EQ(mailer.sent.size(), 1u);  // ...in one mail
  const std::string& mail = mailer.sent[0].second;
  EXPECT_NE(mail.find("Bulwark-Sammelmeldung"), std::string::npos) << mail;
  EXPECT_NE(mail.find("tls-1.0"), std::string::npos);
  EXPECT_NE(mail.find("server-status"), std::string::npos);
  EXPECT_NE(mail.find("kein Managed Service"), std::string::npos);
  EXPECT_EQ(Incident(first).state, IncidentState::kAwaitingFix);
  EXPECT_EQ(Incident(second).state, IncidentState::kAwaitingFix);
}

TEST_F(OutboxTest, RemindersAndEscalationInOneThread) {
  auto taken = Take("203.0.113.7");
  RecordingMailer mailer;
  ASSERT_TRUE(notifier_->Deliver(mailer, *incidents_));
  // High: 7 days, reminders after 3 and 6 days.
  env_.now += 3 * 86400 * kNsPerSecond + 1;
  ASSERT_EQ(*notifier_->QueueReminders(), 1u);
  ASSERT_EQ(*notifier_->QueueReminders(), 0u);  // queued once
  env_.now += 3 * 86400 * kNsPerSecond;
  ASSERT_EQ(*notifier_->QueueReminders(), 1u);
  ASSERT_TRUE(notifier_->Deliver(mailer, *incidents_));
  env_.now += 86400 * kNsPerSecond;
  auto moved = incidents_->AdvanceDeadlines();
  ASSERT_TRUE(moved);
  ASSERT_EQ(moved->size(), 1u);
  ASSERT_TRUE(notifier_->Deliver(mailer, *incidents_));
  ASSERT_EQ(mailer.sent.size(), 4u);  // opened, reminder-1, reminder-2, escalation
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_NE(mailer.sent[i].second.find("In-Reply-To: <incident-1@bulwark.provider.example>"),
              std::string::npos);
  }
  EXPECT_NE(mailer.sent[1].second.find("Erinnerung"), std::string::npos);
  EXPECT_NE(mailer.sent[3].second.find("Frist abgelaufen"), std::string::npos);
  EXPECT_EQ(Incident(taken.incident_id).state, IncidentState::kVerifying);
}

}  // namespace
}  // namespace bulwark::notify
