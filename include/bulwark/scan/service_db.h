#pragma once
// The scanner's knowledge of services (data/scan/services.yml, docs/scanning.md): the probes it
// sends to an open port, the patterns that name the service from the answer (with product,
// version and a CPE 2.3 name), the finding an identified service makes, and the exposure checks
// that test a service at protocol level. Written for Bulwark. Immutable after Parse; thread-safe.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"

namespace re2 {
class RE2;
}

namespace bulwark::scan {

inline const std::string kDefaultAgent = "Bulwark-Scanner";

// What a match found out about a service.
struct Identity {
  std::string service;  // ssh, http, redis, ... ("" = not identified)
  std::string product, version, info;
  std::string cpe;  // CPE 2.3 formatted string, "" when unknown
  // The distribution's package, when the answer names it (e.g. "Debian:12", "openssh",
  // "1:9.2p1-2+deb12u3"): vulnerability matching then asks the distribution's data first.
  std::string ecosystem, package, package_version;
};

struct Match {
  std::shared_ptr<const re2::RE2> pattern;
  Identity identity;  // with $1..$9 still in it
  int line = 0;       // in the database file
};

struct Probe {
  std::string name;
  std::string send;               // may contain {host}
  std::string transport = "tcp";  // or "udp": one datagram, the answer is the reply
  std::vector<int> ports;
  bool tls = false;       // a TLS handshake, not bytes
  bool over_tls = false;  // also sent inside a TLS session
  std::vector<Match> matches;
};

// How a finding is classified (IntelMQ harmonized keys), and Shadowserver's report name when
// Shadowserver reports the same thing.
struct Classification {
  std::string report;  // e.g. scan_redis, "" for Bulwark's own
  std::string identifier, taxonomy, type;
  std::string severity;  // critical, high, medium, low, info
};

struct Check {
  std::string name, description;
  std::vector<std::string> services;
  std::string transport = "tcp";  // runs on services found over this transport
  std::string send;
  bool read_banner = false;
  std::shared_ptr<const re2::RE2> pattern;
  std::string version;  // $1.. of the pattern, reported as extra.version
  Classification classification;
  int line = 0;
};

class ServiceDb {
 public:
  // Parses the database. Errors name `name`:line:column: YAML syntax, a missing or unknown key,
  // a pattern RE2 refuses, a service without a classification, a severity that is no severity.
  static Result<ServiceDb> Parse(std::string_view yaml, const std::string& name);
  // The built-in database (builtin:scan/services.yml). Throws on a broken built-in (a startup
  // invariant; tests parse it).
  static const ServiceDb& Builtin();

  const std::vector<Probe>& probes() const { return probes_; }
  const std::vector<Check>& checks() const { return checks_; }
  // The classification of an identified service, or nullptr.
  const Classification* ServiceClassification(std::string_view service) const;

  // Whether some service's finding has `identifier`.
  bool ServiceIdentifier(std::string_view identifier) const;

  // The probes of `transport` for `port` in the order to try them: over TCP those naming the
  // port, then the others; over UDP only those naming the port (a datagram nobody expects is
  // not sent).
  std::vector<const Probe*> ProbesFor(int port, std::string_view transport = "tcp") const;

  // The first match of `probe` on `answer`, with $n filled in; nullopt when none matches.
  static std::optional<Identity> Identify(const Probe& probe, std::string_view answer);

  // `text` with $1..$9 replaced by the groups of `pattern` matched on `input` ("" if none);
  // in a CPE an empty group becomes "*" and characters CPE escapes are escaped.
  static std::string Expand(const re2::RE2& pattern, std::string_view input,
                            const std::string& text, bool cpe = false);

 private:
  std::vector<Probe> probes_;
  std::vector<Check> checks_;
  std::vector<std::pair<std::string, Classification>> services_;
};

// The bytes of `send` for a target: {host} replaced by its address, {agent} by the scanner's
// identity (an HTTP User-Agent that says who scans and where to read why).
std::string ProbeBytes(const std::string& send, const std::string& host,
                       const std::string& agent = kDefaultAgent);

}  // namespace bulwark::scan
