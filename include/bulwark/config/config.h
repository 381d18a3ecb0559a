#pragma once
// The configuration file of `bulwark serve` (and of the commands that take --config): one YAML
// document, every key optional; docs/configuration.md and data/bulwark.example.yml describe it.
// Unknown keys and bad values are errors with file:line:column, so a broken file refuses to
// start and a broken reload keeps the running configuration.

#include <map>
#include <string>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/core/time.h"
#include "bulwark/flowdetect/detector.h"

namespace bulwark::config {

struct Input {
  std::string path;             // a log file, followed like tail -F
  std::string format = "auto";  // auto, syslog, jsonl, plain
  std::string system;           // the inventory system whose log it is (host.id); empty: unknown
};

// A network listener for logs (docs/configuration.md, "receivers"). What it receives goes
// through a durable queue of its own (<data_dir>/queue/<name>) into detection.
struct Receiver {
  std::string name;               // unique; default "<protocol>-<port>"
  std::string protocol;           // udp, tcp, tls, relp, netflow (NetFlow v5/v9, IPFIX over UDP)
  std::string listen;             // "HOST:PORT" or "[IPV6]:PORT"
  std::string format = "syslog";  // auto, syslog, jsonl, plain; netflow: jsonl (its records)
  size_t max_connections = 1024;  // tcp: open at once
  size_t max_connections_per_sender = 64;
  size_t max_message_bytes = 64 * 1024;  // longer messages are cut
  TimeNs idle_timeout = 0;               // tcp: silent connections closed after this; 0: never
  size_t queue_max_bytes = 1ull << 30;   // the queue's files at most (then backpressure or drops)
  // tls (RFC 5425): the receiver's certificate and key (PEM), the CA client certificates must
  // chain to (empty: none asked for), and who may send (certificate CN, DNS name or
  // "sha256:<hex>"; empty: any client that passed).
  std::string tls_certificate, tls_key, tls_client_ca;
  bool tls_require_client_certificate = false;
  std::vector<std::string> tls_allowed_clients;
};

struct WebhookConfig {
  std::string customer;  // customer id whose incidents are posted
  std::string url;
  std::string secret_file;  // a file holding the HMAC secret
};

struct StackitConfig {
  std::string organization;  // containerParentId whose projects are synced
  std::string region = "eu01";
  std::string resource_manager_url = "https://resource-manager.api.stackit.cloud";
  std::string run_command_url = "https://run-command.api.stackit.cloud";  // forensics
  std::string iaas_url = "https://iaas.api.stackit.cloud";
  std::string
      service_account_key_file;  // key flow (preferred); else $STACKIT_SERVICE_ACCOUNT_KEY_PATH
  std::string private_key_file;  // when the key holds none; else $STACKIT_PRIVATE_KEY_PATH
  std::string token_url = "https://service-account.api.stackit.cloud/token";
  std::string token_file;  // token flow; else $STACKIT_SERVICE_ACCOUNT_TOKEN
  std::string customer_label = "bulwark-customer";
  std::map<std::string, std::string> projects;  // projectId -> customer id
};

// Countermeasures (docs/countermeasures.md): the policy, its guard rails and the enforcers.
struct CountermeasuresConfig {
  bool enabled = true;  // the kill switch: false applies nothing (lifting still works)
  bool dry_run = false;
  bool two_person_rule = false;
  size_t max_automatic_per_hour = 10;
  TimeNs automatic_expiry = 24 * 3600 * kNsPerSecond;
  bool repair_drift = true;
  TimeNs reconcile_interval = 60 * kNsPerSecond;
  std::string default_enforcer = "nftables";
  std::vector<std::string> forensics;  // CIDRs a quarantined system still reaches
  // When the policy acts without prior consultation (validated names: docs/countermeasures.md).
  struct Automatic {
    std::string on = "countermeasure_due";    // or "opened"
    std::string min_severity = "info";        // countermeasure_due: and where the policy allows it
    std::vector<std::string> incident_kinds;  // taxonomy/type prefixes; empty: any
    std::string kind = "quarantine";
    std::vector<std::string> ports;  // egress_block: tcp/25, udp/53
    size_t rate_pps = 0;             // rate_limit
  };
  std::vector<Automatic> automatic = {Automatic{}};
  struct Nftables {
    bool configured = false;  // the section is present
    std::string family = "bridge";
    std::string table = "bulwark";
    std::string netns;
    std::map<std::string, std::string> port_names;
    bool flush_conntrack = true;
  } nftables;
  struct Stackit {
    bool configured = false;  // the section is present (credentials: the stackit section)
    std::string quarantine_group = "bulwark-quarantine";
    std::string rescue_image;  // the image a rescue boots
    TimeNs operation_timeout = 300 * kNsPerSecond;
    TimeNs poll_interval = 2 * kNsPerSecond;
  } stackit;
};

// Third-party abuse reports (docs/reports.md): what the report reader loads and where reports
// are fetched from.
struct ReportsConfig {
  std::string shadowserver_schema;    // Shadowserver's report_schema/intelmq.json
  std::string shadowserver_severity;  // severity.md; empty: beside the schema
  std::vector<std::string> xarf_schemas;
  std::vector<std::string> mappings;
  std::string gnupg_home;  // OpenPGP keys of signing senders
  struct Imap {
    std::string url;  // imaps://host[:port]/FOLDER; empty: no mailbox is read
    std::string username;
    std::string password_file;
    std::string processed_folder = "Bulwark/Processed";
    std::string failed_folder = "Bulwark/Failed";
    TimeNs poll = 60 * kNsPerSecond;
    bool verify_peer = true;
    std::string ca_file;  // trust this CA (PEM) in addition to the system's
  } imap;
  struct ShadowserverApi {
    std::string url = "https://transform.shadowserver.org/api2/";
    std::string download_url = "https://dl.shadowserver.org/";
    std::string key_file;  // empty: the API is not polled
    std::string secret_file;
    TimeNs poll = 3600 * kNsPerSecond;
    std::vector<std::string> reports;  // report (mailing list) names; empty: all
    int days = 2;                      // each poll lists the reports of this many days back
  } shadowserver_api;
  // Bounds on one report: anyone can send the mailbox a mail. A report beyond the size bounds
  // is rejected before anything of it is taken; one that takes longer stops there.
  struct Limits {
    size_t max_unpacked_bytes = size_t{256} << 20;  // what its archives unpack to, together
    size_t max_ratio = 200;       // unpacked : packed size of an archive (over 1 MiB unpacked)
    size_t max_rows = 1'000'000;  // CSV rows (and XARF/ARF reports) of one report
    TimeNs max_duration = 600 * kNsPerSecond;
  } limits;
};

// The scanner (docs/scanning.md): what it may probe, how fast, and how it presents itself.
struct ScanConfig {
  std::vector<std::string> allow;      // prefixes probed whoever holds them (a test range)
  std::vector<std::string> deny;       // prefixes never probed (wins over everything)
  std::vector<std::string> opted_out;  // customer ids that asked not to be scanned
  std::string discovery = "auto";      // auto (SYN when permitted), syn, connect
  size_t rate = 5000;                  // probes per second, over all targets
  size_t rate_per_network = 1000;      // per /24 (IPv4) or /64 (IPv6)
  std::string ports = "top";           // the ports of a scan that names none
  std::string udp_ports = "53,123,161,1900,11211";  // UDP ports of a scan that names none
  std::string services;                             // the service database; empty: the built-in one
  std::string identity_url;                         // the web page that explains the scans
  std::string contact;                              // where to write about them
  // serve: the scan thread runs when the section is present.
  bool configured = false;
  TimeNs verify_interval = 15 * 60 * kNsPerSecond;  // re-scans of verifying incidents; 0: none
  struct Schedule {
    std::string name;
    std::vector<std::string> targets;  // ADDR, CIDR, system id, customer:ID
    std::string ports;                 // empty: scan.ports
    std::string udp_ports;             // empty: scan.udp_ports
    TimeNs every = 24 * 3600 * kNsPerSecond;
  };
  std::vector<Schedule> schedules;
  std::vector<std::string> vulndb_files;  // re-imported every vulndb_refresh
  TimeNs vulndb_refresh = 24 * 3600 * kNsPerSecond;
  // serve's reactive scans: the endpoints an abuse report names (those that went to a
  // customer's incident), and the services last seen with a product exposed to a CVE the
  // vulnerability data newly holds (a new CVE, OSV record or KEV entry).
  bool rescan_reports = true;
  bool rescan_new_cves = true;
  // How long a recognised service is remembered for the re-scans on new CVEs.
  TimeNs sighting_retention = 90 * 86400 * kNsPerSecond;
};

struct Config {
  std::string data_dir = "/var/lib/bulwark";
  std::string evidence_dir;  // the evidence vault (docs/forensics.md); empty: <data_dir>/evidence
  // Flow records of the flow receivers kept for forensic windows (<data_dir>/flows); 0: none.
  TimeNs flow_retention = 7 * 86400 * kNsPerSecond;
  std::string listen = "127.0.0.1:8080";  // host:port of the REST API
  std::string policy;                     // severity policy file; empty: built-in
  std::string kev;                        // CISA KEV catalog (JSON); empty: none
  TimeNs dedup_window = 7 * 86400 * kNsPerSecond;
  std::string min_alert_level = "medium";  // detection alerts below this make no finding
  std::vector<std::string> rules = {"builtin"};
  // Address lists for rules (`field|expand|cidr: '%name%'`): name -> file (Spamhaus DROP, Feodo
  // Tracker, plain lists). A changed file is read again within seconds.
  std::map<std::string, std::string> address_lists;
  flowdetect::Settings flow_detectors;  // parameters of the built-in pack's flow detectors
  std::vector<Input> inputs;
  std::vector<Receiver> receivers;
  TimeNs tick = 30 * kNsPerSecond;  // deadlines, reminders, outbox delivery
  size_t max_body_bytes = 1 << 20;  // REST request bodies
  // Bounds on what API clients can do (docs/api.md).
  struct Api {
    size_t max_comment_bytes = 4096;
    size_t max_comments_per_incident = 200;      // comments; staff's internal notes do not count
    size_t comments_per_minute = 10;             // per token
    size_t max_connections = 1024;               // open at once
    size_t max_connections_per_client = 64;      // open at once from one address
    TimeNs request_timeout = 30 * kNsPerSecond;  // idle time while a request is read
  } api;
  std::vector<WebhookConfig> webhooks;
  StackitConfig stackit;
  CountermeasuresConfig countermeasures;
  ScanConfig scan;
  ReportsConfig reports;
  struct Mail {
    std::string from = "security@provider.example";
    std::string domain = "bulwark.provider.example";
    std::string signature = "Security team";
    std::string templates;  // folder overriding the bundled templates
    int digest_hour = 8;
    std::string smtp_url;  // empty: messages are printed to `print`
    std::string starttls = "try";
    std::string username;
    std::string password_file;
    bool verify_peer = true;
    std::string print = "-";
  } mail;
};

// Parses a configuration; `name` is used in error locations.
Result<Config> Parse(std::string_view yaml, const std::string& name);

}  // namespace bulwark::config
