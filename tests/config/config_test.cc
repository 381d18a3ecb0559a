#include "bulwark/config/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace bulwark::config {
namespace {

TEST(Config, TheExampleIsTheDefaults) {
  std::ifstream in(std::string(BULWARK_SOURCE_DIR) + "/data/bulwark.example.yml");
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = Parse(text.str(), "bulwark.example.yml");
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  Config defaults;
  EXPECT_EQ(parsed->data_dir, defaults.data_dir);
  EXPECT_EQ(parsed->listen, defaults.listen);
  EXPECT_EQ(parsed->dedup_window, defaults.dedup_window);
  EXPECT_EQ(parsed->tick, defaults.tick);
  EXPECT_EQ(parsed->rules, defaults.rules);
  EXPECT_EQ(parsed->mail.from, defaults.mail.from);
  EXPECT_EQ(parsed->mail.starttls, defaults.mail.starttls);
  EXPECT_EQ(parsed->max_body_bytes, defaults.max_body_bytes);
  EXPECT_EQ(parsed->api.max_comment_bytes, defaults.api.max_comment_bytes);
  EXPECT_EQ(parsed->api.max_comments_per_incident, defaults.api.max_comments_per_incident);
  EXPECT_EQ(parsed->api.comments_per_minute, defaults.api.comments_per_minute);
  EXPECT_EQ(parsed->api.max_connections, defaults.api.max_connections);
  EXPECT_EQ(parsed->api.max_connections_per_client, defaults.api.max_connections_per_client);
  EXPECT_EQ(parsed->api.request_timeout, defaults.api.request_timeout);
  EXPECT_EQ(parsed->reports.limits.max_unpacked_bytes, defaults.reports.limits.max_unpacked_bytes);
  EXPECT_EQ(parsed->reports.limits.max_ratio, defaults.reports.limits.max_ratio);
  EXPECT_EQ(parsed->reports.limits.max_rows, defaults.reports.limits.max_rows);
  EXPECT_EQ(parsed->reports.limits.max_duration, defaults.reports.limits.max_duration);
  EXPECT_EQ(parsed->reports.imap.processed_folder, defaults.reports.imap.processed_folder);
  EXPECT_EQ(parsed->reports.imap.failed_folder, defaults.reports.imap.failed_folder);
  EXPECT_EQ(parsed->reports.imap.poll, defaults.reports.imap.poll);
  EXPECT_EQ(parsed->reports.shadowserver_api.url, defaults.reports.shadowserver_api.url);
  EXPECT_EQ(parsed->reports.shadowserver_api.poll, defaults.reports.shadowserver_api.poll);
  const auto& cm = parsed->countermeasures;
  EXPECT_EQ(cm.enabled, defaults.countermeasures.enabled);
  EXPECT_EQ(cm.max_automatic_per_hour, defaults.countermeasures.max_automatic_per_hour);
  EXPECT_EQ(cm.automatic_expiry, defaults.countermeasures.automatic_expiry);
  EXPECT_EQ(cm.reconcile_interval, defaults.countermeasures.reconcile_interval);
  ASSERT_EQ(cm.automatic.size(), 1u);
  EXPECT_EQ(cm.automatic[0].on, defaults.countermeasures.automatic[0].on);
  EXPECT_EQ(cm.automatic[0].min_severity, defaults.countermeasures.automatic[0].min_severity);
  EXPECT_FALSE(cm.nftables.configured);
  EXPECT_FALSE(cm.stackit.configured);
  EXPECT_TRUE(parsed->reports.xarf_schemas.empty());
}

TEST(Config, ReadsTheReportsSection) {
  auto parsed = Parse(R"(reports:
  shadowserver_schema: /srv/schema/intelmq.json
  xarf_schemas: [/srv/xarf/3/xarf.schema.json, /srv/xarf/v4/xarf-v4-master.json]
  mappings: [/etc/bulwark/feed.yml]
  gnupg_home: /etc/bulwark/gnupg
  imap: {url: "imaps://127.0.0.1:9993/INBOX", username: abuse, poll: 30s, verify_peer: false}
  shadowserver_api: {key_file: /etc/bulwark/ss.key, secret_file: /etc/bulwark/ss.secret,
                     reports: [provider-asn]}
)",
                      "r.yml");
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->reports.xarf_schemas.size(), 2u);
  EXPECT_EQ(parsed->reports.mappings.front(), "/etc/bulwark/feed.yml");
  EXPECT_EQ(parsed->reports.imap.url, "imaps://127.0.0.1:9993/INBOX");
  EXPECT_EQ(parsed->reports.imap.poll, 30 * kNsPerSecond);
  EXPECT_FALSE(parsed->reports.imap.verify_peer);
  EXPECT_EQ(parsed->reports.shadowserver_api.reports.front(), "provider-asn");
  auto wrong = Parse("reports:\n  imap: {folder: x}\n", "w.yml");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().where, "w.yml:2:10");
  EXPECT_NE(wrong.error().message.find("reports.imap.folder"), std::string::npos);
}

