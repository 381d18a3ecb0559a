#include "bulwark/server/service.h"

#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "bulwark/abuse/intake.h"
#include "bulwark/core/json_writer.h"
#include "bulwark/core/strings.h"
#include "bulwark/data/embedded.h"
#include "bulwark/finding/intelmq.h"
#include "bulwark/incident/incidents.h"
#include "bulwark/incident/json.h"
#include "bulwark/input/follower.h"
#include "bulwark/notify/notifier.h"
#include "bulwark/pipeline/replay.h"
#include "bulwark/pipeline/rules_loader.h"
#include "bulwark/server/http.h"
#include "bulwark/server/report_sources.h"
#include "bulwark/server/tokens.h"
#include "bulwark/spine/settings.h"

namespace bulwark::server {

namespace {

void Log(const std::string& message) {
  fmt::print(stderr, "{} bulwark serve: {}\n", FormatTimestamp(Env::Default().Now()), message);
}

HttpResponse Problem(int status, std::string_view title, std::string_view detail) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/problem+json";
  JsonWriter json(response.body);
  json.BeginObject();
  json.Key("type");
  json.String("about:blank");
  json.Key("title");
  json.String(title);
  json.Key("status");
  json.Int(status);
  json.Key("detail");
  json.String(detail);
  json.EndObject();
  if (status == 401) response.headers["WWW-Authenticate"] = "Bearer realm=\"bulwark\"";
  return response;
}

// 405 with the methods the resource takes (RFC 9110 requires Allow).
HttpResponse NotAllowed(std::string_view allow) {
  HttpResponse response =
      Problem(405, "Method Not Allowed", fmt::format("this resource takes {}", allow));
  response.headers["Allow"] = std::string(allow);
  return response;
}

HttpResponse Json(std::string body, int status = 200) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// The members of a JSON object body ({"state": ..., "reason": ...}).
struct Fields final : input::JsonFlattener::Visitor {
  std::map<std::string, std::string> values;
  void Field(std::string_view path, std::string_view value) override {
    values[std::string(path)] = std::string(value);
  }
};

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  for (std::string_view part : Split(path, '/')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

}  // namespace

struct Service::Impl {
  config::Config config;
  std::string config_path;
  Env& env;
  std::mutex mutex;  // guards everything below but the HTTP server and the timer thread
  std::unique_ptr<store::Store> store;
  std::unique_ptr<inventory::AttributionIndex> index;
  incident::Policy policy = incident::Policy::Default();
  notify::Templates templates;
  std::unique_ptr<notify::Notifier> notifier;
  std::unique_ptr<incident::Incidents> incidents;
  std::shared_ptr<notify::Mailer> mailer;  // shared: a send in progress survives a reload
  std::shared_ptr<notify::WebhookSender> webhook_sender = notify::NewWebhookSender();
  input::JsonFlattener flattener;
  std::map<std::string, uint64_t> findings_by_outcome;
  std::shared_ptr<const abuse::ReportReader> report_reader;
  // The mailbox and the Reports API; swapped on reload, used by one round at a time.
  std::shared_ptr<ReportSources> sources;
  std::mutex poll_mutex;  // one round at a time (the sources thread or PollReports())
  TimeNs next_imap = 0, next_api = 0;
  std::thread sources_thread;
  std::map<std::pair<std::string, std::string>, uint64_t> reports_by_source;  // (source, result)
  std::map<int, uint64_t> requests_by_status;
  uint64_t mails_sent = 0, mails_retried = 0, mails_failed = 0;

  // Followed log files through the detection core (own thread; alerts become findings).
  std::mutex input_mutex;  // guards followers and detector (swapped on reload)
  std::vector<std::unique_ptr<input::FileFollower>> followers;
  std::vector<uint64_t> lines_read;
  std::unique_ptr<pipeline::StreamDetector> detector;
  std::vector<std::string> alerts;  // filled by the detector's sink
  uint64_t alerts_total = 0, lines_total = 0;
  std::thread reader;

  std::unique_ptr<HttpServer> http;
  std::thread timer;
  std::mutex timer_mutex;
  std::condition_variable timer_wake;
  bool stopping = false;

  explicit Impl(Env& e) : env(e) {}

