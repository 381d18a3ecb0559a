// The STACKIT service-account key flow: a JWT signed with the key's RSA private key (RS512, kid
// in the header; iss, sub, aud from the key, a random jti, iat now, exp in an hour), exchanged at
// the token endpoint (grant urn:ietf:params:oauth:grant-type:jwt-bearer) for an access token.

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <simdjson.h>

#include <memory>

#include "bulwark/cloud/stackit.h"
#include "bulwark/core/json_writer.h"
#include "bulwark/core/strings.h"
#include "http_client.h"

namespace bulwark::cloud {

namespace {

std::string Uuid4() {
  unsigned char b[16];
  RAND_bytes(b, sizeof(b));
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  return fmt::format(
      "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
      "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
      b[15]);
}

}  // namespace

Result<std::string> KeyFlowAccessToken(const std::string& service_account_key_json,
                                       const std::string& private_key_pem,
                                       const std::string& token_url, TimeNs now) {
  simdjson::dom::parser parser;
  simdjson::dom::element key;
  if (parser.parse(service_account_key_json).get(key) != simdjson::SUCCESS) {
    return Fail("the service-account key is not JSON");
  }
  auto credential = [&](const char* name) -> std::string {
    std::string_view value;
    if (key["credentials"][name].get_string().get(value) != simdjson::SUCCESS) return {};
    return std::string(value);
  };
  std::string iss = credential("iss"), sub = credential("sub"), aud = credential("aud"),
              kid = credential("kid");
  if (iss.empty() || sub.empty() || aud.empty() || kid.empty()) {
    return Fail("the service-account key lacks credentials.iss, sub, aud or kid");
  }
  std::string pem = private_key_pem.empty() ? credential("privateKey") : private_key_pem;
  if (pem.empty()) return Fail("no private key: neither in the key nor given");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!pkey) return Fail("the private key is not a PEM RSA key");

  std::string header, claims;
  {
    JsonWriter json(header);
    json.BeginObject();
    json.Key("alg");
    json.String("RS512");
    json.Key("kid");
    json.String(kid);
    json.Key("typ");
    json.String("JWT");
    json.EndObject();
  }
  int64_t seconds = now / kNsPerSecond;
  {
    JsonWriter json(claims);
    json.BeginObject();
    json.Key("iss");
    json.String(iss);
    json.Key("sub");
    json.String(sub);
    json.Key("jti");
    json.String(Uuid4());
    json.Key("aud");
    json.String(aud);
    json.Key("iat");
    json.Int(seconds);
    json.Key("exp");
    json.Int(seconds + 3600);
    json.EndObject();
  }
  std::string signing_input = Base64Encode(header, true) + "." + Base64Encode(claims, true);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t length = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha512(), nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return Fail("cannot sign with the private key");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return Fail("cannot sign with the private key");
  }
  signature.resize(length);
  std::string assertion = signing_input + "." + Base64Encode(signature, true);

  std::string form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" +
                     assertion;  // base64url and dots need no escaping
  auto body =
      HttpCall("POST", token_url, {"Content-Type: application/x-www-form-urlencoded"}, form, 30);
  if (!body) return tl::unexpected(body.error());
  simdjson::dom::element answer;
  std::string_view token;
  if (parser.parse(*body).get(answer) != simdjson::SUCCESS ||
      answer["access_token"].get_string().get(token) != simdjson::SUCCESS || token.empty()) {
    return Fail(fmt::format("POST {}: no access_token in the answer", token_url));
  }
  return std::string(token);
}

}  // namespace bulwark::cloud
