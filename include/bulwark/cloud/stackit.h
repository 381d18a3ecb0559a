#pragma once
// Inventory from the STACKIT cloud: projects and labels (Resource Manager), servers, NICs (IPs,
// MACs) and public IPs (IaaS v2), read through the public APIs and recorded as validity intervals:
// an address seen on a NIC is held from the sync that first saw it; one no longer seen is closed
// at the sync that missed it. Projects are assigned to customers by a label or a mapping; the
// customers themselves (names, contacts) come from inventory files.

#include <map>
#include <string>
#include <vector>

#include "bulwark/config/config.h"
#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/core/time.h"
#include "bulwark/inventory/import.h"
#include "bulwark/store/store.h"

namespace bulwark::cloud {

struct StackitSettings {
  std::string resource_manager_url = "https://resource-manager.api.stackit.cloud";
  std::string iaas_url = "https://iaas.api.stackit.cloud";
  std::string region = "eu01";
  std::string organization;  // containerParentId whose projects are synced (required)
  // Authentication as the STACKIT SDKs do it. Key flow (preferred): a service-account key (the
  // JSON the portal issues, with credentials.iss/sub/aud/kid and usually credentials.privateKey)
  // and, when the key has none, a PEM private key; the flow signs a JWT (RS512) and exchanges it
  // at `token_url` for an access token. Token flow: a service-account access token as is.
  // The command line fills what the configuration leaves empty from the environment, as the SDKs
  // do: STACKIT_SERVICE_ACCOUNT_KEY_PATH, STACKIT_PRIVATE_KEY_PATH, STACKIT_SERVICE_ACCOUNT_TOKEN.
  std::string service_account_key;  // the key's JSON text
  std::string private_key;          // PEM
  std::string token_url = "https://service-account.api.stackit.cloud/token";
  std::string token;
  std::string customer_label = "bulwark-customer";       // project label naming the customer id
  std::map<std::string, std::string> project_customers;  // projectId -> customer id (wins)
  long timeout_seconds = 30;
};

struct SyncReport {
  size_t projects = 0, servers = 0, nics = 0, public_ips = 0;
  std::vector<std::string> skipped;  // projects without a customer, with the reason
  inventory::ImportReport import;    // what the store took (added, changed, conflicts)
  size_t closed = 0;                 // addresses no longer seen: their intervals ended
};

// The key flow: a self-signed JWT exchanged for an access token at `token_url`. Errors: a key
// that cannot be read or used, the token endpoint's refusal (with its answer).
Result<std::string> KeyFlowAccessToken(const std::string& service_account_key_json,
                                       const std::string& private_key_pem,
                                       const std::string& token_url, TimeNs now);

// The STACKIT settings of a configuration: URLs, region, and credentials from the files the
// configuration names or, as the STACKIT SDKs do, from STACKIT_SERVICE_ACCOUNT_KEY_PATH,
// STACKIT_PRIVATE_KEY_PATH and STACKIT_SERVICE_ACCOUNT_TOKEN. Errors: a named file that cannot
// be read.
Result<StackitSettings> ResolveStackitSettings(const config::StackitConfig& config, const Env& env);
// The access token of `settings` at `now` (key flow when a key is set, else the token).
Result<std::string> StackitAccessToken(const StackitSettings& settings, TimeNs now);

// One sync at `now`. Errors: an API that cannot be reached or answers with an error (the message
// names the request and the status; nothing is written then).
Result<SyncReport> SyncStackit(store::Store& store, const StackitSettings& settings, TimeNs now);

}  // namespace bulwark::cloud
