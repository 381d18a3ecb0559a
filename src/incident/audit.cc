#include "bulwark/incident/audit.h"

#include <fmt/format.h>

#include "bulwark/core/digest.h"

namespace bulwark::incident {

std::string AuditHash(const model::AuditEntry& e) {
  std::string data;
  AppendHashField(data, e.prev_hash);
  AppendHashField(data, std::to_string(e.seq));
  AppendHashField(data, std::to_string(e.at));
  AppendHashField(data, e.actor);
  AppendHashField(data, std::to_string(e.incident_id));
  AppendHashField(data, e.action);
  AppendHashField(data, e.from_state);
  AppendHashField(data, e.to_state);
  AppendHashField(data, e.reason);
  return Sha256Hex(data);
}

AuditVerdict VerifyAudit(const std::vector<model::AuditEntry>& entries) {
  AuditVerdict verdict;
  std::string previous;
  int64_t expected_seq = 1;
  for (const auto& entry : entries) {
    ++verdict.entries;
    std::string problem;
    if (entry.seq != expected_seq) {
      problem = fmt::format("sequence gap: expected entry {}, found {}", expected_seq, entry.seq);
    } else if (entry.prev_hash != previous) {
      problem = "does not link to the entry before it";
    } else if (AuditHash(entry) != entry.hash) {
      problem = "its content does not match its hash (edited)";
    }
    if (!problem.empty()) {
      verdict.ok = false;
      verdict.broken_at = entry.seq;
      verdict.reason = problem;
      return verdict;
    }
    previous = entry.hash;
    expected_seq = entry.seq + 1;
  }
  verdict.head = previous;
  return verdict;
}

}  // namespace bulwark::incident
