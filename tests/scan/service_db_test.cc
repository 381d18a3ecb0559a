// The service database: the built-in one parses and agrees with Shadowserver's published report
// schema and severities (../shared/abuse/report_schema); its patterns name real services from
// their real first bytes; a broken database is refused with file:line. Ports, targets and the
// certificate reader.

#include "bulwark/scan/service_db.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <re2/re2.h>

#include <fstream>
#include <map>
#include <regex>

#include "../support/certificates.h"
#include "../support/files.h"
#include "bulwark/scan/certificate.h"
#include "bulwark/scan/targets.h"

namespace bulwark::scan {
namespace {

const Probe& ProbeNamed(const std::string& name) {
  for (const auto& probe : ServiceDb::Builtin().probes()) {
    if (probe.name == name) return probe;
  }
  throw std::runtime_error("no probe " + name);
}

// Shadowserver's report schema names the same identifier, taxonomy and type for every report
// the database cites, and severity.md, where it rates the report, the same severity.
// Bytes from hex digits (spaces ignored): recorded binary answers.
std::string FromHex(std::string_view hex) {
  std::string out;
  std::string digits;
  for (char c : hex) {
    if (c == ' ') continue;
    digits.push_back(c);
    if (digits.size() == 2) {
      out.push_back(static_cast<char>(std::stoi(digits, nullptr, 16)));
      digits.clear();
    }
  }
  return out;
}

// Answers of real servers, recorded from the Debian 12 packages in the fleet (Samba 4.17, xrdp
// 0.9.21), and answers written from the protocols' specifications where no server of the kind
// runs here (MongoDB's OP_REPLY, NTP's mode 7).
const std::string kSambaSmb2 = FromHex(
    "000000cafe534d4240000000000000000000010001000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000410001");
const std::string kSambaRefusesSmb1 =
    FromHex("00000025ff534d4272000000008803400000000000000000000000000000fffe0000000001ffff0000");
const std::string kSambaAcceptsSmb1 = FromHex(
    "00000067ff534d4272000000008803400000000000000000000000000000fffe00000000110000033200010004410"
    "000");
const std::string kXrdpSelectsTls = FromHex("030000130ed000001234000201080001000000");
const std::string kXrdpSelectsRdp = FromHex("030000130ed000001234000201080000000000");
// MS-RDPBCGR 2.2.1.2.2: RDP_NEG_FAILURE, HYBRID_REQUIRED_BY_SERVER.
const std::string kRdpRequiresNla = FromHex("030000130ed000000000000300080005000000");
const std::string kMongoIsMaster = FromHex(
    "540000000100000077420000010000000800000000000000000000000000000001000000300000000869736d617374"
    "65720001106d61785769726556657273696f6e0011000000016f6b00000000000000f03f00");
const std::string kMongoDatabases = FromHex(
    "8c0000000100000078420000010000000800000000000000000000000000000001000000680000000464617461626"
    "1736573003900000003300031000000026e616d65000600000061646d696e000173697a654f6e4469736b000000000"
    "00000e44008656d7074790000000001746f74616c53697a6500000000000000e440016f6b00000000000000f03f0"
    "0");
const std::string kMongoUnauthorized = FromHex(
    "9400000001000000784200000100000008000000000000000000000000000000010000007000000001"
    "6f6b000000000000000000026572726d7367002e000000636f6d6d616e64206c697374446174616261736573207265"
    "7175697265732061757468656e7469636174696f6e0010636f6465000d00000002636f64654e616d65000d00000055"
    "6e617574686f72697a65640000");
// NTP mode 7 (ntpd's ntp_request.h): a MON_GETLIST_1 response with 1 item of 72 bytes; an
// error response (INFO_ERR_REQ, no items).
const std::string kNtpMonlist = FromHex("d700032a00010048") + std::string(72, '\x01');
const std::string kNtpMonlistRefused = FromHex("9700032a10000000");

TEST(ServiceDbTest, AgreesWithShadowserversReportSchema) {
  std::string dir = std::string(BULWARK_SOURCE_DIR) + "/../shared/abuse/report_schema/";
  std::string schema = testing_support::ReadAll(dir + "intelmq.json");
  std::string severities = testing_support::ReadAll(dir + "severity.md");
  ASSERT_FALSE(schema.empty());
  ASSERT_FALSE(severities.empty());
  std::vector<Classification> cited;
  for (const auto& check : ServiceDb::Builtin().checks()) cited.push_back(check.classification);
  for (const char* service : {"ssh", "smtp", "ftp", "imap", "pop3", "mysql", "http", "tls",
                              "telnet", "vnc", "rdp", "smb"}) {
    const Classification* c = ServiceDb::Builtin().ServiceClassification(service);
    ASSERT_NE(c, nullptr) << service;
    cited.push_back(*c);
  }
  size_t checked = 0, rated = 0;
  for (const auto& c : cited) {
    if (c.report.empty()) continue;
    ++checked;
    // The report's constant fields, as they appear in intelmq.json.
    size_t at = schema.find("\"" + c.report + "\" : {");
    ASSERT_NE(at, std::string::npos) << c.report;
    std::string block = schema.substr(at, schema.find("\"feed_name\"", at) - at);
    for (auto [key, value] : {std::pair{"classification.identifier", c.identifier},
                              std::pair{"classification.taxonomy", c.taxonomy},
                              std::pair{"classification.type", c.type}}) {
      EXPECT_NE(block.find(fmt::format("\"{}\" : \"{}\"", key, value)), std::string::npos)
          << c.report << ": " << key << " is not " << value;
    }
    std::smatch row;
    std::regex level("\\| " + c.report + " \\| [^|]* \\| ([a-z]+) \\|");
    // severity.md leaves some reports out (scan_imap, scan_pop3): Bulwark rates those itself.
    if (!std::regex_search(severities, row, level)) continue;
    ++rated;
    EXPECT_EQ(row[1].str(), c.severity) << c.report;
  }
  EXPECT_GE(checked, 15u);
  EXPECT_GE(rated, 13u);
}

// First bytes of real services (the Debian 12 packages' own, and public software's documented
// greetings) name service, product, version and CPE.
TEST(ServiceDbTest, NamesServicesFromTheirFirstBytes) {
  struct Case {
    const char* probe;
    std::string answer;
    Identity want;
  };
  const Case cases[] = {
      {"banner",
       "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
       {"ssh", "OpenSSH", "9.2p1", "Debian-2+deb12u3",
        "cpe:2.3:a:openbsd:openssh:9.2:p1:*:*:*:*:*:*"}},
      {"banner",
       "SSH-2.0-OpenSSH_8.0\r\n",
       {"ssh", "OpenSSH", "8.0", "", "cpe:2.3:a:openbsd:openssh:8.0:*:*:*:*:*:*:*"}},
      {"banner",
       "SSH-2.0-dropbear_2022.83\r\n",
       {"ssh", "Dropbear", "2022.83", "",
        "cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2022.83:*:*:*:*:*:*:*"}},
      {"banner",
       "220 mail.example.com ESMTP OpenSMTPD\r\n",
       {"smtp", "OpenSMTPD", "", "", "cpe:2.3:a:openbsd:opensmtpd:*:*:*:*:*:*:*:*"}},
      {"banner",
       "220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n",
       {"smtp", "Postfix", "", "", "cpe:2.3:a:postfix:postfix:*:*:*:*:*:*:*:*"}},
      {"banner",
       "220 (vsFTPd 3.0.3)\r\n",
       {"ftp", "vsftpd", "3.0.3", "", "cpe:2.3:a:beasts:vsftpd:3.0.3:*:*:*:*:*:*:*"}},
      {"banner",
       "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE] Dovecot (Debian) "
       "ready.\r\n",
       {"imap", "Dovecot", "", "", "cpe:2.3:a:dovecot:dovecot:*:*:*:*:*:*:*:*"}},
      {"banner",
       "+OK Dovecot (Debian) ready.\r\n",
       {"pop3", "Dovecot", "", "", "cpe:2.3:a:dovecot:dovecot:*:*:*:*:*:*:*:*"}},
      {"banner",
       std::string("\x58\x00\x00\x00\x0a", 5) + "5.5.5-10.11.6-MariaDB-0+deb12u1" +
           std::string("\x00\x08\x00\x00\x00", 5),
       {"mysql", "MariaDB", "10.11.6", "", "cpe:2.3:a:mariadb:mariadb:10.11.6:*:*:*:*:*:*:*"}},
      // What the fleet's MariaDB says to a host it does not know (recorded).
      {"banner",
       std::string("\x44\x00\x00\x00\xff\x6a\x04", 7) +
           "Host '10.77.0.5' is not allowed to connect to this MariaDB server",
       {"mysql", "MariaDB", "", "host not allowed", "cpe:2.3:a:mariadb:mariadb:*:*:*:*:*:*:*:*"}},
      {"banner",
       "500 OOPS: vsftpd: both local and anonymous access disabled!\r\n",
       {"ftp", "vsftpd", "", "", "cpe:2.3:a:beasts:vsftpd:*:*:*:*:*:*:*:*"}},
      {"banner", "RFB 003.008\n", {"vnc", "", "", "RFB 003.008", ""}},
      {"smb", kSambaSmb2, {"smb", "", "", "SMB2 or later", ""}},
      {"smb", kSambaAcceptsSmb1, {"smb", "", "", "SMB1", ""}},
      {"rdp",
       kXrdpSelectsTls,
       {"rdp", "xrdp", "", "", "cpe:2.3:a:neutrinolabs:xrdp:*:*:*:*:*:*:*:*"}},
      {"rdp", kRdpRequiresNla, {"rdp", "", "", "", ""}},
      {"mongodb",
       kMongoIsMaster,
       {"mongodb", "MongoDB", "", "", "cpe:2.3:a:mongodb:mongodb:*:*:*:*:*:*:*:*"}},
      {"banner", "\xff\xfd\x18\xff\xfd\x20", {"telnet", "", "", "", ""}},
      {"http",
       "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n\r\n<html>",
       {"http", "nginx", "1.22.1", "", "cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*"}},
      {"http",
       "HTTP/1.1 404 Not Found\r\nDate: x\r\nServer: Apache/2.4.62 (Debian)\r\n\r\n",
       {"http", "Apache httpd", "2.4.62", "", "cpe:2.3:a:apache:http_server:2.4.62:*:*:*:*:*:*:*"}},
      {"http", "HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n", {"http", "", "", "", ""}},
      {"redis",
       "-NOAUTH Authentication required.\r\n",
       {"redis", "Redis", "", "authentication required", "cpe:2.3:a:redis:redis:*:*:*:*:*:*:*:*"}},
      {"memcached",
       "VERSION 1.6.18\r\n",
       {"memcached", "memcached", "1.6.18", "",
        "cpe:2.3:a:memcached:memcached:1.6.18:*:*:*:*:*:*:*"}},
  };
  for (const auto& c : cases) {
    auto identity = ServiceDb::Identify(ProbeNamed(c.probe), c.answer);
    ASSERT_TRUE(identity) << c.answer;
    EXPECT_EQ(identity->service, c.want.service) << c.answer;
    EXPECT_EQ(identity->product, c.want.product) << c.answer;
    EXPECT_EQ(identity->version, c.want.version) << c.answer;
    EXPECT_EQ(identity->info, c.want.info) << c.answer;
    EXPECT_EQ(identity->cpe, c.want.cpe) << c.answer;
  }
  // Debian's OpenSSH names its package: the distribution's data can decide (vulndb.h).
  auto debian =
      ServiceDb::Identify(ProbeNamed("banner"), "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
  ASSERT_TRUE(debian);
  EXPECT_EQ(debian->ecosystem, "Debian:12");
  EXPECT_EQ(debian->package, "openssh");
  EXPECT_EQ(debian->package_version, "1:9.2p1-2+deb12u3");
  auto upstream = ServiceDb::Identify(ProbeNamed("banner"), "SSH-2.0-OpenSSH_9.8\r\n");
  ASSERT_TRUE(upstream);
  EXPECT_EQ(upstream->package, "");
  // What no pattern knows stays unnamed.
  EXPECT_FALSE(ServiceDb::Identify(ProbeNamed("banner"), "hello\r\n"));
  EXPECT_FALSE(ServiceDb::Identify(ProbeNamed("http"), std::string(5000, '\0')));
  // The target and the scanner's identity go into what is sent.
  EXPECT_EQ(ProbeBytes("Host: {host}\r\nUser-Agent: {agent}\r\n", "192.0.2.7",
                       "Bulwark-Scanner (+https://scanner.example/)"),
            "Host: 192.0.2.7\r\nUser-Agent: Bulwark-Scanner (+https://scanner.example/)\r\n");
  // A CPE escapes what CPE 2.3 escapes.
  RE2 pattern("v=(.*)");
  EXPECT_EQ(ServiceDb::Expand(pattern, "v=1:2 x", "cpe:2.3:a:x:y:$1", true),
            "cpe:2.3:a:x:y:1\\:2\\ x");
}

TEST(ServiceDbTest, ChecksConfirmOnlyWhatTheyTest) {
  std::map<std::string, const Check*> checks;
  for (const auto& check : ServiceDb::Builtin().checks()) checks[check.name] = &check;
  auto matches = [&](const std::string& name, std::string_view answer) {
    return RE2::PartialMatch(re2::StringPiece(answer.data(), answer.size()),
                             *checks.at(name)->pattern);
  };
  EXPECT_TRUE(matches("open-redis", "$2000\r\n# Server\r\nredis_version:7.0.15\r\n"));
  EXPECT_FALSE(matches("open-redis", "-NOAUTH Authentication required.\r\n"));
  EXPECT_TRUE(matches("exposed-git",
                      "HTTP/1.0 200 OK\r\nContent-Length: 21\r\n\r\nref: refs/heads/main\n"));
  EXPECT_FALSE(matches("exposed-git", "HTTP/1.0 404 File not found\r\n\r\nref: refs/heads/main"));
  EXPECT_TRUE(matches("open-elasticsearch",
                      "HTTP/1.1 200 OK\r\n\r\n{\"name\" : \"n\", \"tagline\" : \"You Know, for "
                      "Search\"}"));
  EXPECT_TRUE(
      matches("open-docker", "HTTP/1.1 200 OK\r\n\r\n{\"Platform\":{},\"ApiVersion\":\"1.43\"}"));
  // A resolver that recurses (RA) answers NOERROR or SERVFAIL; a closed one REFUSED (5).
  EXPECT_TRUE(matches("dns-open-resolver", std::string("\x42\x77\x81\x80", 4)));
  EXPECT_TRUE(matches("dns-open-resolver", std::string("\x42\x77\x81\x82", 4)));
  EXPECT_FALSE(matches("dns-open-resolver", std::string("\x42\x77\x81\x85", 4)));
  EXPECT_FALSE(matches("dns-open-resolver", std::string("\x42\x77\x81\x00", 4)));  // no RA
  EXPECT_TRUE(matches("vnc-without-authentication", std::string("\x01\x01", 2)));
  EXPECT_FALSE(matches("vnc-without-authentication", std::string("\x01\x02", 2)));
  EXPECT_TRUE(matches("smbv1-enabled", kSambaAcceptsSmb1));
  EXPECT_FALSE(matches("smbv1-enabled", kSambaRefusesSmb1));
  EXPECT_FALSE(matches("smbv1-enabled", kSambaSmb2));
  EXPECT_TRUE(matches("rdp-without-nla", kXrdpSelectsRdp));
  EXPECT_FALSE(matches("rdp-without-nla", kXrdpSelectsTls));
  EXPECT_FALSE(matches("rdp-without-nla", kRdpRequiresNla));
  EXPECT_TRUE(matches("open-mongodb", kMongoDatabases));
  EXPECT_FALSE(matches("open-mongodb", kMongoUnauthorized));
  EXPECT_TRUE(matches("ntp-monitor", kNtpMonlist));
  EXPECT_FALSE(matches("ntp-monitor", kNtpMonlistRefused));
}

TEST(ServiceDbTest, BrokenDatabasesAreRefusedWithTheirPlace) {
  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case cases[] = {
      {"probes:\n  - name: x\n    sned: y\n", "db.yml:3:5: unknown key 'sned'"},
      {"probes:\n  - name: x\n    matches:\n      - {pattern: '(', service: s}\n",
       "db.yml:4:9: pattern: missing ): ("},
      {"probes:\n  - name: x\n    matches:\n      - {pattern: 'a', service: s}\n",
       "db.yml:4: service 's' has no entry under services"},
      {"services:\n  s: {identifier: i, taxonomy: t, type: y, severity: urgent}\n",
       "severity 'urgent' is not critical"},
      {"checks:\n  - name: c\n    pattern: x\n    identifier: i\n    taxonomy: t\n    type: y\n",
       "db.yml:2:5: 'severity' is missing"},
      {"probes: [", "db.yml:1"},
  };
  for (const auto& c : cases) {
    auto db = ServiceDb::Parse(c.yaml, "db.yml");
    ASSERT_FALSE(db) << c.yaml;
    EXPECT_NE(db.error().ToString().find(c.error), std::string::npos) << c.yaml << "\n"
                                                                      << db.error().ToString();
  }
}

TEST(TargetsTest, PortsAndPrefixes) {
  EXPECT_EQ(*ParsePorts("80,22,8000-8002,22"), (std::vector<int>{22, 80, 8000, 8001, 8002}));
  EXPECT_EQ(ParsePorts("top")->size(), 100u);
  EXPECT_EQ(ParsePorts("all")->size(), 65535u);
  EXPECT_EQ(ParsePorts("top,65000")->back(), 65000);
  EXPECT_NE(ParsePorts("22,x").error().message.find("'x' is not a port"), std::string::npos);
  EXPECT_FALSE(ParsePorts("0"));
  EXPECT_FALSE(ParsePorts("65536"));
  EXPECT_FALSE(ParsePorts("90-80"));
  EXPECT_FALSE(ParsePorts(""));
  auto v4 = ExpandTarget("198.51.100.4/30", 16);
  ASSERT_TRUE(v4);
  ASSERT_EQ(v4->size(), 4u);
  EXPECT_EQ((*v4)[3].ToString(), "198.51.100.7");
  auto v6 = ExpandTarget("2001:db8::fe/127", 16);
  ASSERT_TRUE(v6);
  EXPECT_EQ((*v6)[1].ToString(), "2001:db8::ff");
  EXPECT_EQ(ExpandTarget("10.0.0.0/8", 1 << 16).error().message,
            "10.0.0.0/8 has more than 65536 addresses");
  EXPECT_FALSE(ExpandTarget("10.0.0.1/24", 1 << 16));  // host bits set
  EXPECT_FALSE(ExpandTarget("system-1", 1 << 16));
}

TEST(CertificateTest, ReadsWhatAScannerReports) {
  // Self-signed, expired yesterday.
  std::string der =
      testing_support::SelfSignedCertificate("expired.example", -2 * 86400, -86400).der;
  auto info = ReadCertificate(der);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->subject, "CN=expired.example");
  EXPECT_EQ(info->issuer, "CN=expired.example");
  EXPECT_TRUE(info->self_signed);
  EXPECT_LT(info->not_after, info->not_before + 2 * 86400 * kNsPerSecond);
  EXPECT_EQ(info->dns_names, (std::vector<std::string>{"expired.example", "www.expired.example"}));
  EXPECT_EQ(info->key, "id-ecPublicKey 256");
  EXPECT_EQ(info->sha256.size(), 64u);
  // Cut short, garbage, nothing: refused with a reason, never a crash.
  EXPECT_FALSE(ReadCertificate(der.substr(0, der.size() / 2)));
  EXPECT_FALSE(ReadCertificate("not a certificate"));
  EXPECT_FALSE(ReadCertificate(""));
}

}  // namespace
}  // namespace bulwark::scan
