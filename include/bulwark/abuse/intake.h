#pragma once
// Taking a report in: read it (ReportReader), hand every finding to the incident spine, keep the
// original once per content hash. The one path for `bulwark reports import`, POST
// /api/v1/reports, the IMAP mailbox and the Shadowserver Reports API.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/abuse/report.h"
#include "bulwark/incident/incidents.h"
#include "bulwark/store/store.h"

namespace bulwark::abuse {

struct IntakeResult {
  ReportSummary summary;
  // The same bytes were taken before (a mailbox re-read, a report downloaded again): nothing was
  // taken this time. A re-sent mail differs in its headers and is taken (its rows are sightings).
  bool duplicate = false;
  std::vector<Error> rejected_rows;         // rows or reports that could not be read
  std::vector<incident::TakeResult> taken;  // one per finding, in report order
  std::map<std::string, size_t> outcomes;   // OutcomeName -> count
};

// A report whose exact bytes are stored already is not read again (`duplicate`).
// Errors: the report was rejected as a whole (nothing is stored; the error says why), or the
// store failed (findings taken before the failure stay). Not thread-safe: the caller serialises
// access to `incidents` and `store`.
Result<IntakeResult> TakeReport(const ReportReader& reader, incident::Incidents& incidents,
                                store::Store& store, std::string_view bytes,
                                const ReportInput& input);

}  // namespace bulwark::abuse
