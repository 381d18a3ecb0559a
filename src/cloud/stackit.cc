#include "bulwark/cloud/stackit.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <mutex>
#include <set>

#include "http_client.h"

namespace bulwark::cloud {

namespace {

// GETs `url` with the bearer token.
Result<std::string> Get(const std::string& url, const StackitSettings& settings,
                        const std::string& token) {
  return HttpCall("GET", url, {"Authorization: Bearer " + token, "Accept: application/json"}, "",
                  settings.timeout_seconds);
}

std::string Text(simdjson::dom::element element, const char* key) {
  std::string_view value;
  if (element[key].get_string().get(value) != simdjson::SUCCESS) return {};
  return std::string(value);
}

model::Labels LabelsOf(simdjson::dom::element element) {
  model::Labels labels;
  simdjson::dom::object object;
  if (element["labels"].get_object().get(object) != simdjson::SUCCESS) return labels;
  for (auto field : object) {
    std::string_view value;
    if (field.value.get_string().get(value) == simdjson::SUCCESS) {
      labels[std::string(field.key)] = std::string(value);
    }
  }
  return labels;
}

// The "items" array of a list response.
Result<simdjson::dom::array> Items(simdjson::dom::parser& parser, const std::string& body,
                                   const std::string& what) {
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) {
    return Fail(fmt::format("{}: the answer is not JSON", what));
  }
  simdjson::dom::array items;
  if (root["items"].get_array().get(items) != simdjson::SUCCESS) {
    return Fail(fmt::format("{}: the answer has no items", what));
  }
  return items;
}

}  // namespace

Result<std::string> StackitAccessToken(const StackitSettings& settings, TimeNs now) {
  if (!settings.service_account_key.empty()) {
    auto token = KeyFlowAccessToken(settings.service_account_key, settings.private_key,
                                    settings.token_url, now);
    if (!token) return Fail("stackit key flow: " + token.error().message);
    return token;
  }
  if (settings.token.empty()) {
    return Fail("stackit: no credentials (a service-account key for the key flow, or a token)");
  }
  return settings.token;
}

