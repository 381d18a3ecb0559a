#pragma once
// The incident spine of one configuration, built in one place for every command and for serve:
// the store, the attribution index, the policy with the KEV catalog, the mail templates, the
// notifier, the incidents, the mailer and the report reader.
//
// Thread safety: every method is thread-safe. Writes are serialised on one writer connection,
// each in one store transaction (Write); reads run on read-only connections of their own (Read),
// so that they never wait behind a write (SQLite WAL). Reload swaps the objects of a
// configuration whole; a reader keeps the ones it holds until it lets go.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "bulwark/abuse/report.h"
#include "bulwark/config/config.h"
#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/countermeasure/countermeasures.h"
#include "bulwark/incident/incidents.h"
#include "bulwark/inventory/attribution.h"
#include "bulwark/notify/notifier.h"
#include "bulwark/store/store.h"

namespace bulwark::spine {

// What a command line overrides of the configuration.
struct OpenOptions {
  std::string smtp_url;  // instead of mail.smtp_url (`notify send --smtp`)
  std::string print_to;  // instead of mail.print
};

// What one delivery round did.
struct DeliveryRound {
  notify::DeliveryStats mail, webhooks;
};

// Deadlines passed and reminders queued by one round of AdvanceDeadlines.
struct DeadlineRound {
  size_t deadlines_passed = 0;
  size_t reminders_queued = 0;
};

class Spine {
 public:
  // What a write works with: the writer connection and the objects of the running
  // configuration. Valid during the write only.
  struct Writer {
    store::Store& store;
    incident::Incidents& incidents;
    notify::Notifier& notifier;
    const config::Config& config;
  };

  // Opens the store in config.data_dir (creating it, applying migrations) and builds everything
  // `config` names. Files are read through `env` (give it the builtin: overlay). Errors: the
  // store cannot be opened, a file the configuration names cannot be read or parsed.
  static Result<std::unique_ptr<Spine>> Open(const config::Config& config, Env& env,
                                             OpenOptions options = {});
  ~Spine();
  Spine(const Spine&) = delete;
  Spine& operator=(const Spine&) = delete;

  // Builds everything `config` names and the inventory as stored now, then swaps it in whole;
  // on an Error nothing has changed. The data directory stays the one opened.
  Result<void> Reload(const config::Config& config);
  // Re-reads the inventory from the store (after an import) into a new attribution index.
  Result<void> RefreshInventory();

  // Runs `body` with the writer in one store transaction (rolled back when it returns an
  // Error, which is returned), serialised with every other write of this Spine.
  Result<void> Write(const std::function<Result<void>(Writer&)>& body);

  // Runs `body` on a read-only connection that no other thread uses meanwhile. It sees what was
  // committed; it does not wait for a write in progress. Errors: no connection could be opened,
  // or `body`'s.
  Result<void> Read(const std::function<Result<void>(store::Store&)>& body);

  // Deadlines that passed move their incidents on; due reminders are queued (one write).
  Result<DeadlineRound> AdvanceDeadlines();

  // Delivers the due messages of `channel` ("mail", "webhook", "" = both): claims them in the
  // store (a lease: another process delivering the same outbox leaves them alone), sends
  // without holding the writer, and records each outcome as soon as the server accepted.
  // `mailer` overrides the configured one. Errors: the store failed (sends recorded before
  // stay recorded).
  Result<DeliveryRound> Deliver(std::string_view channel = "", notify::Mailer* mailer = nullptr);

  // Aborts sends in progress and fails later ones at once: for shutting down without waiting
  // for a hanging mail server or webhook receiver. Irreversible.
  void CancelSends();

  // The countermeasure controller of the running configuration, with its enforcers (built on
  // first use, again after a Reload): steps that apply or lift a countermeasure of an incident
  // tell its customer (the incident's mail thread) and move the incident to mitigated. Errors:
  // an enforcer cannot be built (a namespace that does not exist, a bad setting).
  Result<std::shared_ptr<countermeasure::Countermeasures>> Countermeasures();

  // Whether the severity policy lets a countermeasure follow without prior consultation.
  bool WithoutConsultation(model::Severity severity) const;

  // The attribution index, the report reader and the configuration of the moment.
  std::shared_ptr<const inventory::AttributionIndex> index() const;
  std::shared_ptr<const abuse::ReportReader> report_reader() const;
  std::shared_ptr<const config::Config> config() const;
  Env& env() const;

 private:
  struct Impl;
  explicit Spine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bulwark::spine
