#pragma once
// Telling customers: composes the mails of an incident's thread (opened, reminders, escalation)
// into the transactional outbox, and delivers the outbox with retries and backoff. Nothing is
// lost: a message is queued in the same transaction as the change it reports, and stays queued
// until a server accepts it. Nothing is queued twice (one message per incident and kind).
// Delivery is at least once: a crash between the server's acceptance and the store's update
// sends that message again, with the same Message-ID; the update is written as soon as the server
// accepts, before the connection is closed, to keep that window small. Messages are claimed with
// a lease in the store, so that two senders (serve and `notify send`) never send the same one.
// Not thread-safe.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/incident/incidents.h"
#include "bulwark/notify/mail.h"

namespace bulwark::notify {

// A customer's webhook: every message of its incidents' threads is also POSTed here as JSON.
struct Webhook {
  std::string customer_id;
  std::string url;
  std::string secret;
};

struct NotifierSettings {
  std::string from = "security@provider.example";
  std::string domain = "bulwark.provider.example";  // right side of Message-IDs
  std::string signature = "Security team";
  int digest_hour = 8;  // UTC hour at which digest-rated notices go out
  TimeNs first_retry = 60 * kNsPerSecond;
  TimeNs max_retry = 3600 * kNsPerSecond;
  TimeNs give_up_after = 3 * 86400 * kNsPerSecond;  // then the message is "failed"
  // How long a sender holds the messages it claimed; then another may take them (the first one
  // died). Longer than a round of sends can take.
  TimeNs lease = 15 * 60 * kNsPerSecond;
  std::vector<Webhook> webhooks;
};

struct DeliveryStats {
  size_t sent = 0, retried = 0, failed = 0;
};

// One message ready to go out, and the outbox entries its outcome settles (a digest settles all
// its sections).
struct Delivery {
  std::string channel;  // "mail" or "webhook"
  std::vector<store::OutboxEntry> entries;
  std::vector<std::string> recipients;  // mail: the envelope
  std::string url, secret, event;       // webhook
  std::string payload;                  // the rendered message or the JSON body
};

class Notifier final : public incident::NotificationSink {
 public:
  Notifier(store::Store& store, const inventory::AttributionIndex& index,
           const incident::Policy& policy, const Templates& templates, Env& env,
           NotifierSettings settings);

  // NotificationSink: queue the first mail of the thread, or report that nobody can be told.
  Result<incident::Notice> Opened(const model::Incident& incident, const model::Finding& finding,
                                  const inventory::Attribution& holder,
                                  const incident::Assessment& assessment) override;
  Result<void> DeadlinePassed(const model::Incident& incident) override;

  // A countermeasure on the incident's system was applied (`lifted` false) or lifted: the
  // customer is told in the incident's thread, with what it does (`effect`), why, and when it
  // ends by itself. False when nobody can be told or it was queued before (one message per
  // countermeasure and event).
  Result<bool> QueueCountermeasure(const model::Incident& incident, int64_t countermeasure_id,
                                   bool lifted, const std::string& effect,
                                   const std::string& reason, std::optional<TimeNs> expires_at);
  // Queues the reminders that are due for incidents awaiting a fix. Returns how many.
  Result<size_t> QueueReminders();

  // Delivery in three steps, so that a caller can send without holding the store: the due
  // messages of `channel` ("mail" includes digests; "" = all), claimed in the store (leased to
  // this caller, see NotifierSettings::lease); one send (no store access; thread-safe; calls
  // `accepted` as soon as a mail server took the message); the outcome recorded in the store
  // (and, for a first notice, the incident moved on through `incidents`).
  Result<std::vector<Delivery>> PrepareDeliveries(std::string_view channel = "");
  static SendResult Send(const Delivery& delivery, Mailer& mailer, WebhookSender& webhooks,
                         const AcceptedFn& accepted = {});
  Result<void> Complete(Delivery& delivery, const SendResult& sent, incident::Incidents& incidents,
                        DeliveryStats& stats);

  // Delivers due messages through `mailer`. A sent "opened" mail moves its incident to notified
  // and then awaiting_fix (the deadline starts), through `incidents`. Failures are retried with
  // exponential backoff; after give_up_after a message is marked failed (visible with its last
  // error).
  Result<DeliveryStats> Deliver(Mailer& mailer, incident::Incidents& incidents);
  // Delivers due webhook messages (each signed with its webhook's secret).
  Result<DeliveryStats> DeliverWebhooks(WebhookSender& sender);

 private:
  // Composes and queues message `kind` of incident's thread; false when already queued.
  // With `digest`, the message is a section of the customer's daily digest (one mail for all
  // sections due together) instead of a mail of its own. The template is the kind up to its
  // first '-' ("reminder-2" -> reminder); `extra` adds or overrides template values.
  Result<bool> Queue(const model::Incident& incident, const std::string& kind,
                     const model::Finding& finding, const std::string& severity_reasons,
                     TimeNs not_before, bool digest,
                     const std::map<std::string, std::string>& extra = {});
  // A sent first notice: the incident moves to notified and awaiting_fix (the deadline starts).
  Result<void> Told(const store::OutboxEntry& entry, incident::Incidents& incidents);
  Result<model::Finding> FirstFinding(int64_t incident_id);
  // Records one delivery attempt's outcome on `entry` (state, attempts, backoff) and stores it.
  Result<void> Settle(store::OutboxEntry& entry, const SendResult& sent, DeliveryStats& stats);

  store::Store& store_;
  const inventory::AttributionIndex& index_;
  const incident::Policy& policy_;
  const Templates& templates_;
  Env& env_;
  NotifierSettings settings_;
};

}  // namespace bulwark::notify