Result<SyncReport> SyncStackit(store::Store& store, const StackitSettings& settings, TimeNs now) {
  if (settings.organization.empty()) return Fail("stackit: no organization to sync");
  auto token = StackitAccessToken(settings, now);
  if (!token) return tl::unexpected(token.error());
  SyncReport report;
  simdjson::dom::parser parser;
  model::Inventory seen;
  std::string origin = "stackit:" + FormatTimestamp(now);
  // Projects of the organization, page by page.
  struct ProjectInfo {
    std::string id, name, customer;
    model::Labels labels;
  };
  std::vector<ProjectInfo> projects;
  for (int64_t offset = 0;; offset += 100) {
    std::string url = fmt::format("{}/v2/projects?containerParentId={}&limit=100&offset={}",
                                  settings.resource_manager_url, settings.organization, offset);
    auto body = Get(url, settings, *token);
    if (!body) return tl::unexpected(body.error());
    auto items = Items(parser, *body, "projects");
    if (!items) return tl::unexpected(items.error());
    size_t count = 0;
    for (simdjson::dom::element project : *items) {
      ++count;
      ProjectInfo info{Text(project, "projectId"), Text(project, "name"), "", LabelsOf(project)};
      if (info.id.empty()) continue;
      if (auto it = settings.project_customers.find(info.id);
          it != settings.project_customers.end()) {
        info.customer = it->second;
      } else if (auto label = info.labels.find(settings.customer_label);
                 label != info.labels.end()) {
        info.customer = label->second;
      }
      if (info.customer.empty()) {
        report.skipped.push_back(fmt::format("project {} ({}): no '{}' label and no mapping",
                                             info.id, info.name, settings.customer_label));
        continue;
      }
      projects.push_back(std::move(info));
    }
    if (count < 100) break;
  }
  for (const ProjectInfo& project : projects) {
    ++report.projects;
    seen.projects.push_back({project.id, project.customer, project.name, project.labels, origin});
    std::string base =
        fmt::format("{}/v2/projects/{}/regions/{}", settings.iaas_url, project.id, settings.region);
    // NICs: MAC, addresses, the server they belong to.
    struct Nic {
      std::string id, mac, server;
      std::vector<std::string> addresses;
      std::vector<std::string> security_groups;
    };
    std::map<std::string, Nic> nics;
    auto nic_body = Get(base + "/nics", settings, *token);
    if (!nic_body) return tl::unexpected(nic_body.error());
    auto nic_items = Items(parser, *nic_body, "nics of project " + project.id);
    if (!nic_items) return tl::unexpected(nic_items.error());
    for (simdjson::dom::element nic : *nic_items) {
      Nic n{Text(nic, "id"), Text(nic, "mac"), Text(nic, "device"), {}, {}};
      simdjson::dom::array groups;
      if (nic["securityGroups"].get_array().get(groups) == simdjson::SUCCESS) {
        for (simdjson::dom::element group : groups) {
          std::string_view id;
          if (group.get_string().get(id) == simdjson::SUCCESS) n.security_groups.emplace_back(id);
        }
      }
      for (const char* key : {"ipv4", "ipv6"}) {
        if (std::string ip = Text(nic, key); !ip.empty()) n.addresses.push_back(ip);
      }
      if (!n.id.empty()) nics[n.id] = std::move(n);
    }
    // Public IPs attached to NICs.
    auto ip_body = Get(base + "/public-ips", settings, *token);
    if (!ip_body) return tl::unexpected(ip_body.error());
    auto ip_items = Items(parser, *ip_body, "public IPs of project " + project.id);
    if (!ip_items) return tl::unexpected(ip_items.error());
    std::set<std::string> exposed_nics;
    for (simdjson::dom::element ip : *ip_items) {
      ++report.public_ips;
      std::string nic = Text(ip, "networkInterface");
      std::string address = Text(ip, "ip");
      if (nic.empty() || address.empty()) continue;
      nics[nic].id = nic;
      nics[nic].addresses.push_back(address);
      exposed_nics.insert(nic);
    }
    // Servers with their NICs (details), names and labels.
    auto server_body = Get(base + "/servers?details=true", settings, *token);
    if (!server_body) return tl::unexpected(server_body.error());
    auto server_items = Items(parser, *server_body, "servers of project " + project.id);
    if (!server_items) return tl::unexpected(server_items.error());
    for (simdjson::dom::element server : *server_items) {
      std::string id = Text(server, "id");
      if (id.empty()) continue;
      ++report.servers;
      model::System system{id,    project.id, Text(server, "name"), LabelsOf(server), false,
                           false, origin};
      simdjson::dom::array server_nics;
      if (server["nics"].get_array().get(server_nics) == simdjson::SUCCESS) {
        for (simdjson::dom::element nic : server_nics) {
          std::string nic_id = Text(nic, "nicId");
          if (nic_id.empty()) continue;
          Nic& n = nics[nic_id];
          n.id = nic_id;
          n.server = id;
          if (n.mac.empty()) n.mac = Text(nic, "mac");
          for (const char* key : {"ipv4", "ipv6", "publicIp"}) {
            std::string ip = Text(nic, key);
            if (ip.empty()) continue;
            if (std::find(n.addresses.begin(), n.addresses.end(), ip) == n.addresses.end()) {
              n.addresses.push_back(ip);
            }
            if (std::string(key) == "publicIp") exposed_nics.insert(nic_id);
          }
        }
      }
      for (const auto& [nic_id, n] : nics) {
        if (n.server == id && exposed_nics.count(nic_id)) system.internet_exposed = true;
      }
      seen.systems.push_back(std::move(system));
    }
    for (const auto& [nic_id, n] : nics) {
      if (n.server.empty()) continue;  // a NIC of no server (a load balancer's, say): skipped
      ++report.nics;
      auto mac = model::NormalizeMac(n.mac);
      seen.interfaces.push_back({n.server, mac.value_or(""), nic_id, model::kBeginningOfTime,
                                 model::kEndOfTime, origin, n.security_groups});
      for (const std::string& ip : n.addresses) {
        auto prefix = model::Prefix::Parse(ip);
        if (!prefix) continue;
        model::Assignment a;
        a.system_id = n.server;
        a.interface_key = nic_id;
        a.prefix = *prefix;
        a.from = now;
        a.origin = origin;
        seen.assignments.push_back(std::move(a));
      }
    }
  }
  // History: a claim seen before and still there keeps its start; one no longer seen ends now.
  auto stored = store.ReadInventory();
  if (!stored) return tl::unexpected(stored.error());
  std::set<std::string> synced_projects;
  for (const auto& p : seen.projects) synced_projects.insert(p.id);
  std::map<std::string, std::string> project_of_system;
  for (const auto& s : stored->systems) project_of_system[s.id] = s.project_id;
  for (const auto& s : seen.systems) project_of_system[s.id] = s.project_id;
  std::vector<model::Assignment> result;
  for (const auto& old : stored->assignments) {
    if (!old.origin.starts_with("stackit:") || old.until != model::kEndOfTime) continue;
    if (!synced_projects.count(project_of_system[old.system_id])) continue;
    bool still = false;
    for (auto& fresh : seen.assignments) {
      if (fresh.system_id == old.system_id && fresh.interface_key == old.interface_key &&
          fresh.prefix == old.prefix) {
        fresh.from = old.from;  // the same claim: it keeps its start
        still = true;
      }
    }
    if (!still) {
      model::Assignment closed = old;
      closed.until = now;
      result.push_back(closed);
      ++report.closed;
    }
  }
  for (auto& a : seen.assignments) result.push_back(std::move(a));
  seen.assignments = std::move(result);
  inventory::ParsedInventory parsed{std::move(seen), {}};
  auto imported = inventory::Import(store, std::move(parsed));
  if (!imported) return tl::unexpected(imported.error());
  report.import = std::move(*imported);
  return report;
}

}  // namespace bulwark::cloud
