#include "bulwark/server/service.h"

#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "api.h"
#include "bulwark/detect/address_list.h"
#include "bulwark/flow/flow.h"
#include "bulwark/forensics/flow_archive.h"
#include "bulwark/input/follower.h"
#include "bulwark/intake/intake.h"
#include "bulwark/intake/report_sources.h"
#include "bulwark/intake/verification.h"
#include "bulwark/pipeline/replay.h"
#include "bulwark/pipeline/rules_loader.h"
#include "bulwark/receive/flows.h"
#include "bulwark/receive/queue.h"
#include "bulwark/receive/relp.h"
#include "bulwark/receive/tcp.h"
#include "bulwark/receive/udp.h"
#include "bulwark/scan/reactive.h"
#include "bulwark/scan/setup.h"
#include "bulwark/scan/targets.h"
#include "bulwark/server/http.h"
#include "bulwark/spine/spine.h"
#include "bulwark/vuln/vulndb.h"
#include "metrics.h"

namespace bulwark::server {

namespace {

constexpr time_t kListCheckSeconds = 5;

// The inventory as the spoofing detector asks it: the spine's current attribution index.
class InventoryAddressBook : public flowdetect::AddressBook {
 public:
  explicit InventoryAddressBook(const spine::Spine& spine) : spine_(spine) {}
  std::string SystemOfAddress(const event::IpAddress& address, TimeNs at) const override {
    auto held = spine_.index()->Lookup(address, at);
    return held && held->system ? held->system->id : std::string();
  }
  std::string SystemOfMac(uint64_t mac, TimeNs at) const override {
    auto held = spine_.index()->LookupMac(flow::MacText(mac), at);
    return held && held->system ? held->system->id : std::string();
  }

 private:
  const spine::Spine& spine_;
};

}  // namespace

namespace {

// How long a stop waits for requests in progress before it cuts them off.
constexpr TimeNs kDrainGrace = 10 * kNsPerSecond;
// Received messages taken from a queue into detection at a time (one store write).
constexpr size_t kReceivedBatch = 8192;
// A receiver's queue is marked processed at most this often (the store's position is the
// record that counts; the queue's own mark only lets it delete its files).
constexpr TimeNs kQueueCommitEvery = kNsPerSecond;

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
  std::vector<std::string> file_systems;  // per followed file, config inputs[].system
  std::unique_ptr<intake::AlertFindings> alert_findings;  // the detector's sink
  std::unique_ptr<pipeline::StreamDetector> detector;
  size_t receiver_base = 0;   // the detector's input index of the first receiver
  std::string list_versions;  // of the address lists the running rules were compiled with
  std::atomic<uint64_t> lines_total{0};

  std::atomic<uint64_t> mails_sent{0}, mails_retried{0}, mails_failed{0};

  // Network receivers, fixed at start. Each has a durable queue of its own; the receive thread
  // takes what they queued through the detector, as inputs after the files.
  struct ReceiverSlot {
    config::Receiver config;
    std::unique_ptr<receive::DurableQueue> queue;
    std::mutex queue_mutex;  // the receiver's thread and the receive thread share the queue
    std::unique_ptr<receive::UdpReceiver> udp;
    std::unique_ptr<receive::TcpSyslogReceiver> tcp;
    std::unique_ptr<receive::RelpReceiver> relp;
    uint64_t lines = 0;                  // taken through detection since the start
    std::atomic<uint64_t> processed{0};  // the same, for the metrics
    uint64_t processed_up_to = 0;        // the last sequence number taken (store position)
    TimeNs next_commit = 0;

    int port() const { return udp ? udp->port() : tcp ? tcp->port() : relp->port(); }
    void Stop() {
      if (udp) udp->Stop();
      if (tcp) tcp->Stop();
      if (relp) relp->Stop();
    }
  };
  std::vector<std::unique_ptr<ReceiverSlot>> receivers;
  std::unique_ptr<forensics::FlowArchive> flow_archive;  // null: flow_retention 0
  receive::SenderStats senders;

