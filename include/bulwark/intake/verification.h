#pragma once
// Verification by re-scan (docs/scanning.md, "Verification"): incidents in `verifying` (a
// customer reported a fix, or the patch deadline passed) whose findings the scanner can find
// again are re-scanned at the same address and port. Nothing found any more: the incident is
// resolved. Still found: it goes back, to awaiting_fix while its deadline runs, else to
// countermeasure_due. Every move is in the audit log with what the re-scan saw.

#include <string>
#include <vector>

#include "bulwark/scan/scanner.h"
#include "bulwark/spine/spine.h"

namespace bulwark::intake {

struct Verification {
  int64_t incident_id = 0;
  std::string outcome;  // resolved, awaiting_fix, countermeasure_due, unverifiable, skipped
  std::string reason;
};

// Verifies up to `limit` verifiable incidents in verifying with `scanner` (whose scope decides, as
// for every scan). Incidents without a finding the scanner can find again (CanVerify, with an
// address and a port) are "unverifiable" and left as they are, as are those whose address the
// scope refuses now; one that left verifying during its re-scan is "skipped". A move back to
// awaiting_fix keeps a deadline that still runs. Errors: the store failed (moves made before
// stay).
Result<std::vector<Verification>> VerifyIncidents(spine::Spine& spine, const scan::Scanner& scanner,
                                                  size_t limit = 100);

}  // namespace bulwark::intake
