#include "bulwark/spine/spine.h"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <vector>

#include "bulwark/cloud/stackit_enforcer.h"
#include "bulwark/countermeasure/nftables.h"
#include "bulwark/spine/settings.h"

namespace bulwark::spine {

namespace {

// The objects of one configuration. Built whole, never changed, replaced whole by Reload. The
// notifier and the incidents refer to the policy, templates and index beside them, so a Runtime
// stays where it was built.
struct Runtime {
  std::shared_ptr<const config::Config> config;
  incident::Policy policy = incident::Policy::Default();
  notify::Templates templates;
  std::shared_ptr<const inventory::AttributionIndex> index;
  std::shared_ptr<notify::Mailer> mailer;
  std::shared_ptr<const abuse::ReportReader> reader;
  std::unique_ptr<notify::Notifier> notifier;
  std::unique_ptr<incident::Incidents> incidents;
};

// The countermeasure controller and the enforcers it drives (they must outlive it).
struct CountermeasureRuntime {
  std::vector<std::unique_ptr<countermeasure::Enforcer>> enforcers;
  std::shared_ptr<countermeasure::Countermeasures> controller;
  Spine::Writer* current = nullptr;  // the write in progress (writes are serialised)
};

countermeasure::PolicySettings PolicyOf(const config::CountermeasuresConfig& c) {
  countermeasure::PolicySettings p;
  p.enabled = c.enabled;
  p.dry_run = c.dry_run;
  p.two_person_rule = c.two_person_rule;
  p.max_automatic_per_hour = static_cast<int64_t>(c.max_automatic_per_hour);
  p.automatic_expiry = c.automatic_expiry;
  p.repair_drift = c.repair_drift;
  p.default_enforcer = c.default_enforcer;
  for (const auto& cidr : c.forensics) {
    if (auto prefix = model::Prefix::Parse(cidr)) p.forensics.push_back(*prefix);
  }
  p.automatic.clear();
  for (const auto& rule : c.automatic) {
    countermeasure::AutomaticRule r;
    r.on = rule.on;
    r.min_severity = model::ParseSeverity(rule.min_severity).value_or(model::Severity::kHigh);
    r.incident_kinds = rule.incident_kinds;
    r.kind = model::ParseKind(rule.kind).value_or(model::CountermeasureKind::kQuarantine);
    r.ports = rule.ports;
    r.rate_pps = static_cast<int64_t>(rule.rate_pps);
    p.automatic.push_back(std::move(r));
  }
  return p;
}

// Inside the transaction of a countermeasure's step: an applied one moves its incident to
// mitigated and tells the customer; a lifted one tells the customer.
Result<void> TellIncident(Spine::Writer& w, const model::Countermeasure& c,
                          model::CountermeasureState from) {
  using S = model::CountermeasureState;
  if (c.incident_id == 0) return {};
  bool applied = c.state == S::kActive && from != S::kDrifted && from != S::kActive;
  bool lifted = c.state == S::kRemoved && from == S::kPendingRemoval;
  if (!applied && !lifted) return {};
  auto incident = w.store.GetIncident(c.incident_id);
  if (!incident) return tl::unexpected(incident.error());
  if (!*incident) return {};
  std::string actor = c.approved_by.empty() ? c.proposed_by : c.approved_by.back();
  if (applied && model::TransitionAllowed((*incident)->state, model::IncidentState::kMitigated)) {
    auto moved = w.incidents.Transition(c.incident_id, model::IncidentState::kMitigated, actor,
                                        fmt::format("countermeasure {} applied", c.id));
    if (!moved) return tl::unexpected(moved.error());
  }
  auto queued = w.notifier.QueueCountermeasure(
      **incident, c.id, lifted, countermeasure::EffectOf(c, countermeasure::ParseTarget(c.targets)),
      c.reason, c.expires_at);
  if (!queued) return tl::unexpected(queued.error());
  return {};
}

// At most this many idle read connections are kept.
constexpr size_t kIdleReaders = 8;

}  // namespace

struct Spine::Impl {
  Impl(Env& e, OpenOptions o) : env(e), options(std::move(o)) {}