  // What Load() builds before anything running is replaced, so that a reload
  // takes all of a new configuration or none of it.
  struct StagedSettings {
    spine::Settings settings;
    model::Inventory inventory;
    std::unique_ptr<notify::Mailer> mailer;
    std::unique_ptr<abuse::ReaderConfig> reader_config;
    std::unique_ptr<ReportSources> sources;
  };
  struct StagedInputs {
    std::vector<std::unique_ptr<input::FileFollower>> followers;
    std::unique_ptr<pipeline::StreamDetector> detector;  // null: no inputs
  };

  // Loads policy, templates, inventory, mailer, report reader and sources for `c`; changes
  // nothing running.
  Result<StagedSettings> PrepareSettings(const config::Config& c) {
    StagedSettings staged;
    auto settings = spine::LoadSettings(c, env);
    if (!settings) return tl::unexpected(settings.error());
    staged.settings = std::move(*settings);
    auto inventory = store->ReadInventory();
    if (!inventory) return tl::unexpected(inventory.error());
    staged.inventory = std::move(*inventory);
    auto mailer = spine::NewMailer(c.mail, env);
    if (!mailer) return tl::unexpected(mailer.error());
    staged.mailer = std::move(*mailer);
    auto reader_config = abuse::LoadReaderConfig(abuse::ReaderFilesOf(c.reports), env);
    if (!reader_config) return tl::unexpected(reader_config.error());
    staged.reader_config = std::make_unique<abuse::ReaderConfig>(std::move(*reader_config));
    auto sources = ReportSources::Create(c.reports, env);
    if (!sources) return tl::unexpected(sources.error());
    staged.sources = std::move(*sources);
    return staged;
  }

  // Replaces the running policy, templates, index, notifier, incidents and mailer. Caller holds
  // `mutex` (or is starting up).
  void CommitSettings(StagedSettings staged, const config::Config& c) {
    // The notifier and incidents refer to policy, templates and index: they go first.
    incidents.reset();
    notifier.reset();
    policy = std::move(staged.settings.policy);
    templates = std::move(staged.settings.templates);
    index = std::make_unique<inventory::AttributionIndex>(std::move(staged.inventory));
    mailer = std::move(staged.mailer);
    report_reader = std::make_shared<const abuse::ReportReader>(std::move(*staged.reader_config));
    sources = std::move(staged.sources);
    notifier = std::make_unique<notify::Notifier>(*store, *index, policy, templates, env,
                                                  staged.settings.notifier);
    incidents = std::make_unique<incident::Incidents>(*store, *index, policy, env,
                                                      incident::IncidentOptions{c.dedup_window});
    incidents->SetNotificationSink(notifier.get());
  }

  // Rules, decoders, followers and the detector for `c.inputs`; changes nothing running.
  Result<StagedInputs> PrepareInputs(const config::Config& c) {
    StagedInputs staged;
    if (c.inputs.empty()) return staged;
    detect::CompileOptions compile;
    auto rules = pipeline::LoadRules(c.rules, compile);
    if (!rules.rejected.empty()) {
      return Fail(fmt::format("{} rules rejected, the first: {}", rules.rejected.size(),
                              rules.rejected.front().ToString()));
    }
    auto decoders = decode::DecoderSet::Load({});
    if (!decoders) return tl::unexpected(decoders.error());
    pipeline::ReplayOptions options;
    options.parse.reference_time = env.Now();
    std::vector<std::string> names;
    for (const auto& in : c.inputs) {
      names.push_back(in.path);
      // config.cc has checked the name.
      options.input_formats.push_back(input::ParseFormat(in.format).value_or(input::Format::kAuto));
      staged.followers.push_back(std::make_unique<input::FileFollower>(in.path));
    }
    auto sink = [this](std::string_view text) {
      for (std::string_view line : Split(text, '\n')) {
        if (!line.empty()) alerts.emplace_back(line);
      }
    };
    staged.detector =
        std::make_unique<pipeline::StreamDetector>(options, rules.rules, *decoders, names, sink);
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
  }

  // Loads everything `c` configures and swaps it in, or changes nothing and says why.
  Result<void> Load(const config::Config& c) {
    auto settings = PrepareSettings(c);
    if (!settings) return tl::unexpected(settings.error());
    auto inputs = PrepareInputs(c);
    if (!inputs) return tl::unexpected(inputs.error());
    CommitSettings(std::move(*settings), c);
    CommitInputs(std::move(*inputs));
    return {};
  }

