#include "bulwark/intake/verification.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>

#include "bulwark/finding/intelmq.h"
#include "bulwark/incident/incidents.h"
#include "bulwark/input/json_flatten.h"
#include "bulwark/store/store.h"

namespace bulwark::intake {

namespace {

// What an incident's findings say a re-scan should look for.
struct Claim {
  event::IpAddress address;
  int port = 0;
  std::string identifier;
  std::string transport;
};

std::string Endpoint(const Claim& c) {
  return fmt::format("{}:{}{}", c.address.ToString(), c.port, c.transport == "udp" ? "/udp" : "");
}

}  // namespace

Result<std::vector<Verification>> VerifyIncidents(spine::Spine& spine, const scan::Scanner& scanner,
                                                  size_t limit) {
  // Read what is to be verified.
  std::vector<std::pair<model::Incident, std::vector<Claim>>> work;
  auto read = spine.Read([&](store::Store& store) -> Result<void> {
    // Every verifying incident, a page at a time, until `limit` verifiable ones are found: the
    // ones a scan cannot verify do not take the places of those after them.
    std::vector<model::Incident> incidents;
    store::IncidentFilter filter;
    filter.state = model::IncidentState::kVerifying;
    while (true) {
      auto page = store.ListIncidents(filter);
      if (!page) return tl::unexpected(page.error());
      if (page->empty()) break;
      filter.after_id = page->back().id;
      incidents.insert(incidents.end(), page->begin(), page->end());
    }
    input::JsonFlattener flattener;
    size_t verifiable = 0;
    for (const auto& incident : incidents) {
      if (verifiable >= limit) break;
      auto findings = store.FindingsOfIncident(incident.id);
      if (!findings) return tl::unexpected(findings.error());
      std::vector<Claim> claims;
      std::set<std::string> seen;
      for (const auto& stored : *findings) {
        auto finding = finding::ParseHarmonized(stored.document, stored.received_at, flattener);
        if (!finding || !finding->source_ip || finding->source_port <= 0 ||
            !scanner.CanVerify(finding->identifier)) {
          continue;
        }
        Claim claim{*finding->source_ip, finding->source_port, finding->identifier,
                    finding->transport == "udp" ? "udp" : "tcp"};
        if (seen.insert(Endpoint(claim) + " " + claim.identifier).second) claims.push_back(claim);
      }
      if (!claims.empty()) ++verifiable;
      work.emplace_back(incident, std::move(claims));
    }
    return {};
  });
  if (!read) return tl::unexpected(read.error());

  std::vector<Verification> out;
  for (auto& item : work) {
    const model::Incident& incident = item.first;
    const std::vector<Claim>& claims = item.second;
    Verification v;
    v.incident_id = incident.id;
    if (claims.empty()) {
      v.outcome = "unverifiable";
      v.reason = "no finding a scan can find again";
      out.push_back(v);
      continue;
    }
    // One scan per address, over the TCP and UDP ports the claims name.
    struct Target {
      event::IpAddress address;
      std::vector<int> tcp, udp;
    };
    std::map<std::string, Target> targets;
    for (const auto& c : claims) {
      auto& target =
          targets.try_emplace(c.address.ToString(), Target{c.address, {}, {}}).first->second;
      (c.transport == "udp" ? target.udp : target.tcp).push_back(c.port);
    }
    std::set<std::string> found;  // "address:port identifier"
    std::string refused;
    for (auto& [text, target] : targets) {
      auto report = scanner.Run({target.address}, target.tcp, target.udp);
      if (!report.refused.empty()) refused = report.refused.front().reason;
      for (const auto& f : report.findings) {
        found.insert(fmt::format("{}:{}{} {}", text, f.source_port,
                                 f.transport == "udp" ? "/udp" : "", f.identifier));
      }
    }
    if (scanner.Cancelled()) break;  // an interrupted re-scan proves nothing: moves nothing
    if (!refused.empty()) {
      v.outcome = "unverifiable";
      v.reason = "the scope refuses the re-scan: " + refused;
      out.push_back(v);
      continue;
    }
    std::vector<std::string> still, gone;
    for (const auto& c : claims) {
      std::string what = fmt::format("{} on {}", c.identifier, Endpoint(c));
      (found.count(Endpoint(c) + " " + c.identifier) ? still : gone).push_back(what);
    }
    TimeNs now = spine.env().Now();
    model::IncidentState to;
    if (still.empty()) {
      to = model::IncidentState::kResolved;
      v.reason = fmt::format("re-scan at {}: no longer found: {}", FormatTimestamp(now),
                             fmt::join(gone, ", "));
    } else {
      bool deadline_runs = incident.deadline && *incident.deadline > now;
      to = deadline_runs ? model::IncidentState::kAwaitingFix
                         : model::IncidentState::kCountermeasureDue;
      v.reason = fmt::format("re-scan at {}: still found: {}", FormatTimestamp(now),
                             fmt::join(still, ", "));
    }
    v.outcome = model::StateName(to);
    // The scan took a while: the incident moves only if it is still verifying.
    bool moved_on = false;
    auto moved = spine.Write([&](spine::Spine::Writer& w) -> Result<void> {
      auto now_stored = w.store.GetIncident(incident.id);
      if (!now_stored) return tl::unexpected(now_stored.error());
      if (!*now_stored || (*now_stored)->state != model::IncidentState::kVerifying) {
        moved_on = true;
        return {};
      }
      auto done = w.incidents.Transition(incident.id, to, "system:scanner", v.reason);
      if (!done) return tl::unexpected(done.error());
      return {};
    });
    if (!moved) return tl::unexpected(moved.error());
    if (moved_on) {
      v.outcome = "skipped";
      v.reason = "moved on while it was re-scanned";
    }
    out.push_back(v);
  }
  return out;
}

}  // namespace bulwark::intake
