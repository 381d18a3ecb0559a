#pragma once
// Reactive scans (docs/scanning.md, "Reactive scans"): the scanner remembers the products it
// recognised (VulnDb sightings), and re-scans single endpoints when something new is known about
// them: a CVE the vulnerability data newly holds that a remembered product is exposed to, or an
// abuse report that names the endpoint.

#include <set>
#include <string>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/core/time.h"
#include "bulwark/scan/scanner.h"
#include "bulwark/vuln/vulndb.h"

namespace bulwark::scan {

// One endpoint to scan again.
struct ScanTarget {
  event::IpAddress address;
  int port = 0;  // 0: the address on the scan's default ports
  std::string transport = "tcp";
  bool operator<(const ScanTarget& other) const;
};

// Remembers the products `report` recognised as seen at `now`, and forgets those not seen for
// `retention`. Errors: SQLite's.
Result<void> RememberServices(vuln::VulnDb& db, const ScanReport& report, TimeNs now,
                              TimeNs retention);

// The remembered endpoints whose product is exposed to one of `cves`. Errors: SQLite's.
Result<std::vector<ScanTarget>> ExposedTargets(const vuln::VulnDb& db,
                                               const std::set<std::string>& cves);

// Scans `targets` with `scanner`: one Run per port and transport, with the addresses that name
// it (port 0: `default_ports` and `default_udp_ports`); the reports merged. The scope applies as
// in every Run. Blocking.
ScanReport ScanTargets(const Scanner& scanner, const std::vector<ScanTarget>& targets,
                       const std::vector<int>& default_ports,
                       const std::vector<int>& default_udp_ports);

}  // namespace bulwark::scan