  // One round over the followed files: new lines through detection, alerts into the spine.
  void ReadInputs() {
    std::vector<std::string> found;
    {
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
      found.swap(alerts);
    }
    if (found.empty()) return;
    static const std::map<std::string, int> kLevels = {
        {"info", 0}, {"low", 1}, {"medium", 2}, {"high", 3}, {"critical", 4}};
    std::lock_guard lock(mutex);
    int min_level = config.min_alert_level == "informational" ? 0
                    : kLevels.count(config.min_alert_level)   ? kLevels.at(config.min_alert_level)
                                                              : 2;
    for (const std::string& alert : found) {
      ++alerts_total;
      auto finding = finding::FromAlert(alert, env.Now(), flattener);
      if (!finding) {
        Log(fmt::format("alert not taken: {}", finding.error().message));
        continue;
      }
      if (!*finding) continue;  // about no address
      auto level = kLevels.find((*finding)->fields["extra.severity"]);
      if (level != kLevels.end() && level->second < min_level) continue;
      auto taken = incidents->Take(**finding);
      if (!taken) {
        Log(fmt::format("finding not taken: {}", taken.error().ToString()));
        continue;
      }
      ++findings_by_outcome[incident::OutcomeName(taken->outcome)];
    }
  }

  void ReaderLoop() {
    std::unique_lock lock(timer_mutex);
    while (!stopping) {
      timer_wake.wait_for(lock, std::chrono::milliseconds(250), [&] { return stopping; });
      if (stopping) break;
      lock.unlock();
      ReadInputs();
      lock.lock();
    }
  }

  // Deadlines, reminders, then delivery. Mail servers and webhook receivers are talked to
  // without holding the lock, so a slow one does not stall the API.
  void Tick() {
    std::vector<notify::Delivery> deliveries;
    std::shared_ptr<notify::Mailer> send_mail;
    std::shared_ptr<notify::WebhookSender> send_hooks;
    {
      std::lock_guard lock(mutex);
      auto moved = incidents->AdvanceDeadlines();
      if (!moved) Log(fmt::format("deadlines: {}", moved.error().ToString()));
      auto reminders = notifier->QueueReminders();
      if (!reminders) Log(fmt::format("reminders: {}", reminders.error().ToString()));
      auto prepared = notifier->PrepareDeliveries();
      if (!prepared) {
        Log(fmt::format("delivery: {}", prepared.error().ToString()));
        return;
      }
      deliveries = std::move(*prepared);
      send_mail = mailer;
      send_hooks = webhook_sender;
    }
    std::vector<notify::SendResult> results;
    for (const auto& delivery : deliveries) {
      results.push_back(notify::Notifier::Send(delivery, *send_mail, *send_hooks));
    }
    std::lock_guard lock(mutex);
    notify::DeliveryStats stats;
    for (size_t i = 0; i < deliveries.size(); ++i) {
      if (auto done = notifier->Complete(deliveries[i], results[i], *incidents, stats); !done) {
        Log(fmt::format("delivery: {}", done.error().ToString()));
      }
    }
    mails_sent += stats.sent;
    mails_retried += stats.retried;
    mails_failed += stats.failed;
  }

  // One round over the due report sources (`force`: all configured ones, now). The network is
  // talked to without `mutex`; each report is taken under it.
  void PollReports(bool force) {
    std::lock_guard poll(poll_mutex);
    std::shared_ptr<ReportSources> current;
    TimeNs imap_every, api_every;
    {
      std::lock_guard lock(mutex);
      current = sources;
      imap_every = config.reports.imap.poll;
      api_every = config.reports.shadowserver_api.poll;
    }
    if (!current) return;
    ReportSources::Take take = [this](std::string_view bytes, const abuse::ReportInput& input,
                                      const std::string& source) {
      std::lock_guard lock(mutex);
      auto taken = TakeReportLocked(bytes, input, source);
      if (!taken) Log(fmt::format("report rejected: {}", taken.error().ToString()));
      return taken;
    };
    TimeNs now = env.Now();
    auto log_round = [](const char* what, const SourceRound& round) {
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

  void SourcesLoop() {
    std::unique_lock lock(timer_mutex);
    while (!stopping) {
      timer_wake.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; });
      if (stopping) break;
      lock.unlock();
      PollReports(false);
      lock.lock();
    }
  }

  void TimerLoop() {
    std::unique_lock lock(timer_mutex);
    while (!stopping) {
      timer_wake.wait_for(lock, std::chrono::nanoseconds(config.tick), [&] { return stopping; });
      if (stopping) break;
      lock.unlock();
      Tick();
      lock.lock();
    }
  }

  // --- the REST API ---

