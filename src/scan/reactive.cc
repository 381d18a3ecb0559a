#include "bulwark/scan/reactive.h"

#include <map>
#include <tuple>

namespace bulwark::scan {

bool ScanTarget::operator<(const ScanTarget& other) const {
  return std::tie(address.bytes(), port, transport) <
         std::tie(other.address.bytes(), other.port, other.transport);
}

Result<void> RememberServices(vuln::VulnDb& db, const ScanReport& report, TimeNs now,
                              TimeNs retention) {
  std::vector<vuln::Sighting> sightings;
  for (const auto& service : report.services) {
    const Identity& id = service.identity;
    if (id.cpe.empty()) continue;
    sightings.push_back({service.endpoint.address.ToString(),
                         service.endpoint.port,
                         service.transport,
                         {id.cpe, id.version, id.ecosystem, id.package, id.package_version},
                         now});
  }
  return db.RecordSightings(sightings, now - retention);
}

Result<std::vector<ScanTarget>> ExposedTargets(const vuln::VulnDb& db,
                                               const std::set<std::string>& cves) {
  auto sightings = db.ExposedSightings(cves);
  if (!sightings) return tl::unexpected(sightings.error());
  std::vector<ScanTarget> targets;
  for (const auto& sighting : *sightings) {
    if (auto address = event::IpAddress::Parse(sighting.address)) {
      targets.push_back({*address, sighting.port, sighting.transport});
    }
  }
  return targets;
}

ScanReport ScanTargets(const Scanner& scanner, const std::vector<ScanTarget>& targets,
                       const std::vector<int>& default_ports,
                       const std::vector<int>& default_udp_ports) {
  // (port, transport) -> addresses; port 0 stands for the defaults.
  std::map<std::pair<int, std::string>, std::vector<event::IpAddress>> groups;
  for (const auto& target : targets) {
    groups[{target.port, target.port == 0 ? "" : target.transport}].push_back(target.address);
  }
  ScanReport merged;
  for (const auto& [key, addresses] : groups) {
    const auto& [port, transport] = key;
    std::vector<int> tcp, udp;
    if (port == 0) {
      tcp = default_ports;
      udp = default_udp_ports;
    } else if (transport == "udp") {
      udp = {port};
    } else {
      tcp = {port};
    }
    ScanReport report = scanner.Run(addresses, tcp, udp);
    merged.refused.insert(merged.refused.end(), report.refused.begin(), report.refused.end());
    merged.in_scope += report.in_scope;
    merged.discovery.attempts += report.discovery.attempts;
    merged.discovery.open += report.discovery.open;
    merged.discovery.closed += report.discovery.closed;
    merged.discovery.filtered += report.discovery.filtered;
    merged.discovery.unconfirmed += report.discovery.unconfirmed;
    merged.discovery.method = report.discovery.method;
    for (auto& service : report.services) merged.services.push_back(std::move(service));
    for (auto& finding : report.findings) merged.findings.push_back(std::move(finding));
    if (scanner.Cancelled()) break;
  }
  return merged;
}

}  // namespace bulwark::scan
