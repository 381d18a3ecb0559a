#pragma once
// The provider's assessment: finding data to severity, and per severity how to notify, the patch
// deadline, reminders and whether a countermeasure may follow without prior consultation. A
// policy is a YAML file (docs/policy.md); Policy::Default() is the built-in one. Immutable after
// loading; thread-safe.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/model/finding.h"
#include "bulwark/model/inventory.h"

namespace bulwark::incident {

struct Handling {
  bool notify_at_once = true;      // false: in the daily digest
  std::optional<TimeNs> deadline;  // patch deadline after notification; none for info
  std::vector<TimeNs> reminders;   // after notification, before the deadline
  bool countermeasure_without_consultation = false;
};

// Why a finding got its severity, step by step (shown in incidents and mails).
struct Assessment {
  model::Severity severity = model::Severity::kMedium;
  std::vector<std::string> reasons;
};

class Policy {
 public:
  // The built-in policy: CVSS v3 qualitative bands (critical >= 9.0, high >= 7.0, medium >= 4.0,
  // low > 0), a known-exploited CVE raises to at least high and one step, exposure to the
  // internet raises one step for vulnerable systems, confidence below 0.5 lowers one step;
  // deadlines critical 24 h, high 7 d, medium 30 d, low 90 d.
  static Policy Default();
  // Parses a policy file over the defaults (what the file leaves out keeps its default). Errors
  // carry file:line:column.
  static Result<Policy> Parse(std::string_view yaml, const std::string& name);

  // Severity of `finding` about `system` (null when unattributed), with the reasons.
  Assessment Assess(const model::Finding& finding, const model::System* system) const;
  const Handling& HandlingOf(model::Severity severity) const;

  // Known exploited CVEs (CISA KEV catalog: its JSON, "vulnerabilities"[].cveID). Returns how
  // many were read; an Error when the file is not such a catalog.
  Result<size_t> LoadKnownExploited(std::string_view json);
  bool KnownExploited(std::string_view cve) const {
    return known_exploited_.count(std::string(cve)) > 0;
  }

 private:
  double cvss_critical_ = 9.0, cvss_high_ = 7.0, cvss_medium_ = 4.0;
  double low_confidence_ = 0.5;
  bool exposure_raises_ = true;
  std::map<std::string, model::Severity> by_type_;  // classification.type -> default
  model::Severity fallback_ = model::Severity::kMedium;
  Handling handling_[5];
  std::set<std::string> known_exploited_;
};

}  // namespace bulwark::incident