  HttpResponse Handle(const HttpRequest& request) {
    HttpResponse response = Route(request);
    std::lock_guard lock(mutex);
    ++requests_by_status[response.status];
    return response;
  }

  HttpResponse Route(const HttpRequest& request) {
    // A NUL byte in a path is no name of anything; two Authorization headers leave it open which
    // one counts.
    if (request.path.find('\0') != std::string::npos ||
        request.path.find("%00") != std::string::npos) {
      return Problem(400, "Bad Request", "the path holds a NUL byte");
    }
    if (request.repeated.count("authorization")) {
      return Problem(400, "Bad Request", "more than one Authorization header");
    }
    // HEAD is GET without the body (the HTTP server leaves the body out).
    HttpRequest as_get;
    if (request.method == "HEAD") {
      as_get = request;
      as_get.method = "GET";
    }
    const HttpRequest& r = request.method == "HEAD" ? as_get : request;
    bool fixed_resource =
        r.path == "/healthz" || r.path == "/metrics" || r.path == "/api/v1/openapi.json";
    if (fixed_resource && r.method != "GET") return NotAllowed("GET, HEAD");
    if (r.path == "/healthz") {
      HttpResponse ok;
      ok.content_type = "text/plain";
      ok.body = "ok\n";
      return ok;
    }
    if (r.path == "/metrics") return Metrics();
    if (r.path == "/api/v1/openapi.json") {
      return Json(std::string(data::EmbeddedFileContent("openapi.json")));
    }
    auto segments = Segments(r.path);
    if (segments.size() < 2 || segments[0] != "api" || segments[1] != "v1") {
      return Problem(404, "Not Found", fmt::format("no resource at {}", r.path));
    }
    std::lock_guard lock(mutex);
    auto header = r.headers.find("authorization");
    auto token = Authenticate(*store, header == r.headers.end() ? "" : header->second);
    if (!token) return Problem(500, "Internal Server Error", token.error().ToString());
    if (!*token) return Problem(401, "Unauthorized", "a valid bearer token is required");
    const model::Token& who = **token;
    std::vector<std::string_view> rest(segments.begin() + 2, segments.end());
    if (rest.empty()) return Problem(404, "Not Found", "see /api/v1/openapi.json");
    if (rest[0] == "findings") return Findings(r, who, rest);
    if (rest[0] == "reports") return Reports(r, who, rest);
    if (rest[0] == "incidents") return Incidents(r, who, rest);
    if (rest[0] == "attribution") return Attribution(r, who);
    if (rest[0] == "inventory") return Inventory(r, who, rest);
    return Problem(404, "Not Found", fmt::format("no resource at {}", r.path));
  }

  static bool Staff(const model::Token& t) { return t.role != model::Role::kCustomer; }

  HttpResponse Findings(const HttpRequest& r, const model::Token& who,
                        const std::vector<std::string_view>& rest) {
    if (!Staff(who)) return Problem(403, "Forbidden", "customer tokens cannot use findings");
    if (rest.size() == 1 && r.method == "POST") {
      if (Trim(r.body).empty()) return Problem(400, "Bad Request", "the body holds no finding");
      std::string out;
      JsonWriter json(out);
      json.BeginObject();
      json.Key("results");
      json.BeginArray();
      bool any_rejected = false;
      size_t number = 0;
      for (std::string_view line : Split(r.body, '\n')) {
        ++number;
        if (Trim(line).empty()) continue;
        json.BeginObject();
        json.Key("line");
        json.Int(static_cast<int64_t>(number));
        auto finding = finding::ParseHarmonized(line, env.Now(), flattener);
        if (!finding) {
          any_rejected = true;
          json.Key("error");
          json.String(finding.error().message);
        } else {
          auto taken = incidents->Take(*finding);
          if (!taken) return Problem(500, "Internal Server Error", taken.error().ToString());
          ++findings_by_outcome[incident::OutcomeName(taken->outcome)];
          json.Key("outcome");
          json.String(incident::OutcomeName(taken->outcome));
          json.Key("finding");
          json.Int(taken->finding_id);
          json.Key("incident");
          if (taken->incident_id) {
            json.Int(taken->incident_id);
          } else {
            json.Null();
          }
        }
        json.EndObject();
      }
      json.EndArray();
      json.EndObject();
      return Json(out, any_rejected ? 422 : 200);
    }
    if (rest.size() == 2 && rest[1] != "unattributed" && r.method == "GET") {
      auto id = ParseInt(rest[1]);
      auto found = id ? store->GetFinding(*id) : Result<std::optional<store::StoredFinding>>();
      if (!found) return Problem(500, "Internal Server Error", found.error().ToString());
      if (!*found) return Problem(404, "Not Found", fmt::format("no finding {}", rest[1]));
      std::string out;
      JsonWriter json(out);
      incident::WriteStoredFinding(json, **found);
      return Json(out);
    }
    if (rest.size() == 2 && rest[1] == "unattributed" && r.method == "GET") {
      auto queue = store->Unattributed(Limit(r));
      if (!queue) return Problem(500, "Internal Server Error", queue.error().ToString());
      std::string out;
      JsonWriter json(out);
      json.BeginObject();
      json.Key("findings");
      json.BeginArray();
      for (const auto& f : *queue) incident::WriteStoredFinding(json, f);
      json.EndArray();
      json.EndObject();
      return Json(out);
    }
    return NotAllowed(rest.size() == 1 ? "POST" : "GET, HEAD");
  }

