#pragma once
// The evidence vault (RFC 3227, "Guidelines for Evidence Collection and Archiving"): evidence
// files stored by content (SHA-256), metadata per item, and an append-only, hash-chained chain
// of custody that records every acquisition, transfer, export, legal hold and deletion: who,
// when, what. A directory of its own (<data_dir>/evidence by default), so that it can be copied,
// sealed or handed over whole:
//
//   objects/ab/abcdef...   the evidence, named by its SHA-256, read-only
//   items/abcdef....json   its metadata
//   custody.jsonl          the chain of custody, one entry a line, each hashing the one before
//   holds.json             incidents under legal hold
//
// Thread safety: one Vault per directory and process; its methods are serialised internally.
// Another process writing the same vault at once is refused (an exclusive lock on the directory).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/core/result.h"

namespace bulwark::forensics {

// What is known about one piece of evidence.
struct EvidenceItem {
  std::string sha256;  // of the content: the item's name
  uint64_t size = 0;
  std::string name;         // a file name for exports ("capture-vm1p-1.pcap")
  int64_t incident_id = 0;  // 0: about no incident
  std::string system_id;    // the system it was taken from
  std::string kind;         // pcap, logs, findings, timeline, snapshot, console, volatile, file
  std::string method;       // how: "libpcap at the enforcement point", "IaaS snapshot", ...
  std::string tool;         // what: "bulwark", "tcpdump", ...
  std::string tool_version;
  TimeNs acquired_at = 0;
  std::string acquired_by;
  std::string clock_note;  // the source's clock against ours (RFC 3227 2.1: note the skew)
};

// One entry of the chain of custody.
struct CustodyEntry {
  int64_t seq = 0;
  TimeNs at = 0;
  std::string actor;
  std::string action;  // acquired, transferred, exported, hold, release, agreement,
                       // agreement_withdrawn, deleted, verified
  std::string sha256;  // the item; empty for entries about an incident (hold, export)
  int64_t incident_id = 0;
  std::string detail;  // to whom, why, where
  std::string prev_hash;
  std::string hash;  // SHA-256 over prev_hash and the fields above
};

struct VaultVerdict {
  bool ok = true;
  size_t items = 0, entries = 0;
  std::string head;                   // the last entry's hash: keep it elsewhere
  std::vector<std::string> problems;  // one line each: a changed object, a broken link
};

class Vault {
 public:
  // Opens (creating) the vault in `dir`. Errors: it cannot be created, another process holds it.
  static Result<std::unique_ptr<Vault>> Open(const std::string& dir, Env& env);
  ~Vault();

  // Stores `content` (the file is written, synced, then made read-only) and records its
  // acquisition. `item.sha256` and `size` are computed; acquired_at is now when not set.
  // Adding what is stored already records another acquisition of the same object.
  Result<EvidenceItem> Add(std::string_view content, EvidenceItem item);
  // The same for a file on disk (a capture), read in chunks; the file is left where it is.
  Result<EvidenceItem> AddFile(const std::string& path, EvidenceItem item);
  // Records that `sha256` went from one holder to another (RFC 3227: every transfer).
  Result<CustodyEntry> Transfer(const std::string& sha256, const std::string& actor,
                                const std::string& to, const std::string& why);

  // Items, of one incident when incident_id != 0, in order of acquisition.
  Result<std::vector<EvidenceItem>> Items(int64_t incident_id = 0) const;
  Result<std::vector<CustodyEntry>> Custody() const;
  // The content of one item. Error: no such item.
  Result<std::string> Read(const std::string& sha256) const;

  // Legal hold: nothing of the incident's evidence may be deleted until it is released.
  Result<void> Hold(int64_t incident_id, const std::string& actor, const std::string& why);
  Result<void> Release(int64_t incident_id, const std::string& actor, const std::string& why);
  bool OnHold(int64_t incident_id) const;
  // The customer's agreement to collection on their system for an incident (Run Command runs
  // only with it): who agreed, how it was given ("mail of 2026-12-05 from ops@acme"), recorded
  // in the chain. HasAgreement: recorded and not withdrawn.
  Result<void> RecordAgreement(int64_t incident_id, const std::string& actor,
                               const std::string& how);
  Result<void> WithdrawAgreement(int64_t incident_id, const std::string& actor,
                                 const std::string& how);
  bool HasAgreement(int64_t incident_id) const;

  // Deletes an item (retention). Error: its incident is on hold.
  Result<void> Delete(const std::string& sha256, const std::string& actor, const std::string& why);

  // Recomputes every object's hash and checks every link of the chain; records the check.
  Result<VaultVerdict> Verify(const std::string& actor);

  // A bundle for the customer or law enforcement in `out_dir` (created, must be empty): the
  // incident's evidence files, its custody entries (custody.jsonl), `timeline_json` and
  // `timeline_html` as given, and MANIFEST.sha256 (sha256sum's format) over all of them. The
  // export itself is recorded. Returns the manifest's text.
  Result<std::string> Export(int64_t incident_id, const std::string& out_dir,
                             const std::string& actor, const std::string& to,
                             const std::string& timeline_json, const std::string& timeline_html);

  const std::string& dir() const { return dir_; }

 private:
  Vault(std::string dir, Env& env, int lock_fd);
  Result<CustodyEntry> Append(CustodyEntry entry);
  Result<EvidenceItem> Record(EvidenceItem item);
  // Records hold/release or agreement/withdrawal (`on`) for an incident and keeps `set` in step.
  Result<void> SetMark(std::set<int64_t>& set, const char* on_action, const char* off_action,
                       int64_t incident_id, bool on, const std::string& actor,
                       const std::string& why);
  std::string ObjectPath(const std::string& sha256) const;

  std::string dir_;
  Env& env_;
  int lock_fd_ = -1;
  mutable std::mutex mutex_;
  std::string head_;  // hash of the last custody entry
  int64_t next_seq_ = 1;
  std::set<int64_t> holds_;
  std::set<int64_t> agreements_;
};

// Hex SHA-256 of an entry: over prev_hash and every field, each length-prefixed.
std::string CustodyHash(const CustodyEntry& entry);
// One custody entry as a JSON line (without the newline), and back.
std::string CustodyJson(const CustodyEntry& entry);
std::optional<CustodyEntry> ParseCustody(std::string_view line);
std::string ItemJson(const EvidenceItem& item);

}  // namespace bulwark::forensics
