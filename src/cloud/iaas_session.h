#pragma once
// The IaaS v2 calls the STACKIT enforcer and the forensic collectors share, private to the cloud
// module: one round of requests with one access token, and the JSON helpers they use.

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bulwark/cloud/stackit_enforcer.h"
#include "bulwark/core/json_writer.h"
#include "http_client.h"

namespace bulwark::cloud::iaas {

// The description of the quarantine group's rules: rules without it are not Bulwark's.
inline constexpr const char* kRuleDescription = "bulwark forensics access";

inline std::string Text(simdjson::dom::element element, const char* key) {
  std::string_view value;
  if (element[key].get_string().get(value) != simdjson::SUCCESS) return {};
  return std::string(value);
}

inline std::vector<std::string> Strings(simdjson::dom::element element, const char* key) {
  std::vector<std::string> out;
  simdjson::dom::array items;
  if (element[key].get_array().get(items) != simdjson::SUCCESS) return out;
  for (auto item : items) {
    std::string_view value;
    if (item.get_string().get(value) == simdjson::SUCCESS) out.emplace_back(value);
  }
  return out;
}

inline void WriteStrings(JsonWriter& json, std::string_view key,
                         const std::vector<std::string>& items) {
  json.Key(key);
  json.BeginArray();
  for (const auto& item : items) json.String(item);
  json.EndArray();
}

// A CIDR with its length always written ("10.0.0.5/32"), as the API's CIDR pattern wants.
inline std::string Cidr(const model::Prefix& prefix) {
  return fmt::format("{}/{}", prefix.network.ToString(), prefix.length);
}

// One NIC as it was before the quarantine.
struct NicState {
  std::string id, network_id;
  std::vector<std::string> security_groups;
  bool nic_security = true;
  std::vector<std::string> allowed_addresses;

  // From a NIC object of the API, or of a record (the same member names).
  static NicState Parse(simdjson::dom::element item) {
    NicState nic;
    nic.id = Text(item, "id");
    nic.network_id = Text(item, "networkId");
    nic.security_groups = Strings(item, "securityGroups");
    bool security = true;
    if (item["nicSecurity"].get_bool().get(security) == simdjson::SUCCESS) {
      nic.nic_security = security;
    }
    nic.allowed_addresses = Strings(item, "allowedAddresses");
    return nic;
  }
};

// The calls of one round with one token.
class IaasSession {
 public:
  IaasSession(const StackitEnforcerSettings& settings, std::string token)
      : s_(settings), token_(std::move(token)) {}

  std::string Base(const std::string& project) const {
    return fmt::format("{}/v2/projects/{}/regions/{}", s_.iaas_url, project, s_.region);
  }

  Result<std::string> Call(const std::string& method, const std::string& url,
                           const std::string& body = "") {
    std::vector<std::string> headers = {"Authorization: Bearer " + token_,
                                        "Accept: application/json"};
    if (!body.empty()) headers.push_back("Content-Type: application/json");
    return HttpCall(method, url, headers, body, s_.timeout_seconds);
  }

  Result<std::vector<NicState>> Nics(const std::string& project, const std::string& server) {
    auto body = Call("GET", fmt::format("{}/servers/{}/nics", Base(project), server));
    if (!body) return tl::unexpected(body.error());
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::array items;
    if (parser.parse(*body).get(root) != simdjson::SUCCESS ||
        root["items"].get_array().get(items) != simdjson::SUCCESS) {
      return Fail(fmt::format("server {}: the NIC list is not one", server));
    }
    std::vector<NicState> nics;
    for (auto item : items) {
      NicState nic = NicState::Parse(item);
      if (!nic.id.empty()) nics.push_back(std::move(nic));
    }
    return nics;
  }

  Result<void> PatchNic(const std::string& project, const NicState& nic,
                        const std::vector<std::string>& groups, bool security,
                        const std::vector<std::string>& allowed) {
    std::string body;
    JsonWriter json(body);
    json.BeginObject();
    WriteStrings(json, "securityGroups", groups);
    json.Member("nicSecurity", security);
    WriteStrings(json, "allowedAddresses", allowed);
    json.EndObject();
    auto done =
        Call("PATCH", fmt::format("{}/networks/{}/nics/{}", Base(project), nic.network_id, nic.id),
             body);
    if (!done) return tl::unexpected(done.error());
    return {};
  }

