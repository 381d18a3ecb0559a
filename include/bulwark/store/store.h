#pragma once
// Durable state behind one interface. The embedded implementation is SQLite in a data directory
// (OpenSqliteStore); a PostgreSQL implementation will satisfy the same interface and run the same
// conformance tests (tests/store). Nothing SQLite-specific appears here.
//
// Thread safety: a Store may be used from one thread at a time; open one per thread when needed
// (any number of read-only connections read beside one writer without waiting for it).
// Every method returns an Error naming the operation and the database's reason on failure.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/model/access.h"
#include "bulwark/model/countermeasure.h"
#include "bulwark/model/finding.h"
#include "bulwark/model/inventory.h"

namespace bulwark::store {

// What WriteInventory changed.
struct InventoryWriteStats {
  size_t customers = 0, projects = 0, systems = 0, interfaces = 0;  // inserted or updated
  size_t assignments_added = 0;
  size_t assignments_updated = 0;  // same holder, prefix and start: the end moved
  size_t assignments_unchanged = 0;
};

// A finding as stored: its harmonized JSON document and where it went.
struct StoredFinding {
  int64_t id = 0;
  std::string document;  // finding::ToHarmonizedJson
  std::string fingerprint;
  TimeNs time_source = 0;
  model::Attributed attributed;
  int64_t incident_id = 0;  // 0: none (unattributed)
  TimeNs received_at = 0;
};

// One message of the transactional outbox: queued in the same transaction as the change it tells
// about, delivered later with retries.
struct OutboxEntry {
  int64_t id = 0;
  int64_t incident_id = 0;
  std::string kind;        // "opened", "reminder-1", "escalation"; unique per incident and channel
  std::string channel;     // "mail" or "webhook"
  std::string recipients;  // comma-separated e-mail addresses, or the webhook URL
  std::string payload;     // the RFC 5322 message, or the JSON body
  std::string state = "pending";  // pending, sent, failed
  int64_t attempts = 0;
  TimeNs next_attempt = 0;
  std::string last_error;
  TimeNs created_at = 0;
  TimeNs sent_at = 0;
  // Claimed by a sender until then (ClaimOutbox); 0: not claimed. Another sender leaves it.
  TimeNs lease_until = 0;
};

// A window of a list ordered by id: the entries after `after`, at most `limit`.
struct Page {
  int64_t after = 0;
  size_t limit = static_cast<size_t>(INT64_MAX);
};

struct IncidentFilter {
  std::optional<model::IncidentState> state;
  std::string customer_id;  // empty: all
  int64_t after_id = 0;     // paging: incidents with a larger id
  size_t limit = 100;
};

struct CountermeasureFilter {
  std::optional<model::CountermeasureState> state;
  bool may_be_in_place = false;  // only those MayBeInPlace() says something may be in place of
  std::string customer_id;       // empty: all
  std::string system_id;         // empty: all
  int64_t incident_id = 0;       // 0: all
  bool pending_only = false;     // only those with an enforcer change in flight
  int64_t after_id = 0;          // paging
  size_t limit = 100;
};

// An original report as received: the whole mail or file, for inspection and for answering
// the reporter; findings link to it by extra.report.sha256.
struct StoredReport {
  std::string sha256;  // hex, of `content`
  std::string name;    // file name or origin ("imap:INBOX/42", "api")
  std::string format;  // as the reader recognised it ("arf", "shadowserver", ...)
  TimeNs received = 0;
  std::string content;
};

class Store {
 public:
  virtual ~Store() = default;

  // The schema version the store is at (migrations are applied when it is opened).
  virtual int schema_version() const = 0;

  // Writes `inventory` in one transaction (all or nothing). Customers, projects, systems and
  // interfaces are inserted or replaced by id (interfaces by system and key); a customer's
  // contacts are replaced by the given list. Assignments are history: one with the same system,
  // interface, prefix and start as a stored one updates that one's end; any other is added.
  // Referential errors (a project of an unknown customer, ...) fail the whole write.
  virtual Result<InventoryWriteStats> WriteInventory(const model::Inventory& inventory) = 0;

  // The whole inventory, assignments ordered by prefix and start.
  virtual Result<model::Inventory> ReadInventory() = 0;

  // Assignments of exactly `prefix` (all holders, all times), ordered by start.
  virtual Result<std::vector<model::Assignment>> AssignmentsOf(const model::Prefix& prefix) = 0;

  // Runs `body` in one transaction: committed when it succeeds, rolled back when it returns an
  // Error (which is returned). Nested inside another, it is a savepoint of that one: its failure
  // undoes its own changes only, and nothing is durable before the outermost commits.
  virtual Result<void> Transaction(const std::function<Result<void>()>& body) = 0;

  // --- findings ---
  // Stores a finding (its id is assigned); returns the id.
  virtual Result<int64_t> AddFinding(const StoredFinding& finding) = 0;
  // Unattributed findings, oldest (lowest id) first.
  virtual Result<std::vector<StoredFinding>> Unattributed(const Page& page) = 0;
  // The findings of an incident, by id.
  virtual Result<std::vector<StoredFinding>> FindingsOfIncident(int64_t incident_id,
                                                                const Page& page = {}) = 0;
  virtual Result<std::optional<StoredFinding>> GetFinding(int64_t id) = 0;
  // The incident of the latest finding with `fingerprint` and time.source at or after `since`
  // that belongs to an open incident; nullopt when there is none.
  virtual Result<std::optional<int64_t>> OpenIncidentOfFingerprint(const std::string& fingerprint,
                                                                   TimeNs since) = 0;

