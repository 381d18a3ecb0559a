#include "bulwark/cloud/stackit_enforcer.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <set>
#include <thread>

#include "bulwark/core/json_writer.h"
#include "http_client.h"

namespace bulwark::cloud {

namespace {

using countermeasure::Enforcement;
using countermeasure::Observation;
using countermeasure::Presence;
using model::CountermeasureKind;

constexpr const char* kRuleDescription = "bulwark forensics access";

std::string Text(simdjson::dom::element element, const char* key) {
  std::string_view value;
  if (element[key].get_string().get(value) != simdjson::SUCCESS) return {};
  return std::string(value);
}

std::vector<std::string> Strings(simdjson::dom::element element, const char* key) {
  std::vector<std::string> out;
  simdjson::dom::array items;
  if (element[key].get_array().get(items) != simdjson::SUCCESS) return out;
  for (auto item : items) {
    std::string_view value;
    if (item.get_string().get(value) == simdjson::SUCCESS) out.emplace_back(value);
  }
  return out;
}

void WriteStrings(JsonWriter& json, std::string_view key, const std::vector<std::string>& items) {
  json.Key(key);
  json.BeginArray();
  for (const auto& item : items) json.String(item);
  json.EndArray();
}

// A CIDR with its length always written ("10.0.0.5/32"), as the API's CIDR pattern wants.
std::string Cidr(const model::Prefix& prefix) {
  return fmt::format("{}/{}", prefix.network.ToString(), prefix.length);
}

// One NIC as it was before the quarantine.
struct NicState {
  std::string id, network_id;
  std::vector<std::string> security_groups;
  bool nic_security = true;
  std::vector<std::string> allowed_addresses;
};

// What Apply recorded: the NICs' states, the public IPs detached (id -> NIC id), the power
// state before a server action.
struct Record {
  std::vector<NicState> nics;
  std::vector<std::pair<std::string, std::string>> public_ips;
  std::string power;

  std::string ToJson() const {
    std::string out;
    JsonWriter json(out);
    json.BeginObject();
    json.Key("nics");
    json.BeginArray();
    for (const auto& nic : nics) {
      json.BeginObject();
      json.Member("id", nic.id);
      json.Member("networkId", nic.network_id);
      WriteStrings(json, "securityGroups", nic.security_groups);
      json.Member("nicSecurity", nic.nic_security);
      WriteStrings(json, "allowedAddresses", nic.allowed_addresses);
      json.EndObject();
    }
    json.EndArray();
    json.Key("publicIps");
    json.BeginArray();
    for (const auto& [ip, nic] : public_ips) {
      json.BeginObject();
      json.Member("id", ip);
      json.Member("nic", nic);
      json.EndObject();
    }
    json.EndArray();
    if (!power.empty()) json.Member("power", power);
    json.EndObject();
    return out;
  }

  static Record Parse(const std::string& text) {
    Record record;
    if (text.empty()) return record;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(text).get(root) != simdjson::SUCCESS) return record;
    simdjson::dom::array items;
    if (root["nics"].get_array().get(items) == simdjson::SUCCESS) {
      for (auto item : items) {
        NicState nic;
        nic.id = Text(item, "id");
        nic.network_id = Text(item, "networkId");
        nic.security_groups = Strings(item, "securityGroups");
        bool security = true;
        if (item["nicSecurity"].get_bool().get(security) == simdjson::SUCCESS) {
          nic.nic_security = security;
        }
        nic.allowed_addresses = Strings(item, "allowedAddresses");
        record.nics.push_back(std::move(nic));
      }
    }
    if (root["publicIps"].get_array().get(items) == simdjson::SUCCESS) {
      for (auto item : items) record.public_ips.emplace_back(Text(item, "id"), Text(item, "nic"));
    }
    record.power = Text(root, "power");
    return record;
  }
};

}  // namespace

