#include "bulwark/cloud/stackit_enforcer.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <set>
#include <thread>

#include "bulwark/core/json_writer.h"
#include "iaas_session.h"

namespace bulwark::cloud {

namespace {

using countermeasure::Enforcement;
using countermeasure::Observation;
using countermeasure::Presence;
using iaas::IaasSession;
using iaas::NicState;
using iaas::Text;
using iaas::WriteStrings;
using model::CountermeasureKind;

// What Apply recorded: the NICs' states, the public IPs detached (id -> NIC id), the power
// state before a server action.
struct ApplyRecord {
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

  static ApplyRecord Parse(const std::string& text) {
    ApplyRecord record;
    if (text.empty()) return record;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(text).get(root) != simdjson::SUCCESS) return record;
    simdjson::dom::array items;
    if (root["nics"].get_array().get(items) == simdjson::SUCCESS) {
      for (auto item : items) record.nics.push_back(NicState::Parse(item));
    }
    if (root["publicIps"].get_array().get(items) == simdjson::SUCCESS) {
      for (auto item : items) record.public_ips.emplace_back(Text(item, "id"), Text(item, "nic"));
    }
    record.power = Text(root, "power");
    return record;
  }
};

}  // namespace

bool StackitEnforcer::Supports(CountermeasureKind kind) const {
  return kind == CountermeasureKind::kQuarantine || kind == CountermeasureKind::kDetachPublicIp ||
         kind == CountermeasureKind::kStop || kind == CountermeasureKind::kDeallocate ||
         kind == CountermeasureKind::kRescue;
}

namespace {

// Whether an error is the API's "not found" (the server or NIC is gone).
bool NotFound(const Error& error) {
  return error.message.find("HTTP 404") != std::string::npos;
}

}  // namespace

Result<std::string> StackitEnforcer::Record(const Enforcement& e) {
  const auto& c = e.countermeasure;
  if (c.kind != CountermeasureKind::kQuarantine && c.kind != CountermeasureKind::kDetachPublicIp &&
      c.kind != CountermeasureKind::kStop && c.kind != CountermeasureKind::kDeallocate &&
      c.kind != CountermeasureKind::kRescue) {
    return std::string();
  }
  auto token =
      settings_.token ? settings_.token() : Result<std::string>(Fail("stackit: no credentials"));
  if (!token) return tl::unexpected(token.error());
  IaasSession api(settings_, *token);
  const std::string& project = e.target.project_id;
  const std::string& server = e.target.server_id;
  ApplyRecord record = ApplyRecord::Parse(c.recorded);
  if (c.kind == CountermeasureKind::kQuarantine) {
    auto nics = api.Nics(project, server);
    if (!nics) return tl::unexpected(nics.error());
    for (const auto& nic : *nics) {
      bool known = std::any_of(record.nics.begin(), record.nics.end(),
                               [&](const NicState& r) { return r.id == nic.id; });
      if (!known) record.nics.push_back(nic);
    }
  } else if (c.kind == CountermeasureKind::kDetachPublicIp) {
    auto nics = api.Nics(project, server);
    if (!nics) return tl::unexpected(nics.error());
    auto ips = api.PublicIpsOn(project, *nics);
    if (!ips) return tl::unexpected(ips.error());
    for (const auto& ip : *ips) {
      if (std::find(record.public_ips.begin(), record.public_ips.end(), ip) ==
          record.public_ips.end()) {
        record.public_ips.push_back(ip);
      }
    }
  } else if (record.power.empty()) {
    auto state = api.ServerState(project, server);
    if (!state) return tl::unexpected(state.error());
    record.power = state->first;
  }
  return record.ToJson();
}

Result<std::vector<std::string>> StackitEnforcer::Apply(std::span<const Enforcement> batch,
                                                        std::span<const Enforcement>, TimeNs) {
  auto token =
      settings_.token ? settings_.token() : Result<std::string>(Fail("stackit: no credentials"));
  if (!token) return tl::unexpected(token.error());
  IaasSession api(settings_, *token);
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
    ApplyRecord record = ApplyRecord::Parse(c.recorded);
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
          std::pair<std::string, std::string> detached(ip, nic);
          if (std::find(record.public_ips.begin(), record.public_ips.end(), detached) ==
              record.public_ips.end()) {
            record.public_ips.push_back(detached);
          }
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
  auto token =
      settings_.token ? settings_.token() : Result<std::string>(Fail("stackit: no credentials"));
  if (!token) return tl::unexpected(token.error());
  IaasSession api(settings_, *token);
  for (const auto& e : batch) {
    const auto& c = e.countermeasure;
    const std::string& project = e.target.project_id;
    const std::string& server = e.target.server_id;
    ApplyRecord record = ApplyRecord::Parse(c.recorded);
    // A server or NIC that is gone has nothing left to lift.
    auto failed = [&](const Error& error) -> Result<void> {
      if (NotFound(error)) return {};
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
  auto token =
      settings_.token ? settings_.token() : Result<std::string>(Fail("stackit: no credentials"));
  if (!token) return tl::unexpected(token.error());
  IaasSession api(settings_, *token);
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
      if (!nics && NotFound(nics.error())) {
        out.push_back({Presence::kAbsent, "missing: server " + server + " not found"});
        continue;
      }
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
      if (!state && NotFound(state.error())) {
        out.push_back({Presence::kAbsent, "missing: server " + server + " not found"});
        continue;
      }
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

Result<StackitEnforcerSettings> StackitEnforcerSettingsOf(const config::Config& config, Env& env) {
  auto resolved = ResolveStackitSettings(config.stackit, env);
  if (!resolved) return tl::unexpected(resolved.error());
  const auto& c = config.countermeasures;
  StackitEnforcerSettings settings;
  settings.iaas_url = resolved->iaas_url;
  settings.region = resolved->region;
  Env* clock = &env;
  settings.token = [account = *resolved, clock] {
    return StackitAccessToken(account, clock->Now());
  };
  settings.quarantine_group = c.stackit.quarantine_group;
  settings.rescue_image = c.stackit.rescue_image;
  settings.operation_timeout = c.stackit.operation_timeout;
  settings.poll_interval = c.stackit.poll_interval;
  for (const auto& cidr : c.forensics) {
    if (auto prefix = model::Prefix::Parse(cidr)) settings.forensics.push_back(*prefix);
  }
  return settings;
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