  // --- incidents ---
  // The open (not resolved or closed) incident for customer, system and kind, if any.
  virtual Result<std::optional<model::Incident>> OpenIncident(const std::string& customer_id,
                                                              const std::string& system_id,
                                                              const std::string& kind) = 0;
  // The latest incident for customer, system and kind, open or not.
  virtual Result<std::optional<model::Incident>> LatestIncident(const std::string& customer_id,
                                                                const std::string& system_id,
                                                                const std::string& kind) = 0;
  virtual Result<int64_t> CreateIncident(const model::Incident& incident) = 0;
  virtual Result<void> UpdateIncident(const model::Incident& incident) = 0;
  virtual Result<std::optional<model::Incident>> GetIncident(int64_t id) = 0;
  virtual Result<std::vector<model::Incident>> ListIncidents(const IncidentFilter& filter) = 0;
  // Number of incidents per state name (states without incidents are absent).
  virtual Result<std::map<std::string, int64_t>> CountIncidents() = 0;

  // --- audit log (append-only) ---
  // Appends `entry`: sets its seq and prev_hash (the last entry's hash), then its hash as
  // computed by `hash`. Returns the entry as stored.
  virtual Result<model::AuditEntry> AppendAudit(
      model::AuditEntry entry,
      const std::function<std::string(const model::AuditEntry&)>& hash) = 0;
  // Entries in order (Page::after is a seq); of one incident when incident_id != 0.
  virtual Result<std::vector<model::AuditEntry>> ReadAudit(int64_t incident_id,
                                                           const Page& page = {}) = 0;
  // Number of entries of an incident with `action` ("comment", ...).
  virtual Result<int64_t> CountAudit(int64_t incident_id, const std::string& action) = 0;

  // --- outbox ---
  // Queues `entry`; false (nothing queued) when one of the same incident, kind and channel is
  // queued already: each message is queued once.
  virtual Result<bool> Enqueue(const OutboxEntry& entry) = 0;
  // Claims pending entries of `channel` ("mail" takes digests too; "" = all) whose next attempt
  // is due at `now` and that no other sender holds: each gets lease_until = `lease_until`, in one
  // transaction, so that two senders (serve and `notify send`) never take the same message.
  // Oldest first. A lease runs out by itself (a sender that died); UpdateOutbox ends it.
  virtual Result<std::vector<OutboxEntry>> ClaimOutbox(TimeNs now, TimeNs lease_until,
                                                       std::string_view channel, size_t limit) = 0;
  // Writes back state, attempts, next_attempt, last_error and sent_at of `entry` and ends its
  // lease.
  virtual Result<void> UpdateOutbox(const OutboxEntry& entry) = 0;
  virtual Result<std::vector<OutboxEntry>> OutboxOf(int64_t incident_id) = 0;

  // --- original reports (mails and files), stored once by content hash ---
  // Stores `report` unless one with its sha256 is stored already; true when it was new.
  virtual Result<bool> PutReport(const StoredReport& report) = 0;
  // The report with this hex SHA-256, or nullopt.
  virtual Result<std::optional<StoredReport>> GetReport(const std::string& sha256) = 0;

  // --- countermeasures ---
  // Stores a new countermeasure (its id is assigned); returns the id.
  virtual Result<int64_t> CreateCountermeasure(const model::Countermeasure& countermeasure) = 0;
  // Writes back every field of a stored countermeasure (by id). Error: no such countermeasure.
  virtual Result<void> UpdateCountermeasure(const model::Countermeasure& countermeasure) = 0;
  virtual Result<std::optional<model::Countermeasure>> GetCountermeasure(int64_t id) = 0;
  // Ordered by id.
  virtual Result<std::vector<model::Countermeasure>> ListCountermeasures(
      const CountermeasureFilter& filter) = 0;
  // Number of countermeasures per state name (states without any are absent).
  virtual Result<std::map<std::string, int64_t>> CountCountermeasures() = 0;
  // Automatic countermeasures created at or after `since` (the policy's hourly cap).
  virtual Result<int64_t> CountAutomaticSince(TimeNs since) = 0;

  // --- API tokens (hashes only) ---
  virtual Result<void> CreateToken(const model::Token& token) = 0;
  virtual Result<std::optional<model::Token>> FindToken(const std::string& id) = 0;
  virtual Result<std::vector<model::Token>> ListTokens() = 0;
  // False when there is no such token.
  virtual Result<bool> RevokeToken(const std::string& id) = 0;

  // --- Positions of input streams (a receiver's queue): how far their processing got, written
  // in the transaction that takes what it produced, so that a restart neither loses nor repeats ---
  virtual Result<void> SetPosition(const std::string& stream, uint64_t position) = 0;
  // nullopt when the stream has no position yet.
  virtual Result<std::optional<uint64_t>> Position(const std::string& stream) = 0;
};

enum class OpenMode {
  kReadWrite,  // creates what is missing and applies pending schema migrations
  kReadOnly,   // an existing store at this program's schema; every write fails
};

// Opens the SQLite store in `data_dir`/bulwark.db, in WAL mode. Errors: the directory cannot be
// created, the file is not a Bulwark database, or its schema is newer than this program knows
// (read-only: or older, or missing).
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& data_dir,
                                               OpenMode mode = OpenMode::kReadWrite);

}  // namespace bulwark::store
