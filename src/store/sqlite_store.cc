// The embedded store: SQLite in WAL mode, schema migrations applied at open, prepared statements
// only.

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "bulwark/core/strings.h"
#include "bulwark/store/sqlite.h"
#include "bulwark/store/store.h"

namespace bulwark::store {

namespace {

// Schema migrations, applied in order; the database's user_version counts those applied. Never
// edit a released migration: add a new one. Open interval ends are stored as the int64 extremes
// (not NULL) so that they take part in unique keys and comparisons.
constexpr const char* kMigrations[] = {
    // 1: inventory
    R"sql(
CREATE TABLE customers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  language TEXT NOT NULL,
  openpgp_key TEXT NOT NULL DEFAULT '',
  origin TEXT NOT NULL DEFAULT ''
);
CREATE TABLE contacts (
  customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  email TEXT NOT NULL,
  role TEXT NOT NULL,
  PRIMARY KEY (customer_id, position)
);
CREATE TABLE projects (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id),
  name TEXT NOT NULL,
  origin TEXT NOT NULL DEFAULT ''
);
CREATE TABLE systems (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id),
  name TEXT NOT NULL,
  internet_exposed INTEGER NOT NULL,
  protected INTEGER NOT NULL,
  origin TEXT NOT NULL DEFAULT ''
);
CREATE TABLE labels (
  kind TEXT NOT NULL,
  owner_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (kind, owner_id, key)
);
CREATE TABLE interfaces (
  system_id TEXT NOT NULL REFERENCES systems(id),
  key TEXT NOT NULL,
  mac TEXT NOT NULL,
  port TEXT NOT NULL,
  valid_from INTEGER NOT NULL,
  valid_until INTEGER NOT NULL,
  origin TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (system_id, key)
);
CREATE INDEX interfaces_by_mac ON interfaces(mac);
CREATE TABLE assignments (
  id INTEGER PRIMARY KEY,
  system_id TEXT NOT NULL,
  interface_key TEXT NOT NULL,
  network BLOB NOT NULL,
  prefix_length INTEGER NOT NULL,
  valid_from INTEGER NOT NULL,
  valid_until INTEGER NOT NULL,
  origin TEXT NOT NULL DEFAULT '',
  FOREIGN KEY (system_id, interface_key) REFERENCES interfaces(system_id, key)
);
CREATE UNIQUE INDEX assignments_by_identity
  ON assignments(network, prefix_length, system_id, interface_key, valid_from);
)sql",
    // 2: findings, incidents, audit log
    R"sql(
CREATE TABLE incidents (
  id INTEGER PRIMARY KEY,
  customer_id TEXT NOT NULL,
  system_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  severity TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deadline INTEGER,
  last_seen INTEGER NOT NULL,
  findings INTEGER NOT NULL
);
CREATE INDEX incidents_by_holder ON incidents(customer_id, system_id, kind, id);
CREATE INDEX incidents_by_state ON incidents(state, id);
CREATE TABLE findings (
  id INTEGER PRIMARY KEY,
  document TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  time_source INTEGER NOT NULL,
  system_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  incident_id INTEGER REFERENCES incidents(id),
  received_at INTEGER NOT NULL
);
CREATE INDEX findings_by_fingerprint ON findings(fingerprint, time_source);
CREATE INDEX findings_by_incident ON findings(incident_id, id);
CREATE INDEX findings_unattributed ON findings(id) WHERE system_id = '';
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  incident_id INTEGER NOT NULL,
  action TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  reason TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_by_incident ON audit_log(incident_id, seq);
-- Append-only: the database refuses edits and deletions of audit entries. (A determined editor
-- can drop the triggers; `bulwark audit verify` detects what they then change.)
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql",
    // 3: the notification outbox
    R"sql(
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  incident_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  channel TEXT NOT NULL,
  recipients TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  sent_at INTEGER NOT NULL,
  UNIQUE (incident_id, kind, channel)
);
CREATE INDEX outbox_due ON outbox(state, next_attempt);
)sql",
    // 4: API tokens
    R"sql(
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL,
  role TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  description TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked INTEGER NOT NULL
);
)sql",
    // 5: security groups of interfaces (comma-separated ids)
    R"sql(
ALTER TABLE interfaces ADD COLUMN security_groups TEXT NOT NULL DEFAULT '';
)sql",
    // 6: original third-party reports, once per content hash
    R"sql(
CREATE TABLE reports (
  sha256 TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  format TEXT NOT NULL,
  received INTEGER NOT NULL,
  content BLOB NOT NULL
);
)sql",
    // 7: outbox leases (one sender per message) and internal notes' lookup
    R"sql(
ALTER TABLE outbox ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
CREATE INDEX audit_by_action ON audit_log(incident_id, action);
)sql",
    // 8: positions of input streams (receivers' queues)
    R"sql(
CREATE TABLE positions (
  stream TEXT PRIMARY KEY,
  position INTEGER NOT NULL
);
)sql",
    // 9: countermeasures
    R"sql(
CREATE TABLE countermeasures (
  id INTEGER PRIMARY KEY,
  incident_id INTEGER NOT NULL,
  customer_id TEXT NOT NULL,
  system_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  enforcer TEXT NOT NULL,
  ports TEXT NOT NULL,
  rate_pps INTEGER NOT NULL,
  automatic INTEGER NOT NULL,
  proposed_by TEXT NOT NULL,
  approved_by TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER,
  applied_at INTEGER NOT NULL,
  lifted_at INTEGER NOT NULL,
  pending TEXT NOT NULL,
  targets TEXT NOT NULL,
  recorded TEXT NOT NULL,
  last_error TEXT NOT NULL
);
CREATE INDEX countermeasures_by_state ON countermeasures(state, id);
CREATE INDEX countermeasures_by_system ON countermeasures(system_id, id);
CREATE INDEX countermeasures_automatic ON countermeasures(automatic, created_at);
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