TEST(Config, ReadsEverySetting) {
  auto parsed = Parse(R"(data_dir: /srv/b
listen: 0.0.0.0:9000
findings: {dedup_window: 2d, min_alert_level: high}
timers: {tick: 5s}
inputs:
  - {path: /var/log/auth.log}
  - {path: /var/log/app.jsonl, format: jsonl}
mail:
  from: abuse@cloud.example
  smtp: {url: "smtp://127.0.0.1:2525", starttls: require, verify_peer: false}
)",
                      "c.yml");
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->data_dir, "/srv/b");
  EXPECT_EQ(parsed->dedup_window, 2 * 86400 * kNsPerSecond);
  EXPECT_EQ(parsed->min_alert_level, "high");
  EXPECT_EQ(parsed->tick, 5 * kNsPerSecond);
  ASSERT_EQ(parsed->inputs.size(), 2u);
  EXPECT_EQ(parsed->inputs[1].format, "jsonl");
  EXPECT_EQ(parsed->mail.smtp_url, "smtp://127.0.0.1:2525");
  EXPECT_EQ(parsed->mail.starttls, "require");
  EXPECT_FALSE(parsed->mail.verify_peer);
}

TEST(Config, ReadsReceivers) {
  auto parsed = Parse(R"(receivers:
  - {protocol: tcp, listen: "0.0.0.0:514"}
  - {name: apps, protocol: udp, listen: "[::]:5170", format: jsonl, max_message_bytes: 8192}
  - {name: edge, protocol: tcp, listen: "10.0.0.1:6514", max_connections: 10,
     max_connections_per_sender: 2, idle_timeout: 10m, queue_max_bytes: 2097152}
)",
                      "r.yml");
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  ASSERT_EQ(parsed->receivers.size(), 3u);
  EXPECT_EQ(parsed->receivers[0].name, "tcp-514");
  EXPECT_EQ(parsed->receivers[0].format, "syslog");
  EXPECT_EQ(parsed->receivers[1].name, "apps");
  EXPECT_EQ(parsed->receivers[1].protocol, "udp");
  EXPECT_EQ(parsed->receivers[1].format, "jsonl");
  EXPECT_EQ(parsed->receivers[1].max_message_bytes, 8192u);
  EXPECT_EQ(parsed->receivers[2].max_connections, 10u);
  EXPECT_EQ(parsed->receivers[2].max_connections_per_sender, 2u);
  EXPECT_EQ(parsed->receivers[2].idle_timeout, 600 * kNsPerSecond);
  EXPECT_EQ(parsed->receivers[2].queue_max_bytes, 2097152u);
  auto tls = Parse(R"(receivers:
  - protocol: tls
    listen: "0.0.0.0:6514"
    tls: {certificate: /etc/bulwark/rx.pem, key: /etc/bulwark/rx.key, client_ca: /etc/bulwark/ca.pem,
          require_client_certificate: true, allowed_clients: [fw1.example, "sha256:ab12"]}
)",
                   "t.yml");
  ASSERT_TRUE(tls) << tls.error().ToString();
  EXPECT_EQ(tls->receivers[0].name, "tls-6514");
  EXPECT_EQ(tls->receivers[0].tls_client_ca, "/etc/bulwark/ca.pem");
  EXPECT_TRUE(tls->receivers[0].tls_require_client_certificate);
  EXPECT_EQ(tls->receivers[0].tls_allowed_clients,
            (std::vector<std::string>{"fw1.example", "sha256:ab12"}));
}

