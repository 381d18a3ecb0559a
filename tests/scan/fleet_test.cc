// The scanner against a fleet of real services in network namespaces this test creates (Debian's
// OpenSSH, Redis with and without a password, memcached over TCP and UDP, an open and a closed
// unbound, snmpd with "public", Python's http.server with an exposed .git, an openssl s_server
// with an expired self-signed certificate) and services that misbehave. What it finds is compared
// with a golden file. The scope test proves that an address the scope refuses receives not a single
// packet.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <thread>
#include <tuple>

#include "../support/certificates.h"
#include "../support/files.h"
#include "../support/golden.h"
#include "../support/lab.h"
#include "../support/lab_inventory.h"
#include "../support/process.h"
#include "bulwark/core/netns.h"
#include "bulwark/data/builtin_env.h"
#include "bulwark/finding/intelmq.h"
#include "bulwark/inventory/attribution.h"
#include "bulwark/scan/scanner.h"
#include "bulwark/server/service.h"
#include "bulwark/server/tokens.h"
#include "bulwark/store/store.h"

namespace bulwark::scan {
namespace {

using testing_support::ChildProcess;
using testing_support::Lab;

constexpr const char* kTarget = "10.77.0.20";
constexpr const char* kOutside = "10.77.0.30";
constexpr const char* kClosedResolver = "10.77.0.22";

// The TCP ports the fleet listens on in the target.
constexpr int kTricklingTls = 9994;
constexpr int kFleetTcpPorts[] = {21,   22,   25,   80,   143,  445,  2379, 3306, 3389, 6379, 6380,
                                  8080, 8081, 8443, 8444, 9990, 9991, 9992, 9993, 9994, 11211};

// The fleet, started once for the suite.
class FleetTest : public ::testing::Test {
 protected:
  // Starts the fleet once per process, from the first test's SetUp: a failure there fails that
  // test, and every later one, instead of marking them skipped (which a failure in
  // SetUpTestSuite does, and ctest counts a skip as no failure).
  void SetUp() override {
    if (!started_) {
      started_ = true;
      StartFleet();
      fleet_ok_ = !HasFatalFailure();
    }
    ASSERT_TRUE(fleet_ok_) << "the fleet did not start (the first test says why)";
  }

