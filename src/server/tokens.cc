#include "bulwark/server/tokens.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bulwark/core/digest.h"
#include "bulwark/core/strings.h"

namespace bulwark::server {

namespace {

std::string Hex(const unsigned char* data, size_t size) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(data), size));
}

}  // namespace

Result<std::string> CreateToken(store::Store& store, model::Role role,
                                const std::string& customer_id, const std::string& description,
                                TimeNs now) {
  if ((role == model::Role::kCustomer) == customer_id.empty()) {
    return Fail("a customer token needs --customer, and only a customer token takes one");
  }
  if (role == model::Role::kCustomer) {
    auto inventory = store.ReadInventory();
    if (!inventory) return tl::unexpected(inventory.error());
    bool known = false;
    for (const auto& customer : inventory->customers) known |= customer.id == customer_id;
    if (!known) return Fail(fmt::format("no customer '{}' in the inventory", customer_id));
  }
  unsigned char id[6], secret[32];
  if (RAND_bytes(id, sizeof(id)) != 1 || RAND_bytes(secret, sizeof(secret)) != 1) {
    return Fail("no randomness for the token");
  }
  model::Token token;
  token.id = Hex(id, sizeof(id));
  std::string secret_hex = Hex(secret, sizeof(secret));
  token.hash = Sha256Hex(secret_hex);
  token.role = role;
  token.customer_id = customer_id;
  token.description = description;
  token.created_at = now;
  if (auto stored = store.CreateToken(token); !stored) return tl::unexpected(stored.error());
  return fmt::format("bwk_{}_{}", token.id, secret_hex);
}

Result<std::optional<model::Token>> Authenticate(store::Store& store,
                                                 const std::string& authorization) {
  // The scheme is case-insensitive (RFC 9110, 11.1): "Bearer", "bearer", "BEARER".
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() < kBearer.size() ||
      AsciiLower(std::string_view(authorization).substr(0, kBearer.size())) != kBearer) {
    return std::optional<model::Token>();
  }
  std::string_view value = std::string_view(authorization).substr(kBearer.size());
  if (!value.starts_with("bwk_")) return std::optional<model::Token>();
  value.remove_prefix(4);
  size_t separator = value.find('_');
  if (separator == std::string_view::npos) return std::optional<model::Token>();
  auto token = store.FindToken(std::string(value.substr(0, separator)));
  if (!token) return tl::unexpected(token.error());
  if (!*token || (*token)->revoked) return std::optional<model::Token>();
  std::string hash = Sha256Hex(value.substr(separator + 1));
  if (hash.size() != (*token)->hash.size() ||
      CRYPTO_memcmp(hash.data(), (*token)->hash.data(), hash.size()) != 0) {
    return std::optional<model::Token>();
  }
  return token;
}

}  // namespace bulwark::server