// The calls of one round with one token.
class StackitEnforcer::Session {
 public:
  Session(const StackitEnforcerSettings& settings, std::string token)
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
      NicState nic;
      nic.id = Text(item, "id");
      nic.network_id = Text(item, "networkId");
      nic.security_groups = Strings(item, "securityGroups");
      bool security = true;
      if (item["nicSecurity"].get_bool().get(security) == simdjson::SUCCESS) {
        nic.nic_security = security;
      }
      nic.allowed_addresses = Strings(item, "allowedAddresses");
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
    std::set<std::string> present;  // "direction cidr" of our rules
    simdjson::dom::element rules_root;
    if (parser.parse(*rules).get(rules_root) == simdjson::SUCCESS &&
        rules_root["items"].get_array().get(items) == simdjson::SUCCESS) {
      for (auto rule : items) {
        std::string key = Text(rule, "direction") + " " + Text(rule, "ipRange");
        bool ours = Text(rule, "description") == kRuleDescription;
        if (ours) {
          present.insert(key);
          continue;
        }
        auto removed = Call("DELETE", rules_url + "/" + Text(rule, "id"));
        if (!removed) return tl::unexpected(removed.error());
      }
    }
    for (const auto& prefix : s_.forensics) {
      for (const char* direction : {"ingress", "egress"}) {
        if (present.count(std::string(direction) + " " + Cidr(prefix))) continue;
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

bool StackitEnforcer::Supports(CountermeasureKind kind) const {
  return kind == CountermeasureKind::kQuarantine || kind == CountermeasureKind::kDetachPublicIp ||
         kind == CountermeasureKind::kStop || kind == CountermeasureKind::kDeallocate ||
         kind == CountermeasureKind::kRescue;
}

Result<std::vector<std::string>> StackitEnforcer::Apply(std::span<const Enforcement> batch,
                                                        std::span<const Enforcement>, TimeNs) {
  auto token = settings_.token ? settings_.token() : Result<std::string>(Fail("no credentials"));
  if (!token) return Fail("stackit: " + token.error().message);
  Session api(settings_, *token);
  std::vector<std::string> records;
  for (const auto& e : batch) {
    const auto& c = e.countermeasure;
    const std::string& project = e.target.project_id;
    const std::string& server = e.target.server_id;
    auto failed = [&](const Error& error) {
      return Fail(fmt::format("countermeasure {} on server {}: {}", c.id, server, error.message));
    };
    if (!Supports(c.kind)) return Fail(fmt::format("stackit cannot {}", KindName(c.kind)));
    if (project.empty() || server.empty()) {
      return Fail(
          fmt::format("countermeasure {}: the system has no STACKIT project or server", c.id));
    }
    Record record = Record::Parse(c.recorded);
    switch (c.kind) {
      case CountermeasureKind::kQuarantine: {
        auto nics = api.Nics(project, server);
        if (!nics) return failed(nics.error());
        auto group = api.QuarantineGroup(project);
        if (!group) return failed(group.error());
        for (const auto& nic : *nics) {
          bool known = std::any_of(record.nics.begin(), record.nics.end(),
                                   [&](const NicState& r) { return r.id == nic.id; });
          if (!known) record.nics.push_back(nic);  // what it had before the quarantine
          auto patched = api.PatchNic(project, nic, {*group}, true, {});
          if (!patched) return failed(patched.error());
        }
        break;
      }
      case CountermeasureKind::kDetachPublicIp: {
        auto nics = api.Nics(project, server);
        if (!nics) return failed(nics.error());
        auto ips = api.PublicIpsOn(project, *nics);
        if (!ips) return failed(ips.error());
        for (const auto& [ip, nic] : *ips) {
          auto removed = api.Call(
              "DELETE", fmt::format("{}/servers/{}/public-ips/{}", api.Base(project), server, ip));
          if (!removed) return failed(removed.error());
          record.public_ips.emplace_back(ip, nic);
        }
        break;
      }
      case CountermeasureKind::kStop:
      case CountermeasureKind::kDeallocate:
      case CountermeasureKind::kRescue: {
        auto state = api.ServerState(project, server);
        if (!state) return failed(state.error());
        if (record.power.empty()) record.power = state->first;
        std::string action = c.kind == CountermeasureKind::kStop         ? "stop"
                             : c.kind == CountermeasureKind::kDeallocate ? "deallocate"
                                                                         : "rescue";
        std::string until = c.kind == CountermeasureKind::kStop         ? "INACTIVE"
                            : c.kind == CountermeasureKind::kDeallocate ? "DEALLOCATED"
                                                                        : "RESCUE";
        std::string body;
        if (c.kind == CountermeasureKind::kRescue) {
          if (settings_.rescue_image.empty()) {
            return Fail("rescue needs countermeasures.stackit.rescue_image");
          }
          body = fmt::format("{{\"image\":\"{}\"}}", settings_.rescue_image);
        }
        if (state->first != until) {
          auto done = api.Action(project, server, action, body, until);
          if (!done) return failed(done.error());
        }
        break;
      }
      default:
        break;
    }
    records.push_back(record.ToJson());
  }
  return records;
}

Result<void> StackitEnforcer::Lift(std::span<const Enforcement> batch, std::span<const Enforcement>,
                                   TimeNs) {
  auto token = settings_.token ? settings_.token() : Result<std::string>(Fail("no credentials"));
  if (!token) return Fail("stackit: " + token.error().message);
  Session api(settings_, *token);
  for (const auto& e : batch) {
    const auto& c = e.countermeasure;
    const std::string& project = e.target.project_id;
    const std::string& server = e.target.server_id;
    Record record = Record::Parse(c.recorded);
    auto failed = [&](const Error& error) {
      return Fail(
          fmt::format("lifting countermeasure {} on server {}: {}", c.id, server, error.message));
    };
    switch (c.kind) {
      case CountermeasureKind::kQuarantine:
        for (const auto& nic : record.nics) {
          auto restored = api.PatchNic(project, nic, nic.security_groups, nic.nic_security,
                                       nic.allowed_addresses);
          if (!restored) return failed(restored.error());
        }
        break;
      case CountermeasureKind::kDetachPublicIp:
        for (const auto& [ip, nic] : record.public_ips) {
          auto added = api.Call(
              "PUT", fmt::format("{}/servers/{}/public-ips/{}", api.Base(project), server, ip));
          if (!added) return failed(added.error());
        }
        break;
      case CountermeasureKind::kStop:
      case CountermeasureKind::kDeallocate:
      case CountermeasureKind::kRescue: {
        if (!record.power.empty() && record.power != "ACTIVE") break;  // it was not running
        auto done =
            api.Action(project, server,
                       c.kind == CountermeasureKind::kRescue ? "unrescue" : "start", "", "ACTIVE");
        if (!done) return failed(done.error());
        break;
      }
      default:
        break;
    }
  }
  return {};
}

Result<std::vector<Observation>> StackitEnforcer::Observe(std::span<const Enforcement> batch) {
  auto token = settings_.token ? settings_.token() : Result<std::string>(Fail("no credentials"));
  if (!token) return Fail("stackit: " + token.error().message);
  Session api(settings_, *token);
  std::vector<Observation> out;
  for (const auto& e : batch) {
    const auto& c = e.countermeasure;
    const std::string& project = e.target.project_id;
    const std::string& server = e.target.server_id;
    Observation observation;
    observation.presence = Presence::kPresent;
    std::vector<std::string> missing;
    if (c.kind == CountermeasureKind::kQuarantine ||
        c.kind == CountermeasureKind::kDetachPublicIp) {
      auto nics = api.Nics(project, server);
      if (!nics) return tl::unexpected(nics.error());
      if (c.kind == CountermeasureKind::kQuarantine) {
        auto group = api.QuarantineGroup(project);
        if (!group) return tl::unexpected(group.error());
        for (const auto& nic : *nics) {
          if (nic.security_groups != std::vector<std::string>{*group} || !nic.nic_security) {
            missing.push_back("quarantine of NIC " + nic.id);
          }
        }
        if (!missing.empty() && missing.size() == nics->size()) {
          observation.presence = Presence::kAbsent;
        }
      } else {
        auto ips = api.PublicIpsOn(project, *nics);
        if (!ips) return tl::unexpected(ips.error());
        for (const auto& [ip, nic] : *ips) missing.push_back("public IP " + ip + " attached");
      }
    } else {
      auto state = api.ServerState(project, server);
      if (!state) return tl::unexpected(state.error());
      std::string want = c.kind == CountermeasureKind::kStop         ? "INACTIVE"
                         : c.kind == CountermeasureKind::kDeallocate ? "DEALLOCATED"
                                                                     : "RESCUE";
      if (state->first != want) missing.push_back("server is " + state->first);
      if (!missing.empty()) observation.presence = Presence::kAbsent;
    }
    if (!missing.empty()) {
      if (observation.presence == Presence::kPresent) observation.presence = Presence::kPartial;
      observation.detail = "missing: ";
      for (size_t i = 0; i < missing.size(); ++i) {
        observation.detail += (i ? ", " : "") + missing[i];
      }
    }
    out.push_back(std::move(observation));
  }
  return out;
}

Result<StackitSettings> ResolveStackitSettings(const config::StackitConfig& s, const Env& env) {
  StackitSettings settings;
  settings.organization = s.organization;
  settings.region = s.region;
  settings.resource_manager_url = s.resource_manager_url;
  settings.iaas_url = s.iaas_url;
  settings.customer_label = s.customer_label;
  settings.project_customers = s.projects;
  settings.token_url = s.token_url;
  for (auto [path, target] : {std::pair{&s.token_file, &settings.token},
                              std::pair{&s.service_account_key_file, &settings.service_account_key},
                              std::pair{&s.private_key_file, &settings.private_key}}) {
    if (path->empty()) continue;
    auto text = env.ReadSecretFile(*path);
    if (!text) return tl::unexpected(text.error());
    *target = std::move(*text);
  }
  // As the STACKIT SDKs do: credentials the file does not name come from the environment.
  for (auto [variable, target] :
       {std::pair{"STACKIT_SERVICE_ACCOUNT_KEY_PATH", &settings.service_account_key},
        std::pair{"STACKIT_PRIVATE_KEY_PATH", &settings.private_key},
        std::pair{"STACKIT_SERVICE_ACCOUNT_TOKEN", &settings.token}}) {
    const char* value = std::getenv(variable);
    if (!target->empty() || value == nullptr || *value == '\0') continue;
    if (std::string_view(variable).ends_with("_PATH")) {
      auto text = env.ReadSecretFile(value);
      if (!text) return Fail(fmt::format("{} ({})", text.error().ToString(), variable));
      *target = std::move(*text);
    } else {
      *target = value;
    }
  }
  return settings;
}

}  // namespace bulwark::cloud
