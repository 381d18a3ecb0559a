#include "bulwark/server/service.h"

#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api.h"
#include "bulwark/input/follower.h"
#include "bulwark/intake/intake.h"
#include "bulwark/intake/report_sources.h"
#include "bulwark/pipeline/replay.h"
#include "bulwark/pipeline/rules_loader.h"
#include "bulwark/server/http.h"
#include "bulwark/spine/spine.h"
#include "metrics.h"

namespace bulwark::server {

namespace {

// How long a stop waits for requests in progress before it cuts them off.
constexpr TimeNs kDrainGrace = 10 * kNsPerSecond;

}  // namespace

struct Service::Impl {
  explicit Impl(Env& e) : env(e) {}

  // One line on stderr with the time of the Env.
  void Log(const std::string& message) const {
    fmt::print(stderr, "{} bulwark serve: {}\n", FormatTimestamp(env.Now()), message);
  }

  Env& env;
  std::string config_path;
  std::unique_ptr<spine::Spine> spine;
  std::unique_ptr<intake::Intake> intake;
  std::unique_ptr<Api> api;

  std::mutex config_mutex;  // guards `config` and `sources`
  config::Config config;    // the running configuration
  // The mailbox and the Reports API; swapped on reload, used by one round at a time.
  std::shared_ptr<intake::ReportSources> sources;
  std::mutex poll_mutex;  // one round at a time (the sources thread or PollReports())
  TimeNs next_imap = 0, next_api = 0;

  // Followed log files through the detection core (own thread; alerts become findings).
  std::mutex input_mutex;  // guards followers, detector and its sink (swapped on reload)
  std::vector<std::unique_ptr<input::FileFollower>> followers;
  std::vector<uint64_t> lines_read;
  std::unique_ptr<intake::AlertFindings> alert_findings;  // the detector's sink
  std::unique_ptr<pipeline::StreamDetector> detector;
  std::atomic<uint64_t> lines_total{0};

  std::atomic<uint64_t> mails_sent{0}, mails_retried{0}, mails_failed{0};

  std::unique_ptr<HttpServer> http;
  std::thread timer, reader, sources_thread;
  std::mutex timer_mutex;
  std::condition_variable timer_wake;
  bool stopping = false;

  // Rules, decoders, followers and the detector of a configuration's inputs.
  struct StagedInputs {
    std::vector<std::unique_ptr<input::FileFollower>> followers;
    std::unique_ptr<intake::AlertFindings> alert_findings;
    std::unique_ptr<pipeline::StreamDetector> detector;  // null: no inputs
  };

  config::Config Config() {
    std::lock_guard lock(config_mutex);
    return config;
  }

  // Loads what `c.inputs` need; changes nothing running.
  Result<StagedInputs> PrepareInputs(const config::Config& c) {
    StagedInputs staged;
    if (c.inputs.empty()) return staged;
    detect::CompileOptions compile;
    auto rules = pipeline::LoadRules(c.rules, compile, env);
    if (!rules.rejected.empty()) {
      return Fail(fmt::format("{} rules rejected, the first: {}", rules.rejected.size(),
                              rules.rejected.front().ToString()));
    }
    auto decoders = decode::DecoderSet::Load({}, env);
    if (!decoders) return tl::unexpected(decoders.error());
    pipeline::ReplayOptions options;
    options.parse.reference_time = env.Now();
    options.env = &env;
    std::vector<std::string> names;
    for (const auto& in : c.inputs) {
      names.push_back(in.path);
      // config.cc has checked the name.
      options.input_formats.push_back(input::ParseFormat(in.format).value_or(input::Format::kAuto));
      staged.followers.push_back(std::make_unique<input::FileFollower>(in.path));
    }
    Env* clock = &env;
    staged.alert_findings = std::make_unique<intake::AlertFindings>(
        c.min_alert_level, [clock] { return clock->Now(); });
    staged.detector = std::make_unique<pipeline::StreamDetector>(
        options, rules.rules, *decoders, names, staged.alert_findings.get());
    return staged;
  }

  // Replaces the running followers and detector; files followed before keep their position.
  void CommitInputs(StagedInputs staged) {
    std::lock_guard lock(input_mutex);
    for (auto& follower : staged.followers) {
      for (auto& old : followers) {
        if (old && old->path() == follower->path()) follower = std::move(old);
      }
    }
    followers = std::move(staged.followers);
    lines_read.assign(followers.size(), 0);
    detector = std::move(staged.detector);
    alert_findings = std::move(staged.alert_findings);
  }

