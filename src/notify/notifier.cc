#include "bulwark/notify/notifier.h"

#include <fmt/format.h>

#include <map>
#include <optional>

#include "bulwark/core/json_writer.h"
#include "bulwark/core/strings.h"
#include "bulwark/finding/intelmq.h"
#include "bulwark/incident/json.h"

namespace bulwark::notify {

namespace {

// The contacts to write to: those with a security or abuse role, else all.
std::vector<std::string> Recipients(const model::Customer& customer) {
  std::vector<std::string> preferred, all;
  for (const auto& contact : customer.contacts) {
    all.push_back(contact.email);
    std::string role = AsciiLower(contact.role);
    if (role == "security" || role == "abuse") preferred.push_back(contact.email);
  }
  return preferred.empty() ? all : preferred;
}

std::string Join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string Day(TimeNs t, const std::string& language) {
  CivilTime c = FromUnixNs(t);
  if (language == "de") {
    return fmt::format("{:02d}.{:02d}.{} {:02d}:{:02d} UTC", c.day, c.month, c.year, c.hour,
                       c.minute);
  }
  return fmt::format("{}-{:02d}-{:02d} {:02d}:{:02d} UTC", c.year, c.month, c.day, c.hour,
                     c.minute);
}

}  // namespace

Notifier::Notifier(store::Store& store, const inventory::AttributionIndex& index,
                   const incident::Policy& policy, const Templates& templates, Env& env,
                   NotifierSettings settings)
    : store_(store),
      index_(index),
      policy_(policy),
      templates_(templates),
      env_(env),
      settings_(std::move(settings)) {}

Result<bool> Notifier::Queue(const model::Incident& incident, const std::string& kind,
                             const model::Finding& finding, const std::string& severity_reasons,
                             TimeNs not_before, bool digest,
                             const std::map<std::string, std::string>& extra) {
  auto holder = index_.OfSystem(incident.system_id);
  if (!holder || !holder->customer) return false;
  const model::Customer& customer = *holder->customer;
  std::vector<std::string> to = Recipients(customer);
  if (to.empty()) return false;
  const std::string& language = customer.language;
  std::string reference = fmt::format("Bulwark #{}", incident.id);
  std::string deadline_text =
      incident.deadline ? Day(*incident.deadline, language)
      : policy_.HandlingOf(incident.severity).deadline
          ? Day(env_.Now() + *policy_.HandlingOf(incident.severity).deadline, language)
          : (language == "de" ? "bald" : "soon");
  // The customer sees what is theirs to see (no other party's log lines).
  model::Finding shown = finding::CustomerView(finding);
  std::string evidence = shown.evidence.empty() ? finding::ToHarmonizedJson(shown) : shown.evidence;
  if (evidence.size() > 4000) evidence = evidence.substr(0, 4000) + " ...";
  std::map<std::string, std::string> values = {
      {"reference", reference},
      {"customer.name", customer.name},
      {"project.name", holder->project ? holder->project->name : ""},
      {"system.name", holder->system->name},
      {"system.id", holder->system->id},
      {"address", finding.source_ip ? finding.source_ip->ToString() : "?"},
      {"port_suffix", finding.source_port ? fmt::format(" port {}", finding.source_port) : ""},
      {"kind", finding.type},
      {"identifier", finding.fields.count("extra.rule_title")
                         ? finding.fields.at("extra.rule_title")
                     : finding.identifier.empty() ? finding.type
                                                  : finding.identifier},
      {"first_seen", Day(finding.time_source, language)},
      {"opened", Day(incident.opened_at, language)},
      {"feed", finding.feed_name},
      {"severity", model::SeverityName(incident.severity)},
      {"severity_reasons", severity_reasons},
      {"cves", finding.cves.empty() ? "-" : Join(finding.cves, ", ")},
      {"evidence", evidence},
      {"deadline", deadline_text},
      {"signature", settings_.signature},
  };
  for (const auto& [key, value] : extra) values[key] = value;
  std::string template_kind = kind.substr(0, kind.find('-'));
  auto [subject, body_text] = templates_.Render(language, template_kind, values);
  Message message;
  message.from = settings_.from;
  message.to = to;
  message.subject = subject;
  message.body = body_text;
  message.date = env_.Now();
  std::string thread = fmt::format("incident-{}@{}", incident.id, settings_.domain);
  if (kind == "opened") {
    message.message_id = thread;
  } else {
    message.message_id = fmt::format("incident-{}-{}@{}", incident.id, kind, settings_.domain);
    message.in_reply_to = thread;
  }
  message.extra_headers["X-Bulwark-Incident"] = std::to_string(incident.id);
  store::OutboxEntry entry;
  entry.incident_id = incident.id;
  entry.kind = kind;
  entry.channel = "mail";
  entry.recipients = Join(to, ",");
  entry.payload = Render(message);
  if (digest) {
    // One section of the customer's digest: language, customer, subject, then the body.
    entry.channel = "digest";
    entry.payload = language + "\n" + customer.id + "\n" + subject + "\n" + body_text;
  }
  entry.next_attempt = not_before;
  entry.created_at = env_.Now();
  auto queued = store_.Enqueue(entry);
  if (!queued || !*queued) return queued;
  for (const Webhook& hook : settings_.webhooks) {
    if (hook.customer_id != customer.id) continue;
    store::OutboxEntry post = entry;
    post.channel = "webhook";
    post.recipients = hook.url;
    std::string body;
    JsonWriter json(body);
    json.BeginObject();
    json.Key("event");
    json.String("incident." + kind);
    json.Key("incident");
    json.BeginObject();
    incident::WriteIncident(json, incident);
    json.EndObject();
    json.Key("finding");
    json.Raw(finding::ToHarmonizedJson(shown));
    json.Key("subject");
    json.String(subject);
    json.Key("text");
    json.String(body_text);
    json.EndObject();
    post.payload = std::move(body);
    auto hooked = store_.Enqueue(post);
    if (!hooked) return hooked;
  }
  return true;
}

Result<incident::Notice> Notifier::Opened(const model::Incident& incident,
                                          const model::Finding& finding,
                                          const inventory::Attribution& holder,
                                          const incident::Assessment& assessment) {
  if (!holder.customer || Recipients(*holder.customer).empty()) {
    return incident::Notice::kNoContact;
  }
  TimeNs now = env_.Now();
  TimeNs when = now;
  if (!policy_.HandlingOf(incident.severity).notify_at_once) {
    // The next digest hour (UTC).
    TimeNs day = now - now % (86400 * kNsPerSecond);
    when = day + settings_.digest_hour * 3600 * kNsPerSecond;
    if (when <= now) when += 86400 * kNsPerSecond;
  }
  // A reopened incident starts a new thread kind, so that its mail is queued again.
  std::string kind = incident.state == model::IncidentState::kReopened
                         ? fmt::format("opened-again-{}", incident.updated_at)
                         : "opened";
  auto queued = Queue(incident, kind, finding, Join(assessment.reasons, "; "), when, when != now);
  if (!queued) return tl::unexpected(queued.error());
  return incident::Notice::kQueued;
}

Result<bool> Notifier::QueueCountermeasure(const model::Incident& incident,
                                           int64_t countermeasure_id, bool lifted,
                                           const std::string& effect, const std::string& reason,
                                           std::optional<TimeNs> expires_at) {
  auto holder = index_.OfSystem(incident.system_id);
  if (!holder || !holder->customer) return false;
  const std::string& language = holder->customer->language;
  auto finding = FirstFinding(incident.id);
  if (!finding) return tl::unexpected(finding.error());
  TimeNs now = env_.Now();
  std::string expiry;
  if (expires_at) {
    expiry = (language == "de" ? "Wird aufgehoben: " : "Lifted by itself: ") +
             Day(*expires_at, language);
  }
  std::map<std::string, std::string> extra = {
      {"countermeasure", std::to_string(countermeasure_id)},
      {"effect", effect},
      {"reason", reason},
      {"applied", Day(now, language)},
      {"lifted", Day(now, language)},
      {"expiry", expiry},
  };
  std::string kind = fmt::format("{}-{}", lifted ? "lifted" : "countermeasure", countermeasure_id);
  return Queue(incident, kind, *finding, "", now, false, extra);
}

Result<model::Finding> Notifier::FirstFinding(int64_t incident_id) {
  auto findings = store_.FindingsOfIncident(incident_id, {0, 1});
  if (!findings) return tl::unexpected(findings.error());
  if (findings->empty()) return Fail(fmt::format("incident {} has no findings", incident_id));
  input::JsonFlattener flattener;
  auto parsed = finding::ParseHarmonized(findings->front().document, 0, flattener);
  if (!parsed) return tl::unexpected(parsed.error());
  return *parsed;
}

Result<void> Notifier::DeadlinePassed(const model::Incident& incident) {
  auto finding = FirstFinding(incident.id);
  if (!finding) return tl::unexpected(finding.error());
  auto queued = Queue(incident, "escalation", *finding, "", env_.Now(), false);
  if (!queued) return tl::unexpected(queued.error());
  return {};
}

Result<size_t> Notifier::QueueReminders() {
  size_t queued_count = 0;
  TimeNs now = env_.Now();
  store::IncidentFilter filter;
  filter.state = model::IncidentState::kAwaitingFix;
  filter.limit = 1000;
  while (true) {
    auto page = store_.ListIncidents(filter);
    if (!page) return tl::unexpected(page.error());
    if (page->empty()) return queued_count;
    for (const auto& incident : *page) {
      filter.after_id = incident.id;
      const auto& handling = policy_.HandlingOf(incident.severity);
      if (!incident.deadline || !handling.deadline) continue;
      TimeNs start = *incident.deadline - *handling.deadline;
      for (size_t i = 0; i < handling.reminders.size(); ++i) {
        if (now < start + handling.reminders[i] || now >= *incident.deadline) continue;
        auto finding = FirstFinding(incident.id);
        if (!finding) return tl::unexpected(finding.error());
        auto queued = Queue(incident, fmt::format("reminder-{}", i + 1), *finding, "", now, false);
        if (!queued) return tl::unexpected(queued.error());
        queued_count += *queued ? 1 : 0;
      }
    }
  }
}

Result<void> Notifier::Settle(store::OutboxEntry& entry, const SendResult& sent,
                              DeliveryStats& stats) {
  entry.attempts += 1;
  if (sent.ok) {
    entry.state = "sent";
    entry.sent_at = env_.Now();
    entry.last_error.clear();
    ++stats.sent;
  } else {
    entry.last_error = sent.detail;
    if (env_.Now() - entry.created_at >= settings_.give_up_after) {
      entry.state = "failed";
      ++stats.failed;
    } else {
      TimeNs backoff = settings_.first_retry;
      for (int64_t i = 1; i < entry.attempts && backoff < settings_.max_retry; ++i) backoff *= 2;
      entry.next_attempt = env_.Now() + std::min(backoff, settings_.max_retry);
      ++stats.retried;
    }
  }
  return store_.UpdateOutbox(entry);
}

Result<void> Notifier::Told(const store::OutboxEntry& entry, incident::Incidents& incidents) {
  auto incident = store_.GetIncident(entry.incident_id);
  if (!incident) return tl::unexpected(incident.error());
  if (!*incident) return {};
  auto state = (*incident)->state;
  if (state != model::IncidentState::kNew && state != model::IncidentState::kReopened &&
      state != model::IncidentState::kNoContact) {
    return {};
  }
  std::string reason = fmt::format("notification sent to {}", entry.recipients);
  auto told =
      incidents.Transition(entry.incident_id, model::IncidentState::kNotified, "system", reason);
  if (!told) return tl::unexpected(told.error());
  auto waiting = incidents.Transition(entry.incident_id, model::IncidentState::kAwaitingFix,
                                      "system", "patch deadline started");
  if (!waiting) return tl::unexpected(waiting.error());
  return {};
}

Result<std::vector<Delivery>> Notifier::PrepareDeliveries(std::string_view channel) {
  std::vector<Delivery> deliveries;
  TimeNs now = env_.Now();
  auto due = store_.ClaimOutbox(now, now + settings_.lease, channel, 500);
  if (!due) return tl::unexpected(due.error());
  std::map<std::string, std::vector<store::OutboxEntry>> digests;  // by recipients
  for (store::OutboxEntry& entry : *due) {
    bool mail_channel = entry.channel == "mail" || entry.channel == "digest";
    if (!channel.empty() && (channel == "mail") != mail_channel) continue;
    if (entry.channel == "digest") {
      digests[entry.recipients].push_back(std::move(entry));
      continue;
    }
    Delivery d;
    d.channel = entry.channel;
    d.payload = entry.payload;
    if (entry.channel == "webhook") {
      d.url = entry.recipients;
      d.event = "incident." + entry.kind;
      for (const Webhook& hook : settings_.webhooks) {
        if (hook.url == entry.recipients) d.secret = hook.secret;
      }
    } else {
      for (std::string_view r : Split(entry.recipients, ',')) {
        if (!Trim(r).empty()) d.recipients.emplace_back(Trim(r));
      }
    }
    d.entries.push_back(std::move(entry));
    deliveries.push_back(std::move(d));
  }
  // Digest sections (language, customer, subject, body): one mail per recipient list.
  for (auto& [recipients, sections] : digests) {
    std::string language, customer_id, items;
    for (const store::OutboxEntry& section : sections) {
      auto lines = Split(section.payload, '\n');
      if (lines.size() < 3) continue;
      language = std::string(lines[0]);
      customer_id = std::string(lines[1]);
      size_t body_start = lines[0].size() + lines[1].size() + lines[2].size() + 3;
      items += fmt::format(
          "=== {}\n\n{}\n", lines[2],
          body_start < section.payload.size() ? section.payload.substr(body_start) : std::string());
    }
    std::string customer_name = customer_id;
    for (const auto& c : index_.inventory().customers) {
      if (c.id == customer_id) customer_name = c.name;
    }
    auto [subject, body] = templates_.Render(language, "digest",
                                             {{"count", std::to_string(sections.size())},
                                              {"customer.name", customer_name},
                                              {"items", items},
                                              {"signature", settings_.signature}});
    Message message;
    message.from = settings_.from;
    for (std::string_view r : Split(recipients, ',')) message.to.emplace_back(Trim(r));
    message.subject = subject;
    message.body = body;
    message.date = env_.Now();
    message.message_id = fmt::format("digest-{}@{}", sections.front().id, settings_.domain);
    Delivery d;
    d.channel = "mail";
    d.recipients = message.to;
    d.payload = Render(message);
    d.entries = std::move(sections);
    deliveries.push_back(std::move(d));
  }
  return deliveries;
}

SendResult Notifier::Send(const Delivery& delivery, Mailer& mailer, WebhookSender& webhooks,
                          const AcceptedFn& accepted) {
  if (delivery.channel == "webhook") {
    SendResult posted =
        webhooks.Post(delivery.url, delivery.secret, delivery.event, delivery.payload);
    if (posted.ok && accepted) accepted(posted);
    return posted;
  }
  // The envelope sender is the From of the rendered message.
  std::string_view payload = delivery.payload;
  std::string from;
  if (payload.starts_with("From: ")) from = std::string(payload.substr(6, payload.find('\r') - 6));
  return mailer.Send(from, delivery.recipients, delivery.payload, accepted);
}

Result<void> Notifier::Complete(Delivery& delivery, const SendResult& sent,
                                incident::Incidents& incidents, DeliveryStats& stats) {
  for (store::OutboxEntry& entry : delivery.entries) {
    if (auto settled = Settle(entry, sent, stats); !settled) return settled;
    if (!sent.ok || delivery.channel != "mail") continue;
    if (!entry.kind.starts_with("opened")) continue;
    if (auto told = Told(entry, incidents); !told) return told;
  }
  return {};
}

namespace {
// Posts nothing: Deliver() prepares mail only, so its webhook sender is never used.
class NoWebhooks final : public WebhookSender {
 public:
  SendResult Post(const std::string&, const std::string&, const std::string&,
                  const std::string&) override {
    return {false, "webhooks are not delivered here"};
  }
};
// Sends nothing: DeliverWebhooks() prepares webhooks only.
class NoMail final : public Mailer {
 public:
  SendResult Send(const std::string&, const std::vector<std::string>&, const std::string&,
                  const AcceptedFn&) override {
    return {false, "mail is not delivered here"};
  }
};
}  // namespace

Result<DeliveryStats> Notifier::Deliver(Mailer& mailer, incident::Incidents& incidents) {
  DeliveryStats stats;
  auto deliveries = PrepareDeliveries("mail");
  if (!deliveries) return tl::unexpected(deliveries.error());
  NoWebhooks none;
  for (Delivery& delivery : *deliveries) {
    // Recorded as soon as the server accepts, or with the failure after the attempt.
    std::optional<Result<void>> done;
    SendResult sent = Send(delivery, mailer, none, [&](const SendResult& accepted) {
      done = Complete(delivery, accepted, incidents, stats);
    });
    if (!done) done = Complete(delivery, sent, incidents, stats);
    if (!*done) return tl::unexpected(done->error());
  }
  return stats;
}

Result<DeliveryStats> Notifier::DeliverWebhooks(WebhookSender& sender) {
  DeliveryStats stats;
  auto deliveries = PrepareDeliveries("webhook");
  if (!deliveries) return tl::unexpected(deliveries.error());
  NoMail none;
  for (Delivery& delivery : *deliveries) {
    SendResult sent = Send(delivery, none, sender);
    for (store::OutboxEntry& entry : delivery.entries) {
      if (auto settled = Settle(entry, sent, stats); !settled) {
        return tl::unexpected(settled.error());
      }
    }
  }
  return stats;
}

}  // namespace bulwark::notify