  Env& env;
  OpenOptions options;
  std::string data_dir;

  std::mutex write_mutex;  // one write at a time; held while `runtime` is replaced
  std::unique_ptr<store::Store> writer;

  mutable std::mutex runtime_mutex;  // guards the pointer `runtime` (not what it points to)
  std::shared_ptr<const Runtime> runtime;

  std::shared_ptr<notify::WebhookSender> webhooks = notify::NewWebhookSender();
  std::atomic<bool> cancelled{false};

  std::mutex pool_mutex;
  std::vector<std::unique_ptr<store::Store>> idle_readers;

  std::mutex countermeasures_mutex;                        // guards `countermeasures`
  std::shared_ptr<CountermeasureRuntime> countermeasures;  // null until used, and after Reload

  std::shared_ptr<const Runtime> Current() const {
    std::lock_guard lock(runtime_mutex);
    return runtime;
  }

  // Everything `config` names, with `inventory` as the attribution index; changes nothing.
  Result<std::shared_ptr<Runtime>> Build(const config::Config& config, model::Inventory inventory) {
    auto settings = LoadSettings(config, env);
    if (!settings) return tl::unexpected(settings.error());
    auto mailer = NewMailer(config.mail, env, options.smtp_url, options.print_to);
    if (!mailer) return tl::unexpected(mailer.error());
    auto reader_config = abuse::LoadReaderConfig(abuse::ReaderFilesOf(config.reports), env);
    if (!reader_config) return tl::unexpected(reader_config.error());
    reader_config->limits = config.reports.limits;
    auto built = std::make_shared<Runtime>();
    built->config = std::make_shared<const config::Config>(config);
    built->policy = std::move(settings->policy);
    built->templates = std::move(settings->templates);
    built->index = std::make_shared<const inventory::AttributionIndex>(std::move(inventory));
    built->mailer = std::move(*mailer);
    if (cancelled) built->mailer->Cancel();
    built->reader = std::make_shared<const abuse::ReportReader>(std::move(*reader_config));
    built->notifier =
        std::make_unique<notify::Notifier>(*writer, *built->index, built->policy, built->templates,
                                           env, std::move(settings->notifier));
    built->incidents = std::make_unique<incident::Incidents>(
        *writer, *built->index, built->policy, env, incident::IncidentOptions{config.dedup_window});
    built->incidents->SetNotificationSink(built->notifier.get());
    return built;
  }

  // Caller holds write_mutex.
  void Install(std::shared_ptr<const Runtime> next) {
    std::lock_guard lock(runtime_mutex);
    runtime = std::move(next);
  }