  // One round over the followed files: new lines through detection, alerts into the intake.
  void ReadInputs() {
    std::lock_guard lock(input_mutex);
    if (!detector) return;
    for (size_t i = 0; i < followers.size(); ++i) {
      std::vector<std::string> lines;
      auto polled = followers[i]->Poll(lines);
      if (!polled) Log(polled.error().ToString());
      if (lines.empty()) continue;
      detector->Process(i, lines, lines_read[i] + 1);
      lines_read[i] += lines.size();
      lines_total += lines.size();
    }
    for (const std::string& problem : alert_findings->DrainProblems()) {
      Log("alert not taken: " + problem);
    }
    if (auto taken = intake->TakeAlertFindings(*alert_findings); !taken) {
      Log(fmt::format("findings not taken: {}", taken.error().ToString()));
    }
  }

  // Deadlines, reminders, then delivery (mail servers and webhook receivers are talked to
  // without holding the store's writer).
  void Tick() {
    if (auto moved = spine->AdvanceDeadlines(); !moved) {
      Log(fmt::format("deadlines: {}", moved.error().ToString()));
    }
    auto delivered = spine->Deliver();
    if (!delivered) {
      Log(fmt::format("delivery: {}", delivered.error().ToString()));
      return;
    }
    for (const notify::DeliveryStats* stats : {&delivered->mail, &delivered->webhooks}) {
      mails_sent += stats->sent;
      mails_retried += stats->retried;
      mails_failed += stats->failed;
    }
  }

  // One round over the due report sources (`force`: all configured ones, now).
  void PollReports(bool force) {
    std::lock_guard poll(poll_mutex);
    std::shared_ptr<intake::ReportSources> current;
    TimeNs imap_every, api_every;
    {
      std::lock_guard lock(config_mutex);
      current = sources;
      imap_every = config.reports.imap.poll;
      api_every = config.reports.shadowserver_api.poll;
    }
    if (!current) return;
    intake::ReportSources::Take take =
        [this](std::string_view bytes, const abuse::ReportInput& input, const std::string& source) {
          auto taken = intake->TakeReport(bytes, input, source);
          if (!taken) Log(fmt::format("report rejected: {}", taken.error().ToString()));
          return taken;
        };
    TimeNs now = env.Now();
    auto log_round = [this](const char* what, const intake::SourceRound& round) {
      for (const auto& error : round.errors) Log(fmt::format("{}: {}", what, error.ToString()));
      if (round.read + round.rejected > 0) {
        Log(fmt::format("{}: {} reports read, {} rejected", what, round.read, round.rejected));
      }
    };
    if (current->has_imap() && (force || now >= next_imap)) {
      next_imap = now + imap_every;
      log_round("imap", current->PollImap(take));
    }
    if (current->has_shadowserver_api() && (force || now >= next_api)) {
      next_api = now + api_every;
      log_round("shadowserver api", current->PollShadowserverApi(take));
    }
  }

  // Runs `round` every `every` until stopping.
  void Loop(const std::function<TimeNs()>& every, const std::function<void()>& round) {
    std::unique_lock lock(timer_mutex);
    while (!stopping) {
      timer_wake.wait_for(lock, std::chrono::nanoseconds(every()), [&] { return stopping; });
      if (stopping) break;
      lock.unlock();
      round();
      lock.lock();
    }
  }

