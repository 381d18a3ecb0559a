// `serve` fetching reports on its own: from a real Dovecot IMAP mailbox (TLS) and from a local
// server that implements Shadowserver's Reports API contract (HMAC2-signed list, download by id).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "../support/dovecot.h"
#include "../support/sample_inventory.h"
#include "bulwark/cloud/shadowserver_api.h"
#include "bulwark/core/digest.h"
#include "bulwark/imap/mailbox.h"
#include "bulwark/inventory/import.h"
#include "bulwark/server/http.h"
#include "bulwark/server/service.h"
#include "bulwark/store/store.h"

namespace bulwark::server {
namespace {

namespace fs = std::filesystem;
const std::string kShared = BULWARK_SHARED_DIR "/abuse";

// An X-ARF mail about 203.0.113.77 (Initech's legacy system in the sample inventory).
std::string XarfMail(const std::string& id) {
  return "From: abuse-team@blocklist.example\r\nSubject: abuse report about 203.0.113.77\r\n"
         "Message-ID: <" +
         id +
         "@blocklist.example>\r\nX-ARF: yes\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
         "--b\r\nContent-Type: text/plain\r\n\r\nYour customer attacked us.\r\n"
         "--b\r\nContent-Type: text/plain; name=\"report.txt\"\r\n\r\n"
         "---\r\nReported-From: abuse-team@blocklist.example\r\nCategory: abuse\r\n"
         "Report-Type: login-attack\r\nVersion: 0.2\r\n"
         "Date: Thu, 26 Nov 2026 07:19:02 +0100\r\nSource-Type: ip-address\r\n"
         "Source: 203.0.113.77\r\nPort: 22\r\n--b--\r\n";
}

class ReportSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::TestDataDir("bulwark-sources");
    ASSERT_TRUE(testing_support::SampleStore(dir_));
    config_.data_dir = dir_.string();
    config_.listen = "127.0.0.1:0";
    config_.mail.print = (dir_ / "mails.txt").string();
  }
  void TearDown() override {
    service_.reset();
    fs::remove_all(dir_);
  }

  void StartService() {
    auto service = Service::Start(config_, "", Env::Default());
    ASSERT_TRUE(service) << service.error().ToString();
    service_ = std::move(*service);
  }

  // Incidents of the store, as "customer/kind" strings.
  std::vector<std::string> Incidents() {
    auto store = store::OpenSqliteStore(dir_.string());
    EXPECT_TRUE(store);
    auto list = (*store)->ListIncidents({});
    EXPECT_TRUE(list);
    std::vector<std::string> out;
    for (const auto& incident : *list) out.push_back(incident.customer_id + "/" + incident.kind);
    return out;
  }

  fs::path dir_;
  config::Config config_;
  std::unique_ptr<Service> service_;
};

TEST_F(ReportSourcesTest, MailsFromTheImapMailboxBecomeIncidents) {
  testing_support::DovecotServer dovecot;
  ASSERT_TRUE(dovecot.error().empty()) << dovecot.error();
  imap::Settings settings;
  settings.url = dovecot.url();
  settings.username = testing_support::DovecotServer::kUser;
  settings.password = testing_support::DovecotServer::kPassword;
  settings.ca_file = dovecot.ca_file();
  auto inbox = imap::Mailbox::Open(settings);
  ASSERT_TRUE(inbox);
  ASSERT_TRUE((*inbox)->Append("INBOX", XarfMail("m1")));
  ASSERT_TRUE(
      (*inbox)->Append("INBOX", "From: someone@example.net\r\nSubject: hello\r\n\r\nhi\r\n"));

  std::ofstream(dir_ / "imap.password") << testing_support::DovecotServer::kPassword << "\n";
  config_.reports.imap.url = dovecot.url();
  config_.reports.imap.username = testing_support::DovecotServer::kUser;
  config_.reports.imap.password_file = (dir_ / "imap.password").string();
  config_.reports.imap.ca_file = dovecot.ca_file();
  StartService();
  service_->PollReports();

  EXPECT_EQ(Incidents(), std::vector<std::string>{"c-initech/intrusion-attempts/brute-force"});
  EXPECT_TRUE((*inbox)->List()->empty()) << dovecot.Log();
  settings.url = dovecot.url("Bulwark/Processed");
  auto processed = imap::Mailbox::Open(settings);
  ASSERT_TRUE(processed);
  EXPECT_EQ((*processed)->List()->size(), 1u);
  settings.url = dovecot.url("Bulwark/Failed");
  auto failed = imap::Mailbox::Open(settings);
  ASSERT_TRUE(failed);
  auto failed_uids = (*failed)->List();
  ASSERT_TRUE(failed_uids);
  ASSERT_EQ(failed_uids->size(), 1u);
  auto rejected = (*failed)->Fetch(failed_uids->front());
  ASSERT_TRUE(rejected);
  EXPECT_TRUE(rejected->starts_with("X-Bulwark-Rejected: imap:INBOX/2: no report in the mail"))
      << *rejected;
}

