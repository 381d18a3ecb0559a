#pragma once
// Taking things in: findings (IntelMQ lines from a file or the API), detection alerts (typed,
// from the detector; or as JSON lines from a file), and third-party reports. The one path for
// the commands and for serve. Findings reach the spine in write transactions of a bounded size,
// so that a large report neither holds the writer for long nor stops the API's readers.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "bulwark/abuse/report.h"
#include "bulwark/core/result.h"
#include "bulwark/incident/incidents.h"
#include "bulwark/input/json_flatten.h"
#include "bulwark/model/finding.h"
#include "bulwark/pipeline/alert.h"
#include "bulwark/spine/spine.h"

namespace bulwark::intake {

// The finding an alert makes: feed "bulwark-detect", the rule id as classification.identifier,
// the type from the rule's ATT&CK tags (T1505 application-compromise, T1078 with initial access
// unprivileged-account-compromise, T1190 exploit, T1110 brute-force, T1498/T1499 ddos,
// T1595/T1046/reconnaissance scanner, else ids-alert), extra.severity from its level, the
// affected system (docs/rules.md, "Who is affected": the host that logged it or the source, by
// the rule's tags; extra.affected, extra.system_id, extra.attacker_ip), the event's original
// text as evidence. nullopt when the alert is about no address or system (a local user). Errors:
// an address or time that does not parse.
Result<std::optional<model::Finding>> FindingOfAlert(const pipeline::Alert& alert, TimeNs received);
// The same for an alert as `bulwark replay` writes it (one JSON line). Errors also: not JSON,
// not an alert.
Result<std::optional<model::Finding>> FindingOfAlertJson(std::string_view json, TimeNs received,
                                                         input::JsonFlattener& flattener);

// Sigma levels in order: informational (or info) 0, low 1, medium 2, high 3, critical 4;
// nullopt for anything else.
std::optional<int> LevelRank(std::string_view level);

// What alerts came to: findings to take, and what was left.
struct AlertTally {
  uint64_t alerts = 0;
  uint64_t below_level = 0;  // below the minimum level
  uint64_t no_address = 0;   // about no address
  uint64_t unreadable = 0;   // their address or time did not parse
};

// Turns alerts into findings as the detector hands them over (an AlertSink): those of
// `min_level` or above that are about an address. Not thread-safe (one detector).
class AlertFindings final : public pipeline::AlertSink {
 public:
  // `now` gives time.observation.
  AlertFindings(std::string min_level, std::function<TimeNs()> now);
  void Take(const pipeline::Alert& alert) override;
  // The findings made since the last call.
  std::vector<model::Finding> Drain();
  // Findings Drain() gave that could not be stored: the next Drain() gives them first.
  void PutBack(std::vector<model::Finding> findings);
  // What the alerts since the last call came to.
  AlertTally DrainTally();
  // Reasons of unreadable alerts since the last call (the first 10).
  std::vector<std::string> DrainProblems();

 private:
  int min_rank_;
  std::function<TimeNs()> now_;
  std::vector<model::Finding> findings_;
  std::vector<std::string> problems_;
  AlertTally tally_;
};

// What a report came to. Lists are capped (kListed); the counts are complete.
struct ReportOutcome {
  static constexpr size_t kListed = 100;
  abuse::ReportSummary summary;  // summary.rejected counts every rejected row
  // The same bytes were taken before: nothing was taken this time.
  bool duplicate = false;
  std::map<std::string, uint64_t> outcomes;  // incident::OutcomeName -> findings
  std::vector<int64_t> incidents;            // incidents the report touched, ascending
  uint64_t incidents_total = 0;
  std::vector<Error> rejected_rows;  // the first rows that could not be read
  // The endpoints (address, port, transport) of the findings that went to a customer's
  // incident, each once, at most kEndpoints: what a reactive scan looks at.
  static constexpr size_t kEndpoints = 10000;
  struct Endpoint {
    event::IpAddress address;
    int port = 0;  // 0 when the report named none
    std::string transport;
    bool operator<(const Endpoint& other) const {
      return std::tie(address.bytes(), port, transport) <
             std::tie(other.address.bytes(), other.port, other.transport);
    }
  };
  std::vector<Endpoint> attributed;
};

// How far an input stream's processing got (Store::SetPosition).
struct StreamPosition {
  std::string stream;
  uint64_t position = 0;
};

// Counts for the metrics, since the Intake was made.
struct IntakeCounts {
  std::map<std::string, uint64_t> findings_by_outcome;
  std::map<std::pair<std::string, std::string>, uint64_t> reports;  // (source, result)
  AlertTally alerts;
};

// Thread-safe: any number of callers take in at once (their writes are serialised by the
// spine, a batch at a time).
class Intake {
 public:
  // Findings per write transaction.
  static constexpr size_t kBatch = 256;

  explicit Intake(spine::Spine& spine);

  // Takes `findings` in order, kBatch per transaction. Returns one result per finding. Errors:
  // the store failed (the batches before stay taken).
  Result<std::vector<incident::TakeResult>> TakeFindings(
      const std::vector<model::Finding>& findings);

  // Takes the findings `alerts` made (AlertFindings::Drain) and counts its tally. With a
  // `position`, the findings and the stream's new position are written in one transaction (the
  // exactly-once step of a receiver's queue: Store::Position tells where to resume); when that
  // write fails, the findings go back into `alerts` for the caller to try again.
  Result<void> TakeAlertFindings(AlertFindings& alerts, const StreamPosition* position = nullptr);

  // Reads a report and takes its findings, then keeps the original once per content hash.
  // Bounded by the configuration's reports.limits: a report larger than they allow is rejected
  // before anything of it is taken; one that takes longer than max_duration stops there (what
  // was taken stays; the original is not kept, so it can be sent again). `source` names the
  // intake path in the metrics ("api", "imap", "cli", ...). Errors: the report was rejected (why),
  // or the store failed.
  Result<ReportOutcome> TakeReport(std::string_view bytes, const abuse::ReportInput& input,
                                   const std::string& source);

  IntakeCounts counts() const;

  // Called after every report taken (not a duplicate), by whichever path took it (serve's
  // sources, the API, the CLI), on the caller's thread; set once, before the Intake is shared.
  void SetReportObserver(std::function<void(const ReportOutcome&)> observer) {
    report_observer_ = std::move(observer);
  }

  // Makes reports in progress stop at their next batch ("shutting down"; not kept, so that they
  // are taken again after a restart). Irreversible.
  void Cancel() { cancelled_ = true; }

 private:
  // Takes one batch in one write, handing each result to `each` (may be null), and counts the
  // outcomes; `position` (may be null) is stored in the same write.
  Result<void> TakeBatch(const std::vector<model::Finding>& batch,
                         const std::function<void(const incident::TakeResult&)>& each,
                         const StreamPosition* position = nullptr);
  void CountReport(const std::string& source, const char* result);

  spine::Spine& spine_;
  std::atomic<bool> cancelled_{false};
  std::function<void(const ReportOutcome&)> report_observer_;
  mutable std::mutex counts_mutex_;
  IntakeCounts counts_;
};

}  // namespace bulwark::intake