  // Takes one report in; caller holds `mutex`. `source` names the intake path in metrics.
  Result<abuse::IntakeResult> TakeReportLocked(std::string_view bytes,
                                               const abuse::ReportInput& input,
                                               const std::string& source) {
    auto result = abuse::TakeReport(*report_reader, *incidents, *store, bytes, input);
    ++reports_by_source[{source, !result ? "rejected" : result->duplicate ? "duplicate" : "read"}];
    if (result) {
      for (const auto& [outcome, count] : result->outcomes) findings_by_outcome[outcome] += count;
    }
    return result;
  }

  // POST /api/v1/reports: the raw mail or file as the body (?type=, ?name=); GET
  // /api/v1/reports/{sha256}: the original as received.
  HttpResponse Reports(const HttpRequest& r, const model::Token& who,
                       const std::vector<std::string_view>& rest) {
    if (!Staff(who)) return Problem(403, "Forbidden", "customer tokens cannot use reports");
    if (rest.size() == 1 && r.method == "POST") {
      if (r.body.empty()) return Problem(400, "Bad Request", "the body holds no report");
      auto query = [&](const char* key) {
        auto it = r.query.find(key);
        return it == r.query.end() ? std::string() : it->second;
      };
      std::string name = query("name").empty() ? "api" : "api:" + query("name");
      auto taken = TakeReportLocked(r.body, {name, query("type"), env.Now()}, "api");
      if (!taken) {
        return Problem(422, "Unprocessable Entity",
                       fmt::format("the report was rejected: {}", taken.error().message));
      }
      const abuse::ReportSummary& summary = taken->summary;
      std::string out;
      JsonWriter json(out);
      json.BeginObject();
      json.Member("sha256", summary.sha256);
      json.Member("duplicate", taken->duplicate);
      json.Member("format", summary.format);
      json.Member("detail", summary.detail);
      json.Member("items", static_cast<int64_t>(summary.items));
      json.Member("findings", static_cast<int64_t>(summary.findings));
      json.Member("signature", mail::VerdictName(summary.signature.verdict));
      json.Key("notes");
      json.BeginArray();
      for (const auto& note : summary.notes) json.String(note);
      json.EndArray();
      json.Key("rejected");
      json.BeginArray();
      for (const auto& error : taken->rejected_rows) {
        json.BeginObject();
        json.Member("where", error.where);
        json.Member("reason", error.message);
        json.EndObject();
      }
      json.EndArray();
      json.Key("results");
      json.BeginArray();
      for (const auto& result : taken->taken) {
        json.BeginObject();
        json.Member("outcome", incident::OutcomeName(result.outcome));
        json.Member("finding", result.finding_id);
        json.Key("incident");
        if (result.incident_id) {
          json.Int(result.incident_id);
        } else {
          json.Null();
        }
        json.EndObject();
      }
      json.EndArray();
      json.EndObject();
      return Json(out, 200);
    }
    if (rest.size() == 2 && r.method == "GET") {
      auto report = store->GetReport(std::string(rest[1]));
      if (!report) return Problem(500, "Internal Server Error", report.error().ToString());
      if (!*report) return Problem(404, "Not Found", fmt::format("no report {}", rest[1]));
      HttpResponse response;
      response.content_type =
          mail::LooksLikeMail((*report)->content) ? "message/rfc822" : "application/octet-stream";
      response.headers["X-Bulwark-Report-Format"] = (*report)->format;
      response.headers["X-Bulwark-Report-Name"] = (*report)->name;
      response.body = std::move((*report)->content);
      return response;
    }
    return NotAllowed(rest.size() == 1 ? "POST" : "GET, HEAD");
  }