TEST(Config, ErrorsNameTheirPlace) {
  struct Case {
    const char* yaml;
    const char* where;
    const char* message;
  } cases[] = {
      {"lisen: 1.2.3.4:1\n", "c.yml:1:1", "unknown setting 'lisen'"},
      {"mail:\n  smtp: {starttls: maybe}\n", "c.yml:2:20", "expected one of off, try, require"},
      {"timers: {tick: soon}\n", "c.yml:1:16", "duration"},
      {"inputs: [{format: jsonl}]\n", "c.yml:1:10", "needs a 'path'"},
      {"mail: {digest_hour: 24}\n", "c.yml:1:21", "hour"},
      {"findings: [1]\n", "c.yml:1:11", "must be a mapping"},
      {"data_dir: [unclosed\n", "c.yml:", ""},
      {"receivers: [{protocol: sctp, listen: ':514'}]\n", "c.yml:1:24",
       "one of udp, tcp, tls, relp"},
      {"receivers: [{protocol: tcp}]\n", "c.yml:1:13", "needs a 'protocol'"},
      {"receivers:\n  - {protocol: tcp, listen: ':514'}\n  - {protocol: tcp, listen: '[::]:514'}\n",
       "c.yml:3:5", "two receivers are named 'tcp-514'"},
      {"receivers: [{name: ../x, protocol: udp, listen: ':1'}]\n", "c.yml:1:13", "folder name"},
      {"receivers: [{protocol: tcp, listen: ':1', queue_max_bytes: 10}]\n", "c.yml:1:", ""},
      {"receivers: [{protocol: tls, listen: ':1'}]\n", "c.yml:1:13",
       "needs 'tls: {certificate, key}'"},
      {"receivers: [{protocol: tcp, listen: ':1', tls: {certificate: a, key: b}}]\n", "c.yml:1:13",
       "need 'protocol: tls'"},
  };
  for (const auto& c : cases) {
    auto parsed = Parse(c.yaml, "c.yml");
    ASSERT_FALSE(parsed) << c.yaml;
    EXPECT_NE(parsed.error().where.find(c.where), std::string::npos)
        << c.yaml << " -> " << parsed.error().ToString();
    EXPECT_NE(parsed.error().message.find(c.message), std::string::npos)
        << c.yaml << " -> " << parsed.error().ToString();
  }
}

TEST(Config, Countermeasures) {
  auto parsed = Parse(R"(countermeasures:
  dry_run: true
  forensics: [192.0.2.50, "2001:db8:f::/48"]
  automatic:
    - {on: opened, min_severity: critical, incident_kinds: [intrusions/], kind: quarantine}
    - {on: opened, kind: egress_block, ports: [tcp/25]}
  nftables: {netns: edge, port_names: {nic-1: tap1}}
  stackit:
)",
                      "c.yml");
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  const auto& cm = parsed->countermeasures;
  EXPECT_TRUE(cm.dry_run);
  EXPECT_EQ(cm.forensics.size(), 2u);
  ASSERT_EQ(cm.automatic.size(), 2u);
  EXPECT_EQ(cm.automatic[1].ports, std::vector<std::string>{"tcp/25"});
  EXPECT_TRUE(cm.nftables.configured);
  EXPECT_EQ(cm.nftables.port_names.at("nic-1"), "tap1");
  EXPECT_TRUE(cm.stackit.configured);
  auto kind = Parse("countermeasures:\n  automatic: [{kind: nuke}]\n", "c.yml");
  ASSERT_FALSE(kind);
  EXPECT_EQ(kind.error().where, "c.yml:2:15");
  auto cidr = Parse("countermeasures:\n  forensics: [10.0.0.1/8]\n", "c.yml");
  ASSERT_FALSE(cidr);
  EXPECT_NE(cidr.error().message.find("10.0.0.1/8"), std::string::npos);
  EXPECT_FALSE(Parse("countermeasures:\n  nftables: {family: ip}\n", "c.yml"));
}

}  // namespace
}  // namespace bulwark::config
