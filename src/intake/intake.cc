#include "bulwark/intake/intake.h"

#include <fmt/format.h>

#include <set>

#include "bulwark/core/digest.h"

namespace bulwark::intake {

Intake::Intake(spine::Spine& spine) : spine_(spine) {}

Result<void> Intake::TakeBatch(const std::vector<model::Finding>& batch,
                               const std::function<void(const incident::TakeResult&)>& each,
                               const StreamPosition* position) {
  if (batch.empty() && !position) return {};
  std::vector<incident::TakeResult> results;
  results.reserve(batch.size());
  auto written = spine_.Write([&](spine::Spine::Writer& w) -> Result<void> {
    results.clear();  // a retried write starts over
    for (const model::Finding& finding : batch) {
      auto taken = w.incidents.Take(finding);
      if (!taken) return tl::unexpected(taken.error());
      results.push_back(std::move(*taken));
    }
    if (position) return w.store.SetPosition(position->stream, position->position);
    return {};
  });
  if (!written) return written;
  {
    std::lock_guard lock(counts_mutex_);
    for (const auto& result : results) {
      ++counts_.findings_by_outcome[incident::OutcomeName(result.outcome)];
    }
  }
  if (each) {
    for (const auto& result : results) each(result);
  }
  return {};
}

Result<std::vector<incident::TakeResult>> Intake::TakeFindings(
    const std::vector<model::Finding>& findings) {
  std::vector<incident::TakeResult> results;
  results.reserve(findings.size());
  std::vector<model::Finding> batch;
  for (size_t start = 0; start < findings.size(); start += kBatch) {
    size_t end = std::min(findings.size(), start + kBatch);
    batch.assign(findings.begin() + static_cast<std::ptrdiff_t>(start),
                 findings.begin() + static_cast<std::ptrdiff_t>(end));
    auto taken = TakeBatch(batch, [&](const incident::TakeResult& r) { results.push_back(r); });
    if (!taken) return tl::unexpected(taken.error());
  }
  return results;
}

Result<void> Intake::TakeAlertFindings(AlertFindings& alerts, const StreamPosition* position) {
  std::vector<model::Finding> findings = alerts.Drain();
  AlertTally tally = alerts.DrainTally();
  {
    std::lock_guard lock(counts_mutex_);
    counts_.alerts.alerts += tally.alerts;
    counts_.alerts.below_level += tally.below_level;
    counts_.alerts.no_address += tally.no_address;
    counts_.alerts.unreadable += tally.unreadable;
  }
  if (position) {
    // All in one write with the position: taken once, whatever happens after.
    auto taken = TakeBatch(findings, nullptr, position);
    if (!taken) alerts.PutBack(std::move(findings));
    return taken;
  }
  auto taken = TakeFindings(findings);
  if (!taken) return tl::unexpected(taken.error());
  return {};
}

void Intake::CountReport(const std::string& source, const char* result) {
  std::lock_guard lock(counts_mutex_);
  ++counts_.reports[{source, result}];
}

Result<ReportOutcome> Intake::TakeReport(std::string_view bytes, const abuse::ReportInput& input,
                                         const std::string& source) {
  ReportOutcome outcome;
  std::string sha256 = Sha256Hex(bytes);
  std::optional<store::StoredReport> known;
  auto looked = spine_.Read([&](store::Store& store) -> Result<void> {
    auto found = store.GetReport(sha256);
    if (!found) return tl::unexpected(found.error());
    known = std::move(*found);
    return {};
  });
  if (!looked) return tl::unexpected(looked.error());
  if (known) {
    CountReport(source, "duplicate");
    outcome.duplicate = true;
    outcome.summary.sha256 = sha256;
    outcome.summary.format = known->format;
    outcome.summary.notes.push_back("taken before (" + known->name + ", " +
                                    FormatTimestamp(known->received) + "): not read again");
    return outcome;
  }
  std::shared_ptr<const abuse::ReportReader> reader = spine_.report_reader();
  std::shared_ptr<const config::Config> config = spine_.config();
  Env& env = spine_.env();
  const TimeNs deadline = env.Now() + config->reports.limits.max_duration;
  std::optional<Error> failed;
  bool stopped = false;
  uint64_t taken = 0;
  std::set<int64_t> incidents;
  std::set<ReportOutcome::Endpoint> attributed;
  std::vector<model::Finding> batch;
  batch.reserve(kBatch);
  auto each = [&](const incident::TakeResult& result, const model::Finding& finding) {
    ++outcome.outcomes[incident::OutcomeName(result.outcome)];
    ++taken;
    if (result.incident_id == 0) return;
    incidents.insert(result.incident_id);
    if (finding.source_ip && attributed.size() < ReportOutcome::kEndpoints) {
      attributed.insert({*finding.source_ip, finding.source_port, finding.transport});
    }
  };
  bool shutting_down = false;
  auto flush = [&] {
    if (failed || stopped || batch.empty()) return;
    if (cancelled_) {
      stopped = shutting_down = true;
      return;
    }
    size_t at = 0;  // results come one per finding, in order
    auto each_finding = [&](const incident::TakeResult& result) { each(result, batch[at++]); };
    if (auto done = TakeBatch(batch, each_finding); !done) failed = done.error();
    batch.clear();
    if (env.Now() > deadline) stopped = true;
  };
  auto summary = reader->Read(bytes, input,
                              {[&](model::Finding finding) {
                                 if (failed || stopped) return;
                                 batch.push_back(std::move(finding));
                                 if (batch.size() >= kBatch) flush();
                               },
                               [&](Error error) {
                                 if (outcome.rejected_rows.size() < ReportOutcome::kListed) {
                                   outcome.rejected_rows.push_back(std::move(error));
                                 }
                               }});
  if (summary) flush();
  auto reject = [&](Error error) -> Result<ReportOutcome> {
    CountReport(source, "rejected");
    return tl::unexpected(std::move(error));
  };
  if (!summary) return reject(summary.error());
  if (failed) return reject(*failed);
  if (shutting_down) {
    return reject(Error{fmt::format("stopped by the shutdown with {} of {} findings taken; the "
                                    "report is not kept, so that it is taken again",
                                    taken, summary->findings),
                        input.name});
  }
  if (stopped) {
    return reject(Error{
        fmt::format("stopped after {} s (reports.limits.max_duration) with {} of {} findings "
                    "taken; the report is not kept, so that it can be sent again",
                    config->reports.limits.max_duration / kNsPerSecond, taken, summary->findings),
        input.name});
  }
  auto stored = spine_.Write([&](spine::Spine::Writer& w) -> Result<void> {
    return w.store
        .PutReport(
            {summary->sha256, input.name, summary->format, input.received, std::string(bytes)})
        .map([](bool) {});
  });
  if (!stored) return reject(stored.error());
  CountReport(source, "read");
  outcome.summary = std::move(*summary);
  outcome.attributed.assign(attributed.begin(), attributed.end());
  outcome.incidents_total = incidents.size();
  for (int64_t id : incidents) {
    if (outcome.incidents.size() == ReportOutcome::kListed) break;
    outcome.incidents.push_back(id);
  }
  if (report_observer_) report_observer_(outcome);
  return outcome;
}

IntakeCounts Intake::counts() const {
  std::lock_guard lock(counts_mutex_);
  return counts_;
}

}  // namespace bulwark::intake