  static size_t Limit(const HttpRequest& r) {
    auto it = r.query.find("limit");
    if (it == r.query.end()) return 100;
    auto n = ParseInt(it->second);
    return n && *n > 0 ? static_cast<size_t>(std::min<int64_t>(*n, 1000)) : 100;
  }

  // The incident `id` when `who` may see it (customers: their own only; others look like 404).
  Result<std::optional<model::Incident>> Visible(std::string_view id, const model::Token& who) {
    auto number = ParseInt(id);
    if (!number) return std::optional<model::Incident>();
    auto incident = store->GetIncident(*number);
    if (!incident) return tl::unexpected(incident.error());
    if (*incident && !Staff(who) && (*incident)->customer_id != who.customer_id) {
      return std::optional<model::Incident>();
    }
    return incident;
  }

  HttpResponse Incidents(const HttpRequest& r, const model::Token& who,
                         const std::vector<std::string_view>& rest) {
    std::string actor = fmt::format("token:{}({})", who.id, model::RoleName(who.role));
    if (rest.size() == 1 && r.method == "GET") {
      store::IncidentFilter filter;
      filter.limit = Limit(r);
      if (auto it = r.query.find("state"); it != r.query.end()) {
        filter.state = model::ParseState(it->second);
        if (!filter.state) return Problem(400, "Bad Request", "unknown state " + it->second);
      }
      if (auto it = r.query.find("customer"); it != r.query.end()) filter.customer_id = it->second;
      if (!Staff(who)) filter.customer_id = who.customer_id;
      if (auto it = r.query.find("after"); it != r.query.end()) {
        filter.after_id = ParseInt(it->second).value_or(0);
      }
      auto list = store->ListIncidents(filter);
      if (!list) return Problem(500, "Internal Server Error", list.error().ToString());
      std::string out;
      JsonWriter json(out);
      json.BeginObject();
      json.Key("incidents");
      json.BeginArray();
      for (const auto& incident : *list) {
        json.BeginObject();
        incident::WriteIncident(json, incident);
        json.EndObject();
      }
      json.EndArray();
      json.Key("next_after");
      if (list->size() == filter.limit) {
        json.Int(list->back().id);
      } else {
        json.Null();
      }
      json.EndObject();
      return Json(out);
    }
    if (rest.size() < 2) return NotAllowed("GET, HEAD");
    auto incident = Visible(rest[1], who);
    if (!incident) return Problem(500, "Internal Server Error", incident.error().ToString());
    if (!*incident) return Problem(404, "Not Found", fmt::format("no incident {}", rest[1]));
    int64_t id = (*incident)->id;
    if (rest.size() == 2 && r.method == "GET") {
      auto findings = store->FindingsOfIncident(id);
      auto history = store->ReadAudit(id);
      if (!findings || !history) {
        return Problem(500, "Internal Server Error",
                       (!findings ? findings.error() : history.error()).ToString());
      }
      std::string out;
      JsonWriter json(out);
      incident::WriteIncidentDetail(json, **incident, *findings, *history);
      return Json(out);
    }
    if (rest.size() == 3 && r.method == "POST" &&
        (rest[2] == "transition" || rest[2] == "comments")) {
      Fields body;
      if (!flattener.Flatten(r.body, body)) {
        return Problem(400, "Bad Request", "the body must be one JSON object");
      }
      std::vector<std::string> allowed = rest[2] == "comments"
                                             ? std::vector<std::string>{"text"}
                                             : std::vector<std::string>{"state", "reason"};
      for (const auto& [key, value] : body.values) {
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
          return Problem(400, "Bad Request", fmt::format("unknown field '{}'", key));
        }
      }
      if (rest[2] == "comments") {
        auto done = incidents->Comment(id, actor, body.values["text"]);
        if (!done) return Problem(400, "Bad Request", done.error().message);
        return Json(R"({"ok":true})", 201);
      }
      auto to = model::ParseState(body.values["state"]);
      if (!to) return Problem(400, "Bad Request", "'state' must name an incident state");
      if (body.values["reason"].empty()) return Problem(400, "Bad Request", "'reason' is required");
      if (!Staff(who) && *to != model::IncidentState::kVerifying) {
        return Problem(403, "Forbidden", "customers can report a fix (state verifying) only");
      }
      auto moved = incidents->Transition(id, *to, actor, body.values["reason"]);
      if (!moved) return Problem(409, "Conflict", moved.error().message);
      std::string out;
      JsonWriter json(out);
      json.BeginObject();
      incident::WriteIncident(json, *moved);
      json.EndObject();
      return Json(out);
    }
    return NotAllowed(rest.size() == 2 ? "GET, HEAD" : "POST");
  }

