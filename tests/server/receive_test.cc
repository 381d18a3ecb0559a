// The service's network receivers: syslog over TCP and UDP goes through each receiver's durable
// queue into detection and becomes incidents; the counts show in /metrics; a restart resumes
// behind what was processed (the position stored with the findings).

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "../support/attack_lines.h"
#include "../support/files.h"
#include "../support/incidents.h"
#include "../support/net.h"
#include "../support/rsyslog.h"
#include "../support/sample_inventory.h"
#include "bulwark/data/builtin_env.h"
#include "bulwark/flow/flow.h"
#include "bulwark/forensics/flow_archive.h"
#include "bulwark/inventory/import.h"
#include "bulwark/server/service.h"

namespace bulwark {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return to;
}

void SendTcp(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to = Loopback(port);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fd);
}

void SendUdpLines(int port, const std::string& lines) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to = Loopback(port);
  std::istringstream in(lines);
  for (std::string line; std::getline(in, line);) {
    sendto(fd, line.data(), line.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  close(fd);
}

// The body of GET `path` on 127.0.0.1:`port` (HTTP/1.0).
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to = Loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return "";
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (write(fd, request.data(), request.size()) < 0) return "";
  std::string response;
  char buffer[4096];
  ssize_t got;
  while ((got = read(fd, buffer, sizeof buffer)) > 0) response.append(buffer, got);
  close(fd);
  size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

class ReceiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::TestDataDir("bulwark-receive");
    data_ = (dir_ / "data").string();
    ASSERT_TRUE(testing_support::SampleStore(data_));
    config_.data_dir = data_;
    config_.listen = "127.0.0.1:0";
    config_.mail.print = (dir_ / "mails.txt").string();
    config::Receiver tcp;
    tcp.name = "tcp";
    tcp.protocol = "tcp";
    tcp.listen = "127.0.0.1:0";
    config::Receiver udp = tcp;
    udp.name = "udp";
    udp.protocol = "udp";
    config_.receivers = {tcp, udp};
  }
  void TearDown() override { testing_support::RemoveTree(dir_); }

  // Incidents of `customer`, polled for up to 5 s until there are some.
  size_t IncidentsOf(const std::string& customer) {
    return testing_support::AwaitIncidentsOf(data_, customer);
  }

  // The open incidents' (customer, system, kind), polled for up to 5 s until there are `count`.
  std::set<std::tuple<std::string, std::string, std::string>> Incidents(size_t count) {
    std::set<std::tuple<std::string, std::string, std::string>> out;
    auto store = store::OpenSqliteStore(data_, store::OpenMode::kReadOnly);
    if (!store) return out;
    for (int i = 0; i < 50 && out.size() < count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto list = (*store)->ListIncidents({});
      if (!list) continue;
      out.clear();
      for (const auto& incident : *list) {
        out.emplace(incident.customer_id, incident.system_id, incident.kind);
      }
    }
    return out;
  }

  std::filesystem::path dir_;
  std::string data_;
  config::Config config_;
};

