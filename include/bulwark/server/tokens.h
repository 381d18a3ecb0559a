#pragma once
// Bearer tokens of the REST API: "bwk_<id>_<secret>"; the store keeps the id and the SHA-256 of
// the secret, never the secret.

#include <optional>
#include <string>

#include "bulwark/core/result.h"
#include "bulwark/model/access.h"
#include "bulwark/store/store.h"

namespace bulwark::server {

// Creates a token and returns it (the only time the secret is seen). Customer tokens need an
// existing customer id; other roles take none. Errors: bad role/customer combination, the store.
Result<std::string> CreateToken(store::Store& store, model::Role role,
                                const std::string& customer_id, const std::string& description,
                                TimeNs now);

// The token an "Authorization: Bearer bwk_..." header carries, when it is known and not revoked.
Result<std::optional<model::Token>> Authenticate(store::Store& store,
                                                 const std::string& authorization);

}  // namespace bulwark::server