  std::unique_ptr<HttpServer> http;
  std::thread timer, reader, sources_thread, receive_thread, countermeasure_thread, scan_thread;
  // The scan thread's timers (by schedule name) and counts.
  std::map<std::string, TimeNs> next_schedule;
  TimeNs next_verify = 0, next_vulndb_refresh = 0;
  std::atomic<uint64_t> scans{0}, scan_findings{0}, scan_problems{0};
  std::atomic<uint64_t> reactive_report{0}, reactive_cve{0};
  // Endpoints for the next scan round, by trigger ("report", "cve"): reactive scans.
  std::mutex reactive_mutex;
  std::map<std::string, std::set<scan::ScanTarget>> reactive;
  std::atomic<bool> scan_running{false};  // the scan thread was started
  std::set<std::string> unqueued_fresh;   // scan thread only: new CVEs not yet looked up
  std::atomic<bool> scan_cancel{false};   // set by Stop: a scan in progress ends early
  std::mutex verifications_mutex;
  std::map<std::string, uint64_t> verifications;  // by outcome
  int64_t last_incident_seen = 0;  // incidents above this id have not been offered the policy
  TimeNs next_reconcile = 0;
  std::string last_countermeasure_problem;  // logged once until it changes
  std::atomic<uint64_t> countermeasure_problems{0};
  std::mutex timer_mutex;
  std::condition_variable timer_wake;
  bool stopping = false;

  // Rules, decoders, followers and the detector of a configuration's inputs.
  struct StagedInputs {
    std::vector<std::unique_ptr<input::FileFollower>> followers;
    std::unique_ptr<intake::AlertFindings> alert_findings;
    std::unique_ptr<pipeline::StreamDetector> detector;  // null: no inputs
    size_t receiver_base = 0;               // the detector's input index of the first receiver
    std::vector<std::string> file_systems;  // per followed file, config inputs[].system
    std::string list_versions;              // AddressListVersions() when they were read
  };

  // The modification time and size of each address list file, as one text: it changes when a
  // list is replaced or rewritten.
  static std::string AddressListVersions(const config::Config& c) {
    std::string versions;
    for (const auto& [name, path] : c.address_lists) {
      std::error_code error;
      auto time = std::filesystem::last_write_time(path, error);
      auto size = std::filesystem::file_size(path, error);
      versions += fmt::format("{}={}:{};", name, error ? 0 : time.time_since_epoch().count(),
                              error ? 0 : size);
    }
    return versions;
  }

  config::Config Config() {
    std::lock_guard lock(config_mutex);
    return config;
  }