  // The quarantine group of `project`: found by name or created, with exactly the forensics
  // rules. Returns its id.
  Result<std::string> QuarantineGroup(const std::string& project) {
    auto listed = Call("GET", fmt::format("{}/security-groups", Base(project)));
    if (!listed) return tl::unexpected(listed.error());
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::array items;
    std::string id;
    if (parser.parse(*listed).get(root) == simdjson::SUCCESS &&
        root["items"].get_array().get(items) == simdjson::SUCCESS) {
      for (auto item : items) {
        if (Text(item, "name") == s_.quarantine_group) id = Text(item, "id");
      }
    }
    if (id.empty()) {
      std::string body;
      JsonWriter json(body);
      json.BeginObject();
      json.Member("name", s_.quarantine_group);
      json.Member("description", "Bulwark quarantine: only the forensics hosts");
      json.Key("labels");
      json.BeginObject();
      json.Member("managed-by", "bulwark");
      json.EndObject();
      json.Member("stateful", true);
      json.EndObject();
      auto created = Call("POST", fmt::format("{}/security-groups", Base(project)), body);
      if (!created) return tl::unexpected(created.error());
      simdjson::dom::element group;
      if (parser.parse(*created).get(group) != simdjson::SUCCESS || Text(group, "id").empty()) {
        return Fail("the created security group has no id");
      }
      id = Text(group, "id");
    }
    // Its rules: ours stay, every other (the default egress rules of a new group) goes.
    std::string rules_url = fmt::format("{}/security-groups/{}/rules", Base(project), id);
    auto rules = Call("GET", rules_url);
    if (!rules) return tl::unexpected(rules.error());
    std::set<std::string> present;  // "direction ethertype cidr" of the rules kept
    simdjson::dom::element rules_root;
    if (parser.parse(*rules).get(rules_root) == simdjson::SUCCESS &&
        rules_root["items"].get_array().get(items) == simdjson::SUCCESS) {
      for (auto rule : items) {
        // Kept: exactly one of the rules it must hold (direction, ethertype and a forensics
        // CIDR), once. Anything else goes, whatever its description says.
        std::string key =
            Text(rule, "direction") + " " + Text(rule, "ethertype") + " " + Text(rule, "ipRange");
        bool wanted = false;
        for (const auto& prefix : s_.forensics) {
          for (const char* direction : {"ingress", "egress"}) {
            wanted = wanted || key == std::string(direction) + " " +
                                          (prefix.network.is_v4() ? "IPv4" : "IPv6") + " " +
                                          Cidr(prefix);
          }
        }
        bool plain = Text(rule, "remoteSecurityGroupId").empty() &&
                     rule["portRange"].error() != simdjson::SUCCESS &&
                     rule["protocol"].error() != simdjson::SUCCESS;
        if (wanted && plain && present.insert(key).second) continue;
        auto removed = Call("DELETE", rules_url + "/" + Text(rule, "id"));
        if (!removed) return tl::unexpected(removed.error());
      }
    }
    for (const auto& prefix : s_.forensics) {
      for (const char* direction : {"ingress", "egress"}) {
        if (present.count(std::string(direction) + " " +
                          (prefix.network.is_v4() ? "IPv4" : "IPv6") + " " + Cidr(prefix))) {
          continue;
        }
        std::string body;
        JsonWriter json(body);
        json.BeginObject();
        json.Member("description", kRuleDescription);
        json.Member("direction", direction);
        json.Member("ethertype", prefix.network.is_v4() ? "IPv4" : "IPv6");
        json.Member("ipRange", Cidr(prefix));
        json.EndObject();
        auto added = Call("POST", rules_url, body);
        if (!added) return tl::unexpected(added.error());
      }
    }
    return id;
  }

  // The public IPs of `project` on one of `nics`: (id, nic id).
  Result<std::vector<std::pair<std::string, std::string>>> PublicIpsOn(
      const std::string& project, const std::vector<NicState>& nics) {
    auto listed = Call("GET", fmt::format("{}/public-ips", Base(project)));
    if (!listed) return tl::unexpected(listed.error());
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::array items;
    std::vector<std::pair<std::string, std::string>> out;
    if (parser.parse(*listed).get(root) != simdjson::SUCCESS ||
        root["items"].get_array().get(items) != simdjson::SUCCESS) {
      return Fail("the public IP list is not one");
    }
    for (auto item : items) {
      std::string nic = Text(item, "networkInterface");
      bool ours = std::any_of(nics.begin(), nics.end(),
                              [&](const NicState& n) { return !nic.empty() && n.id == nic; });
      if (ours) out.emplace_back(Text(item, "id"), nic);
    }
    return out;
  }

  // The server's status and power status.
  Result<std::pair<std::string, std::string>> ServerState(const std::string& project,
                                                          const std::string& server) {
    auto body = Call("GET", fmt::format("{}/servers/{}", Base(project), server));
    if (!body) return tl::unexpected(body.error());
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(*body).get(root) != simdjson::SUCCESS) return Fail("the server is not JSON");
    return std::make_pair(Text(root, "status"), Text(root, "powerStatus"));
  }

  // Posts a server action (answered 202) and polls until the server's status is `until`, it
  // reports ERROR, or the operation timeout passes.
  Result<void> Action(const std::string& project, const std::string& server,
                      const std::string& action, const std::string& body,
                      const std::string& until) {
    auto accepted =
        Call("POST", fmt::format("{}/servers/{}/{}", Base(project), server, action), body);
    if (!accepted) return tl::unexpected(accepted.error());
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::nanoseconds(s_.operation_timeout);
    while (true) {
      auto state = ServerState(project, server);
      if (!state) return tl::unexpected(state.error());
      if (state->first == until) return {};
      if (state->first == "ERROR") {
        return Fail(fmt::format("server {}: {} failed (status ERROR)", server, action));
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return Fail(fmt::format("server {}: {} accepted, but status {} not {} after {} s", server,
                                action, state->first, until, s_.operation_timeout / kNsPerSecond));
      }
      std::this_thread::sleep_for(std::chrono::nanoseconds(s_.poll_interval));
    }
  }

 private:
  const StackitEnforcerSettings& s_;
  std::string token_;
};

}  // namespace bulwark::cloud::iaas