Error Failed(std::string_view what, const Error& error) {
  return Error{fmt::format("{}: {}", what, error.message), error.where};
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}

  // Brings the schema to this program's version (read-only: checks that it is there).
  Result<void> Migrate(const std::string& path, OpenMode mode) {
    bool read_only = mode == OpenMode::kReadOnly;
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
      if (read_only && std::string_view(pragma).find("journal_mode") != std::string_view::npos) {
        continue;  // the writer has set it (it is stored in the file)
      }
      if (auto done = db_->Exec(pragma); !done) return Fail(done.error().message, path);
    }
    auto version = db_->Prepare("PRAGMA user_version");
    if (!version) return Fail(version.error().message, path);
    auto row = (*version)->Step();
    if (!row) return Fail(row.error().message, path);
    version_ = *row ? static_cast<int>((*version)->Int(0)) : 0;
    (*version)->Reset();
    if (version_ > kSchemaVersion) {
      return Fail(fmt::format("database schema version {} is newer than this program's ({})",
                              version_, kSchemaVersion),
                  path);
    }
    if (read_only && version_ != kSchemaVersion) {
      return Fail(fmt::format("database schema version {} is not this program's ({}): open it for "
                              "writing once to migrate it",
                              version_, kSchemaVersion),
                  path);
    }
    while (version_ < kSchemaVersion) {
      int next = version_ + 1;
      auto applied = sqlite::Transaction(*db_, [&]() -> Result<void> {
        if (auto done = db_->Exec(kMigrations[version_]); !done) return done;
        return db_->Exec(fmt::format("PRAGMA user_version={}", next));
      });
      if (!applied) {
        return Fail(fmt::format("schema migration {} failed: {}", next, applied.error().message),
                    path);
      }
      version_ = next;
    }
    return {};
  }

  int schema_version() const override { return version_; }

  Result<InventoryWriteStats> WriteInventory(const model::Inventory& inventory) override {
    auto written = sqlite::Transaction(*db_, [&]() -> Result<InventoryWriteStats> {
      InventoryWriteStats stats;
      for (const auto& customer : inventory.customers) {
        if (auto done = PutCustomer(customer); !done) return tl::unexpected(done.error());
        ++stats.customers;
      }
      for (const auto& project : inventory.projects) {
        if (auto done = PutProject(project); !done) return tl::unexpected(done.error());
        ++stats.projects;
      }
      for (const auto& system : inventory.systems) {
        if (auto done = PutSystem(system); !done) return tl::unexpected(done.error());
        ++stats.systems;
      }
      for (const auto& interface : inventory.interfaces) {
        if (auto done = PutInterface(interface); !done) return tl::unexpected(done.error());
        ++stats.interfaces;
      }
      for (const auto& assignment : inventory.assignments) {
        auto done = PutAssignment(assignment, stats);
        if (!done) return tl::unexpected(done.error());
      }
      return stats;
    });
    if (!written) return tl::unexpected(Failed("writing the inventory", written.error()));
    return written;
  }

  Result<model::Inventory> ReadInventory() override {
    model::Inventory inventory;
    auto read = ReadAll(inventory);
    if (!read) return tl::unexpected(Failed("reading the inventory", read.error()));
    return inventory;
  }

  Result<void> Transaction(const std::function<Result<void>()>& body) override {
    return sqlite::Transaction(*db_, body);
  }

  Result<int64_t> AddFinding(const StoredFinding& f) override {
    auto added = Run("storing a finding",
                     "INSERT INTO findings (document, fingerprint, time_source, system_id, "
                     "customer_id, incident_id, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                     [&](sqlite::Statement& s) {
                       s.Bind(1, f.document).Bind(2, f.fingerprint).Bind(3, f.time_source);
                       s.Bind(4, f.attributed.system_id).Bind(5, f.attributed.customer_id);
                       if (f.incident_id != 0) {
                         s.Bind(6, f.incident_id);
                       } else {
                         s.BindNull(6);
                       }
                       s.Bind(7, f.received_at);
                     });
    if (!added) return tl::unexpected(added.error());
    return db_->LastInsertId();
  }

  Result<std::vector<StoredFinding>> Unattributed(const Page& page) override {
    return Findings(
        std::string(kSelectFindings) + " WHERE system_id = '' AND id > ?1 ORDER BY id LIMIT ?2",
        [&](sqlite::Statement& s) { BindPage(s, 1, page); });
  }

  Result<std::vector<StoredFinding>> FindingsOfIncident(int64_t incident_id,
                                                        const Page& page) override {
    return Findings(
        std::string(kSelectFindings) + " WHERE incident_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        [&](sqlite::Statement& s) {
          s.Bind(1, incident_id);
          BindPage(s, 2, page);
        });
  }

  Result<std::optional<StoredFinding>> GetFinding(int64_t id) override {
    auto found = Findings(std::string(kSelectFindings) + " WHERE id = ?1",
                          [&](sqlite::Statement& s) { s.Bind(1, id); });
    if (!found) return tl::unexpected(found.error());
    if (found->empty()) return std::optional<StoredFinding>();
    return std::optional<StoredFinding>(found->front());
  }

  Result<std::optional<int64_t>> OpenIncidentOfFingerprint(const std::string& fingerprint,
                                                           TimeNs since) override {
    auto statement = db_->Prepare(
        "SELECT f.incident_id FROM findings f JOIN incidents i ON i.id = f.incident_id "
        "WHERE f.fingerprint = ?1 AND f.time_source >= ?2 AND i.state NOT IN ('resolved', "
        "'closed') ORDER BY f.time_source DESC LIMIT 1");
    if (!statement) return tl::unexpected(statement.error());
    (*statement)->Bind(1, fingerprint).Bind(2, since);
    auto row = (*statement)->Step();
    if (!row) return tl::unexpected(Failed("looking up a fingerprint", row.error()));
    if (!*row) return std::optional<int64_t>();
    int64_t incident = (*statement)->Int(0);
    (*statement)->Reset();
    return std::optional<int64_t>(incident);
  }

  Result<std::optional<model::Incident>> OpenIncident(const std::string& customer_id,
                                                      const std::string& system_id,
                                                      const std::string& kind) override {
    return OneIncident(
        std::string(kSelectIncidents) +
            " WHERE customer_id = ?1 AND system_id = ?2 AND kind = ?3 AND state "
            "NOT IN ('resolved', 'closed') ORDER BY id DESC LIMIT 1",
        [&](sqlite::Statement& s) { s.Bind(1, customer_id).Bind(2, system_id).Bind(3, kind); });
  }

  Result<std::optional<model::Incident>> LatestIncident(const std::string& customer_id,
                                                        const std::string& system_id,
                                                        const std::string& kind) override {
    return OneIncident(
        std::string(kSelectIncidents) +
            " WHERE customer_id = ?1 AND system_id = ?2 AND kind = ?3 "
            "ORDER BY id DESC LIMIT 1",
        [&](sqlite::Statement& s) { s.Bind(1, customer_id).Bind(2, system_id).Bind(3, kind); });
  }

  Result<int64_t> CreateIncident(const model::Incident& incident) override {
    auto created = Run("creating an incident",
                       "INSERT INTO incidents (customer_id, system_id, kind, state, severity, "
                       "opened_at, updated_at, deadline, last_seen, findings) VALUES (?1, ?2, ?3, "
                       "?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                       [&](sqlite::Statement& s) { BindIncident(s, incident); });
    if (!created) return tl::unexpected(created.error());
    return db_->LastInsertId();
  }

  Result<void> UpdateIncident(const model::Incident& incident) override {
    return Run(fmt::format("updating incident {}", incident.id),
               "UPDATE incidents SET customer_id = ?1, system_id = ?2, kind = ?3, state = ?4, "
               "severity = ?5, opened_at = ?6, updated_at = ?7, deadline = ?8, last_seen = ?9, "
               "findings = ?10 WHERE id = ?11",
               [&](sqlite::Statement& s) {
                 BindIncident(s, incident);
                 s.Bind(11, incident.id);
               });
  }

  Result<std::optional<model::Incident>> GetIncident(int64_t id) override {
    return OneIncident(std::string(kSelectIncidents) + " WHERE id = ?1",
                       [&](sqlite::Statement& s) { s.Bind(1, id); });
  }

  Result<std::vector<model::Incident>> ListIncidents(const IncidentFilter& filter) override {
    auto statement = db_->Prepare(std::string(kSelectIncidents) +
                                  " WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR customer_id = "
                                  "?2) AND id > ?3 ORDER BY id LIMIT ?4");
    if (!statement) return tl::unexpected(statement.error());
    (*statement)->Bind(1, filter.state ? model::StateName(*filter.state) : "");
    (*statement)->Bind(2, filter.customer_id).Bind(3, filter.after_id);
    (*statement)->Bind(4, static_cast<int64_t>(filter.limit));
    std::vector<model::Incident> out;
    while (true) {
      auto row = (*statement)->Step();
      if (!row) return tl::unexpected(Failed("listing incidents", row.error()));
      if (!*row) return out;
      out.push_back(IncidentFrom(**statement));
    }
  }

  Result<std::map<std::string, int64_t>> CountIncidents() override {
    std::map<std::string, int64_t> counts;
    auto done = Each("SELECT state, COUNT(*) FROM incidents GROUP BY state",
                     [&](sqlite::Statement& s) { counts[s.Text(0)] = s.Int(1); });
    if (!done) return tl::unexpected(Failed("counting incidents", done.error()));
    return counts;
  }

  Result<model::AuditEntry> AppendAudit(
      model::AuditEntry entry,
      const std::function<std::string(const model::AuditEntry&)>& hash) override {
    auto last = db_->Prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (!last) return tl::unexpected(last.error());
    auto row = (*last)->Step();
    if (!row) return tl::unexpected(Failed("reading the audit log", row.error()));
    entry.seq = *row ? (*last)->Int(0) + 1 : 1;
    entry.prev_hash = *row ? (*last)->Text(1) : "";
    (*last)->Reset();
    entry.hash = hash(entry);
    auto appended = Run("appending to the audit log",
                        "INSERT INTO audit_log (seq, at, actor, incident_id, action, from_state, "
                        "to_state, reason, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                        "?8, ?9, ?10)",
                        [&](sqlite::Statement& s) {
                          s.Bind(1, entry.seq).Bind(2, entry.at).Bind(3, entry.actor);
                          s.Bind(4, entry.incident_id).Bind(5, entry.action);
                          s.Bind(6, entry.from_state).Bind(7, entry.to_state);
                          s.Bind(8, entry.reason).Bind(9, entry.prev_hash).Bind(10, entry.hash);
                        });
    if (!appended) return tl::unexpected(appended.error());
    return entry;
  }

  Result<int64_t> CountAudit(int64_t incident_id, const std::string& action) override {
    int64_t count = 0;
    auto statement =
        db_->Prepare("SELECT COUNT(*) FROM audit_log WHERE incident_id = ?1 AND action = ?2");
    if (!statement) return tl::unexpected(statement.error());
    (*statement)->Bind(1, incident_id).Bind(2, action);
    auto row = (*statement)->Step();
    if (!row) return tl::unexpected(Failed("counting audit entries", row.error()));
    if (*row) count = (*statement)->Int(0);
    (*statement)->Reset();
    return count;
  }

  Result<std::vector<model::AuditEntry>> ReadAudit(int64_t incident_id, const Page& page) override {
    auto statement = db_->Prepare(
        "SELECT seq, at, actor, incident_id, action, from_state, to_state, reason, prev_hash, "
        "hash FROM audit_log WHERE (?1 = 0 OR incident_id = ?1) AND seq > ?2 ORDER BY seq "
        "LIMIT ?3");
    if (!statement) return tl::unexpected(statement.error());
    (*statement)->Bind(1, incident_id);
    BindPage(**statement, 2, page);
    std::vector<model::AuditEntry> out;
    while (true) {
      auto row = (*statement)->Step();
      if (!row) return tl::unexpected(Failed("reading the audit log", row.error()));
      if (!*row) return out;
      const sqlite::Statement& s = **statement;
      out.push_back(model::AuditEntry{s.Int(0), s.Int(1), s.Text(2), s.Int(3), s.Text(4), s.Text(5),
                                      s.Text(6), s.Text(7), s.Text(8), s.Text(9)});
    }
  }

  Result<bool> Enqueue(const OutboxEntry& e) override {
    auto statement = db_->Prepare(
        "INSERT INTO outbox (incident_id, kind, channel, recipients, payload, state, attempts, "
        "next_attempt, last_error, created_at, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
        "?9, ?10, ?11) ON CONFLICT (incident_id, kind, channel) DO NOTHING");
    if (!statement) return tl::unexpected(statement.error());
    sqlite::Statement& s = **statement;
    s.Bind(1, e.incident_id).Bind(2, e.kind).Bind(3, e.channel).Bind(4, e.recipients);
    s.Bind(5, e.payload).Bind(6, e.state).Bind(7, e.attempts).Bind(8, e.next_attempt);
    s.Bind(9, e.last_error).Bind(10, e.created_at).Bind(11, e.sent_at);
    if (auto done = s.Run(); !done)
      return tl::unexpected(Failed("queueing a message", done.error()));
    return sqlite3_changes(db_->raw()) > 0;
  }

  Result<std::vector<OutboxEntry>> ClaimOutbox(TimeNs now, TimeNs lease_until,
                                               std::string_view channel, size_t limit) override {
    return sqlite::Transaction(*db_, [&]() -> Result<std::vector<OutboxEntry>> {
      auto due = Outbox(
          std::string(kSelectOutbox) +
              " WHERE state = 'pending' AND next_attempt <= ?1 AND lease_until <= ?1 AND (?2 = "
              "'' OR channel = ?2 OR (?2 = 'mail' AND channel = 'digest')) ORDER BY "
              "next_attempt, id LIMIT ?3",
          [&](sqlite::Statement& s) {
            s.Bind(1, now).Bind(2, channel).Bind(3, static_cast<int64_t>(limit));
          });
      if (!due) return due;
      for (OutboxEntry& entry : *due) {
        entry.lease_until = lease_until;
        auto leased = Run(fmt::format("claiming message {}", entry.id),
                          "UPDATE outbox SET lease_until = ?1 WHERE id = ?2",
                          [&](sqlite::Statement& s) { s.Bind(1, lease_until).Bind(2, entry.id); });
        if (!leased) return tl::unexpected(leased.error());
      }
      return due;
    });
  }

  Result<std::vector<OutboxEntry>> OutboxOf(int64_t incident_id) override {
    return Outbox(std::string(kSelectOutbox) + " WHERE incident_id = ?1 ORDER BY id",
                  [&](sqlite::Statement& s) { s.Bind(1, incident_id); });
  }

  Result<void> UpdateOutbox(const OutboxEntry& e) override {
    return Run(fmt::format("updating message {}", e.id),
               "UPDATE outbox SET state = ?1, attempts = ?2, next_attempt = ?3, last_error = ?4, "
               "sent_at = ?5, lease_until = 0 WHERE id = ?6",
               [&](sqlite::Statement& s) {
                 s.Bind(1, e.state).Bind(2, e.attempts).Bind(3, e.next_attempt);
                 s.Bind(4, e.last_error).Bind(5, e.sent_at).Bind(6, e.id);
               });
  }

  Result<void> CreateToken(const model::Token& t) override {
    return Run("storing a token",
               "INSERT INTO tokens (id, hash, role, customer_id, description, created_at, "
               "revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
               [&](sqlite::Statement& s) {
                 s.Bind(1, t.id).Bind(2, t.hash).Bind(3, model::RoleName(t.role));
                 s.Bind(4, t.customer_id).Bind(5, t.description).Bind(6, t.created_at);
                 s.Bind(7, int64_t{t.revoked});
               });
  }

  Result<std::optional<model::Token>> FindToken(const std::string& id) override {
    auto tokens = Tokens(std::string(kSelectTokens) + " WHERE id = ?1",
                         [&](sqlite::Statement& s) { s.Bind(1, id); });
    if (!tokens) return tl::unexpected(tokens.error());
    if (tokens->empty()) return std::optional<model::Token>();
    return std::optional<model::Token>(tokens->front());
  }

  Result<std::vector<model::Token>> ListTokens() override {
    return Tokens(std::string(kSelectTokens) + " ORDER BY created_at, id",
                  [](sqlite::Statement&) {});
  }

  Result<bool> RevokeToken(const std::string& id) override {
    auto done = Run("revoking a token", "UPDATE tokens SET revoked = 1 WHERE id = ?1",
                    [&](sqlite::Statement& s) { s.Bind(1, id); });
    if (!done) return tl::unexpected(done.error());
    return sqlite3_changes(db_->raw()) > 0;
  }

  Result<int64_t> CreateCountermeasure(const model::Countermeasure& c) override {
    auto done = Run("storing a countermeasure",
                    std::string("INSERT INTO countermeasures (") + kCountermeasureColumns +
                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                        "?15, ?16, ?17, ?18, ?19, ?20, ?21)",
                    [&](sqlite::Statement& s) { BindCountermeasure(s, c); });
    if (!done) return tl::unexpected(done.error());
    return db_->LastInsertId();
  }

  Result<void> UpdateCountermeasure(const model::Countermeasure& c) override {
    auto done = Run(fmt::format("updating countermeasure {}", c.id),
                    "UPDATE countermeasures SET incident_id = ?1, customer_id = ?2, system_id = "
                    "?3, kind = ?4, state = ?5, enforcer = ?6, ports = ?7, rate_pps = ?8, "
                    "automatic = ?9, proposed_by = ?10, approved_by = ?11, reason = ?12, "
                    "created_at = ?13, updated_at = ?14, expires_at = ?15, applied_at = ?16, "
                    "lifted_at = ?17, pending = ?18, targets = ?19, recorded = ?20, last_error = "
                    "?21 WHERE id = ?22",
                    [&](sqlite::Statement& s) {
                      BindCountermeasure(s, c);
                      s.Bind(22, c.id);
                    });
    if (!done) return done;
    if (sqlite3_changes(db_->raw()) == 0) {
      return Fail(fmt::format("updating countermeasure {}: no such countermeasure", c.id));
    }
    return {};
  }

  Result<std::optional<model::Countermeasure>> GetCountermeasure(int64_t id) override {
    auto found = Countermeasures(
        std::string("SELECT id, ") + kCountermeasureColumns + " FROM countermeasures WHERE id = ?1",
        [&](sqlite::Statement& s) { s.Bind(1, id); });
    if (!found) return tl::unexpected(found.error());
    if (found->empty()) return std::optional<model::Countermeasure>();
    return std::optional<model::Countermeasure>(std::move(found->front()));
  }

  Result<std::vector<model::Countermeasure>> ListCountermeasures(
      const CountermeasureFilter& f) override {
    return Countermeasures(
        std::string("SELECT id, ") + kCountermeasureColumns +
            " FROM countermeasures WHERE id > ?1 AND (?2 = '' OR state = ?2) AND (?3 = 0 OR "
            "state IN ('active', 'pending_removal', 'drifted', 'failed')) AND (?4 = '' OR "
            "customer_id = ?4) AND (?5 = '' OR system_id = ?5) AND (?6 = 0 OR incident_id = ?6) "
            "AND (?7 = 0 OR pending != '') ORDER BY id LIMIT ?8",
        [&](sqlite::Statement& s) {
          s.Bind(1, f.after_id).Bind(2, f.state ? model::StateName(*f.state) : "");
          s.Bind(3, int64_t{f.may_be_in_place}).Bind(4, f.customer_id).Bind(5, f.system_id);
          s.Bind(6, f.incident_id).Bind(7, int64_t{f.pending_only});
          s.Bind(8, static_cast<int64_t>(std::min<size_t>(f.limit, INT64_MAX)));
        });
  }

  Result<std::map<std::string, int64_t>> CountCountermeasures() override {
    auto statement = db_->Prepare("SELECT state, COUNT(*) FROM countermeasures GROUP BY state");
    if (!statement) return tl::unexpected(statement.error());
    std::map<std::string, int64_t> counts;
    while (true) {
      auto row = (*statement)->Step();
      if (!row) return tl::unexpected(Failed("counting countermeasures", row.error()));
      if (!*row) return counts;
      counts[(*statement)->Text(0)] = (*statement)->Int(1);
    }
  }

  Result<int64_t> CountAutomaticSince(TimeNs since) override {
    auto statement = db_->Prepare(
        "SELECT COUNT(*) FROM countermeasures WHERE automatic = 1 AND created_at >= ?1");
    if (!statement) return tl::unexpected(statement.error());
    (*statement)->Bind(1, since);
    auto row = (*statement)->Step();
    if (!row) return tl::unexpected(Failed("counting countermeasures", row.error()));
    int64_t count = (*statement)->Int(0);
    (*statement)->Reset();
    return count;
  }

  Result<void> SetPosition(const std::string& stream, uint64_t position) override {
    return Run(
        "storing a stream's position",
        "INSERT INTO positions (stream, position) VALUES (?1, ?2) "
        "ON CONFLICT (stream) DO UPDATE SET position = excluded.position",
        [&](sqlite::Statement& s) { s.Bind(1, stream).Bind(2, static_cast<int64_t>(position)); });
  }

  Result<std::optional<uint64_t>> Position(const std::string& stream) override {
    auto statement = db_->Prepare("SELECT position FROM positions WHERE stream = ?1");
    if (!statement) return tl::unexpected(statement.error());
    (*statement)->Bind(1, stream);
    auto row = (*statement)->Step();
    if (!row) return tl::unexpected(Failed("reading a stream's position", row.error()));
    if (!*row) return std::optional<uint64_t>();
    auto position = static_cast<uint64_t>((*statement)->Int(0));
    (*statement)->Reset();
    return std::optional<uint64_t>(position);
  }

  Result<bool> PutReport(const StoredReport& report) override {
    auto done = Run("storing a report",
                    "INSERT OR IGNORE INTO reports (sha256, name, format, received, content) "
                    "VALUES (?1, ?2, ?3, ?4, ?5)",
                    [&](sqlite::Statement& s) {
                      s.Bind(1, report.sha256)
                          .Bind(2, report.name)
                          .Bind(3, report.format)
                          .Bind(4, int64_t{report.received})
                          .BindBlob(5, report.content.data(), report.content.size());
                    });
    if (!done) return tl::unexpected(done.error());
    return sqlite3_changes(db_->raw()) > 0;
  }

  Result<std::optional<StoredReport>> GetReport(const std::string& sha256) override {
    auto statement = db_->Prepare(
        "SELECT sha256, name, format, received, content FROM reports WHERE sha256 = ?1");
    if (!statement) return tl::unexpected(statement.error());
    (*statement)->Bind(1, sha256);
    auto row = (*statement)->Step();
    if (!row) return tl::unexpected(Failed("reading a report", row.error()));
    if (!*row) return std::optional<StoredReport>();
    sqlite::Statement& s = **statement;
    StoredReport report{s.Text(0), s.Text(1), s.Text(2), s.Int(3), std::string(s.Blob(4))};
    s.Reset();  // a statement left on a row would hold the connection's snapshot
    return std::optional<StoredReport>(std::move(report));
  }

  Result<std::vector<model::Assignment>> AssignmentsOf(const model::Prefix& prefix) override {
    auto statement = db_->Prepare(std::string(kSelectAssignments) +
                                  " WHERE network = ?1 AND prefix_length = ?2 ORDER BY valid_from");
    if (!statement) return tl::unexpected(statement.error());
    const auto& bytes = prefix.network.bytes();
    (*statement)->BindBlob(1, bytes.data(), bytes.size()).Bind(2, int64_t{prefix.length});
    std::vector<model::Assignment> out;
    while (true) {
      auto row = (*statement)->Step();
      if (!row) return tl::unexpected(Failed("reading assignments", row.error()));
      if (!*row) break;
      out.push_back(AssignmentFrom(**statement));
    }
    return out;
  }

 private:
  static constexpr const char* kSelectAssignments =
      "SELECT id, system_id, interface_key, network, prefix_length, valid_from, valid_until, "
      "origin FROM assignments";

  // Binds `page` to the statement's parameters `first` (after) and `first` + 1 (limit).
  static void BindPage(sqlite::Statement& s, int first, const Page& page) {
    s.Bind(first, page.after);
    s.Bind(first + 1, static_cast<int64_t>(std::min<size_t>(page.limit, INT64_MAX)));
  }

  static constexpr const char* kSelectFindings =
      "SELECT id, document, fingerprint, time_source, system_id, customer_id, incident_id, "
      "received_at FROM findings";
  static constexpr const char* kSelectIncidents =
      "SELECT id, customer_id, system_id, kind, state, severity, opened_at, updated_at, deadline, "
      "last_seen, findings FROM incidents";

  template <typename Bind>
  Result<std::vector<StoredFinding>> Findings(const std::string& sql, Bind&& bind) {
    auto statement = db_->Prepare(sql);
    if (!statement) return tl::unexpected(statement.error());
    bind(**statement);
    std::vector<StoredFinding> out;
    while (true) {
      auto row = (*statement)->Step();
      if (!row) return tl::unexpected(Failed("reading findings", row.error()));
      if (!*row) return out;
      const sqlite::Statement& s = **statement;
      out.push_back(StoredFinding{s.Int(0),
                                  s.Text(1),
                                  s.Text(2),
                                  s.Int(3),
                                  {s.Text(4), s.Text(5)},
                                  s.IsNull(6) ? 0 : s.Int(6),
                                  s.Int(7)});
    }
  }

  static constexpr const char* kSelectOutbox =
      "SELECT id, incident_id, kind, channel, recipients, payload, state, attempts, next_attempt, "
      "last_error, created_at, sent_at, lease_until FROM outbox";

  template <typename Bind>
  Result<std::vector<OutboxEntry>> Outbox(const std::string& sql, Bind&& bind) {
    auto statement = db_->Prepare(sql);
    if (!statement) return tl::unexpected(statement.error());
    bind(**statement);
    std::vector<OutboxEntry> out;
    while (true) {
      auto row = (*statement)->Step();
      if (!row) return tl::unexpected(Failed("reading the outbox", row.error()));
      if (!*row) return out;
      const sqlite::Statement& s = **statement;
      out.push_back(OutboxEntry{s.Int(0), s.Int(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5),
                                s.Text(6), s.Int(7), s.Int(8), s.Text(9), s.Int(10), s.Int(11),
                                s.Int(12)});
    }
  }

  static constexpr const char* kCountermeasureColumns =
      "incident_id, customer_id, system_id, kind, state, enforcer, ports, rate_pps, automatic, "
      "proposed_by, approved_by, reason, created_at, updated_at, expires_at, applied_at, "
      "lifted_at, pending, targets, recorded, last_error";

  static void BindCountermeasure(sqlite::Statement& s, const model::Countermeasure& c) {
    s.Bind(1, c.incident_id).Bind(2, c.customer_id).Bind(3, c.system_id);
    s.Bind(4, model::KindName(c.kind)).Bind(5, model::StateName(c.state)).Bind(6, c.enforcer);
    s.Bind(7, JoinList(c.ports)).Bind(8, c.rate_pps).Bind(9, int64_t{c.automatic});
    s.Bind(10, c.proposed_by).Bind(11, JoinList(c.approved_by)).Bind(12, c.reason);
    s.Bind(13, c.created_at).Bind(14, c.updated_at);
    if (c.expires_at) {
      s.Bind(15, *c.expires_at);
    } else {
      s.BindNull(15);
    }
    s.Bind(16, c.applied_at).Bind(17, c.lifted_at).Bind(18, c.pending).Bind(19, c.targets);
    s.Bind(20, c.recorded).Bind(21, c.last_error);
  }

  // Items of a list column: comma-separated (ports and actors hold no commas).
  static std::string JoinList(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
    return out;
  }
  static std::vector<std::string> SplitList(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < text.size()) {
      size_t comma = text.find(',', start);
      if (comma == std::string::npos) comma = text.size();
      out.push_back(text.substr(start, comma - start));
      start = comma + 1;
    }
    return out;
  }

  template <typename Bind>
  Result<std::vector<model::Countermeasure>> Countermeasures(const std::string& sql, Bind&& bind) {
    auto statement = db_->Prepare(sql);
    if (!statement) return tl::unexpected(statement.error());
    bind(**statement);
    std::vector<model::Countermeasure> out;
    while (true) {
      auto row = (*statement)->Step();
      if (!row) return tl::unexpected(Failed("reading countermeasures", row.error()));
      if (!*row) return out;
      const sqlite::Statement& s = **statement;
      model::Countermeasure c;
      c.id = s.Int(0);
      c.incident_id = s.Int(1);
      c.customer_id = s.Text(2);
      c.system_id = s.Text(3);
      c.kind = model::ParseKind(s.Text(4)).value_or(model::CountermeasureKind::kQuarantine);
      c.state =
          model::ParseCountermeasureState(s.Text(5)).value_or(model::CountermeasureState::kFailed);
      c.enforcer = s.Text(6);
      c.ports = SplitList(s.Text(7));
      c.rate_pps = s.Int(8);
      c.automatic = s.Int(9) != 0;
      c.proposed_by = s.Text(10);
      c.approved_by = SplitList(s.Text(11));
      c.reason = s.Text(12);
      c.created_at = s.Int(13);
      c.updated_at = s.Int(14);
      if (!s.IsNull(15)) c.expires_at = s.Int(15);
      c.applied_at = s.Int(16);
      c.lifted_at = s.Int(17);
      c.pending = s.Text(18);
      c.targets = s.Text(19);
      c.recorded = s.Text(20);
      c.last_error = s.Text(21);
      out.push_back(std::move(c));
    }
  }

  static constexpr const char* kSelectTokens =
      "SELECT id, hash, role, customer_id, description, created_at, revoked FROM tokens";

  template <typename Bind>
  Result<std::vector<model::Token>> Tokens(const std::string& sql, Bind&& bind) {
    auto statement = db_->Prepare(sql);
    if (!statement) return tl::unexpected(statement.error());
    bind(**statement);
    std::vector<model::Token> out;
    while (true) {
      auto row = (*statement)->Step();
      if (!row) return tl::unexpected(Failed("reading tokens", row.error()));
      if (!*row) return out;
      const sqlite::Statement& s = **statement;
      out.push_back(model::Token{s.Text(0), s.Text(1),
                                 model::ParseRole(s.Text(2)).value_or(model::Role::kCustomer),
                                 s.Text(3), s.Text(4), s.Int(5), s.Int(6) != 0});
    }
  }

  static void BindIncident(sqlite::Statement& s, const model::Incident& i) {
    s.Bind(1, i.customer_id).Bind(2, i.system_id).Bind(3, i.kind);
    s.Bind(4, model::StateName(i.state)).Bind(5, model::SeverityName(i.severity));
    s.Bind(6, i.opened_at).Bind(7, i.updated_at);
    if (i.deadline) {
      s.Bind(8, *i.deadline);
    } else {
      s.BindNull(8);
    }
    s.Bind(9, i.last_seen).Bind(10, i.findings);
  }

  static model::Incident IncidentFrom(const sqlite::Statement& s) {
    model::Incident i;
    i.id = s.Int(0);
    i.customer_id = s.Text(1);
    i.system_id = s.Text(2);
    i.kind = s.Text(3);
    i.state = model::ParseState(s.Text(4)).value_or(model::IncidentState::kNew);
    i.severity = model::ParseSeverity(s.Text(5)).value_or(model::Severity::kMedium);
    i.opened_at = s.Int(6);
    i.updated_at = s.Int(7);
    if (!s.IsNull(8)) i.deadline = s.Int(8);
    i.last_seen = s.Int(9);
    i.findings = s.Int(10);
    return i;
  }

  template <typename Bind>
  Result<std::optional<model::Incident>> OneIncident(const std::string& sql, Bind&& bind) {
    auto statement = db_->Prepare(sql);
    if (!statement) return tl::unexpected(statement.error());
    bind(**statement);
    auto row = (*statement)->Step();
    if (!row) return tl::unexpected(Failed("reading an incident", row.error()));
    if (!*row) return std::optional<model::Incident>();
    model::Incident incident = IncidentFrom(**statement);
    (*statement)->Reset();
    return std::optional<model::Incident>(std::move(incident));
  }

  static model::Assignment AssignmentFrom(const sqlite::Statement& row) {
    model::Assignment a;
    a.id = row.Int(0);
    a.system_id = row.Text(1);
    a.interface_key = row.Text(2);
    std::array<uint8_t, 16> bytes{};
    std::string_view blob = row.Blob(3);
    std::memcpy(bytes.data(), blob.data(), std::min(blob.size(), bytes.size()));
    a.prefix.network = event::IpAddress::FromBytes(bytes);
    a.prefix.length = static_cast<int>(row.Int(4));
    a.from = row.Int(5);
    a.until = row.Int(6);
    a.origin = row.Text(7);
    return a;
  }

  // Runs `sql` with `bind` applied; the error names `what`.
  template <typename Bind>
  Result<void> Run(std::string_view what, std::string_view sql, Bind&& bind) {
    auto statement = db_->Prepare(sql);
    if (!statement) return tl::unexpected(Failed(what, statement.error()));
    bind(**statement);
    if (auto done = (*statement)->Run(); !done) return tl::unexpected(Failed(what, done.error()));
    return {};
  }

  Result<void> PutLabels(std::string_view kind, const std::string& owner,
                         const model::Labels& labels) {
    auto cleared = Run("labels", "DELETE FROM labels WHERE kind = ?1 AND owner_id = ?2",
                       [&](sqlite::Statement& s) { s.Bind(1, kind).Bind(2, owner); });
    if (!cleared) return cleared;
    for (const auto& label : labels) {
      auto put =
          Run("labels", "INSERT INTO labels (kind, owner_id, key, value) VALUES (?1, ?2, ?3, ?4)",
              [&](sqlite::Statement& s) {
                s.Bind(1, kind).Bind(2, owner).Bind(3, label.first).Bind(4, label.second);
              });
      if (!put) return put;
    }
    return {};
  }

  Result<void> PutCustomer(const model::Customer& c) {
    std::string what = fmt::format("customer '{}'", c.id);
    auto put = Run(what,
                   "INSERT INTO customers (id, name, language, openpgp_key, origin) "
                   "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET name = ?2, "
                   "language = ?3, openpgp_key = ?4, origin = ?5",
                   [&](sqlite::Statement& s) {
                     s.Bind(1, c.id).Bind(2, c.name).Bind(3, c.language).Bind(4, c.openpgp_key);
                     s.Bind(5, c.origin);
                   });
    if (!put) return put;
    auto cleared = Run(what, "DELETE FROM contacts WHERE customer_id = ?1",
                       [&](sqlite::Statement& s) { s.Bind(1, c.id); });
    if (!cleared) return cleared;
    for (size_t i = 0; i < c.contacts.size(); ++i) {
      auto contact = Run(what,
                         "INSERT INTO contacts (customer_id, position, email, role) "
                         "VALUES (?1, ?2, ?3, ?4)",
                         [&](sqlite::Statement& s) {
                           s.Bind(1, c.id).Bind(2, static_cast<int64_t>(i));
                           s.Bind(3, c.contacts[i].email).Bind(4, c.contacts[i].role);
                         });
      if (!contact) return contact;
    }
    return {};
  }

  Result<void> PutProject(const model::Project& p) {
    auto put = Run(fmt::format("project '{}'", p.id),
                   "INSERT INTO projects (id, customer_id, name, origin) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT (id) DO UPDATE SET customer_id = ?2, name = ?3, origin = ?4",
                   [&](sqlite::Statement& s) {
                     s.Bind(1, p.id).Bind(2, p.customer_id).Bind(3, p.name).Bind(4, p.origin);
                   });
    if (!put) return put;
    return PutLabels("project", p.id, p.labels);
  }

  Result<void> PutSystem(const model::System& m) {
    auto put =
        Run(fmt::format("system '{}'", m.id),
            "INSERT INTO systems (id, project_id, name, internet_exposed, protected, origin) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET "
            "project_id = ?2, name = ?3, internet_exposed = ?4, protected = ?5, origin = ?6",
            [&](sqlite::Statement& s) {
              s.Bind(1, m.id).Bind(2, m.project_id).Bind(3, m.name);
              s.Bind(4, int64_t{m.internet_exposed}).Bind(5, int64_t{m.protected_system});
              s.Bind(6, m.origin);
            });
    if (!put) return put;
    return PutLabels("system", m.id, m.labels);
  }

  Result<void> PutInterface(const model::Interface& i) {
    return Run(fmt::format("interface '{}' of system '{}'", i.Key(), i.system_id),
               "INSERT INTO interfaces (system_id, key, mac, port, valid_from, valid_until, "
               "origin, security_groups) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT "
               "(system_id, key) DO UPDATE SET mac = ?3, port = ?4, valid_from = ?5, "
               "valid_until = ?6, origin = ?7, security_groups = ?8",
               [&](sqlite::Statement& s) {
                 std::string groups;
                 for (const auto& g : i.security_groups) groups += (groups.empty() ? "" : ",") + g;
                 s.Bind(1, i.system_id).Bind(2, i.Key()).Bind(3, i.mac).Bind(4, i.port);
                 s.Bind(5, i.from).Bind(6, i.until).Bind(7, i.origin).Bind(8, groups);
               });
  }

  Result<void> PutAssignment(const model::Assignment& a, InventoryWriteStats& stats) {
    std::string what = fmt::format("address {} of system '{}'", a.prefix.ToString(), a.system_id);
    const auto& bytes = a.prefix.network.bytes();
    auto existing = db_->Prepare(
        "SELECT id, valid_until FROM assignments WHERE network = ?1 AND prefix_length = ?2 AND "
        "system_id = ?3 AND interface_key = ?4 AND valid_from = ?5");
    if (!existing) return tl::unexpected(Failed(what, existing.error()));
    sqlite::Statement& find = **existing;
    find.BindBlob(1, bytes.data(), bytes.size()).Bind(2, int64_t{a.prefix.length});
    find.Bind(3, a.system_id).Bind(4, a.interface_key).Bind(5, a.from);
    auto row = find.Step();
    if (!row) return tl::unexpected(Failed(what, row.error()));
    if (*row) {
      int64_t id = find.Int(0);
      int64_t until = find.Int(1);
      find.Reset();
      if (until == a.until) {
        ++stats.assignments_unchanged;
        return {};
      }
      ++stats.assignments_updated;
      return Run(what, "UPDATE assignments SET valid_until = ?1, origin = ?2 WHERE id = ?3",
                 [&](sqlite::Statement& s) { s.Bind(1, a.until).Bind(2, a.origin).Bind(3, id); });
    }
    ++stats.assignments_added;
    return Run(what,
               "INSERT INTO assignments (system_id, interface_key, network, prefix_length, "
               "valid_from, valid_until, origin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
               [&](sqlite::Statement& s) {
                 s.Bind(1, a.system_id).Bind(2, a.interface_key);
                 s.BindBlob(3, bytes.data(), bytes.size()).Bind(4, int64_t{a.prefix.length});
                 s.Bind(5, a.from).Bind(6, a.until).Bind(7, a.origin);
               });
  }

  // Calls `row` for each row of `sql`.
  template <typename Row>
  Result<void> Each(std::string_view sql, Row&& row) {
    auto statement = db_->Prepare(sql);
    if (!statement) return tl::unexpected(statement.error());
    while (true) {
      auto stepped = (*statement)->Step();
      if (!stepped) return tl::unexpected(stepped.error());
      if (!*stepped) return {};
      row(**statement);
    }
  }

  Result<void> ReadAll(model::Inventory& inventory) {
    std::map<std::pair<std::string, std::string>, model::Labels> labels;
    auto read = Each("SELECT kind, owner_id, key, value FROM labels", [&](sqlite::Statement& s) {
      labels[{s.Text(0), s.Text(1)}][s.Text(2)] = s.Text(3);
    });
    if (!read) return read;
    std::map<std::string, size_t> customer_index;
    read = Each("SELECT id, name, language, openpgp_key, origin FROM customers ORDER BY id",
                [&](sqlite::Statement& s) {
                  customer_index[s.Text(0)] = inventory.customers.size();
                  inventory.customers.push_back(
                      model::Customer{s.Text(0), s.Text(1), s.Text(2), {}, s.Text(3), s.Text(4)});
                });
    if (!read) return read;
    read = Each("SELECT customer_id, email, role FROM contacts ORDER BY customer_id, position",
                [&](sqlite::Statement& s) {
                  auto it = customer_index.find(s.Text(0));
                  if (it == customer_index.end()) return;
                  inventory.customers[it->second].contacts.push_back({s.Text(1), s.Text(2)});
                });
    if (!read) return read;
    read = Each("SELECT id, customer_id, name, origin FROM projects ORDER BY id",
                [&](sqlite::Statement& s) {
                  model::Project p{s.Text(0), s.Text(1), s.Text(2), {}, s.Text(3)};
                  p.labels = labels[{"project", p.id}];
                  inventory.projects.push_back(std::move(p));
                });
    if (!read) return read;
    read = Each(
        "SELECT id, project_id, name, internet_exposed, protected, origin FROM systems ORDER BY id",
        [&](sqlite::Statement& s) {
          model::System m{s.Text(0),     s.Text(1),     s.Text(2), {},
                          s.Int(3) != 0, s.Int(4) != 0, s.Text(5)};
          m.labels = labels[{"system", m.id}];
          inventory.systems.push_back(std::move(m));
        });
    if (!read) return read;
    read = Each(
        "SELECT system_id, mac, port, valid_from, valid_until, origin, security_groups FROM "
        "interfaces ORDER BY system_id, key",
        [&](sqlite::Statement& s) {
          model::Interface i{s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4), s.Text(5), {}};
          std::string groups = s.Text(6);
          for (std::string_view g : Split(groups, ',')) {
            if (!g.empty()) i.security_groups.emplace_back(g);
          }
          inventory.interfaces.push_back(std::move(i));
        });
    if (!read) return read;
    return Each(std::string(kSelectAssignments) + " ORDER BY network, prefix_length, valid_from",
                [&](sqlite::Statement& s) { inventory.assignments.push_back(AssignmentFrom(s)); });
  }

  std::unique_ptr<sqlite::Database> db_;
  int version_ = 0;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& data_dir, OpenMode mode) {
  if (mode == OpenMode::kReadWrite) {
    std::error_code error;
    std::filesystem::create_directories(data_dir, error);
    if (error) {
      return Fail(fmt::format("cannot create data directory: {}", error.message()), data_dir);
    }
  }
  std::string path = (std::filesystem::path(data_dir) / "bulwark.db").string();
  auto db = sqlite::Database::Open(path, mode == OpenMode::kReadOnly);
  if (!db) return tl::unexpected(db.error());
  auto store = std::make_unique<SqliteStore>(std::move(*db));
  if (auto migrated = store->Migrate(path, mode); !migrated) {
    return tl::unexpected(migrated.error());
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace bulwark::store