  // Loads what `c.inputs` need; changes nothing running.
  Result<StagedInputs> PrepareInputs(const config::Config& c) {
    StagedInputs staged;
    if (c.inputs.empty() && c.receivers.empty()) return staged;
    detect::CompileOptions compile;
    auto lists = detect::AddAddressLists(c.address_lists, compile.field_map, env);
    if (!lists) return tl::unexpected(lists.error());
    for (const Error& problem : *lists) Log("address list: " + problem.ToString());
    staged.list_versions = AddressListVersions(c);
    auto rules = pipeline::LoadRules(c.rules, compile, env);
    if (!rules.rejected.empty()) {
      return Fail(fmt::format("{} rules rejected, the first: {}", rules.rejected.size(),
                              rules.rejected.front().ToString()));
    }
    auto decoders = decode::DecoderSet::Load({}, env);
    if (!decoders) return tl::unexpected(decoders.error());
    pipeline::ReplayOptions options;
    options.flow_detectors = c.flow_detectors;
    options.address_book = std::make_shared<InventoryAddressBook>(*spine);
    options.parse.reference_time = env.Now();
    options.env = &env;
    std::vector<std::string> names;
    for (const auto& in : c.inputs) {
      names.push_back(in.path);
      // config.cc has checked the name.
      options.input_formats.push_back(input::ParseFormat(in.format).value_or(input::Format::kAuto));
      staged.followers.push_back(std::make_unique<input::FileFollower>(in.path));
      staged.file_systems.push_back(in.system);
    }
    // Receivers are inputs after the files.
    staged.receiver_base = c.inputs.size();
    for (const auto& r : c.receivers) {
      names.push_back("receiver:" + r.name);
      options.input_formats.push_back(input::ParseFormat(r.format).value_or(input::Format::kAuto));
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
    file_systems = std::move(staged.file_systems);
    lines_read.assign(followers.size(), 0);
    detector = std::move(staged.detector);
    receiver_base = staged.receiver_base;
    alert_findings = std::move(staged.alert_findings);
    list_versions = std::move(staged.list_versions);
  }

  // One round over the followed files: new lines through detection, alerts into the intake.
  void ReadInputs() {
    std::lock_guard lock(input_mutex);
    if (!detector) return;
    std::vector<pipeline::LineOrigin> origins;
    for (size_t i = 0; i < followers.size(); ++i) {
      std::vector<std::string> lines;
      auto polled = followers[i]->Poll(lines);
      if (!polled) Log(polled.error().ToString());
      if (lines.empty()) continue;
      // A file declared to be a system's log: its events carry that system (host.id).
      origins.assign(file_systems[i].empty() ? 0 : lines.size(),
                     pipeline::LineOrigin{{}, {}, file_systems[i]});
      detector->Process(i, lines, lines_read[i] + 1, origins);
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

  // Opens each receiver's queue, moves it past what the store says was processed (a crash
  // between the store's write and the queue's mark), and starts listening.
  Result<void> StartReceivers(const config::Config& c) {
    for (const config::Receiver& r : c.receivers) {
      auto slot = std::make_unique<ReceiverSlot>();
      slot->config = r;
      receive::DurableQueue::Options options;
      options.max_bytes = r.queue_max_bytes;
      auto queue = receive::DurableQueue::Open(c.data_dir + "/queue/" + r.name, options);
      if (!queue) return tl::unexpected(queue.error());
      slot->queue = std::move(*queue);
      for (const Error& damaged : slot->queue->recovery().damaged) {
        Log(fmt::format("receiver {}: damaged queue record skipped: {}", r.name,
                        damaged.ToString()));
      }
      std::optional<uint64_t> position;
      auto read = spine->Read([&](store::Store& store) -> Result<void> {
        auto got = store.Position(StreamName(r));
        if (!got) return tl::unexpected(got.error());
        position = *got;
        return {};
      });
      if (!read) return tl::unexpected(read.error());
      if (position && *position > slot->queue->committed()) {
        if (auto done = slot->queue->Commit(*position); !done) return done;
      }
      if (r.protocol == "relp") {
        auto relp = receive::RelpReceiver::Start(r.listen, *slot->queue, slot->queue_mutex, env,
                                                 &senders, r.max_message_bytes);
        if (!relp) return tl::unexpected(relp.error());
        slot->relp = std::move(*relp);
      } else if (r.protocol == "udp" || r.protocol == "netflow" || r.protocol == "sflow") {
        receive::DatagramHandler handler;
        if (r.protocol != "udp") {  // one decoder tells all flow formats apart
          handler = receive::FlowDatagrams(std::make_shared<flow::ExportDecoder>(), env);
        }
        auto udp = receive::UdpReceiver::Start(r.listen, *slot->queue, slot->queue_mutex, env,
                                               &senders, std::move(handler));
        if (!udp) return tl::unexpected(udp.error());
        slot->udp = std::move(*udp);
      } else {
        receive::TcpSyslogReceiver::Options limits;
        limits.max_connections = r.max_connections;
        limits.max_connections_per_sender = r.max_connections_per_sender;
        limits.max_message = r.max_message_bytes;
        limits.idle_timeout = r.idle_timeout;
        if (r.protocol == "tls") {
          limits.tls = receive::TcpSyslogReceiver::Tls{
              r.tls_certificate, r.tls_key, r.tls_client_ca, r.tls_require_client_certificate,
              r.tls_allowed_clients};
        }
        auto tcp = receive::TcpSyslogReceiver::Start(r.listen, *slot->queue, slot->queue_mutex, env,
                                                     &senders, limits);
        if (!tcp) return tl::unexpected(tcp.error());
        slot->tcp = std::move(*tcp);
      }
      Log(fmt::format("receiver {}: {} on {}{}", r.name, r.protocol,
                      r.listen.substr(0, r.listen.rfind(':') + 1), slot->port()));
      receivers.push_back(std::move(slot));
    }
    return {};
  }

  static std::string StreamName(const config::Receiver& r) { return "receiver:" + r.name; }

  // Takes up to kReceivedBatch queued messages of receiver `index` through detection; their
  // findings and the queue position are stored in one write, so that after a crash processing
  // resumes behind the last message whose alerts were stored. Returns how many it took (0 when
  // the store failed until the service stopped).
  size_t TakeReceived(size_t index) {
    ReceiverSlot& slot = *receivers[index];
    std::vector<receive::QueuedMessage> messages;
    uint64_t last = 0;
    {
      std::lock_guard lock(slot.queue_mutex);
      auto read = slot.queue->Read(kReceivedBatch, [&](uint64_t sequence, std::string_view record) {
        last = sequence;
        auto message = receive::DecodeQueued(record);
        // CRC-checked, so only a record of another program version fails: skipped.
        if (message) messages.push_back(std::move(*message));
      });
      if (!read) Log(fmt::format("receiver {}: {}", slot.config.name, read.error().ToString()));
    }
    if (last == 0) return 0;
    std::vector<std::string> lines;
    std::vector<pipeline::LineOrigin> origins;
    lines.reserve(messages.size());
    origins.reserve(messages.size());
    auto attribution = spine->index();
    const receive::QueuedMessage* previous = nullptr;
    for (receive::QueuedMessage& message : messages) {
      // Consecutive messages of one sender (a TCP connection's) share their origin.
      if (previous && previous->sender == message.sender &&
          previous->sender_name == message.sender_name) {
        origins.push_back(origins.back());
      } else {
        pipeline::LineOrigin origin{message.sender.ToString(), message.sender_name, {}};
        // A client certificate named after a system names it; else the address at the time.
        auto held =
            message.sender_name.empty() ? std::nullopt : attribution->OfSystem(message.sender_name);
        if (!held) held = attribution->Lookup(message.sender, message.received);
        if (held && held->system) origin.system_id = held->system->id;
        origins.push_back(std::move(origin));
      }
      previous = &message;
      lines.push_back(std::move(message.text));
    }
    bool flows = slot.config.protocol == "netflow" || slot.config.protocol == "sflow";
    if (flows && flow_archive) {
      if (auto kept = flow_archive->Append(lines, env.Now()); !kept) {
        Log(fmt::format("flow archive: {}", kept.error().ToString()));
      }
    }
    {
      std::lock_guard lock(input_mutex);
      if (detector) detector->Process(receiver_base + index, lines, slot.lines + 1, origins);
      slot.lines += lines.size();
      intake::StreamPosition position{StreamName(slot.config), last};
      for (const std::string& problem : alert_findings->DrainProblems()) {
        Log("alert not taken: " + problem);
      }
      // The store failing (full, locked) keeps these messages unprocessed: their findings are
      // tried again every second. Stopping meanwhile leaves them to the next start, which takes
      // them from the queue again (their findings are dropped here, so nothing writes them
      // without the position).
      while (true) {
        auto taken = intake->TakeAlertFindings(*alert_findings, &position);
        if (taken) break;
        Log(fmt::format("receiver {}: findings not taken, trying again: {}", slot.config.name,
                        taken.error().ToString()));
        std::unique_lock wait(timer_mutex);
        if (timer_wake.wait_for(wait, std::chrono::seconds(1), [&] { return stopping; })) {
          (void)alert_findings->Drain();
          return 0;
        }
      }
    }
    slot.processed += lines.size();
    slot.processed_up_to = last;
    CommitQueue(slot, false);
    return lines.size();
  }

  // Marks the queue processed up to what the store holds (`now`: whatever the time).
  void CommitQueue(ReceiverSlot& slot, bool now) {
    TimeNs at = env.Now();
    if (!now && at < slot.next_commit) return;
    slot.next_commit = at + kQueueCommitEvery;
    std::lock_guard lock(slot.queue_mutex);
    if (slot.processed_up_to <= slot.queue->committed()) return;
    if (auto done = slot.queue->Commit(slot.processed_up_to); !done) {
      Log(fmt::format("receiver {}: {}", slot.config.name, done.error().ToString()));
    }
  }

  // The receive thread: takes what the receivers queued until stopping, then what is left.
  void ReceiveLoop() {
    std::unique_lock lock(timer_mutex);
    while (!stopping) {
      lock.unlock();
      size_t taken = 0;
      for (size_t i = 0; i < receivers.size(); ++i) taken += TakeReceived(i);
      lock.lock();
      if (taken == 0) {
        timer_wake.wait_for(lock, std::chrono::milliseconds(20), [&] { return stopping; });
      }
    }
  }

  // Deadlines, reminders, then delivery (mail servers and webhook receivers are talked to
  // without holding the store's writer).
  void Tick() {
    if (flow_archive) {
      if (auto pruned = flow_archive->Prune(env.Now()); !pruned) {
        Log(fmt::format("flow archive: {}", pruned.error().ToString()));
      }
    }
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

  // The countermeasure policy, every 100 ms: incidents opened since the last round, and those
  // at countermeasure_due where the severity policy allows acting without prior consultation;
  // every reconcile_interval, a reconcile. The first round looks at every incident (Automatic
  // makes nothing twice), so a restart misses none.
  void CountermeasureRound() {
    auto controller = spine->Countermeasures();
    auto problem = [&](const std::string& what) {
      ++countermeasure_problems;
      if (what != last_countermeasure_problem) Log("countermeasures: " + what);
      last_countermeasure_problem = what;
    };
    if (!controller) return problem(controller.error().ToString());
    std::vector<model::Incident> opened, due;
    auto read = spine->Read([&](store::Store& store) -> Result<void> {
      store::IncidentFilter filter;
      filter.after_id = last_incident_seen;
      filter.limit = 1000;
      auto fresh = store.ListIncidents(filter);
      if (!fresh) return tl::unexpected(fresh.error());
      opened = std::move(*fresh);
      store::IncidentFilter at_due;
      at_due.state = model::IncidentState::kCountermeasureDue;
      at_due.limit = 1000;
      auto waiting = store.ListIncidents(at_due);
      if (!waiting) return tl::unexpected(waiting.error());
      due = std::move(*waiting);
      return {};
    });
    if (!read) return problem(read.error().ToString());
    for (const auto& incident : opened) {
      last_incident_seen = std::max(last_incident_seen, incident.id);
      if (!model::IsOpen(incident.state)) continue;
      auto made = (*controller)->Automatic(incident, "opened");
      if (!made) problem(made.error().ToString());
      for (const auto& c : made ? *made : std::vector<model::Countermeasure>{}) {
        Log(fmt::format("countermeasure {} ({}) of incident {}: {}", c.id, KindName(c.kind),
                        incident.id, StateName(c.state)));
      }
    }
    for (const auto& incident : due) {
      if (!spine->WithoutConsultation(incident.severity)) continue;
      auto made = (*controller)->Automatic(incident, "countermeasure_due");
      if (!made) problem(made.error().ToString());
    }
    TimeNs now = env.Now();
    if (now >= next_reconcile) {
      next_reconcile = now + Config().countermeasures.reconcile_interval;
      auto report = (*controller)->Reconcile();
      if (!report) return problem(report.error().ToString());
      for (const auto& line : report->problems) problem(line);
    }
  }

  // Queues the endpoints a report sent to customers' incidents for a reactive scan, when the
  // scanner runs and scan.rescan_reports is on. Thread-safe.
  void QueueReportedEndpoints(const intake::ReportOutcome& outcome) {
    const auto settings = Config().scan;
    // Only while the scan thread runs: a scan section added by a reload starts none, and what
    // nobody drains must not pile up.
    if (!scan_running || !settings.rescan_reports || outcome.attributed.empty()) return;
    std::lock_guard lock(reactive_mutex);
    for (const auto& e : outcome.attributed) {
      bool known_transport = e.transport == "tcp" || e.transport == "udp";
      reactive["report"].insert(
          {e.address, known_transport ? e.port : 0, known_transport ? e.transport : "tcp"});
    }
  }

  // The scan thread, every second: vulnerability data re-imported every vulndb_refresh (the
  // services last seen with a product exposed to a CVE it newly holds are queued), the schedules
  // that are due, the queued reactive scans, and every verify_interval the verifying incidents
  // re-scanned.
  void ScanRound() {
    const config::ScanConfig settings = Config().scan;
    TimeNs now = env.Now();
    auto problem = [&](const std::string& what) {
      ++scan_problems;
      Log("scan: " + what);
    };
    if (!settings.vulndb_files.empty() && now >= next_vulndb_refresh) {
      next_vulndb_refresh = now + settings.vulndb_refresh;
      auto db = vuln::VulnDb::Open(scan::VulnDbPath(Config()));
      if (!db) return problem(db.error().ToString());
      // New CVE entries of this refresh, and those a failed lookup left for this one.
      std::set<std::string> fresh;
      fresh.swap(unqueued_fresh);
      for (const auto& file : settings.vulndb_files) {
        auto content = spine->env().ReadFile(file);
        auto stats = content ? (*db)->Import(*content, file)
                             : Result<vuln::ImportStats>(tl::unexpected(content.error()));
        if (!stats) {
          problem(stats.error().ToString());
          continue;
        }
        Log(fmt::format("vulndb: {}: {}: {} records, {} rejected, {} new", file, stats->kind,
                        stats->records, stats->rejected, stats->fresh.size()));
        fresh.insert(stats->fresh.begin(), stats->fresh.end());
      }
      if (!fresh.empty() && settings.rescan_new_cves) {
        auto exposed = scan::ExposedTargets(**db, fresh);
        if (!exposed) {
          unqueued_fresh = std::move(fresh);  // the imports stay; ask again next round
          return problem(exposed.error().ToString());
        }
        if (!exposed->empty()) {
          Log(
              fmt::format("vulndb: {} services last seen are exposed to {} new CVE entries: "
                          "re-scanning them",
                          exposed->size(), fresh.size()));
        }
        std::lock_guard lock(reactive_mutex);
        reactive["cve"].insert(exposed->begin(), exposed->end());
      }
    }
    std::vector<const config::ScanConfig::Schedule*> due;
    for (const auto& schedule : settings.schedules) {
      if (now >= next_schedule[schedule.name]) due.push_back(&schedule);
    }
    bool verify = settings.verify_interval > 0 && now >= next_verify;
    std::map<std::string, std::set<scan::ScanTarget>> queued;
    {
      std::lock_guard lock(reactive_mutex);
      queued.swap(reactive);
    }
    if (due.empty() && !verify && queued.empty()) return;
    auto services = scan::LoadServiceDb(settings.services, spine->env());
    if (!services) return problem(services.error().ToString());
    auto vulndb = vuln::VulnDb::Open(scan::VulnDbPath(Config()));
    if (!vulndb) return problem(vulndb.error().ToString());
    auto index = spine->index();
    vuln::Scope scope(index, scan::ScopeSettingsOf(settings));
    scan::ScanOptions options = scan::OptionsOf(settings);
    options.vulndb = vulndb->get();
    options.cancel = &scan_cancel;
    scan::Scanner scanner(scope, **services, spine->env(), options);
    // Takes a scan's findings and remembers what it recognised.
    auto take = [&](const std::string& what, const scan::ScanReport& report) {
      scan_findings += report.findings.size();
      for (const auto& refused : report.refused) {
        Log(fmt::format("scan {}: refused: {}", what, refused.reason));
      }
      if (!report.findings.empty()) {
        auto taken = intake->TakeFindings(report.findings);
        if (!taken) problem(taken.error().ToString());
      }
      auto remembered =
          scan::RememberServices(**vulndb, report, spine->env().Now(), settings.sighting_retention);
      if (!remembered) problem(remembered.error().ToString());
      Log(fmt::format("scan {}: {} addresses in scope, {} open ports, {} findings", what,
                      report.in_scope, report.discovery.open, report.findings.size()));
    };
    for (const auto* schedule : due) {
      next_schedule[schedule->name] = now + schedule->every;
      std::vector<event::IpAddress> addresses;
      for (const auto& target : schedule->targets) {
        auto resolved = scan::ResolveTarget(target, *index, now);
        if (!resolved) {
          problem(fmt::format("schedule {}: {}", schedule->name, resolved.error().message));
          continue;
        }
        addresses.insert(addresses.end(), resolved->begin(), resolved->end());
      }
      auto ports = scan::ParsePorts(schedule->ports.empty() ? settings.ports : schedule->ports);
      auto udp_ports =
          scan::ParsePorts(schedule->udp_ports.empty() ? settings.udp_ports : schedule->udp_ports);
      if (!ports || !udp_ports) {
        problem(fmt::format("schedule {}: ports: {}", schedule->name,
                            (ports ? udp_ports : ports).error().message));
        continue;
      }
      ++scans;
      take(schedule->name, scanner.Run(addresses, *ports, *udp_ports));
    }
    if (!queued.empty()) {
      auto ports = scan::ParsePorts(settings.ports);
      auto udp_ports = scan::ParsePorts(settings.udp_ports);
      if (!ports || !udp_ports) {
        problem("scan.ports: " + (ports ? udp_ports : ports).error().message);
      } else {
        for (const auto& [trigger, targets] : queued) {
          (trigger == "report" ? reactive_report : reactive_cve) += targets.size();
          std::vector<scan::ScanTarget> list(targets.begin(), targets.end());
          take(trigger == "report" ? "after a report" : "after new CVE entries",
               scan::ScanTargets(scanner, list, *ports, *udp_ports));
        }
      }
    }
    if (verify) {
      next_verify = now + settings.verify_interval;
      auto verified = intake::VerifyIncidents(*spine, scanner);
      if (!verified) return problem(verified.error().ToString());
      std::lock_guard lock(verifications_mutex);
      for (const auto& v : *verified) {
        ++verifications[v.outcome];
        if (v.outcome != "unverifiable") {
          Log(fmt::format("incident {}: {}: {}", v.incident_id, v.outcome, v.reason));
        }
      }
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
    snapshot.countermeasure_problems = countermeasure_problems;
    snapshot.scans = scans;
    snapshot.scan_findings = scan_findings;
    snapshot.reactive_report = reactive_report;
    snapshot.reactive_cve = reactive_cve;
    snapshot.scan_problems = scan_problems;
    {
      std::lock_guard lock(verifications_mutex);
      snapshot.verifications = verifications;
    }
    for (const auto& slot : receivers) {
      MetricsSnapshot::Receiver r;
      r.name = slot->config.name;
      if (slot->udp) {
        auto c = slot->udp->counters();
        r.received = c.datagrams;
        r.queued = c.queued;
        r.dropped = c.dropped;
        r.problems = c.rejected;
      } else if (slot->relp) {
        auto c = slot->relp->counters();
        r.received = c.messages;
        r.queued = c.queued;
        r.dropped = c.lost;
      } else {
        auto c = slot->tcp->counters();
        r.received = c.messages;
        r.queued = c.queued;
        r.refused = c.refused;
        r.problems = c.problems;
      }
      r.processed = slot->processed;
      {
        std::lock_guard lock(slot->queue_mutex);
        r.queue_bytes = slot->queue->bytes();
      }
      snapshot.receivers.push_back(std::move(r));
    }
    snapshot.senders = senders.Snapshot();
    // A read connection of its own: never waits for a write in progress.
    (void)spine->Read([&](store::Store& store) -> Result<void> {
      auto counts = store.CountIncidents();
      if (counts) snapshot.incidents = std::move(*counts);
      auto measures = store.CountCountermeasures();
      if (measures) snapshot.countermeasures = std::move(*measures);
      return {};
    });
    return RenderMetrics(snapshot);
  }
};

namespace {

bool SameReceivers(const std::vector<config::Receiver>& a, const std::vector<config::Receiver>& b) {
  auto key = [](const config::Receiver& r) {
    return std::tie(r.name, r.protocol, r.listen, r.format, r.max_connections,
                    r.max_connections_per_sender, r.max_message_bytes, r.idle_timeout,
                    r.queue_max_bytes);
  };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](const auto& x, const auto& y) { return key(x) == key(y); });
}

}  // namespace

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
  impl->intake->SetReportObserver([raw = impl.get()](const intake::ReportOutcome& outcome) {
    raw->QueueReportedEndpoints(outcome);
  });
  impl->CommitInputs(std::move(*inputs));
  if (config.flow_retention > 0) {
    impl->flow_archive = std::make_unique<forensics::FlowArchive>(
        (std::filesystem::path(config.data_dir) / "flows").string(), config.flow_retention);
  }
  if (auto started = impl->StartReceivers(config); !started) {
    return tl::unexpected(started.error());
  }
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
  if (!impl->receivers.empty()) impl->receive_thread = std::thread([raw] { raw->ReceiveLoop(); });
  const auto& cm = impl->config.countermeasures;
  if (cm.nftables.configured || cm.stackit.configured) {
    impl->countermeasure_thread = std::thread([raw] {
      raw->Loop([] { return kNsPerSecond / 10; }, [raw] { raw->CountermeasureRound(); });
    });
  }
  if (impl->config.scan.configured) {
    impl->scan_running = true;
    impl->scan_thread =
        std::thread([raw] { raw->Loop([] { return kNsPerSecond; }, [raw] { raw->ScanRound(); }); });
  }
  impl->Log(
      fmt::format("listening on port {}, data in {}", impl->http->port(), impl->config.data_dir));
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

int Service::port() const {
  return impl_->http ? impl_->http->port() : 0;
}

int Service::receiver_port(const std::string& name) const {
  for (const auto& slot : impl_->receivers) {
    if (slot->config.name == name) return slot->port();
  }
  return 0;
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
  if (!SameReceivers(parsed->receivers, running.receivers)) {
    impl_->Log("receivers change only with a restart");
  }
  parsed->receivers = running.receivers;
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

Result<bool> Service::CheckAddressLists() {
  config::Config running = impl_->Config();
  {
    std::lock_guard lock(impl_->input_mutex);
    if (Impl::AddressListVersions(running) == impl_->list_versions) return false;
  }
  auto inputs = impl_->PrepareInputs(running);
  if (!inputs) return tl::unexpected(inputs.error());
  impl_->CommitInputs(std::move(*inputs));
  impl_->Log("address lists changed: rules compiled again with them");
  return true;
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
  impl_->scan_cancel = true;
  if (impl_->timer.joinable()) impl_->timer.join();
  if (impl_->countermeasure_thread.joinable()) impl_->countermeasure_thread.join();
  if (impl_->scan_thread.joinable()) impl_->scan_thread.join();
  if (impl_->reader.joinable()) impl_->reader.join();
  if (impl_->sources_thread.joinable()) impl_->sources_thread.join();
  impl_->http.reset();
  // Receivers stop taking; what they queued stays on disk for the next start (it is durable),
  // but what is there now is taken, and the queues marked.
  for (auto& slot : impl_->receivers) slot->Stop();
  if (impl_->receive_thread.joinable()) impl_->receive_thread.join();
  for (size_t i = 0; i < impl_->receivers.size(); ++i) {
    while (impl_->TakeReceived(i) > 0) {
    }
    impl_->CommitQueue(*impl_->receivers[i], true);
  }
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
    // Every few seconds without a signal, the address lists are looked at.
    timespec wait{kListCheckSeconds, 0};
    int signal = sigtimedwait(&set, nullptr, &wait);
    if (signal < 0) {
      if (errno != EAGAIN) continue;
      if (auto checked = CheckAddressLists(); !checked) {
        impl_->Log("address lists: reading them again failed, the running rules stay: " +
                   checked.error().ToString());
      }
      continue;
    }
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
