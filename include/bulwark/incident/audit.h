#pragma once
// The audit log's hash chain: each entry's hash is SHA-256 over the previous entry's hash and the
// entry's own fields, so that editing, inserting or deleting any entry but the last breaks every
// later link. Pure functions, thread-safe.

#include <string>
#include <vector>

#include "bulwark/model/finding.h"

namespace bulwark::incident {

// Hex SHA-256 of `entry.prev_hash` and the entry's fields (seq, at, actor, incident, action,
// states, reason), each length-prefixed so that no two entries serialise alike.
std::string AuditHash(const model::AuditEntry& entry);

struct AuditVerdict {
  bool ok = true;
  size_t entries = 0;
  std::string head;       // hash of the last entry: keep it elsewhere to detect a cut-off tail
  int64_t broken_at = 0;  // seq of the first entry that does not verify
  std::string reason;
};

// Checks the whole chain, in order.
AuditVerdict VerifyAudit(const std::vector<model::AuditEntry>& entries);

}  // namespace bulwark::incident
