// Webhooks, the second channel: every message of an incident's thread is POSTed as JSON to the
// customer's URL, signed with HMAC-SHA256; refusals are retried. The receiver is a real HTTP
// server on a loopback port.

#include <gtest/gtest.h>

#include <mutex>

#include "../notify/outbox_fixture.h"
#include "bulwark/server/http.h"

namespace bulwark::server {
namespace {

class WebhookTest : public notify::testing_support::OutboxTest {
 protected:
  void SetUp() override {
    OutboxTest::SetUp();
    auto receiver = HttpServer::Start(
        "127.0.0.1:0",
        [this](const HttpRequest& request) {
          std::lock_guard lock(mutex_);
          received_.push_back(request);
          HttpResponse response;
          response.status = refuse_ ? 503 : 204;
          return response;
        },
        HttpLimits{});
    ASSERT_TRUE(receiver) << receiver.error().ToString();
    receiver_ = std::move(*receiver);
    notify::NotifierSettings settings;
    settings.webhooks = {
        {"c1", "http://127.0.0.1:" + std::to_string(receiver_->port()) + "/hook", "s3cret"}};
    notifier_ =
        std::make_unique<notify::Notifier>(*store_, *index_, policy_, templates_, env_, settings);
    incidents_->SetNotificationSink(notifier_.get());
  }
  void TearDown() override {
    receiver_.reset();
    OutboxTest::TearDown();
  }

  std::mutex mutex_;
  std::vector<HttpRequest> received_;
  bool refuse_ = false;
  std::unique_ptr<HttpServer> receiver_;
};

TEST_F(WebhookTest, SignedPostsWithRetries) {
  auto taken = Take("203.0.113.7");
  auto sender = notify::NewWebhookSender(5);
  refuse_ = true;
  auto refused = notifier_->DeliverWebhooks(*sender);
  ASSERT_TRUE(refused) << refused.error().ToString();
  EXPECT_EQ(refused->retried, 1u);
  refuse_ = false;
  env_.now += 61 * kNsPerSecond;
  auto posted = notifier_->DeliverWebhooks(*sender);
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->sent, 1u);
  ASSERT_EQ(received_.size(), 2u);
  const HttpRequest& request = received_.back();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/hook");
  EXPECT_EQ(request.headers.at("x-bulwark-event"), "incident.opened");
  EXPECT_EQ(request.headers.at("x-bulwark-signature"),
            "sha256=" + notify::WebhookSignature("s3cret", request.body));
  EXPECT_NE(request.headers.at("x-bulwark-signature"),
            "sha256=" + notify::WebhookSignature("other", request.body));
  EXPECT_NE(request.body.find("\"event\":\"incident.opened\""), std::string::npos);
  EXPECT_NE(request.body.find("\"customer\":\"c1\""), std::string::npos);
  EXPECT_NE(request.body.find("\"source.ip\":\"203.0.113.7\""), std::string::npos);
  // Delivered once: nothing more to post.
  EXPECT_EQ(notifier_->DeliverWebhooks(*sender)->sent, 0u);
  // Mail goes its own way: still pending for the mailer.
  auto outbox = store_->OutboxOf(taken.incident_id);
  ASSERT_TRUE(outbox);
  ASSERT_EQ(outbox->size(), 2u);
}

}  // namespace
}  // namespace bulwark::server