  HttpResponse Attribution(const HttpRequest& r, const model::Token& who) {
    if (!Staff(who)) return Problem(403, "Forbidden", "customer tokens cannot look up addresses");
    if (r.method != "GET") return NotAllowed("GET, HEAD");
    auto ip_param = r.query.find("ip");
    auto ip = ip_param == r.query.end() ? std::nullopt : event::IpAddress::Parse(ip_param->second);
    if (!ip) return Problem(400, "Bad Request", "'ip' must be an IP address");
    TimeNs at = env.Now();
    if (auto it = r.query.find("at"); it != r.query.end()) {
      auto parsed = ParseTimestamp(it->second);
      if (!parsed) return Problem(400, "Bad Request", "'at' must be an RFC 3339 time");
      at = *parsed;
    }
    auto found = index->Lookup(*ip, at);
    std::string out;
    JsonWriter json(out);
    incident::WriteWho(json, ip->ToString(), at, found);
    return Json(out);
  }

  HttpResponse Inventory(const HttpRequest& r, const model::Token& who,
                         const std::vector<std::string_view>& rest) {
    if (r.method != "GET") return NotAllowed("GET, HEAD");
    const auto& inv = index->inventory();
    std::string out;
    JsonWriter json(out);
    if (rest.size() == 2 && rest[1] == "customers") {
      json.BeginObject();
      json.Key("customers");
      json.BeginArray();
      for (const auto& c : inv.customers) {
        if (Staff(who) || c.id == who.customer_id) incident::WriteCustomer(json, c);
      }
      json.EndArray();
      json.EndObject();
      return Json(out);
    }
    if (rest.size() == 3 && rest[1] == "customers") {
      for (const auto& c : inv.customers) {
        if (c.id != rest[2] || (!Staff(who) && c.id != who.customer_id)) continue;
        incident::WriteCustomer(json, c);
        return Json(out);
      }
      return Problem(404, "Not Found", fmt::format("no customer {}", rest[2]));
    }
    if (rest.size() == 3 && rest[1] == "systems") {
      auto system = index->OfSystem(rest[2]);
      if (!system ||
          (!Staff(who) && (!system->customer || system->customer->id != who.customer_id))) {
        return Problem(404, "Not Found", fmt::format("no system {}", rest[2]));
      }
      json.BeginObject();
      incident::WriteAttribution(json, *system);
      json.Key("addresses");
      json.BeginArray();
      for (const auto& a : inv.assignments) {
        if (a.system_id != rest[2]) continue;
        json.BeginObject();
        json.Key("prefix");
        json.String(a.prefix.ToString());
        json.Key("from");
        if (a.from == model::kBeginningOfTime) {
          json.Null();
        } else {
          json.String(FormatTimestamp(a.from));
        }
        json.Key("until");
        if (a.until == model::kEndOfTime) {
          json.Null();
        } else {
          json.String(FormatTimestamp(a.until));
        }
        json.EndObject();
      }
      json.EndArray();
      json.EndObject();
      return Json(out);
    }
    return Problem(404, "Not Found", "see /api/v1/openapi.json");
  }