  // Ends the leases of deliveries that were claimed but not attempted.
  Result<void> Release(Spine& spine, const std::vector<notify::Delivery>& deliveries, size_t from) {
    return spine.Write([&](Writer& w) -> Result<void> {
      for (size_t i = from; i < deliveries.size(); ++i) {
        for (const store::OutboxEntry& entry : deliveries[i].entries) {
          if (auto released = w.store.UpdateOutbox(entry); !released) return released;
        }
      }
      return {};
    });
  }
};

Spine::Spine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Spine::~Spine() {
  if (!impl_) return;
  std::lock_guard lock(impl_->write_mutex);
  impl_->Install(nullptr);  // the notifier and incidents refer to the writer
}

Result<std::unique_ptr<Spine>> Spine::Open(const config::Config& config, Env& env,
                                           OpenOptions options) {
  auto impl = std::make_unique<Impl>(env, std::move(options));
  impl->data_dir = config.data_dir;
  auto writer = store::OpenSqliteStore(config.data_dir);
  if (!writer) return tl::unexpected(writer.error());
  impl->writer = std::move(*writer);
  auto inventory = impl->writer->ReadInventory();
  if (!inventory) return tl::unexpected(inventory.error());
  auto built = impl->Build(config, std::move(*inventory));
  if (!built) return tl::unexpected(built.error());
  impl->Install(std::move(*built));
  return std::unique_ptr<Spine>(new Spine(std::move(impl)));
}

Result<void> Spine::Reload(const config::Config& config) {
  std::lock_guard lock(impl_->write_mutex);
  auto inventory = impl_->writer->ReadInventory();
  if (!inventory) return tl::unexpected(inventory.error());
  config::Config kept = config;
  kept.data_dir = impl_->data_dir;
  auto built = impl_->Build(kept, std::move(*inventory));
  if (!built) return tl::unexpected(built.error());
  impl_->Install(std::move(*built));
  std::lock_guard cm_lock(impl_->countermeasures_mutex);
  impl_->countermeasures.reset();
  return {};
}

Result<std::shared_ptr<countermeasure::Countermeasures>> Spine::Countermeasures() {
  std::lock_guard lock(impl_->countermeasures_mutex);
  if (impl_->countermeasures) {
    return std::shared_ptr<countermeasure::Countermeasures>(
        impl_->countermeasures, impl_->countermeasures->controller.get());
  }
  auto config = impl_->Current()->config;
  const auto& c = config->countermeasures;
  auto built = std::make_shared<CountermeasureRuntime>();
  std::map<std::string, countermeasure::Enforcer*> by_name;
  if (c.nftables.configured) {
    countermeasure::NftablesSettings settings;
    settings.family = c.nftables.family;
    settings.table = c.nftables.table;
    settings.netns = c.nftables.netns;
    settings.port_names = c.nftables.port_names;
    settings.flush_conntrack = c.nftables.flush_conntrack;
    for (const auto& cidr : c.forensics) {
      if (auto prefix = model::Prefix::Parse(cidr)) settings.forensics.push_back(*prefix);
    }
    auto nftables = countermeasure::NftablesEnforcer::Create(std::move(settings));
    if (!nftables) {
      return Fail("countermeasures.nftables: " + nftables.error().message);
    }
    by_name["nftables"] = nftables->get();
    built->enforcers.push_back(std::move(*nftables));
  }
  if (c.stackit.configured) {
    auto settings = cloud::StackitEnforcerSettingsOf(*config, impl_->env);
    if (!settings) return Fail("countermeasures.stackit: " + settings.error().ToString());
    auto stackit = std::make_unique<cloud::StackitEnforcer>(std::move(*settings));
    by_name["stackit"] = stackit.get();
    built->enforcers.push_back(std::move(stackit));
  }
  CountermeasureRuntime* runtime = built.get();
  built->controller = std::make_shared<countermeasure::Countermeasures>(
      [this, runtime](const std::function<Result<void>(store::Store&)>& body) {
        return Write([&](Writer& w) {
          runtime->current = &w;
          auto done = body(w.store);
          runtime->current = nullptr;
          return done;
        });
      },
      [this] { return index(); }, std::move(by_name), PolicyOf(c), impl_->env);
  built->controller->SetStepHook(
      [runtime](store::Store&, const model::Countermeasure& cm, model::CountermeasureState from) {
        return TellIncident(*runtime->current, cm, from);
      });
  impl_->countermeasures = built;
  // The controller keeps its enforcers alive as long as anyone holds it.
  return std::shared_ptr<countermeasure::Countermeasures>(built, built->controller.get());
}

bool Spine::WithoutConsultation(model::Severity severity) const {
  return impl_->Current()->policy.HandlingOf(severity).countermeasure_without_consultation;
}

Result<void> Spine::RefreshInventory() {
  auto current = impl_->Current();
  return Reload(*current->config);
}

Result<void> Spine::Write(const std::function<Result<void>(Writer&)>& body) {
  std::lock_guard lock(impl_->write_mutex);
  std::shared_ptr<const Runtime> runtime = impl_->Current();
  Writer writer{*impl_->writer, *runtime->incidents, *runtime->notifier, *runtime->config};
  return impl_->writer->Transaction([&] { return body(writer); });
}

Result<void> Spine::Read(const std::function<Result<void>(store::Store&)>& body) {
  std::unique_ptr<store::Store> connection;
  {
    std::lock_guard lock(impl_->pool_mutex);
    if (!impl_->idle_readers.empty()) {
      connection = std::move(impl_->idle_readers.back());
      impl_->idle_readers.pop_back();
    }
  }
  if (!connection) {
    auto opened = store::OpenSqliteStore(impl_->data_dir, store::OpenMode::kReadOnly);
    if (!opened) return tl::unexpected(opened.error());
    connection = std::move(*opened);
  }
  Result<void> result = body(*connection);
  std::lock_guard lock(impl_->pool_mutex);
  if (impl_->idle_readers.size() < kIdleReaders) {
    impl_->idle_readers.push_back(std::move(connection));
  }
  return result;
}

Result<DeadlineRound> Spine::AdvanceDeadlines() {
  DeadlineRound round;
  auto done = Write([&](Writer& w) -> Result<void> {
    auto moved = w.incidents.AdvanceDeadlines();
    if (!moved) return tl::unexpected(moved.error());
    round.deadlines_passed = moved->size();
    auto reminders = w.notifier.QueueReminders();
    if (!reminders) return tl::unexpected(reminders.error());
    round.reminders_queued = *reminders;
    return {};
  });
  if (!done) return tl::unexpected(done.error());
  return round;
}

Result<DeliveryRound> Spine::Deliver(std::string_view channel, notify::Mailer* mailer) {
  DeliveryRound round;
  if (impl_->cancelled) return round;
  std::vector<notify::Delivery> claimed;
  auto prepared = Write([&](Writer& w) -> Result<void> {
    auto deliveries = w.notifier.PrepareDeliveries(channel);
    if (!deliveries) return tl::unexpected(deliveries.error());
    claimed = std::move(*deliveries);
    return {};
  });
  if (!prepared) return tl::unexpected(prepared.error());
  std::shared_ptr<const Runtime> runtime = impl_->Current();
  notify::Mailer& send_mail = mailer ? *mailer : *runtime->mailer;
  for (size_t i = 0; i < claimed.size(); ++i) {
    notify::Delivery& delivery = claimed[i];
    if (impl_->cancelled) {
      if (auto released = impl_->Release(*this, claimed, i); !released) {
        return tl::unexpected(released.error());
      }
      break;
    }
    notify::DeliveryStats& stats = delivery.channel == "webhook" ? round.webhooks : round.mail;
    std::optional<Result<void>> recorded;
    auto record = [&](const notify::SendResult& sent) {
      recorded =
          Write([&](Writer& w) { return w.notifier.Complete(delivery, sent, w.incidents, stats); });
    };
    notify::SendResult sent = notify::Notifier::Send(delivery, send_mail, *impl_->webhooks, record);
    if (!recorded && !sent.ok && impl_->cancelled) {
      // Cut off by a shutdown: not an attempt; the next start sends it.
      if (auto released = impl_->Release(*this, claimed, i); !released) {
        return tl::unexpected(released.error());
      }
      break;
    }
    if (!recorded) record(sent);
    if (!*recorded) return tl::unexpected(recorded->error());
  }
  return round;
}

void Spine::CancelSends() {
  impl_->cancelled = true;
  impl_->webhooks->Cancel();
  if (auto runtime = impl_->Current()) runtime->mailer->Cancel();
}

std::shared_ptr<const inventory::AttributionIndex> Spine::index() const {
  return impl_->Current()->index;
}

std::shared_ptr<const abuse::ReportReader> Spine::report_reader() const {
  return impl_->Current()->reader;
}

std::shared_ptr<const config::Config> Spine::config() const {
  return impl_->Current()->config;
}

Env& Spine::env() const {
  return impl_->env;
}

}  // namespace bulwark::spine
