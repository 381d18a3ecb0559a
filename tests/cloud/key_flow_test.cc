// The STACKIT key flow against a token endpoint on loopback that checks what the real one checks:
// a JWT signed RS512 by the key's private key, with the key's kid, iss, sub and aud.

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <mutex>

#include "bulwark/cloud/stackit.h"
#include "bulwark/core/json_writer.h"
#include "bulwark/core/strings.h"
#include "bulwark/server/http.h"

namespace bulwark::cloud {
namespace {

std::string Base64UrlDecode(std::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    if (v < 0) continue;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

std::string UrlDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  return out;
}

class KeyFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_.reset(EVP_RSA_gen(2048));
    ASSERT_TRUE(key_);
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    private_pem_.assign(data, static_cast<size_t>(size));
    JsonWriter json(key_json_);
    json.BeginObject();
    json.Key("id");
    json.String("4e9c2c8d-0000-4000-8000-000000000001");
    json.Key("credentials");
    json.BeginObject();
    json.Key("aud");
    json.String("https://stackit-service-account-prod.apps.01.cf.eu01.stackit.cloud");
    json.Key("iss");
    json.String("bulwark-sync@sa.stackit.cloud");
    json.Key("kid");
    json.String("kid-123");
    json.Key("sub");
    json.String("6d1b2f3e-0000-4000-8000-000000000002");
    json.Key("privateKey");
    json.String(private_pem_);
    json.EndObject();
    json.EndObject();
    auto server = server::HttpServer::Start(
        "127.0.0.1:0", [this](const server::HttpRequest& r) { return Token(r); },
        server::HttpLimits{});
    ASSERT_TRUE(server) << server.error().ToString();
    server_ = std::move(*server);
    url_ = "http://127.0.0.1:" + std::to_string(server_->port()) + "/token";
  }

  // The token endpoint: checks the grant, the signature and the claims.
  server::HttpResponse Token(const server::HttpRequest& r) {
    std::lock_guard lock(mutex_);
    server::HttpResponse refuse;
    refuse.status = 400;
    refuse.body = R"({"error":"invalid_grant"})";
    std::string grant, assertion;
    for (std::string_view pair : Split(r.body, '&')) {
      size_t eq = pair.find('=');
      std::string name(pair.substr(0, eq));
      std::string value = UrlDecode(pair.substr(eq + 1));
      if (name == "grant_type") grant = value;
      if (name == "assertion") assertion = value;
    }
    if (grant != "urn:ietf:params:oauth:grant-type:jwt-bearer") return refuse;
    auto parts = Split(assertion, '.');
    if (parts.size() != 3) return refuse;
    header_ = Base64UrlDecode(parts[0]);
    claims_ = Base64UrlDecode(parts[1]);
    std::string signature = Base64UrlDecode(parts[2]);
    std::string input = std::string(parts[0]) + "." + std::string(parts[1]);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha512(), nullptr, key_.get());
    verified_ =
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                         signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                         input.size()) == 1;
    if (!verified_) return refuse;
    server::HttpResponse ok;
    ok.body = R"({"access_token":"access-from-key-flow","expires_in":3600,"token_type":"Bearer"})";
    return ok;
  }

  struct KeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  };
  std::unique_ptr<EVP_PKEY, KeyFree> key_;
  std::string private_pem_, key_json_, url_;
  std::unique_ptr<server::HttpServer> server_;
  std::mutex mutex_;
  std::string header_, claims_;
  bool verified_ = false;
};

TEST_F(KeyFlowTest, SignedAssertionIsExchangedForAnAccessToken) {
  TimeNs now = *ParseTimestamp("2026-11-26T12:00:00Z");
  auto token = KeyFlowAccessToken(key_json_, "", url_, now);
  ASSERT_TRUE(token) << token.error().ToString();
  EXPECT_EQ(*token, "access-from-key-flow");
  EXPECT_TRUE(verified_);
  EXPECT_NE(header_.find("\"alg\":\"RS512\""), std::string::npos) << header_;
  EXPECT_NE(header_.find("\"kid\":\"kid-123\""), std::string::npos);
  EXPECT_NE(claims_.find("\"iss\":\"bulwark-sync@sa.stackit.cloud\""), std::string::npos);
  EXPECT_NE(claims_.find("\"sub\":\"6d1b2f3e-0000-4000-8000-000000000002\""), std::string::npos);
  EXPECT_NE(claims_.find("\"aud\":\"https://stackit-service-account-prod"), std::string::npos);
  EXPECT_NE(claims_.find("\"iat\":1795694400"), std::string::npos) << claims_;
  EXPECT_NE(claims_.find("\"exp\":1795698000"), std::string::npos);
  EXPECT_NE(claims_.find("\"jti\":\""), std::string::npos);
}

TEST_F(KeyFlowTest, AKeyOfAnotherPairIsRefused) {
  std::unique_ptr<EVP_PKEY, KeyFree> other(EVP_RSA_gen(2048));
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), other.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  auto token = KeyFlowAccessToken(key_json_, std::string(data, static_cast<size_t>(size)), url_, 0);
  ASSERT_FALSE(token);
  EXPECT_NE(token.error().message.find("HTTP 400"), std::string::npos) << token.error().message;
  EXPECT_FALSE(KeyFlowAccessToken("{}", "", url_, 0));
  EXPECT_FALSE(KeyFlowAccessToken(key_json_, "not a pem", url_, 0));
}

}  // namespace
}  // namespace bulwark::cloud