  std::string Metrics() {
    MetricsSnapshot snapshot;
    if (http) snapshot.requests_by_status = http->requests_by_status();
    snapshot.intake = intake->counts();
    snapshot.mails_sent = mails_sent;
    snapshot.mails_retried = mails_retried;
    snapshot.mails_failed = mails_failed;
    snapshot.input_lines = lines_total;
    // A read connection of its own: never waits for a write in progress.
    (void)spine->Read([&](store::Store& store) -> Result<void> {
      auto counts = store.CountIncidents();
      if (counts) snapshot.incidents = std::move(*counts);
      return {};
    });
    return RenderMetrics(snapshot);
  }
};

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Service::~Service() {
  Stop();
}

Result<std::unique_ptr<Service>> Service::Start(config::Config config, std::string config_path,
                                                Env& env) {
  auto impl = std::make_unique<Impl>(env);
  impl->config_path = std::move(config_path);
  auto spine = spine::Spine::Open(config, env);
  if (!spine) return tl::unexpected(spine.error());
  impl->spine = std::move(*spine);
  auto sources = intake::ReportSources::Create(config.reports, env);
  if (!sources) return tl::unexpected(sources.error());
  impl->sources = std::move(*sources);
  auto inputs = impl->PrepareInputs(config);
  if (!inputs) return tl::unexpected(inputs.error());
  impl->intake = std::make_unique<intake::Intake>(*impl->spine);
  impl->CommitInputs(std::move(*inputs));
  Impl* raw = impl.get();
  impl->api = std::make_unique<Api>(*impl->spine, *impl->intake, [raw] { return raw->Metrics(); });
  HttpLimits limits;
  limits.max_body_bytes = config.max_body_bytes;
  limits.max_connections = static_cast<unsigned>(config.api.max_connections);
  limits.max_connections_per_client = static_cast<unsigned>(config.api.max_connections_per_client);
  limits.idle_timeout_seconds =
      static_cast<unsigned>(std::max<TimeNs>(1, config.api.request_timeout / kNsPerSecond));
  impl->config = std::move(config);
  auto http = HttpServer::Start(
      impl->config.listen, [raw](const HttpRequest& r) { return raw->api->Handle(r); }, limits);
  if (!http) return tl::unexpected(http.error());
  impl->http = std::move(*http);
  impl->timer = std::thread(
      [raw] { raw->Loop([raw] { return raw->Config().tick; }, [raw] { raw->Tick(); }); });
  impl->reader = std::thread(
      [raw] { raw->Loop([] { return 250 * kNsPerSecond / 1000; }, [raw] { raw->ReadInputs(); }); });
  impl->sources_thread = std::thread(
      [raw] { raw->Loop([] { return kNsPerSecond; }, [raw] { raw->PollReports(false); }); });
  impl->Log(
      fmt::format("listening on port {}, data in {}", impl->http->port(), impl->config.data_dir));
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

int Service::port() const {
  return impl_->http ? impl_->http->port() : 0;
}

Result<void> Service::Reload() {
  if (impl_->config_path.empty()) return Fail("no configuration file to reload");
  auto text = impl_->env.ReadFile(impl_->config_path);
  if (!text) return tl::unexpected(text.error());
  auto parsed = config::Parse(*text, impl_->config_path);
  if (!parsed) return tl::unexpected(parsed.error());
  config::Config running = impl_->Config();
  if (parsed->data_dir != running.data_dir || parsed->listen != running.listen) {
    impl_->Log("data_dir and listen change only with a restart");
    parsed->data_dir = running.data_dir;
    parsed->listen = running.listen;
  }
  // Everything is prepared before anything is swapped: all of the new configuration or none.
  auto sources = intake::ReportSources::Create(parsed->reports, impl_->env);
  if (!sources) return tl::unexpected(sources.error());
  auto inputs = impl_->PrepareInputs(*parsed);
  if (!inputs) return tl::unexpected(inputs.error());
  if (auto reloaded = impl_->spine->Reload(*parsed); !reloaded) return reloaded;
  {
    std::lock_guard lock(impl_->config_mutex);
    impl_->config = std::move(*parsed);
    impl_->sources = std::move(*sources);
  }
  impl_->CommitInputs(std::move(*inputs));
  return {};
}

void Service::PollReports() {
  impl_->PollReports(true);
}

void Service::Tick() {
  impl_->Tick();
}

void Service::Stop() {
  if (!impl_ || !impl_->http) return;
  // Requests in progress finish and get their answers; a long report import is cut at its next
  // batch once the grace is over.
  if (!impl_->http->Drain(kDrainGrace)) impl_->intake->Cancel();
  {
    std::lock_guard lock(impl_->timer_mutex);
    impl_->stopping = true;
  }
  impl_->timer_wake.notify_all();
  // A hanging mail server or webhook receiver does not hold the stop: its sends are cut (the
  // messages stay queued for the next start), and so are report imports of the sources thread.
  impl_->spine->CancelSends();
  impl_->intake->Cancel();
  if (impl_->timer.joinable()) impl_->timer.join();
  if (impl_->reader.joinable()) impl_->reader.join();
  if (impl_->sources_thread.joinable()) impl_->sources_thread.join();
  impl_->http.reset();
  impl_->ReadInputs();  // what the files still hold
  impl_->Log("stopped");
}

void Service::BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void Service::RunUntilSignalled() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  while (true) {
    int signal = 0;
    if (sigwait(&set, &signal) != 0) continue;
    if (signal == SIGHUP) {
      auto reloaded = Reload();
      impl_->Log(reloaded ? "configuration reloaded"
                          : "reload failed, the running configuration stays: " +
                                reloaded.error().ToString());
      continue;
    }
    impl_->Log(fmt::format("signal {}: draining", signal));
    Stop();
    return;
  }
}

}  // namespace bulwark::server