TEST_F(ReceiveTest, SyslogOverTcpAndUdpBecomesIncidents) {
  auto service = server::Service::Start(config_, "", data::BuiltinEnv::Default());
  ASSERT_TRUE(service) << service.error().ToString();
  int tcp = (*service)->receiver_port("tcp"), udp = (*service)->receiver_port("udp");
  ASSERT_GT(tcp, 0);
  ASSERT_GT(udp, 0);
  EXPECT_EQ((*service)->receiver_port("none"), 0);
  // Globex's compromised shop brute-forces web1, logged over TCP; Initech's system over UDP.
  SendTcp(tcp, testing_support::SshBruteForce("198.51.100.23", 12));
  SendUdpLines(udp, testing_support::SshBruteForce("192.0.2.10", 12));
  EXPECT_EQ(IncidentsOf("c-globex"), 1u);
  EXPECT_EQ(IncidentsOf("c-initech"), 1u);
  std::string metrics = HttpGet((*service)->port(), "/metrics");
  EXPECT_NE(
      metrics.find("bulwark_receiver_messages_total{receiver=\"tcp\",result=\"processed\"} 12"),
      std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("bulwark_receiver_messages_total{receiver=\"udp\",result=\"queued\"} 12"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("bulwark_sender_events_total{sender=\"127.0.0.1\",event=\"messages\"} 24"),
            std::string::npos)
      << metrics;
  (*service)->Stop();
  // Processed and marked: a restart takes nothing again (the findings stay as they were).
  auto store = store::OpenSqliteStore(data_, store::OpenMode::kReadOnly);
  ASSERT_TRUE(store);
  auto position = (*store)->Position("receiver:tcp");
  ASSERT_TRUE(position);
  ASSERT_TRUE(*position);
  EXPECT_EQ(**position, 12u);
}

// A real rsyslogd forwarding with omrelp to the service's RELP receiver.
TEST_F(ReceiveTest, RsyslogOverRelpBecomesIncidents) {
  if (!testing_support::RsyslogSender::Available() ||
      !std::filesystem::exists("/usr/lib/x86_64-linux-gnu/rsyslog/omrelp.so")) {
    GTEST_SKIP() << "no rsyslogd with omrelp";
  }
  config::Receiver relp;
  relp.name = "relp";
  relp.protocol = "relp";
  relp.listen = "127.0.0.1:" + std::to_string(testing_support::FreePort());
  config_.receivers = {relp};
  auto service = server::Service::Start(config_, "", data::BuiltinEnv::Default());
  ASSERT_TRUE(service) << service.error().ToString();
  int port = (*service)->receiver_port("relp");
  testing_support::RsyslogSender rsyslog(dir_ / "rsyslog", "module(load=\"omrelp\")",
                                         "action(type=\"omrelp\" target=\"127.0.0.1\" port=\"" +
                                             std::to_string(port) +
                                             "\" template=\"RSYSLOG_SyslogProtocol23Format\")");
  SendUdpLines(rsyslog.input_port(), testing_support::SshBruteForce("198.51.100.23", 12));
  EXPECT_EQ(IncidentsOf("c-globex"), 1u) << rsyslog.output();
  std::string metrics = HttpGet((*service)->port(), "/metrics");
  EXPECT_NE(
      metrics.find("bulwark_receiver_messages_total{receiver=\"relp\",result=\"processed\"} 12"),
      std::string::npos)
      << metrics;
  rsyslog.Stop();
  (*service)->Stop();
}

// Who is affected: a web shell answered in a system's own log is about that system (the
// receiver's sender resolved through the inventory, or the system a followed file declares),
// whoever the attacker was; a brute force is about its source.
TEST_F(ReceiveTest, EachFindingIsAboutTheAffectedSystem) {
  {
    // ACME's log host sends from 127.0.0.1.
    auto store = store::OpenSqliteStore(data_);
    ASSERT_TRUE(store);
    auto parsed = inventory::ParseInventory(R"(systems:
  - id: s-loghost
    project: p-acme-prod
    name: loghost
    interfaces: [{mac: "fa:16:3e:00:00:99", addresses: [{ip: 127.0.0.1}]}]
)",
                                            "extra.yml", inventory::FileFormat::kYaml);
    ASSERT_TRUE(parsed) << parsed.error().ToString();
    ASSERT_TRUE(inventory::Import(**store, std::move(*parsed)));
  }
  std::string shop_log = (dir_ / "shop-access.log").string();
  std::ofstream(shop_log) << "";
  config_.inputs = {{shop_log, "syslog", "s-shop"}};
  config_.receivers.resize(1);
  auto service = server::Service::Start(config_, "", data::BuiltinEnv::Default());
  ASSERT_TRUE(service) << service.error().ToString();
  // The attacker 192.0.2.200 belongs to nobody.
  std::string web_shell =
      "<13>1 2026-11-26T10:00:00Z web1 nginx - - - 192.0.2.200 - - [26/Nov/2026:10:00:00 +0000] "
      "\"GET /uploads/c99.php?cmd=id HTTP/1.1\" 200 512 \"-\" \"curl/8.0\"\n";
  SendTcp((*service)->receiver_port("tcp"), web_shell);
  std::ofstream(shop_log, std::ios::app) << web_shell;
  // Initech's system brute-forces ACME's log host.
  SendTcp((*service)->receiver_port("tcp"), testing_support::SshBruteForce("192.0.2.10", 12));
  auto incidents = Incidents(3);
  (*service)->Stop();
  EXPECT_EQ(incidents, (std::set<std::tuple<std::string, std::string, std::string>>{
                           {"c-acme", "s-loghost", "intrusions/application-compromise"},
                           {"c-globex", "s-shop", "intrusions/application-compromise"},
                           {"c-initech", "s-legacy", "intrusion-attempts/brute-force"}}));
}

