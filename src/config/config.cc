#include "bulwark/config/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <functional>
#include <map>

#include "bulwark/core/strings.h"
#include "bulwark/model/countermeasure.h"
#include "bulwark/model/inventory.h"

namespace bulwark::config {

namespace {

std::string Where(const std::string& name, const YAML::Mark& mark) {
  return fmt::format("{}:{}:{}", name, mark.line + 1, mark.column + 1);
}

// Walks a mapping with one handler per known key; anything else is an error.
using Handler = std::function<Result<void>(const YAML::Node&)>;
Result<void> Walk(const YAML::Node& node, const std::string& name, const std::string& section,
                  const std::map<std::string, Handler>& handlers) {
  if (node.IsNull()) return {};
  if (!node.IsMap()) {
    return Fail(fmt::format("'{}' must be a mapping", section.empty() ? "the file" : section),
                Where(name, node.Mark()));
  }
  for (const auto& entry : node) {
    std::string key = entry.first.Scalar();
    auto it = handlers.find(key);
    if (it == handlers.end()) {
      std::string known;
      for (const auto& [k, h] : handlers) known += (known.empty() ? "" : ", ") + k;
      return Fail(fmt::format("unknown setting '{}{}' (known: {})",
                              section.empty() ? "" : section + ".", key, known),
                  Where(name, entry.first.Mark()));
    }
    if (auto done = it->second(entry.second); !done) return done;
  }
  return {};
}

}  // namespace

Result<Config> Parse(std::string_view yaml, const std::string& name) {
  Config c;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Fail(e.msg, Where(name, e.mark));
  }
  auto text = [&](std::string& target) -> Handler {
    return [&, target_ptr = &target](const YAML::Node& n) -> Result<void> {
      if (!n.IsScalar() && !n.IsNull())
        return Fail("expected a single value", Where(name, n.Mark()));
      *target_ptr = n.IsNull() ? "" : n.Scalar();
      return {};
    };
  };
  auto span = [&](TimeNs& target) -> Handler {
    return [&, target_ptr = &target](const YAML::Node& n) -> Result<void> {
      auto parsed = ParseTimespan(n.IsScalar() ? n.Scalar() : "");
      if (!parsed) return Fail("expected a duration such as 30s, 10m or 7d", Where(name, n.Mark()));
      *target_ptr = *parsed;
      return {};
    };
  };
  auto flag = [&](bool& target) -> Handler {
    return [&, target_ptr = &target](const YAML::Node& n) -> Result<void> {
      std::string v = AsciiLower(n.IsScalar() ? n.Scalar() : "");
      if (v != "true" && v != "false") return Fail("expected true or false", Where(name, n.Mark()));
      *target_ptr = v == "true";
      return {};
    };
  };
  auto one_of = [&](std::string& target, std::vector<std::string> allowed) -> Handler {
    return [&, target_ptr = &target, allowed](const YAML::Node& n) -> Result<void> {
      std::string v = AsciiLower(n.IsScalar() ? n.Scalar() : "");
      if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        return Fail(fmt::format("expected one of {}", list), Where(name, n.Mark()));
      }
      *target_ptr = v;
      return {};
    };
  };
  // A whole number from `min` up.
  auto count = [&](size_t& target, int64_t min) -> Handler {
    return [&, target_ptr = &target, min](const YAML::Node& n) -> Result<void> {
      auto parsed = ParseInt(n.IsScalar() ? n.Scalar() : "");
      if (!parsed || *parsed < min) {
        return Fail(fmt::format("expected a whole number of at least {}", min),
                    Where(name, n.Mark()));
      }
      *target_ptr = static_cast<size_t>(*parsed);
      return {};
    };
  };
  // A number between 0 and 1 (exclusive).
  auto fraction = [&](double& target) -> Handler {
    return [&, target_ptr = &target](const YAML::Node& n) -> Result<void> {
      auto parsed = ParseDouble(n.IsScalar() ? n.Scalar() : "");
      if (!parsed || !(*parsed > 0 && *parsed < 1)) {
        return Fail("expected a number between 0 and 1", Where(name, n.Mark()));
      }
      *target_ptr = *parsed;
      return {};
    };
  };
  // A non-negative number.
  auto amount = [&](double& target) -> Handler {
    return [&, target_ptr = &target](const YAML::Node& n) -> Result<void> {
      auto parsed = ParseDouble(n.IsScalar() ? n.Scalar() : "");
      if (!parsed || !(*parsed >= 0) || std::isinf(*parsed)) {
        return Fail("expected a number, 0 or more", Where(name, n.Mark()));
      }
      *target_ptr = *parsed;
      return {};
    };
  };
  auto volume = [&](flowdetect::Settings::Volume& v, const char* section) -> Handler {
    return [&, v_ptr = &v, section](const YAML::Node& m) {
      flowdetect::Settings::Volume& t = *v_ptr;
      return Walk(m, name, section,
                  {{"bucket", span(t.bucket)},
                   {"factor", amount(t.factor)},
                   {"smoothing", fraction(t.smoothing)},
                   {"min_packets_per_second", amount(t.min_packets_per_second)},
                   {"min_bytes_per_second", amount(t.min_bytes_per_second)},
                   {"min_flows_per_second", amount(t.min_flows_per_second)},
                   {"max_addresses", count(t.max_addresses, 1)}});
    };
  };
  auto list = [&](std::vector<std::string>& target) -> Handler {
    return [&, target_ptr = &target](const YAML::Node& n) -> Result<void> {
      if (n.IsNull()) return {};
      if (!n.IsSequence()) return Fail("expected a list", Where(name, n.Mark()));
      target_ptr->clear();
      for (const auto& item : n) {
        if (!item.IsScalar()) return Fail("expected a single value", Where(name, item.Mark()));
        target_ptr->push_back(item.Scalar());
      }
      return {};
    };
  };
  // A list of addresses or prefixes (host bits zero).
  auto prefixes = [&](std::vector<std::string>& target) -> Handler {
    return [&, target_ptr = &target](const YAML::Node& n) -> Result<void> {
      if (auto read = list(*target_ptr)(n); !read) return read;
      for (const auto& cidr : *target_ptr) {
        if (!model::Prefix::Parse(cidr)) {
          return Fail(fmt::format("'{}' is not an address or a prefix (host bits zero)", cidr),
                      Where(name, n.Mark()));
        }
      }
      return {};
    };
  };
  std::map<std::string, Handler> mail = {
      {"from", text(c.mail.from)},
      {"domain", text(c.mail.domain)},
      {"signature", text(c.mail.signature)},
      {"templates", text(c.mail.templates)},
      {"print", text(c.mail.print)},
      {"digest_hour",
       [&](const YAML::Node& n) -> Result<void> {
         auto hour = ParseInt(n.IsScalar() ? n.Scalar() : "");
         if (!hour || *hour < 0 || *hour > 23)
           return Fail("expected an hour 0-23", Where(name, n.Mark()));
         c.mail.digest_hour = static_cast<int>(*hour);
         return {};
       }},
      {"smtp",
       [&](const YAML::Node& n) {
         return Walk(n, name, "mail.smtp",
                     {{"url", text(c.mail.smtp_url)},
                      {"starttls", one_of(c.mail.starttls, {"off", "try", "require"})},
                      {"username", text(c.mail.username)},
                      {"password_file", text(c.mail.password_file)},
                      {"verify_peer", flag(c.mail.verify_peer)}});
       }},
  };
  std::map<std::string, Handler> top = {
      {"data_dir", text(c.data_dir)},
      {"listen", text(c.listen)},
      {"evidence_dir", text(c.evidence_dir)},
      {"flow_retention", span(c.flow_retention)},
      {"policy", text(c.policy)},
      {"kev", text(c.kev)},
      {"findings",
       [&](const YAML::Node& n) {
         return Walk(
             n, name, "findings",
             {{"dedup_window", span(c.dedup_window)},
              {"min_alert_level",
               one_of(c.min_alert_level, {"informational", "low", "medium", "high", "critical"})}});
       }},
      {"timers",
       [&](const YAML::Node& n) {
         return Walk(n, name, "timers", {{"tick", span(c.tick)}});
       }},
      {"api",
       [&](const YAML::Node& n) {
         return Walk(n, name, "api",
                     {{"max_body_bytes", count(c.max_body_bytes, 1024)},
                      {"max_comment_bytes", count(c.api.max_comment_bytes, 1)},
                      {"max_comments_per_incident", count(c.api.max_comments_per_incident, 1)},
                      {"comments_per_minute", count(c.api.comments_per_minute, 1)},
                      {"max_connections", count(c.api.max_connections, 4)},
                      {"max_connections_per_client", count(c.api.max_connections_per_client, 1)},
                      {"request_timeout", span(c.api.request_timeout)}});
       }},
      {"rules",
       [&](const YAML::Node& n) -> Result<void> {
         if (!n.IsSequence()) return Fail("'rules' must be a list of paths", Where(name, n.Mark()));
         c.rules.clear();
         for (const auto& item : n) c.rules.push_back(item.Scalar());
         return {};
       }},
      {"inputs",
       [&](const YAML::Node& n) -> Result<void> {
         if (!n.IsSequence()) return Fail("'inputs' must be a list", Where(name, n.Mark()));
         for (const auto& item : n) {
           Input input;
           auto done = Walk(item, name, "inputs[]",
                            {{"path", text(input.path)},
                             {"format", one_of(input.format, {"auto", "syslog", "jsonl", "plain"})},
                             {"system", text(input.system)}});
           if (!done) return done;
           if (input.path.empty()) return Fail("an input needs a 'path'", Where(name, item.Mark()));
           c.inputs.push_back(input);
         }
         return {};
       }},
      {"receivers",
       [&](const YAML::Node& n) -> Result<void> {
         if (!n.IsSequence()) return Fail("'receivers' must be a list", Where(name, n.Mark()));
         for (const auto& item : n) {
           Receiver r;
           auto done = Walk(
               item, name, "receivers[]",
               {{"name", text(r.name)},
                {"protocol", one_of(r.protocol, {"udp", "tcp", "tls", "relp", "netflow", "sflow"})},
                {"listen", text(r.listen)},
                {"format", one_of(r.format, {"auto", "syslog", "jsonl", "plain"})},
                {"max_connections", count(r.max_connections, 1)},
                {"max_connections_per_sender", count(r.max_connections_per_sender, 1)},
                {"max_message_bytes", count(r.max_message_bytes, 256)},
                {"idle_timeout", span(r.idle_timeout)},
                {"queue_max_bytes", count(r.queue_max_bytes, 1 << 20)},
                {"tls", [&](const YAML::Node& t) {
                   return Walk(
                       t, name, "receivers[].tls",
                       {{"certificate", text(r.tls_certificate)},
                        {"key", text(r.tls_key)},
                        {"client_ca", text(r.tls_client_ca)},
                        {"require_client_certificate", flag(r.tls_require_client_certificate)},
                        {"allowed_clients", list(r.tls_allowed_clients)}});
                 }}});
           if (!done) return done;
           if (r.protocol.empty() || r.listen.empty()) {
             return Fail(
                 "a receiver needs a 'protocol' (udp, tcp, tls, relp, netflow) and 'listen' "
                 "(HOST:PORT)",
                 Where(name, item.Mark()));
           }
           if (r.protocol == "tls" && (r.tls_certificate.empty() || r.tls_key.empty())) {
             return Fail("a tls receiver needs 'tls: {certificate, key}'",
                         Where(name, item.Mark()));
           }
           if (r.protocol == "netflow" || r.protocol == "sflow")
             r.format = "jsonl";  // flow records as JSON lines
           if (r.protocol != "tls" && !r.tls_certificate.empty()) {
             return Fail("'tls' settings need 'protocol: tls'", Where(name, item.Mark()));
           }
           if (r.name.empty()) {
             r.name = r.protocol + "-" + r.listen.substr(r.listen.rfind(':') + 1);
           }
           for (const Receiver& other : c.receivers) {
             if (other.name == r.name) {
               return Fail(fmt::format("two receivers are named '{}'", r.name),
                           Where(name, item.Mark()));
             }
           }
           if (r.name.find_first_of("/\\") != std::string::npos || r.name.starts_with(".")) {
             return Fail("a receiver's name is a folder name: no '/', '\\', no leading '.'",
                         Where(name, item.Mark()));
           }
           c.receivers.push_back(r);
         }
         return {};
       }},
      {"address_lists",
       [&](const YAML::Node& n) -> Result<void> {
         if (!n.IsMap()) {
           return Fail("'address_lists' maps list names to files", Where(name, n.Mark()));
         }
         for (const auto& entry : n) {
           const std::string& list = entry.first.Scalar();
           bool identifier = !list.empty() && std::all_of(list.begin(), list.end(), [](char ch) {
             return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
           });
           if (!identifier) {
             return Fail(fmt::format("address list name '{}': use a-z, 0-9 and _", list),
                         Where(name, entry.first.Mark()));
           }
           if (!entry.second.IsScalar() || entry.second.Scalar().empty()) {
             return Fail("expected the list's file", Where(name, entry.second.Mark()));
           }
           c.address_lists[list] = entry.second.Scalar();
         }
         return {};
       }},
      {"flow_detectors",
       [&](const YAML::Node& n) {
         auto& f = c.flow_detectors;
         return Walk(n, name, "flow_detectors",
                     {{"trw",
                       [&](const YAML::Node& m) -> Result<void> {
                         auto walked = Walk(m, name, "flow_detectors.trw",
                                            {{"theta0", fraction(f.trw.theta0)},
                                             {"theta1", fraction(f.trw.theta1)},
                                             {"detection", fraction(f.trw.detection)},
                                             {"false_positive", fraction(f.trw.false_positive)},
                                             {"max_sources", count(f.trw.max_sources, 1)}});
                         if (walked && (f.trw.theta1 >= f.trw.theta0 ||
                                        f.trw.false_positive >= f.trw.detection)) {
                           return Fail(
                               "flow_detectors.trw needs theta1 < theta0 and false_positive < "
                               "detection",
                               Where(name, m.Mark()));
                         }
                         return walked;
                       }},
                      {"flood_toward", volume(f.flood_toward, "flow_detectors.flood_toward")},
                      {"flood_from", volume(f.flood_from, "flow_detectors.flood_from")},
                      {"exfiltration", volume(f.exfiltration, "flow_detectors.exfiltration")},
                      {"beaconing", [&](const YAML::Node& m) {
                         return Walk(m, name, "flow_detectors.beaconing",
                                     {{"min_connections", count(f.beaconing.min_connections, 3)},
                                      {"max_jitter", fraction(f.beaconing.max_jitter)},
                                      {"min_interval", span(f.beaconing.min_interval)},
                                      {"max_interval", span(f.beaconing.max_interval)},
                                      {"max_pairs", count(f.beaconing.max_pairs, 1)}});
                       }}});
       }},
      {"mail", [&](const YAML::Node& n) { return Walk(n, name, "mail", mail); }},
      {"scan",
       [&](const YAML::Node& n) {
         auto& scan = c.scan;
         scan.configured = true;
         return Walk(n, name, "scan",
                     {{"verify_interval", span(scan.verify_interval)},
                      {"vulndb_files", list(scan.vulndb_files)},
                      {"vulndb_refresh", span(scan.vulndb_refresh)},
                      {"schedules",
                       [&](const YAML::Node& list_node) -> Result<void> {
                         if (!list_node.IsSequence()) {
                           return Fail("'scan.schedules' must be a list",
                                       Where(name, list_node.Mark()));
                         }
                         for (const auto& item : list_node) {
                           ScanConfig::Schedule schedule;
                           auto walked = Walk(item, name, "scan.schedules[]",
                                              {{"name", text(schedule.name)},
                                               {"targets", list(schedule.targets)},
                                               {"ports", text(schedule.ports)},
                                               {"udp_ports", text(schedule.udp_ports)},
                                               {"every", span(schedule.every)}});
                           if (!walked) return walked;
                           if (schedule.targets.empty() || schedule.every <= 0) {
                             return Fail("a schedule needs 'targets' and a positive 'every'",
                                         Where(name, item.Mark()));
                           }
                           if (schedule.name.empty()) {
                             schedule.name = fmt::format("schedule-{}", scan.schedules.size() + 1);
                           }
                           scan.schedules.push_back(std::move(schedule));
                         }
                         return {};
                       }},
                      {"allow", prefixes(scan.allow)},
                      {"deny", prefixes(scan.deny)},
                      {"opted_out", list(scan.opted_out)},
                      {"rate", count(scan.rate, 1)},
                      {"rate_per_network", count(scan.rate_per_network, 1)},
                      {"ports", text(scan.ports)},
                      {"udp_ports", text(scan.udp_ports)},
                      {"services", text(scan.services)},
                      {"identity_url", text(scan.identity_url)},
                      {"contact", text(scan.contact)},
                      {"discovery", one_of(scan.discovery, {"auto", "syn", "connect"})},
                      {"rescan_reports", flag(scan.rescan_reports)},
                      {"rescan_new_cves", flag(scan.rescan_new_cves)},
                      {"sighting_retention", span(scan.sighting_retention)}});
       }},
      {"countermeasures",
       [&](const YAML::Node& n) {
         auto& m = c.countermeasures;
         return Walk(
             n, name, "countermeasures",
             {{"enabled", flag(m.enabled)},
              {"dry_run", flag(m.dry_run)},
              {"two_person_rule", flag(m.two_person_rule)},
              {"max_automatic_per_hour", count(m.max_automatic_per_hour, 0)},
              {"automatic_expiry", span(m.automatic_expiry)},
              {"repair_drift", flag(m.repair_drift)},
              {"reconcile_interval", span(m.reconcile_interval)},
              {"default_enforcer", one_of(m.default_enforcer, {"nftables", "stackit"})},
              {"forensics", prefixes(m.forensics)},
              {"automatic",
               [&](const YAML::Node& rules) -> Result<void> {
                 if (!rules.IsSequence()) {
                   return Fail("'countermeasures.automatic' must be a list",
                               Where(name, rules.Mark()));
                 }
                 m.automatic.clear();
                 for (const auto& rule_node : rules) {
                   CountermeasuresConfig::Automatic rule;
                   auto walked = Walk(
                       rule_node, name, "countermeasures.automatic",
                       {{"on", one_of(rule.on, {"opened", "countermeasure_due"})},
                        {"min_severity",
                         one_of(rule.min_severity, {"info", "low", "medium", "high", "critical"})},
                        {"incident_kinds", list(rule.incident_kinds)},
                        {"kind", text(rule.kind)},
                        {"ports", list(rule.ports)},
                        {"rate_pps", count(rule.rate_pps, 1)}});
                   if (!walked) return walked;
                   if (!model::ParseKind(rule.kind)) {
                     return Fail(fmt::format("unknown countermeasure kind '{}'", rule.kind),
                                 Where(name, rule_node.Mark()));
                   }
                   m.automatic.push_back(std::move(rule));
                 }
                 return {};
               }},
              {"nftables",
               [&](const YAML::Node& section) -> Result<void> {
                 m.nftables.configured = true;
                 return Walk(section, name, "countermeasures.nftables",
                             {{"family", one_of(m.nftables.family, {"bridge", "inet"})},
                              {"table", text(m.nftables.table)},
                              {"netns", text(m.nftables.netns)},
                              {"flush_conntrack", flag(m.nftables.flush_conntrack)},
                              {"port_names", [&](const YAML::Node& map) -> Result<void> {
                                 if (!map.IsMap()) {
                                   return Fail("'port_names' maps port ids to interface names",
                                               Where(name, map.Mark()));
                                 }
                                 for (const auto& entry : map) {
                                   m.nftables.port_names[entry.first.Scalar()] =
                                       entry.second.Scalar();
                                 }
                                 return {};
                               }}});
               }},
              {"stackit", [&](const YAML::Node& section) -> Result<void> {
                 m.stackit.configured = true;
                 return Walk(section, name, "countermeasures.stackit",
                             {{"quarantine_group", text(m.stackit.quarantine_group)},
                              {"rescue_image", text(m.stackit.rescue_image)},
                              {"operation_timeout", span(m.stackit.operation_timeout)},
                              {"poll_interval", span(m.stackit.poll_interval)}});
               }}});
       }},
      {"stackit",
       [&](const YAML::Node& n) {
         return Walk(n, name, "stackit",
                     {{"organization", text(c.stackit.organization)},
                      {"region", text(c.stackit.region)},
                      {"resource_manager_url", text(c.stackit.resource_manager_url)},
                      {"run_command_url", text(c.stackit.run_command_url)},
                      {"iaas_url", text(c.stackit.iaas_url)},
                      {"token_file", text(c.stackit.token_file)},
                      {"service_account_key_file", text(c.stackit.service_account_key_file)},
                      {"private_key_file", text(c.stackit.private_key_file)},
                      {"token_url", text(c.stackit.token_url)},
                      {"customer_label", text(c.stackit.customer_label)},
                      {"projects", [&](const YAML::Node& map) -> Result<void> {
                         if (!map.IsMap()) {
                           return Fail("'stackit.projects' maps project ids to customer ids",
                                       Where(name, map.Mark()));
                         }
                         for (const auto& entry : map) {
                           c.stackit.projects[entry.first.Scalar()] = entry.second.Scalar();
                         }
                         return {};
                       }}});
       }},
      {"reports",
       [&](const YAML::Node& n) {
         auto& r = c.reports;
         return Walk(n, name, "reports",
                     {{"shadowserver_schema", text(r.shadowserver_schema)},
                      {"shadowserver_severity", text(r.shadowserver_severity)},
                      {"xarf_schemas", list(r.xarf_schemas)},
                      {"mappings", list(r.mappings)},
                      {"gnupg_home", text(r.gnupg_home)},
                      {"limits",
                       [&](const YAML::Node& m) {
                         return Walk(
                             m, name, "reports.limits",
                             {{"max_unpacked_bytes", count(r.limits.max_unpacked_bytes, 1024)},
                              {"max_ratio", count(r.limits.max_ratio, 2)},
                              {"max_rows", count(r.limits.max_rows, 1)},
                              {"max_duration", span(r.limits.max_duration)}});
                       }},
                      {"imap",
                       [&](const YAML::Node& m) {
                         return Walk(m, name, "reports.imap",
                                     {{"url", text(r.imap.url)},
                                      {"username", text(r.imap.username)},
                                      {"password_file", text(r.imap.password_file)},
                                      {"processed_folder", text(r.imap.processed_folder)},
                                      {"failed_folder", text(r.imap.failed_folder)},
                                      {"poll", span(r.imap.poll)},
                                      {"verify_peer", flag(r.imap.verify_peer)},
                                      {"ca_file", text(r.imap.ca_file)}});
                       }},
                      {"shadowserver_api", [&](const YAML::Node& m) {
                         return Walk(m, name, "reports.shadowserver_api",
                                     {{"url", text(r.shadowserver_api.url)},
                                      {"download_url", text(r.shadowserver_api.download_url)},
                                      {"days",
                                       [&](const YAML::Node& v) -> Result<void> {
                                         auto days = ParseInt(v.IsScalar() ? v.Scalar() : "");
                                         if (!days || *days < 1 || *days > 30) {
                                           return Fail("expected a number of days 1-30",
                                                       Where(name, v.Mark()));
                                         }
                                         r.shadowserver_api.days = static_cast<int>(*days);
                                         return {};
                                       }},
                                      {"key_file", text(r.shadowserver_api.key_file)},
                                      {"secret_file", text(r.shadowserver_api.secret_file)},
                                      {"poll", span(r.shadowserver_api.poll)},
                                      {"reports", list(r.shadowserver_api.reports)}});
                       }}});
       }},
      {"webhooks",
       [&](const YAML::Node& n) -> Result<void> {
         if (!n.IsSequence()) return Fail("'webhooks' must be a list", Where(name, n.Mark()));
         for (const auto& item : n) {
           WebhookConfig hook;
           auto done = Walk(item, name, "webhooks[]",
                            {{"customer", text(hook.customer)},
                             {"url", text(hook.url)},
                             {"secret_file", text(hook.secret_file)}});
           if (!done) return done;
           if (hook.customer.empty() || hook.url.empty() || hook.secret_file.empty()) {
             return Fail("a webhook needs customer, url and secret_file", Where(name, item.Mark()));
           }
           c.webhooks.push_back(hook);
         }
         return {};
       }},
  };
  if (auto done = Walk(root, name, "", top); !done) return tl::unexpected(done.error());
  return c;
}

}  // namespace bulwark::config
