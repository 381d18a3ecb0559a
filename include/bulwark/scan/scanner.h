#pragma once
// Bulwark's scanner (docs/scanning.md): checks every target against the scope first, finds open
// TCP ports, names each service (ServiceDb), runs the exposure checks that apply, and reports
// what it found as findings in IntelMQ's harmonized form, with the evidence (banner, answer,
// certificate) and a confidence. Nothing is sent to an address the scope refuses.

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/model/finding.h"
#include "bulwark/scan/network.h"
#include "bulwark/scan/service_db.h"
#include "bulwark/vuln/scope.h"
#include "bulwark/vuln/vulndb.h"

namespace bulwark::scan {

struct ScanOptions {
  DiscoverOptions discover;
  ConverseLimits limits;
  size_t workers = 16;           // endpoints identified at once
  std::set<std::string> checks;  // check names to run; empty = all
  bool identify = true;          // false: discovery only
  std::string feed_name = "bulwark-scan";
  // The User-Agent of HTTP probes ({agent}): who scans and where to read why.
  std::string agent = kDefaultAgent;
  // Vulnerability data to match recognised products against (may be null: no matching). Must
  // outlive the Scanner.
  const vuln::VulnDb* vulndb = nullptr;
  // Set (by another thread) to stop a Run early: discovery stops, endpoints not yet identified
  // are left out. May be null; also given to discovery.
  const std::atomic<bool>* cancel = nullptr;
};

// What the scanner learned about one open port.
struct Service {
  Endpoint endpoint;
  std::string transport = "tcp";
  Identity identity;   // service "" = open, not identified
  std::string answer;  // what identified it (or the banner of an unidentified service)
  std::optional<TlsSession> tls;
  std::optional<TlsProfile> tls_profile;  // every version and cipher accepted (ProbeTls)
  std::string note;                       // e.g. "garbage answer", "connection reset"
};

// The checks the scanner makes itself, beside the service database's: certificate and TLS
// configuration problems.
const std::vector<std::string>& BuiltinCheckNames();

struct ScanReport {
  std::vector<vuln::ScopeDecision> refused;  // out-of-scope targets, each with its reason
  size_t in_scope = 0;
  DiscoverStats discovery;
  std::vector<Service> services;
  std::vector<model::Finding> findings;
};

class Scanner {
 public:
  // `scope`, `db` and `env` must outlive the Scanner.
  Scanner(const vuln::Scope& scope, const ServiceDb& db, Env& env, ScanOptions options)
      : scope_(scope), db_(db), env_(env), options_(std::move(options)) {}

  // Scans `addresses` x `ports` (TCP) and x `udp_ports` (the UDP probes of each port; a port
  // that answers none is not reported). Out-of-scope addresses are refused before anything is
  // sent and listed in the report. `progress` (may be empty) is called after each identified
  // endpoint with (done, total). Blocking; one Run at a time per Scanner.
  ScanReport Run(const std::vector<event::IpAddress>& addresses, const std::vector<int>& ports,
                 const std::vector<int>& udp_ports = {},
                 const std::function<void(size_t, size_t)>& progress = {}) const;

  // Whether a scan can find a finding with `identifier` (so that a re-scan can verify it): the
  // services' and checks' identifiers, the certificate problems, CVE ids when a vulnerability
  // database is given.
  bool CanVerify(std::string_view identifier) const;

  // Whether the cancel flag is set: a Run from then on is incomplete, and its absence of a
  // finding proves nothing.
  bool Cancelled() const { return options_.cancel && options_.cancel->load(); }

  // Names the service at an open port. Thread-safe.
  Service Identify(const Endpoint& endpoint) const;
  // Names the service at a UDP port from its replies to the port's probes; nullopt when none
  // replied. Thread-safe.
  std::optional<Service> IdentifyUdp(const Endpoint& endpoint) const;
  // The findings of a service: the accessible-service finding, its certificate's problems, the
  // exposure checks that confirm at protocol level, and the CVEs its product and version are
  // exposed to (by version, so unconfirmed). Thread-safe.
  std::vector<model::Finding> Findings(const Service& service) const;

 private:
  const vuln::Scope& scope_;
  const ServiceDb& db_;
  Env& env_;
  ScanOptions options_;
};

// `bytes` as text: printable ASCII, CR, LF and tab as they are; a backslash as \\, any other byte
// as \xNN; at most `max` input bytes (then "...").
std::string Printable(std::string_view bytes, size_t max = 1024);

}  // namespace bulwark::scan