  HttpResponse Metrics() {
    std::lock_guard lock(mutex);
    std::string out;
    out +=
        "# HELP bulwark_up Whether the service is running.\n# TYPE bulwark_up gauge\nbulwark_up "
        "1\n";
    out +=
        "# HELP bulwark_http_requests_total API requests by status code.\n"
        "# TYPE bulwark_http_requests_total counter\n";
    for (const auto& [status, count] : requests_by_status) {
      out += fmt::format("bulwark_http_requests_total{{code=\"{}\"}} {}\n", status, count);
    }
    out +=
        "# HELP bulwark_reports_total Third-party reports by intake path and result.\n"
        "# TYPE bulwark_reports_total counter\n";
    for (const auto& [key, count] : reports_by_source) {
      out += fmt::format("bulwark_reports_total{{source=\"{}\",result=\"{}\"}} {}\n", key.first,
                         key.second, count);
    }
    out +=
        "# HELP bulwark_findings_total Findings taken in, by outcome.\n"
        "# TYPE bulwark_findings_total counter\n";
    for (const char* outcome :
         {"unattributed", "sighting", "added", "opened", "reopened", "late"}) {
      auto it = findings_by_outcome.find(outcome);
      out += fmt::format("bulwark_findings_total{{outcome=\"{}\"}} {}\n", outcome,
                         it == findings_by_outcome.end() ? 0 : it->second);
    }
    out +=
        "# HELP bulwark_mails_total Delivery attempts of mails and webhooks, by result.\n"
        "# TYPE bulwark_mails_total counter\n";
    out += fmt::format("bulwark_mails_total{{result=\"sent\"}} {}\n", mails_sent);
    out += fmt::format("bulwark_mails_total{{result=\"retry\"}} {}\n", mails_retried);
    out += fmt::format("bulwark_mails_total{{result=\"failed\"}} {}\n", mails_failed);
    out +=
        "# HELP bulwark_input_lines_total Lines read from followed log files.\n"
        "# TYPE bulwark_input_lines_total counter\n";
    out += fmt::format("bulwark_input_lines_total {}\n", lines_total);
    out +=
        "# HELP bulwark_alerts_total Detection alerts from followed log files.\n"
        "# TYPE bulwark_alerts_total counter\n";
    out += fmt::format("bulwark_alerts_total {}\n", alerts_total);
    out += "# HELP bulwark_incidents Incidents by state.\n# TYPE bulwark_incidents gauge\n";
    auto counts = store->CountIncidents();
    if (counts) {
      for (model::IncidentState state : model::kAllStates) {
        auto it = counts->find(model::StateName(state));
        out += fmt::format("bulwark_incidents{{state=\"{}\"}} {}\n", model::StateName(state),
                           it == counts->end() ? 0 : it->second);
      }
    }
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4";
    response.body = std::move(out);
    return response;
  }
};

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Service::~Service() {
  Stop();
}

Result<std::unique_ptr<Service>> Service::Start(config::Config config, std::string config_path,
                                                Env& env) {
  auto impl = std::make_unique<Impl>(env);
  impl->config = std::move(config);
  impl->config_path = std::move(config_path);
  auto store = store::OpenSqliteStore(impl->config.data_dir);
  if (!store) return tl::unexpected(store.error());
  impl->store = std::move(*store);
  if (auto loaded = impl->Load(impl->config); !loaded) return tl::unexpected(loaded.error());
  Impl* raw = impl.get();
  auto http = HttpServer::Start(
      impl->config.listen, [raw](const HttpRequest& r) { return raw->Handle(r); },
      impl->config.max_body_bytes);
  if (!http) return tl::unexpected(http.error());
  impl->http = std::move(*http);
  impl->timer = std::thread([raw] { raw->TimerLoop(); });
  impl->reader = std::thread([raw] { raw->ReaderLoop(); });
  impl->sources_thread = std::thread([raw] { raw->SourcesLoop(); });
  Log(fmt::format("listening on port {}, data in {}", impl->http->port(), impl->config.data_dir));
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
  std::lock_guard lock(impl_->mutex);
  if (parsed->data_dir != impl_->config.data_dir || parsed->listen != impl_->config.listen) {
    Log("data_dir and listen change only with a restart");
    parsed->data_dir = impl_->config.data_dir;
    parsed->listen = impl_->config.listen;
  }
  if (auto loaded = impl_->Load(*parsed); !loaded) return loaded;
  impl_->config = std::move(*parsed);
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
  impl_->http.reset();  // refuses new requests, finishes those in progress
  {
    std::lock_guard lock(impl_->timer_mutex);
    impl_->stopping = true;
  }
  impl_->timer_wake.notify_all();
  if (impl_->timer.joinable()) impl_->timer.join();
  if (impl_->reader.joinable()) impl_->reader.join();
  if (impl_->sources_thread.joinable()) impl_->sources_thread.join();
  impl_->ReadInputs();  // what the files still hold
  impl_->Tick();        // one last delivery round
  Log("stopped");
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
      Log(reloaded
              ? "configuration reloaded"
              : "reload failed, the running configuration stays: " + reloaded.error().ToString());
      continue;
    }
    Log(fmt::format("signal {}: draining", signal));
    Stop();
    return;
  }
}

}  // namespace bulwark::server