// Flow exports from a router: softflowd's real NetFlow v9 datagrams of nmap's scans and hping3's
// flood, sent again to a netflow receiver. The scanning system is a customer's, so its customer
// gets the incidents (about the source).
TEST_F(ReceiveTest, FlowExportsBecomeIncidentsAboutTheScanner) {
  {
    auto store = store::OpenSqliteStore(data_);
    ASSERT_TRUE(store);
    auto parsed = inventory::ParseInventory(R"(systems:
  - id: s-scanner
    project: p-initech
    interfaces: [{mac: "fa:16:3e:00:00:98", addresses: [{ip: 10.213.7.1}]}]
)",
                                            "extra.yml", inventory::FileFormat::kYaml);
    ASSERT_TRUE(parsed) << parsed.error().ToString();
    ASSERT_TRUE(inventory::Import(**store, std::move(*parsed)));
  }
  config::Receiver netflow;
  netflow.name = "netflow";
  netflow.protocol = "netflow";
  netflow.listen = "127.0.0.1:0";
  netflow.format = "jsonl";
  config_.receivers = {netflow};
  auto service = server::Service::Start(config_, "", data::BuiltinEnv::Default());
  ASSERT_TRUE(service) << service.error().ToString();
  int port = (*service)->receiver_port("netflow");
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to = Loopback(port);
  size_t sent = 0;
  auto read =
      flow::ForEachUdpDatagram(std::string(BULWARK_SHARED_DIR) + "/perimeter/softflowd-nfv9.pcap",
                               [&](const flow::Datagram& d) {
                                 sendto(fd, d.payload.data(), d.payload.size(), 0,
                                        reinterpret_cast<sockaddr*>(&to), sizeof to);
                                 ++sent;
                                 std::this_thread::sleep_for(std::chrono::milliseconds(1));
                               });
  close(fd);
  ASSERT_TRUE(read);
  ASSERT_EQ(sent, 41u);
  std::string metrics;
  for (int i = 0; i < 50; ++i) {
    metrics = HttpGet((*service)->port(), "/metrics");
    if (metrics.find("receiver=\"netflow\",result=\"processed\"} 1286") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(metrics.find("receiver=\"netflow\",result=\"processed\"} 1286"), std::string::npos)
      << metrics;
  auto incidents = Incidents(2);
  (*service)->Stop();
  std::set<std::string> kinds;
  for (const auto& [customer, system, kind] : incidents) {
    EXPECT_EQ(customer, "c-initech");
    EXPECT_EQ(system, "s-scanner");
    kinds.insert(kind);
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"information-gathering/scanner", "availability/ddos"}));
  // The records are kept for forensic windows (flow_retention): the scanner's are all there.
  forensics::FlowArchive archive(data_ + "/flows", 7 * 86400 * kNsPerSecond);
  auto window = archive.Window({*event::IpAddress::Parse("10.213.7.1")}, 0, INT64_MAX);
  ASSERT_TRUE(window) << window.error().ToString();
  EXPECT_EQ(std::count(window->begin(), window->end(), '\n'), 1286);
  auto none = archive.Window({*event::IpAddress::Parse("192.0.2.99")}, 0, INT64_MAX);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

// The store failing for a while (here: locked by another writer for longer than its busy
// timeout) delays a receiver's findings; it loses none and writes none twice.
TEST_F(ReceiveTest, AFailingStoreDelaysFindingsAndLosesNone) {
  std::ofstream(dir_ / "probe.yml") << R"(title: Probe
id: 5a0c3f0e-1111-4c5e-9a66-000000000002
logsource: {product: bulwark-test}
detection:
  sel:
    message|contains: store-probe
  condition: sel
level: high
tags: [attack.reconnaissance, attack.t1595]
)";
  config_.rules = {(dir_ / "probe.yml").string()};
  config_.receivers.resize(1);
  config_.receivers[0].format = "jsonl";
  auto service = server::Service::Start(config_, "", data::BuiltinEnv::Default());
  ASSERT_TRUE(service) << service.error().ToString();
  sqlite3* lock = nullptr;
  ASSERT_EQ(sqlite3_open((data_ + "/bulwark.db").c_str(), &lock), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(lock, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  constexpr int kMessages = 3000;
  std::string stream;
  for (int i = 0; i < kMessages; ++i) {
    stream += R"({"message":"store-probe","source.ip":"10.77.)" + std::to_string(i / 256) + "." +
              std::to_string(i % 256) + "\"}\n";
  }
  SendTcp((*service)->receiver_port("tcp"), stream);
  // Longer than the store's busy timeout (5 s): at least one write fails.
  std::this_thread::sleep_for(std::chrono::seconds(7));
  std::string locked = HttpGet((*service)->port(), "/metrics");
  EXPECT_NE(locked.find("receiver=\"tcp\",result=\"processed\"} 0"), std::string::npos) << locked;
  sqlite3_exec(lock, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(lock);
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = HttpGet((*service)->port(), "/metrics");
    if (metrics.find("result=\"processed\"} 3000") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  (*service)->Stop();
  EXPECT_NE(metrics.find("receiver=\"tcp\",result=\"processed\"} 3000"), std::string::npos)
      << metrics;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((data_ + "/bulwark.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
            SQLITE_OK);
  sqlite3_stmt* count = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT COUNT(*), COUNT(DISTINCT json_extract(document, "
                               "'$.\"source.ip\"')) FROM findings",
                               -1, &count, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(count, 0), kMessages);
  EXPECT_EQ(sqlite3_column_int64(count, 1), kMessages);
  sqlite3_finalize(count);
  sqlite3_close(db);
}

TEST_F(ReceiveTest, BadReceiverConfigurationStopsTheStart) {
  config_.receivers[1].listen = "127.0.0.1:notaport";
  auto service = server::Service::Start(config_, "", data::BuiltinEnv::Default());
  ASSERT_FALSE(service);
  EXPECT_NE(service.error().ToString().find("bad port"), std::string::npos)
      << service.error().ToString();
}

}  // namespace
}  // namespace bulwark