  static void StartFleet() {
    lab_ = new Lab({{"scn", "10.77.0.5"}, {"tgt", kTarget}, {"out", kOutside}});
    ASSERT_TRUE(lab_->ok());
    dir_ = new std::string("/tmp/bwl-fleet-" + std::to_string(getpid()));
    const std::string& d = *dir_;
    ASSERT_TRUE(Lab::Sh("mkdir -p " + d + "/www/.git /run/sshd"));
    std::ofstream(d + "/www/.git/HEAD") << "ref: refs/heads/main\n";
    std::ofstream(d + "/www/index.html") << "<html><title>fleet</title></html>\n";
    ASSERT_TRUE(Lab::Sh("ssh-keygen -q -t ed25519 -N '' -f " + d + "/host"));
    std::ofstream(d + "/sshd_config")
        << "ListenAddress " << kTarget << "\nHostKey " << d << "/host\nUsePAM no\nPidFile " << d
        << "/sshd.pid\nLogLevel ERROR\n";
    auto cert = testing_support::SelfSignedCertificate("expired.example", -2 * 86400, -86400);
    std::ofstream(d + "/cert.pem") << cert.certificate_pem;
    std::ofstream(d + "/key.pem") << cert.key_pem;
    std::string t = kTarget;
    auto start = [&](std::vector<std::string> argv, const std::string& log) {
      services_->push_back(std::make_unique<ChildProcess>(lab_->Argv("tgt", std::move(argv)),
                                                          d + "/" + log + ".log"));
    };
    services_ = new std::vector<std::unique_ptr<ChildProcess>>();
    start({"/usr/sbin/sshd", "-D", "-e", "-f", d + "/sshd_config"}, "sshd");
    start({"/usr/bin/redis-server", "--port", "6379", "--bind", t, "--protected-mode", "no",
           "--save", "", "--dir", d},
          "redis-open");
    start({"/usr/bin/redis-server", "--port", "6380", "--bind", t, "--requirepass", "s3cret",
           "--save", "", "--dir", d},
          "redis-password");
    start({"/usr/bin/memcached", "-p", "11211", "-U", "11211", "-l", t, "-u", "root"}, "memcached");
    // DNS: an open resolver on the target, a closed one (unbound's default access control) on a
    // second address of the same host; SNMP with the community "public".
    ASSERT_TRUE(lab_->Ok("tgt", std::string("ip addr add ") + kClosedResolver + "/24 dev eth0"));
    for (auto [file, address, open] :
         {std::tuple{"unbound-open", t, true},
          std::tuple{"unbound-closed", std::string(kClosedResolver), false}}) {
      std::ofstream(d + "/" + file + ".conf")
          << "server:\n  interface: " << address << "@53\n"
          << (open ? "  access-control: 0.0.0.0/0 allow\n" : "")
          << "  do-daemonize: no\n  chroot: \"\"\n  username: \"\"\n  directory: \"" << d
          << "\"\n  pidfile: \"\"\n  use-syslog: no\n  do-ip6: no\n"
          << "  module-config: \"iterator\"\n";
      start({"/usr/sbin/unbound", "-d", "-c", d + "/" + file + ".conf"}, file);
    }
    std::ofstream(d + "/snmpd.conf")
        << "agentAddress udp:" << t << ":161\nrocommunity public default\n";
    start({"/usr/sbin/snmpd", "-f", "-Lo", "-C", "-c", d + "/snmpd.conf"}, "snmpd");
    start({"/usr/bin/python3", "-m", "http.server", "8080", "--bind", t, "--directory", d + "/www"},
          "http");
    start({"/usr/bin/openssl", "s_server", "-quiet", "-www", "-accept", t + ":8443", "-cert",
           d + "/cert.pem", "-key", d + "/key.pem"},
          "tls");
    // A TLS server as old clients wanted it: TLS 1.0 still accepted, and anonymous key exchange
    // (Debian's OpenSSL has no RC4, DES or export ciphers left to accept).
    start({"/usr/bin/openssl", "s_server", "-quiet", "-www", "-accept", t + ":8444", "-cert",
           d + "/cert.pem", "-key", d + "/key.pem", "-min_protocol", "TLSv1", "-cipher",
           "ALL:@SECLEVEL=0"},
          "tls-legacy");
    start({"/usr/bin/python3", std::string(BULWARK_SOURCE_DIR) + "/tests/scan/hostile_server.py", t,
           "9990"},
          "hostile");
    // Web, mail, FTP and database servers from Debian, each with a configuration of its own.
    std::ofstream(d + "/nginx.conf")
        << "daemon off;\nmaster_process off;\npid " << d << "/nginx.pid;\nerror_log " << d
        << "/nginx-error.log;\nevents {}\nhttp {\n  access_log off;\n  client_body_temp_path " << d
        << "/nginx-tmp;\n  proxy_temp_path " << d << "/nginx-tmp;\n  fastcgi_temp_path " << d
        << "/nginx-tmp;\n  uwsgi_temp_path " << d << "/nginx-tmp;\n  scgi_temp_path " << d
        << "/nginx-tmp;\n  server {\n    listen " << t << ":80;\n    root " << d
        << "/www;\n  }\n}\n";
    start({"/usr/sbin/nginx", "-c", d + "/nginx.conf", "-e", d + "/nginx-error.log"}, "nginx");
    std::ofstream(d + "/apache.conf")
        << "ServerRoot /usr/lib/apache2\nLoadModule mpm_prefork_module "
           "modules/mod_mpm_prefork.so\nLoadModule authz_core_module modules/mod_authz_core.so\n"
           "LoadModule dir_module modules/mod_dir.so\nUser www-data\nGroup www-data\n"
           "ServerName fleet\n"
        << "Listen " << t << ":8081\nPidFile " << d << "/apache.pid\nDefaultRuntimeDir " << d
        << "\nErrorLog " << d << "/apache-error.log\nDocumentRoot " << d
        << "/www\n<Directory />\n  Require all granted\n</Directory>\n";
    start({"/usr/sbin/apache2", "-X", "-f", d + "/apache.conf"}, "apache");
    ASSERT_TRUE(Lab::Sh("mkdir -p " + d + "/vsftpd-empty " + d + "/nginx-tmp"));
    std::ofstream(d + "/vsftpd.conf")
        << "listen=YES\nlisten_ipv6=NO\nlisten_address=" << t
        << "\nbackground=NO\nanonymous_enable=NO\nlocal_enable=YES\npam_service_name=vsftpd\n"
        << "seccomp_sandbox=NO\n"
        << "secure_chroot_dir=" << d << "/vsftpd-empty\n";
    start({"/usr/sbin/vsftpd", d + "/vsftpd.conf"}, "vsftpd");
    std::ofstream(d + "/dovecot.conf")
        << "protocols = imap\nlisten = " << t << "\nbase_dir = " << d
        << "/dovecot\nstate_dir = " << d << "/dovecot\nlog_path = " << d
        << "/dovecot.log\ninstance_name = fleet" << getpid() << "\nssl = no\n"
        << "passdb {\n  driver = static\n  args = password=not-for-login\n}\n"
        << "userdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=/nonexistent\n}\n"
        << "service imap-login {\n  chroot =\n}\n"
        << "service anvil {\n  chroot =\n}\n";
    start({"/usr/sbin/dovecot", "-F", "-c", d + "/dovecot.conf"}, "dovecot");
    // OpenSMTPD's control socket and queue are fixed paths: this one gets its own, in a mount
    // namespace of its own, so that it cannot meet another test's.
    std::ofstream(d + "/smtpd.conf") << "listen on " << t
                                     << " port 25\naction \"relay\" relay\n"
                                        "match from local for any action \"relay\"\n";
    start({"/usr/bin/unshare", "-m", "sh", "-c",
           "mount -t tmpfs tmpfs /run && mount -t tmpfs -o mode=0711 tmpfs /var/spool/smtpd && "
           "exec /usr/sbin/smtpd -d -f " +
               d + "/smtpd.conf"},
          "smtpd");
    // MariaDB with a temporary directory of its own: in the shared /tmp, two fleets starting at
    // once (ctest -j2) removed each other's temporary tables.
    ASSERT_TRUE(Lab::Sh("mkdir -p " + d +
                        "/mariadb-tmp && /usr/bin/mariadb-install-db "
                        "--no-defaults --datadir=" +
                        d + "/mariadb --tmpdir=" + d +
                        "/mariadb-tmp --user=root --skip-test-db "
                        "--auth-root-authentication-method=normal > " +
                        d + "/mariadb-install.log 2>&1"))
        << testing_support::ReadAll(d + "/mariadb-install.log");
    start({"/usr/sbin/mariadbd", "--no-defaults", "--datadir=" + d + "/mariadb",
           "--tmpdir=" + d + "/mariadb-tmp", "--user=root", "--bind-address=" + t, "--port=3306",
           "--socket=" + d + "/mariadb.sock", "--pid-file=" + d + "/mariadb.pid", "--skip-log-bin"},
          "mariadb");
    // Samba with SMB1 allowed (Debian's default refuses it), and xrdp as Debian configures it.
    ASSERT_TRUE(Lab::Sh("mkdir -p " + d + "/samba/run " + d + "/samba/lock " + d + "/samba/state " +
                        d + "/samba/cache " + d + "/samba/private " + d + "/samba/ncalrpc"));
    std::ofstream(d + "/smb.conf")
        << "[global]\n  server role = standalone server\n  interfaces = " << t
        << "\n  bind interfaces only = yes\n  smb ports = 445\n"
        << "  disable netbios = yes\n  server min protocol = NT1\n"
        << "  pid directory = " << d << "/samba/run\n  lock directory = " << d
        << "/samba/lock\n  state directory = " << d << "/samba/state\n  cache directory = " << d
        << "/samba/cache\n  private dir = " << d << "/samba/private\n  ncalrpc dir = " << d
        << "/samba/ncalrpc\n  log file = " << d << "/samba/log\n";
    // smbd leads a process group of its own: on its way out it signals its whole group, which
    // with --no-process-group would be the test's and ctest's.
    start({"/usr/sbin/smbd", "--foreground", "--debug-stdout", "-s", d + "/smb.conf"}, "smbd");
    ASSERT_TRUE(Lab::Sh("sed -e 's|^port=3389|port=tcp://" + t +
                        ":3389|' -e 's|^LogFile=.*|LogFile=" + d +
                        "/xrdp-own.log|' -e 's|^EnableSyslog=.*|EnableSyslog=false|' " +
                        "/etc/xrdp/xrdp.ini > " + d + "/xrdp.ini"));
    start({"/usr/sbin/xrdp", "--nodaemon", "--config", d + "/xrdp.ini"}, "xrdp");
    // etcd as Debian ships it: its client API answers whoever asks.
    start({"/usr/bin/etcd", "--name", "fleet", "--data-dir", d + "/etcd", "--listen-client-urls",
           "http://" + t + ":2379", "--advertise-client-urls", "http://" + t + ":2379",
           "--listen-peer-urls", "http://" + t + ":2380"},
          "etcd");
    for (int port : kFleetTcpPorts) {
      // Up to 30 s each: a loaded machine (CI's sanitizer run) starts some servers slowly.
      for (int i = 0; i < 300 && !lab_->Connects("scn", t, port); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      ASSERT_TRUE(lab_->Connects("scn", t, port)) << "nothing listens on " << port;
    }
    for (const std::string& listener :
         {t + ":53", std::string(kClosedResolver) + ":53", t + ":161"}) {
      std::string bound = "sh -c 'ss -Hlun | grep -q \"" + listener + " \"'";
      for (int i = 0; i < 300 && !lab_->Ok("tgt", bound); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      ASSERT_TRUE(lab_->Ok("tgt", bound)) << "nothing listens on udp " << listener;
    }
  }
  static void TearDownTestSuite() {
    delete services_;
    delete lab_;
    if (dir_) testing_support::RemoveTree(*dir_);
    delete dir_;
  }

  // The inventory: the target is an internet-facing customer system, the outside host a system
  // that is not internet-facing.
  static std::shared_ptr<const inventory::AttributionIndex> Index() {
    auto inventory = testing_support::LabInventory(
        "acme", {{"tgt", "tgtp", kTarget}, {"out", "outp", kOutside}});
    inventory.systems[0].internet_exposed = true;
    return std::make_shared<inventory::AttributionIndex>(inventory);
  }

  // Runs a scan from the scanner's namespace.
  static ScanReport Scan(const vuln::ScopeSettings& settings, const std::vector<std::string>& to,
                         const std::vector<int>& ports, const vuln::VulnDb* vulndb = nullptr,
                         const std::vector<int>& udp_ports = {}) {
    vuln::Scope scope(Index(), settings);
    ScanOptions options;
    options.vulndb = vulndb;
    options.limits.first_byte = std::chrono::milliseconds(700);
    options.limits.connect = std::chrono::milliseconds(1000);
    Scanner scanner(scope, ServiceDb::Builtin(), Env::Default(), options);
    std::vector<event::IpAddress> addresses;
    for (const auto& a : to) addresses.push_back(*event::IpAddress::Parse(a));
    auto report = InNetworkNamespace<ScanReport>(
        lab_->Namespace("scn"),
        [&]() -> Result<ScanReport> { return scanner.Run(addresses, ports, udp_ports); });
    EXPECT_TRUE(report) << report.error().message;
    return report ? *report : ScanReport{};
  }

  // Discovers `ports` of the target from the scanner's namespace.
  static Result<std::vector<Endpoint>> Discover(const std::vector<int>& ports,
                                                const DiscoverOptions& options,
                                                DiscoverStats* stats) {
    return InNetworkNamespace<std::vector<Endpoint>>(
        lab_->Namespace("scn"), [&]() -> Result<std::vector<Endpoint>> {
          return DiscoverTcp({*event::IpAddress::Parse(kTarget)}, ports, options, stats);
        });
  }

  // Puts `rule` (nft syntax) into the target's input path, alone: a fresh table each time, which
  // TearDown deletes.
  static bool DropInTarget(const std::string& rule) {
    lab_->Ok("tgt", "nft delete table inet bwldrop");
    std::string rules = *dir_ + "/drop.nft";
    std::ofstream(rules) << "table inet bwldrop {\n  chain c {\n    type filter hook input "
                            "priority 0;\n    "
                         << rule << "\n  }\n}\n";
    return lab_->Ok("tgt", "nft -f " + rules);
  }
  void TearDown() override {
    if (lab_) lab_->Ok("tgt", "nft delete table inet bwldrop 2>/dev/null");
  }

  // A configuration for serve in <dir_>/<name> with the scanner on, and its store holding the
  // inventory (the target an internet-facing system of acme); the store's path for more.
  static config::Config ServeConfig(const std::string& name) {
    const std::string d = *dir_ + "/" + name;
    EXPECT_TRUE(Lab::Sh("mkdir -p " + d));
    config::Config config;
    config.data_dir = d + "/data";
    config.listen = "127.0.0.1:0";
    config.mail.print = d + "/mails.txt";
    config.scan.configured = true;
    auto store = store::OpenSqliteStore(config.data_dir);
    EXPECT_TRUE(store);
    auto inventory = testing_support::LabInventory("acme", {{"tgt", "tgtp", kTarget}});
    inventory.systems[0].internet_exposed = true;
    EXPECT_TRUE(store && (*store)->WriteInventory(inventory));
    return config;
  }

  // Starts serve in the scanner's namespace.
  static Result<std::unique_ptr<server::Service>> StartServe(const config::Config& config) {
    return InNetworkNamespace<std::unique_ptr<server::Service>>(lab_->Namespace("scn"), [&] {
      return server::Service::Start(config, "", data::BuiltinEnv::Default());
    });
  }

  static bool started_, fleet_ok_;
  static Lab* lab_;
  static std::string* dir_;
  static std::vector<std::unique_ptr<ChildProcess>>* services_;
};

bool FleetTest::started_ = false;
bool FleetTest::fleet_ok_ = false;
Lab* FleetTest::lab_ = nullptr;
std::string* FleetTest::dir_ = nullptr;
std::vector<std::unique_ptr<ChildProcess>>* FleetTest::services_ = nullptr;

// A finding as a golden line: what the scanner claims, with digits of versions as N (Debian's
// point releases move them).
std::string GoldenLine(const model::Finding& f) {
  auto field = [&](const char* key) {
    auto it = f.fields.find(key);
    return it == f.fields.end() ? std::string("-") : it->second;
  };
  std::string version = field("extra.version");
  std::replace_if(version.begin(), version.end(), ::isdigit, 'N');
  return fmt::format("{} {} {}/{} severity={} app={} product={} version={} check={} tls={} note={}",
                     f.source_port, f.identifier, f.taxonomy, f.type, field("extra.severity"),
                     field("protocol.application"), field("extra.product"), version,
                     field("extra.check"), field("extra.tls_version"), field("extra.note"));
}

TEST_F(FleetTest, FindsWhatTheFleetRuns) {
  vuln::ScopeSettings settings;
  // Every port the fleet listens on but the trickling TLS server's (its own test has it), and a
  // closed one.
  std::vector<int> ports = {1};
  for (int port : kFleetTcpPorts) {
    if (port != kTricklingTls) ports.push_back(port);
  }
  auto report = Scan(settings, {kTarget}, ports);
  EXPECT_EQ(report.in_scope, 1u);
  EXPECT_EQ(report.discovery.open, ports.size() - 1);
  EXPECT_EQ(report.discovery.closed, 1u);
  std::vector<std::string> lines;
  for (const auto& finding : report.findings) {
    lines.push_back(GoldenLine(finding));
    // Every finding is a valid harmonized line with its evidence.
    std::string json = finding::ToHarmonizedJson(finding);
    EXPECT_NE(json.find("\"feed.name\":\"bulwark-scan\""), std::string::npos) << json;
    EXPECT_LE(finding.evidence.size(), 4 * 1024u + 3);
  }
  std::sort(lines.begin(), lines.end(), [](const std::string& a, const std::string& b) {
    return std::make_pair(std::stoi(a), a) < std::make_pair(std::stoi(b), b);
  });
  std::string produced;
  for (const auto& line : lines) produced += line + "\n";
  testing_support::ExpectGolden(
      std::filesystem::path(BULWARK_SOURCE_DIR) / "tests/scan/golden/fleet.txt", produced);
  // The web page's title travels with the HTTP finding.
  auto web = std::find_if(report.findings.begin(), report.findings.end(),
                          [](const auto& f) { return f.identifier == "accessible-http"; });
  ASSERT_NE(web, report.findings.end());
  EXPECT_EQ(web->fields.at("extra.http_title"), "fleet");
  // The certificate's details travel with the finding.
  auto expired = std::find_if(report.findings.begin(), report.findings.end(),
                              [](const auto& f) { return f.identifier == "expired-certificate"; });
  ASSERT_NE(expired, report.findings.end());
  EXPECT_EQ(expired->fields.at("extra.certificate_subject"), "CN=expired.example");
  EXPECT_EQ(expired->fields.at("extra.certificate_self_signed"), "true");
  EXPECT_EQ(expired->fields.at("extra.certificate_dns_names"),
            "expired.example,www.expired.example");
  // Every TLS version and cipher each server accepts: the modern one TLS 1.2 and 1.3 with strong
  // ciphers only; the old one TLS 1.0 up, anonymous key exchange among its ciphers.
  auto tls_of = [&](int port) -> std::pair<std::string, std::string> {
    for (const auto& f : report.findings) {
      if (f.source_port == port && f.identifier == "accessible-http") {
        return {f.fields.at("extra.tls_versions"), f.fields.at("extra.tls_ciphers")};
      }
    }
    return {};
  };
  auto [modern_versions, modern_ciphers] = tls_of(8443);
  EXPECT_EQ(modern_versions, "TLSv1.2,TLSv1.3");
  EXPECT_NE(modern_ciphers.find("TLS_AES_256_GCM_SHA384"), std::string::npos) << modern_ciphers;
  EXPECT_EQ(modern_ciphers.find("ADH-"), std::string::npos) << modern_ciphers;
  auto [old_versions, old_ciphers] = tls_of(8444);
  EXPECT_EQ(old_versions, "TLSv1,TLSv1.1,TLSv1.2,TLSv1.3");
  EXPECT_NE(old_ciphers.find("ADH-"), std::string::npos) << old_ciphers;
}

// A TLS server that announces a large record and sends it a byte a second cannot hold a
// conversation past its overall limit (the handshake waits by poll on one deadline).
TEST_F(FleetTest, ATricklingTlsServerCannotHoldTheScanner) {
  ConverseLimits limits;
  limits.total = std::chrono::milliseconds(1500);
  limits.connect = std::chrono::milliseconds(1500);
  auto start = std::chrono::steady_clock::now();
  auto talk =
      InNetworkNamespace<Conversation>(lab_->Namespace("scn"), [&]() -> Result<Conversation> {
        return Converse({*event::IpAddress::Parse(kTarget), kTricklingTls}, {true, false, "GET /"},
                        limits);
      });
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(talk);
  EXPECT_TRUE(talk->connected);
  EXPECT_EQ(talk->error, "TLS handshake failed");
  EXPECT_LT(seconds, 3.0);  // the limit (1.5 s) and a margin, not the server's 16,384 seconds
}

// Discovery's three answers, by SYN and by connect: open (the fleet's sshd), closed (a reset),
// filtered (nftables drops the SYN in the target: tried again once after the timeout, then given
// up).
TEST_F(FleetTest, DiscoveryTellsOpenClosedAndFiltered) {
  ASSERT_TRUE(DropInTarget("tcp dport 7777 drop"));
  for (auto method : {DiscoveryMethod::kSyn, DiscoveryMethod::kConnect}) {
    DiscoverOptions options;
    options.method = method;
    options.timeout = std::chrono::milliseconds(300);
    options.retries = 1;
    DiscoverStats stats;
    auto open = Discover({22, 7777, 7778}, options, &stats);
    ASSERT_TRUE(open);
    EXPECT_EQ(stats.method, method == DiscoveryMethod::kSyn ? "syn" : "connect");
    ASSERT_EQ(open->size(), 1u);
    EXPECT_EQ((*open)[0].port, 22);
    EXPECT_EQ(stats.open, 1u);
    EXPECT_EQ(stats.closed, 1u);    // 7778: nobody listens, a reset
    EXPECT_EQ(stats.filtered, 1u);  // 7777: dropped
    EXPECT_EQ(stats.attempts, 4u);  // 22, 7778, and 7777 twice
    EXPECT_EQ(stats.unconfirmed, 0u);
    // Cancelled before it starts: nothing is tried.
    std::atomic<bool> cancel{true};
    options.cancel = &cancel;
    DiscoverStats none;
    EXPECT_TRUE(Discover({22}, options, &none)->empty());
    EXPECT_EQ(none.attempts, 0u);
  }
}

// nftables rules for sshd's port: drop the first SYN only; drop every SYN after the first.
constexpr const char* kDropFirstSyn =
    "tcp dport 22 tcp flags & (syn | ack) == syn limit rate 1/hour burst 1 packets drop";
constexpr const char* kDropLaterSyns =
    "tcp dport 22 tcp flags & (syn | ack) == syn limit rate over 1/hour burst 1 packets drop";

DiscoverOptions SynOnly() {
  DiscoverOptions options;
  options.method = DiscoveryMethod::kSyn;
  options.timeout = std::chrono::milliseconds(300);
  return options;
}

// SYN discovery's own retransmit: the target drops the first SYN to sshd's port, the second
// finds it open.
TEST_F(FleetTest, SynDiscoveryRetransmitsALostSyn) {
  ASSERT_TRUE(DropInTarget(kDropFirstSyn));
  DiscoverOptions options = SynOnly();
  DiscoverStats stats;
  auto open = Discover({22}, options, &stats);
  ASSERT_TRUE(open);
  EXPECT_EQ(stats.method, "syn");
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ(stats.attempts, 2u);
  // Without the retransmit the port is lost: that is what the retransmit is for.
  ASSERT_TRUE(DropInTarget(kDropFirstSyn));
  options.retries = 0;
  DiscoverStats once;
  EXPECT_TRUE(Discover({22}, options, &once)->empty());
  EXPECT_EQ(once.filtered, 1u);
}

// The confirmation pass: the target answers the first SYN to sshd's port and drops every later
// one, so the SYN-ACK is not confirmed by a connection and the port is not reported open.
TEST_F(FleetTest, SynDiscoveryConfirmsOpenPortsByConnecting) {
  ASSERT_TRUE(DropInTarget(kDropLaterSyns));
  DiscoverStats stats;
  auto open = Discover({22}, SynOnly(), &stats);
  ASSERT_TRUE(open);
  EXPECT_TRUE(open->empty());
  EXPECT_EQ(stats.unconfirmed, 1u);
  EXPECT_EQ(stats.open, 0u);
}

// Over UDP: the open and the closed resolver (unbound), SNMP with "public" (snmpd), memcached's
// UDP port; ports nobody listens on (NTP, SSDP) report nothing.
TEST_F(FleetTest, FindsWhatTheFleetRunsOverUdp) {
  vuln::ScopeSettings settings;
  settings.allow.push_back(*model::Prefix::Parse(kClosedResolver));
  auto report =
      Scan(settings, {kTarget, kClosedResolver}, {}, nullptr, {53, 123, 161, 1900, 11211});
  EXPECT_EQ(report.in_scope, 2u);
  std::vector<std::string> lines;
  for (const auto& finding : report.findings) {
    EXPECT_EQ(finding.transport, "udp");
    lines.push_back(finding.source_ip->ToString() + " " + GoldenLine(finding));
  }
  std::sort(lines.begin(), lines.end());
  std::string produced;
  for (const auto& line : lines) produced += line + "\n";
  testing_support::ExpectGolden(
      std::filesystem::path(BULWARK_SOURCE_DIR) / "tests/scan/golden/fleet-udp.txt", produced);
}

// Debian 12's OpenSSH names its package in its banner. With Debian's data (OSV, Debian:12) it is
// not flagged for the upstream CVEs its package revision fixes; with NVD's ranges alone, its
// upstream version 9.2p1 is, marked unconfirmed.
TEST_F(FleetTest, ProductsMatchTheVulnerabilityDatabase) {
  auto open = [&](const std::string& name, std::vector<std::string> files) {
    auto db = vuln::VulnDb::Open(*dir_ + "/" + name);
    EXPECT_TRUE(db);
    for (const auto& file : files) {
      std::string path = std::string(BULWARK_SOURCE_DIR) + "/tests/vuln/data/" + file;
      EXPECT_TRUE((*db)->Import(testing_support::ReadAll(path), file));
    }
    return std::move(*db);
  };
  auto with_debian = open("debian.sqlite", {"nvd-openssh.json", "osv-debian12-openssh.json"});
  auto nvd_only = open("nvd.sqlite", {"nvd-openssh.json", "kev-sample.json"});
  vuln::ScopeSettings settings;
  auto report = Scan(settings, {kTarget}, {22}, with_debian.get());
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_EQ(report.findings[0].identifier, "open-ssh");
  EXPECT_NE(report.findings[0].fields.at("extra.info").find("+deb12u"), std::string::npos);

  report = Scan(settings, {kTarget}, {22}, nvd_only.get());
  std::vector<std::string> cves;
  for (const auto& f : report.findings) {
    if (f.cves.empty()) continue;
    cves.push_back(f.identifier);
    EXPECT_EQ(f.fields.at("extra.confirmed"), "false");
    EXPECT_EQ(f.confidence, 0.7);
    EXPECT_TRUE(f.cvss_score.has_value());
    EXPECT_EQ(f.fields.at("extra.package").substr(0, 19), "Debian:12 openssh 1");
  }
  EXPECT_EQ(cves, (std::vector<std::string>{"CVE-2023-38408", "CVE-2024-6387"}));
  EXPECT_EQ(report.findings[1].fields.at("extra.known_exploited"), "true");
}

// Counts packets that reach the outside host from the scanner, and ARP requests for the outside
// host's address (a scanner would ask for it before its first packet), with nftables in the
// outside host's namespace.
class PacketCounter {
 public:
  PacketCounter(const Lab& lab, const std::string& dir) : lab_(lab) {
    std::string rules = dir + "/count.nft";
    std::ofstream(rules) << "table ip bwlcount {\n  chain c {\n    type filter hook prerouting "
                            "priority -300;\n    ip saddr 10.77.0.5 counter\n  }\n}\n"
                            "table arp bwlcount {\n  chain c {\n    type filter hook input "
                            "priority 0;\n    arp daddr ip 10.77.0.30 counter\n  }\n}\n";
    ok_ = lab_.Ok("out", "nft -f " + rules);
  }
  bool ok() const { return ok_; }
  // Packets counted so far.
  long Packets() const {
    std::string command = lab_.In("out", "nft list ruleset");
    FILE* pipe = popen(command.c_str(), "r");
    std::string text;
    char buffer[4096];
    while (pipe && fgets(buffer, sizeof buffer, pipe)) text += buffer;
    if (pipe) pclose(pipe);
    long total = 0;
    for (size_t at = text.find("packets "); at != std::string::npos;
         at = text.find("packets ", at + 8)) {
      total += std::stol(text.substr(at + 8));
    }
    return total;
  }

 private:
  const Lab& lab_;
  bool ok_ = false;
};

// A scan asked for an address the scope refuses sends not a single packet there, and says why;
// the same scan with the address on the allow-list does reach it (the counter works).
TEST_F(FleetTest, OutOfScopeAddressesReceiveNothing) {
  PacketCounter counter(*lab_, *dir_);
  ASSERT_TRUE(counter.ok());
  ASSERT_TRUE(lab_->Ok("scn", "ip neigh flush all"));
  vuln::ScopeSettings settings;
  auto report = Scan(settings, {kTarget, kOutside, "10.77.0.99"}, {22, 80, 6379});
  EXPECT_EQ(report.in_scope, 1u);
  ASSERT_EQ(report.refused.size(), 2u);
  EXPECT_EQ(report.refused[0].reason,
            "10.77.0.30 belongs to system out, which is not internet-facing");
  EXPECT_NE(report.refused[1].reason.find("nobody held 10.77.0.99"), std::string::npos);
  EXPECT_EQ(report.discovery.attempts, 3u);  // the target's three ports, nothing else
  EXPECT_EQ(counter.Packets(), 0);

  settings.allow.push_back(*model::Prefix::Parse(kOutside));
  report = Scan(settings, {kOutside}, {22});
  EXPECT_EQ(report.in_scope, 1u);
  EXPECT_GT(counter.Packets(), 0);
  // An opted-out customer's system is refused even on the allow-list.
  settings.opted_out.insert("acme");
  report = Scan(settings, {kOutside}, {22});
  EXPECT_EQ(report.in_scope, 0u);
  EXPECT_NE(report.refused[0].reason.find("opted out"), std::string::npos);
  lab_->Ok("out", "nft delete table ip bwlcount");
  lab_->Ok("out", "nft delete table arp bwlcount");
}

// The command line: bulwark scan from the scanner's namespace prints harmonized findings; a
// target outside the scope is refused on stderr with exit code 1.
TEST_F(FleetTest, CommandLine) {
  std::string data = *dir_ + "/data";
  std::string out = *dir_ + "/scan.jsonl", err = *dir_ + "/scan.err";
  std::string command = lab_->In("scn", std::string(BULWARK_BINARY) + " scan --data-dir " + data +
                                            " --allow " + kTarget + " --ports 6379,6380 " +
                                            kTarget + " " + kOutside + " > " + out + " 2> " + err);
  int status = std::system(command.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::string findings = testing_support::ReadAll(out);
  EXPECT_NE(findings.find("\"classification.identifier\":\"open-redis\""), std::string::npos)
      << findings;
  EXPECT_NE(findings.find("\"source.port\":6380"), std::string::npos) << findings;
  std::string errors = testing_support::ReadAll(err);
  EXPECT_NE(errors.find("refused: nobody held 10.77.0.30"), std::string::npos) << errors;
  EXPECT_NE(errors.find("1 addresses in scope, 1 refused"), std::string::npos) << errors;
  // As root, by SYN (auto).
  EXPECT_NE(errors.find("2 syn probes on 2 ports: 2 open"), std::string::npos) << errors;
}

// Without raw sockets (a user who is not root) the scanner connect-scans, and --discovery syn is
// refused with the reason.
TEST_F(FleetTest, WithoutRawSocketsTheScannerConnects) {
  const std::string data = *dir_ + "/nobody";
  ASSERT_TRUE(Lab::Sh("mkdir -p " + data + " && chown 65534:65534 " + data));
  auto run = [&](const std::string& args) {
    std::string command =
        lab_->In("scn", "setpriv --reuid=65534 --regid=65534 --clear-groups " +
                            std::string(BULWARK_BINARY) + " scan --data-dir " + data + " --allow " +
                            kTarget + " " + kTarget + " --ports 6379 --udp-ports none " + args +
                            " > " + data + "/out 2> " + data + "/err");
    int status = std::system(command.c_str());
    return std::make_tuple(WEXITSTATUS(status), testing_support::ReadAll(data + "/out"),
                           testing_support::ReadAll(data + "/err"));
  };
  auto [status, findings, errors] = run("");
  EXPECT_EQ(status, 0) << errors;
  EXPECT_NE(errors.find("1 connect probes on 1 ports: 1 open"), std::string::npos) << errors;
  EXPECT_NE(findings.find(R"("classification.identifier":"open-redis")"), std::string::npos)
      << findings;
  auto [refused, nothing, why] = run("--discovery syn");
  EXPECT_EQ(refused, 2);
  EXPECT_NE(why.find("--discovery syn needs raw sockets (root or CAP_NET_RAW)"), std::string::npos)
      << why;
  EXPECT_EQ(nothing, "");
}

// Verification by re-scan, end to end with the command line: scan results submitted to the store
// open incidents; in verifying, the re-scan resolves the one whose service is gone (a Redis this
// test stops) and sends the one whose service still answers (memcached) back to awaiting_fix.
TEST_F(FleetTest, ReScansResolveOrSendBack) {
  const std::string d = *dir_ + "/verify";
  ASSERT_TRUE(Lab::Sh("mkdir -p " + d));
  ASSERT_TRUE(lab_->Ok("tgt", "ip addr add 10.77.0.21/24 dev eth0"));
  std::ofstream(d + "/inventory.yml")
      << "customers:\n  - {id: acme, contacts: [{email: security@acme.example, role: "
         "security}]}\nprojects:\n  - {id: p1, customer: acme}\nsystems:\n"
         "  - {id: s1, project: p1, internet_exposed: true, interfaces: [{mac: "
         "'fa:16:3e:00:00:01', addresses: [{ip: 10.77.0.20}]}]}\n"
         "  - {id: s2, project: p1, internet_exposed: true, interfaces: [{mac: "
         "'fa:16:3e:00:00:02', addresses: [{ip: 10.77.0.21}]}]}\n";
  auto redis = std::make_unique<ChildProcess>(
      lab_->Argv("tgt", {"/usr/bin/redis-server", "--port", "6390", "--bind", "10.77.0.21",
                         "--protected-mode", "no", "--save", "", "--dir", d}),
      d + "/redis.log");
  for (int i = 0; i < 100 && !lab_->Connects("scn", "10.77.0.21", 6390); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto run = [&](const std::string& args) {
    std::string command =
        lab_->In("scn", std::string(BULWARK_BINARY) + " " + args + " --data-dir " + d + "/data > " +
                            d + "/out 2> " + d + "/err");
    int status = std::system(command.c_str());
    return std::make_pair(WEXITSTATUS(status), testing_support::ReadAll(d + "/out"));
  };
  ASSERT_EQ(run("inventory import " + d + "/inventory.yml").first, 0);
  auto scanned = run("scan s1 s2 --ports 11211,6390 --submit");
  ASSERT_EQ(scanned.first, 0) << testing_support::ReadAll(d + "/err");
  // Incidents: 1 s1 vulnerable (open-memcached), 2 s1 other, 3 s2 vulnerable (open-redis), 4 s2
  // other; in whatever order they were taken. All go to verifying.
  for (int id = 1; id <= 4; ++id) {
    for (const char* state : {"awaiting_fix", "verifying"}) {
      ASSERT_EQ(
          run(fmt::format("incidents transition {} {} --actor customer --reason fixed", id, state))
              .first,
          0)
          << testing_support::ReadAll(d + "/err");
    }
  }
  redis.reset();  // the fix of s2
  auto verified = run("scan --verify");
  ASSERT_EQ(verified.first, 0) << testing_support::ReadAll(d + "/err");
  const std::string& lines = verified.second;
  EXPECT_NE(lines.find(R"("outcome":"resolved","reason":"re-scan at )"), std::string::npos)
      << lines;
  EXPECT_NE(lines.find("no longer found: open-redis on 10.77.0.21:6390"), std::string::npos)
      << lines;
  EXPECT_NE(lines.find("no longer found: accessible-redis on 10.77.0.21:6390"), std::string::npos)
      << lines;
  EXPECT_NE(lines.find(R"("outcome":"awaiting_fix")"), std::string::npos) << lines;
  EXPECT_NE(lines.find("still found: open-memcached on 10.77.0.20:11211"), std::string::npos)
      << lines;
  // Nothing is left to verify; the incidents' history has the scanner's moves.
  EXPECT_EQ(run("scan --verify").second, "");
  std::string histories;
  for (int id = 1; id <= 4; ++id) histories += run(fmt::format("incidents show {}", id)).second;
  EXPECT_NE(histories.find("system:scanner"), std::string::npos) << histories;
  EXPECT_NE(histories.find("no longer found: open-redis"), std::string::npos) << histories;
  lab_->Ok("tgt", "ip addr del 10.77.0.21/24 dev eth0");
}

// Reactive scans on new CVEs, with the command line: a scan remembers the fleet's OpenSSH; an
// import of NVD data with a CVE for its upstream version says how many services last seen are
// exposed, and `scan --exposed-to` re-scans those (sshd's port only, not memcached's). With
// Debian's data, whose fix the fleet's build carries, nothing is exposed any more.
TEST_F(FleetTest, NewCvesReScanTheServicesLastSeenExposed) {
  const std::string d = *dir_ + "/reactive";
  ASSERT_TRUE(Lab::Sh("mkdir -p " + d));
  auto run = [&](const std::string& args) {
    std::string command =
        lab_->In("scn", std::string(BULWARK_BINARY) + " " + args + " --data-dir " + d + "/data > " +
                            d + "/out 2> " + d + "/err");
    int status = std::system(command.c_str());
    return std::make_tuple(WEXITSTATUS(status), testing_support::ReadAll(d + "/out"),
                           testing_support::ReadAll(d + "/err"));
  };
  const std::string allow = std::string(" --allow ") + kTarget;
  auto [scanned, findings, summary] =
      run(std::string("scan ") + kTarget + allow + " --ports 22,11211 --udp-ports none");
  ASSERT_EQ(scanned, 0) << summary;
  EXPECT_EQ(findings.find("CVE-"), std::string::npos) << findings;  // no data yet
  EXPECT_NE(std::get<1>(run("vulndb status")).find("\"sightings\":2"), std::string::npos);
  const std::string samples = std::string(BULWARK_SOURCE_DIR) + "/tests/vuln/data/";
  auto [imported, said, problems] = run("vulndb import " + samples + "nvd-openssh.json");
  ASSERT_EQ(imported, 0) << problems;
  EXPECT_NE(said.find("3 CVE entries are new; 1 services last seen are exposed to them"),
            std::string::npos)
      << said;
  EXPECT_NE(said.find("re-scan them: bulwark scan --exposed-to CVE-2023-38408,"), std::string::npos)
      << said;
  auto [rescanned, cves, told] = run("scan --exposed-to CVE-2024-6387" + allow);
  ASSERT_EQ(rescanned, 0) << told;
  EXPECT_NE(told.find("1 services last seen are exposed to CVE-2024-6387"), std::string::npos)
      << told;
  EXPECT_NE(cves.find(R"("classification.identifier":"CVE-2024-6387")"), std::string::npos) << cves;
  EXPECT_EQ(cves.find("\"source.port\":11211"), std::string::npos) << cves;
  // Debian's data: the fleet's build has the fix, so nothing is exposed.
  auto [debian, debian_said, debian_problems] =
      run("vulndb import " + samples + "osv-debian12-openssh.json");
  ASSERT_EQ(debian, 0) << debian_problems;
  EXPECT_NE(debian_said.find("services last seen are exposed"), std::string::npos);
  auto [none, nothing, none_told] = run("scan --exposed-to CVE-2024-6387" + allow);
  EXPECT_EQ(none, 0) << none_told;
  EXPECT_NE(none_told.find("0 services last seen are exposed"), std::string::npos) << none_told;
  EXPECT_EQ(nothing, "");
}

// A reactive scan after an abuse report: a Shadowserver row names the fleet's address and
// memcached's port (as a telnet service); serve, which has no schedule, scans that endpoint and
// takes what it finds (open-memcached) onto the same customer's incidents.
TEST_F(FleetTest, ServeScansWhatAReportNames) {
  const std::string d = *dir_ + "/report-scan";
  config::Config config = ServeConfig("report-scan");
  config.scan.verify_interval = 0;
  config.scan.udp_ports = "none";
  config.reports.shadowserver_schema =
      std::string(BULWARK_SHARED_DIR) + "/abuse/report_schema/intelmq.json";
  std::string token;
  {
    auto store = store::OpenSqliteStore(config.data_dir);
    ASSERT_TRUE(store);
    auto made = server::CreateToken(**store, model::Role::kAnalyst, "", "fleet", 0);
    ASSERT_TRUE(made);
    token = *made;
  }
  auto service = StartServe(config);
  ASSERT_TRUE(service) << service.error().ToString();
  std::ofstream(d + "/report.csv")
      << "\"timestamp\",\"ip\",\"protocol\",\"port\",\"hostname\",\"tag\",\"asn\",\"geo\","
         "\"region\",\"city\",\"naics\",\"sic\",\"banner\"\n"
         "\"2026-12-01 10:00:00\",\""
      << kTarget << "\",\"tcp\",11211,\"\",\"telnet\",64512,\"ZZ\",\"\",\"\",0,0,\"hello\"\n";
  std::string post = lab_->In(
      "scn", fmt::format("curl -s -o {}/posted -H 'Authorization: Bearer {}' -H 'Content-Type: "
                         "text/csv' --data-binary @{}/report.csv "
                         "http://127.0.0.1:{}/api/v1/reports?type=scan_telnet",
                         d, token, d, (*service)->port()));
  ASSERT_EQ(std::system(post.c_str()), 0) << post;
  std::string posted = testing_support::ReadAll(d + "/posted");
  ASSERT_NE(posted.find("\"opened\":1"), std::string::npos) << posted;
  auto scanned = [&] {
    auto store = store::OpenSqliteStore(config.data_dir, store::OpenMode::kReadOnly);
    if (!store) return false;
    auto incidents = (*store)->ListIncidents({});
    if (!incidents) return false;
    for (const auto& incident : *incidents) {
      auto findings = (*store)->FindingsOfIncident(incident.id);
      if (!findings) return false;
      for (const auto& f : *findings) {
        if (f.document.find(R"("classification.identifier":"open-memcached")") !=
            std::string::npos) {
          return true;
        }
      }
    }
    return false;
  };
  bool found = false;
  for (int i = 0; i < 100 && !found; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    found = scanned();
  }
  EXPECT_TRUE(found) << "serve did not scan the endpoint the report named";
  (*service)->Stop();
}

// serve scans on its schedule from the scanner's namespace: the fleet's memcached becomes an
// incident; a customer's "fixed" (verifying) is checked by serve's re-scan, which finds memcached
// still open and sends the incident back to awaiting_fix.
TEST_F(FleetTest, ServeScansOnScheduleAndVerifies) {
  config::Config config = ServeConfig("serve");
  config.scan.schedules = {{"fleet", {"tgt"}, "11211", "none", 3600 * kNsPerSecond}};
  config.scan.verify_interval = kNsPerSecond;
  auto service = StartServe(config);
  ASSERT_TRUE(service) << service.error().ToString();
  auto vulnerable = [&]() -> std::optional<model::Incident> {
    auto store = store::OpenSqliteStore(config.data_dir, store::OpenMode::kReadOnly);
    if (!store) return std::nullopt;
    auto incidents = (*store)->ListIncidents({});
    if (!incidents) return std::nullopt;
    for (const auto& incident : *incidents) {
      if (incident.kind == "vulnerable/vulnerable-system") return incident;
    }
    return std::nullopt;
  };
  std::optional<model::Incident> incident;
  for (int i = 0; i < 100 && !incident; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    incident = vulnerable();
  }
  ASSERT_TRUE(incident) << "serve's scheduled scan opened no incident";
  for (const char* state : {"awaiting_fix", "verifying"}) {
    std::string command = fmt::format(
        "{} incidents transition --data-dir {} {} {} --actor customer --reason fixed > /dev/null",
        BULWARK_BINARY, config.data_dir, incident->id, state);
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  bool sent_back = false;
  for (int i = 0; i < 100 && !sent_back; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto now = vulnerable();
    sent_back = now && now->state == model::IncidentState::kAwaitingFix;
  }
  EXPECT_TRUE(sent_back) << "serve did not re-scan the verifying incident";
  (*service)->Stop();
}

}  // namespace
}  // namespace bulwark::scan
