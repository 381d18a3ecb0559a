#pragma once
// The REST API of `bulwark serve` over real sockets (libcurl as the client): a service on the
// sample inventory with findings for two customers, an analyst token and a customer token.

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../support/sample_inventory.h"
#include "bulwark/core/strings.h"
#include "bulwark/inventory/import.h"
#include "bulwark/server/service.h"
#include "bulwark/server/tokens.h"
#include "openapi_check.h"

namespace bulwark::server {

struct Reply {
  long status = 0;
  std::string body;
  std::string content_type;
  std::string headers;  // the response's header lines
};

inline size_t Collect(char* data, size_t size, size_t items, void* out) {
  static_cast<std::string*>(out)->append(data, size * items);
  return size * items;
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::TestDataDir("bulwark-api");
    {
      auto store = testing_support::SampleStore(dir_);
      ASSERT_TRUE(store);
      analyst_ = *CreateToken(*store, model::Role::kAnalyst, "", "test", 0);
      globex_ = *CreateToken(*store, model::Role::kCustomer, "c-globex", "test", 0);
      auto revoked = *CreateToken(*store, model::Role::kAdmin, "", "test", 0);
      revoked_ = revoked;
      ASSERT_TRUE(store->RevokeToken(revoked.substr(4, revoked.find('_', 4) - 4)));
      EXPECT_FALSE(CreateToken(*store, model::Role::kCustomer, "c-nobody", "", 0));
      EXPECT_FALSE(CreateToken(*store, model::Role::kAnalyst, "c-globex", "", 0));
    }
    config_.data_dir = dir_.string();
    config_.listen = "127.0.0.1:0";
    config_.mail.print = (dir_ / "mails.txt").string();
    config_.max_body_bytes = 64 * 1024;
    Configure(config_);
    config_path_ = (dir_ / "bulwark.yml").string();
    std::ofstream(config_path_) << "data_dir: " << dir_.string() << "\nlisten: 127.0.0.1:0\n"
                                << "mail: {print: " << config_.mail.print << "}\n";
    auto service = Service::Start(config_, config_path_, Env::Default());
    ASSERT_TRUE(service) << service.error().ToString();
    service_ = std::move(*service);
    // Findings for two customers: ACME (incident 1, 2 findings), Globex (incidents 2 and 3).
    std::ifstream in(std::string(BULWARK_SOURCE_DIR) + "/data/samples/findings.jsonl");
    std::string findings((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto posted = Call("POST", "/api/v1/findings", analyst_, findings);
    ASSERT_EQ(posted.status, 422) << posted.body;  // the sample's last line is malformed
  }

  void TearDown() override {
    service_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Changes the configuration before the service starts.
  virtual void Configure(config::Config&) {}

  // `extra`: more request header lines ("Name: value"); a token's Authorization goes first.
  Reply Call(const std::string& method, const std::string& path, const std::string& token,
             const std::string& body = "", const std::vector<std::string>& extra = {},
             const std::string& scheme = "Bearer") {
    Reply reply;
    CURL* curl = curl_easy_init();
    std::string url = "http://127.0.0.1:" + std::to_string(service_->port()) + path;
    curl_slist* headers = nullptr;
    if (!token.empty())
      headers = curl_slist_append(headers, ("Authorization: " + scheme + " " + token).c_str());
    bool typed = false;
    for (const std::string& line : extra) {
      headers = curl_slist_append(headers, line.c_str());
      typed = typed || AsciiLower(line).starts_with("content-type:");
    }
    if (!typed) headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (method == "POST") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, Collect);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
    EXPECT_EQ(curl_easy_perform(curl), CURLE_OK) << url;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    char* type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    reply.content_type = type ? type : "";
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    openapi_.Check(method, path, reply.status, reply.content_type, reply.body);
    return reply;
  }

  std::filesystem::path dir_;
  config::Config config_;
  std::string config_path_;
  std::unique_ptr<Service> service_;
  std::string analyst_, globex_, revoked_;
  testing_support::OpenApiCheck openapi_;  // every reply is held against the document
};

}  // namespace bulwark::server