// Shadowserver's Reports API as its documentation describes it: POST <api>/reports/list with a
// JSON body holding the key and the dates, signed in the HMAC2 header; GET <dl>/<id>.
class FakeShadowserver {
 public:
  FakeShadowserver(
      std::string key, std::string secret, std::string csv,
      std::string list =
          R"([{"report":"provider-asn","file":"2026-11-20-scan_redis-asn-64500.csv","type":"scan_redis","id":"r1d","timestamp":"2026-11-20"}])")
      : key_(std::move(key)),
        secret_(std::move(secret)),
        csv_(std::move(csv)),
        list_(std::move(list)) {
    auto server = HttpServer::Start(
        "127.0.0.1:0", [this](const HttpRequest& r) { return Handle(r); }, HttpLimits{});
    EXPECT_TRUE(server) << server.error().ToString();
    server_ = std::move(*server);
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  size_t downloads() {
    std::lock_guard lock(mutex_);
    return downloads_;
  }
  std::string last_list_body() {
    std::lock_guard lock(mutex_);
    return last_body_;
  }

 private:
  HttpResponse Handle(const HttpRequest& r) {
    std::lock_guard lock(mutex_);
    HttpResponse response;
    if (r.method == "POST" && r.path == "/api2/reports/list") {
      last_body_ = r.body;
      auto signature = r.headers.find("hmac2");
      if (signature == r.headers.end() || signature->second != HmacSha256Hex(secret_, r.body) ||
          r.body.find("\"apikey\":\"" + key_ + "\"") == std::string::npos) {
        response.status = 401;
        response.body = R"({"error":"Invalid API key or signature"})";
        return response;
      }
      response.body = list_;
      return response;
    }
    if (r.method == "GET" && r.path == "/dl/r1d") {
      ++downloads_;
      response.content_type = "text/csv";
      response.body = csv_;
      return response;
    }
    response.status = 404;
    response.body = R"({"error":"not found"})";
    return response;
  }

  std::string key_, secret_, csv_, list_;
  std::mutex mutex_;
  size_t downloads_ = 0;
  std::string last_body_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(ReportSourcesTest, ShadowserverReportsApiIsSignedListedAndDownloadedOnce) {
  FakeShadowserver shadowserver("k-123", "s3cret",
                                "\"timestamp\",\"ip\",\"protocol\",\"port\",\"tag\",\"severity\"\n"
                                "\"2026-11-20 04:00:00\",\"203.0.113.77\",\"tcp\",6379,\"redis\","
                                "\"high\"\n");
  cloud::ShadowserverApiSettings settings;
  settings.api_url = shadowserver.base() + "/api2/";
  settings.download_url = shadowserver.base() + "/dl/";
  settings.key = "k-123";
  settings.secret = "wrong";
  auto refused = cloud::ListReports(settings, "2026-11-19", "2026-11-20");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("HTTP 401"), std::string::npos) << refused.error().message;
  settings.secret = "s3cret";
  settings.reports = {"provider-asn"};
  auto listed = cloud::ListReports(settings, "2026-11-19", "2026-11-20");
  ASSERT_TRUE(listed) << listed.error().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].type, "scan_redis");
  EXPECT_EQ(shadowserver.last_list_body(),
            R"({"apikey":"k-123","date":"2026-11-19:2026-11-20","reports":["provider-asn"]})");

  std::ofstream(dir_ / "ss.key") << "k-123\n";
  std::ofstream(dir_ / "ss.secret") << "s3cret\n";
  config_.reports.shadowserver_schema = kShared + "/report_schema/intelmq.json";
  config_.reports.shadowserver_api.url = shadowserver.base() + "/api2/";
  config_.reports.shadowserver_api.download_url = shadowserver.base() + "/dl/";
  config_.reports.shadowserver_api.key_file = (dir_ / "ss.key").string();
  config_.reports.shadowserver_api.secret_file = (dir_ / "ss.secret").string();
  StartService();
  service_->PollReports();
  EXPECT_EQ(Incidents(), std::vector<std::string>{"c-initech/vulnerable/vulnerable-system"});
  EXPECT_EQ(shadowserver.downloads(), 1u);
  service_->PollReports();  // listed again, not downloaded again
  EXPECT_EQ(shadowserver.downloads(), 1u);
}

TEST(ShadowserverApi, ReadsARealListResponse) {
  std::ifstream in(kShared + "/intelmq/shadowserver-testdata-head/reports-list.json");
  std::string list((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t entries = 0;
  for (size_t at = 0; (at = list.find("\"id\"", at)) != std::string::npos; ++at) ++entries;
  ASSERT_GT(entries, 1u);
  FakeShadowserver shadowserver("k", "s", "", list);
  cloud::ShadowserverApiSettings settings;
  settings.api_url = shadowserver.base() + "/api2";  // the missing slash is added
  settings.key = "k";
  settings.secret = "s";
  auto listed = cloud::ListReports(settings, "2020-08-02", "2020-08-02");
  ASSERT_TRUE(listed) << listed.error().ToString();
  ASSERT_EQ(listed->size(), entries);
  EXPECT_EQ((*listed)[0].file, "2020-08-02-scan_smb-anarres-geo.csv");
  EXPECT_EQ((*listed)[0].type, "scan_smb");
  EXPECT_EQ((*listed)[0].report, "anarres@shadowserver.org");
}

}  // namespace
}  // namespace bulwark::server
