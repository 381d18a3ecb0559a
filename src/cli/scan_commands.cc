// bulwark scan ADDR|CIDR|SYSTEM-ID... [--ports ...] [--checks ...]

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "bulwark/core/json_writer.h"
#include "bulwark/finding/intelmq.h"
#include "bulwark/incident/incidents.h"
#include "bulwark/intake/intake.h"
#include "bulwark/intake/verification.h"
#include "bulwark/scan/reactive.h"
#include "bulwark/scan/scanner.h"
#include "bulwark/scan/setup.h"
#include "bulwark/scan/targets.h"
#include "bulwark/spine/spine.h"
#include "commands.h"

namespace bulwark::cli {

namespace {

struct ScanOptions {
  StoreOptions store;
  std::vector<std::string> targets;
  std::string ports;
  std::string udp_ports;
  std::string checks;
  std::vector<std::string> allow;
  size_t rate = 0, rate_per_network = 0;
  int timeout_ms = 1000;
  int retries = 1;
  std::string discovery;  // empty: scan.discovery
  size_t workers = 16;
  bool no_identify = false;
  bool submit = false;
  bool no_vulndb = false;
  bool verify = false;
  std::string exposed_to;
  std::string services;
};

std::set<std::string> SplitList(const std::string& text) {
  std::set<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.insert(item);
  }
  return out;
}

Outcome RunScan(const ScanOptions& o) {
  auto spine = OpenSpine(o.store, {});
  if (!spine) return tl::unexpected(spine.error());
  auto config = (*spine)->config();
  const auto& settings = config->scan;
  auto index = (*spine)->index();
  TimeNs now = (*spine)->env().Now();

  vuln::ScopeSettings scope_settings = scan::ScopeSettingsOf(settings);
  for (const auto& text : o.allow) {
    auto prefix = model::Prefix::Parse(text);
    if (!prefix) return UsageError(fmt::format("--allow '{}' is not an address or prefix", text));
    scope_settings.allow.push_back(*prefix);
  }
  vuln::Scope scope(index, scope_settings);

  auto ports = scan::ParsePorts(o.ports.empty() ? settings.ports : o.ports);
  if (!ports) return UsageError("--ports: " + ports.error().message);
  auto udp_ports = scan::ParsePorts(o.udp_ports.empty() ? settings.udp_ports : o.udp_ports);
  if (!udp_ports) return UsageError("--udp-ports: " + udp_ports.error().message);

  auto db_loaded =
      scan::LoadServiceDb(o.services.empty() ? settings.services : o.services, ProgramEnv());
  if (!db_loaded) return UsageError(db_loaded.error().ToString());
  const scan::ServiceDb& db = **db_loaded;

  scan::ScanOptions options = scan::OptionsOf(settings);
  // The vulnerability database: products are matched against it, and what the scan recognised
  // is remembered in it (the re-scans on new CVEs).
  std::unique_ptr<vuln::VulnDb> vulndb;
  if (!o.no_vulndb) {
    std::error_code ignored;
    std::filesystem::create_directories(config->data_dir, ignored);
    auto opened = vuln::VulnDb::Open(scan::VulnDbPath(*config));
    if (!opened) return RuntimeError(opened.error());
    vulndb = std::move(*opened);
    options.vulndb = vulndb.get();
  }
  options.checks = SplitList(o.checks);
  for (const auto& name : options.checks) {
    const auto& builtin = scan::BuiltinCheckNames();
    bool known = std::find(builtin.begin(), builtin.end(), name) != builtin.end();
    for (const auto& check : db.checks()) known = known || check.name == name;
    if (!known) return UsageError(fmt::format("--checks: no check is named '{}'", name));
  }
  options.identify = !o.no_identify;
  options.workers = o.workers;
  if (o.rate) options.discover.rate = static_cast<double>(o.rate);
  if (o.rate_per_network)
    options.discover.rate_per_network = static_cast<double>(o.rate_per_network);
  options.discover.timeout = std::chrono::milliseconds(o.timeout_ms);
  options.discover.retries = o.retries;
  std::string discovery = o.discovery.empty() ? settings.discovery : o.discovery;
  if (discovery == "syn") {
    if (!scan::CanSendRaw()) {
      return UsageError(
          "--discovery syn needs raw sockets (root or CAP_NET_RAW); use --discovery connect");
    }
    options.discover.method = scan::DiscoveryMethod::kSyn;
  } else if (discovery == "connect") {
    options.discover.method = scan::DiscoveryMethod::kConnect;
  }

  if (o.verify) {
    if (!o.targets.empty()) return UsageError("--verify takes no targets: it re-scans incidents");
    if (o.no_identify) return UsageError("--verify needs identification: drop --no-identify");
    scan::Scanner scanner(scope, db, (*spine)->env(), options);
    auto verified = intake::VerifyIncidents(**spine, scanner);
    if (!verified) return RuntimeError(verified.error());
    std::string out;
    for (const auto& v : *verified) {
      JsonWriter json(out);
      json.BeginObject();
      json.Key("incident");
      json.Int(v.incident_id);
      json.Member("outcome", v.outcome);
      json.Member("reason", v.reason);
      json.EndObject();
      out.push_back('\n');
    }
    fmt::print("{}", out);
    return kExitOk;
  }
  bool terminal = isatty(2);
  scan::Scanner scanner(scope, db, (*spine)->env(), options);
  scan::ScanReport report;
  if (!o.exposed_to.empty()) {
    if (!o.targets.empty()) return UsageError("--exposed-to takes no targets: it picks them");
    if (!vulndb)
      return UsageError("--exposed-to needs the vulnerability database: drop --no-vulndb");
    auto cves = SplitList(o.exposed_to);
    auto targets = scan::ExposedTargets(*vulndb, cves);
    if (!targets) return RuntimeError(targets.error());
    fmt::print(stderr, "scan: {} services last seen are exposed to {}\n", targets->size(),
               o.exposed_to);
    report = scan::ScanTargets(scanner, *targets, *ports, *udp_ports);
  } else {
    if (o.targets.empty()) return UsageError("targets is required (or --verify, --exposed-to)");
    std::vector<event::IpAddress> addresses;
    for (const auto& target : o.targets) {
      auto expanded = scan::ResolveTarget(target, *index, now);
      if (!expanded) return UsageError(expanded.error().message);
      addresses.insert(addresses.end(), expanded->begin(), expanded->end());
    }
    report = scanner.Run(addresses, *ports, *udp_ports, [&](size_t done, size_t total) {
      if (terminal) fmt::print(stderr, "\ridentified {}/{} open ports", done, total);
    });
    if (terminal && !report.services.empty()) fmt::print(stderr, "\n");
  }
  if (vulndb) {
    auto remembered =
        scan::RememberServices(*vulndb, report, (*spine)->env().Now(), settings.sighting_retention);
    if (!remembered) return RuntimeError(remembered.error());
  }
  for (const auto& decision : report.refused) {
    fmt::print(stderr, "bulwark: scan: refused: {}\n", decision.reason);
  }
  std::string out;
  for (const auto& finding : report.findings) {
    out += finding::ToHarmonizedJson(finding);
    out.push_back('\n');
  }
  fmt::print("{}", out);
  std::fflush(stdout);
  std::string submitted;
  if (o.submit && !report.findings.empty()) {
    intake::Intake intake(**spine);
    auto taken = intake.TakeFindings(report.findings);
    if (!taken) return RuntimeError(taken.error());
    std::map<std::string, uint64_t> outcomes;
    for (const auto& result : *taken) ++outcomes[incident::OutcomeName(result.outcome)];
    submitted = "; submitted: " + OutcomeSummary(outcomes);
  }
  fmt::print(
      stderr,
      "scan: {} addresses in scope, {} refused; {} {} probes on {} ports: {} open, {} "
      "closed, {} filtered{}; {} UDP ports asked, {} answered; {} findings{}\n",
      report.in_scope, report.refused.size(), report.discovery.attempts, report.discovery.method,
      ports->size(), report.discovery.open, report.discovery.closed, report.discovery.filtered,
      report.discovery.unconfirmed
          ? fmt::format(", {} answered a SYN but not a connection", report.discovery.unconfirmed)
          : std::string(),
      udp_ports->size() * report.in_scope,
      std::count_if(report.services.begin(), report.services.end(),
                    [](const scan::Service& s) { return s.transport == "udp"; }),
      report.findings.size(), submitted);
  return report.refused.empty() ? kExitOk : kExitFindings;
}

}  // namespace

Handler SetupScan(CLI::App& command) {
  auto o = std::make_shared<ScanOptions>();
  AddStoreOptions(command, o->store);
  command
      .add_option("targets", o->targets,
                  "Addresses, prefixes (CIDR) or system ids; only what the scope allows is probed")
      ->type_name("TARGET");
  command.add_flag("--verify", o->verify,
                   "Re-scan the incidents in state verifying: resolve them, or send them back");
  command
      .add_option("--exposed-to", o->exposed_to,
                  "Re-scan the services last seen with a product exposed to these CVEs "
                  "(comma-separated ids)")
      ->type_name("CVE,...");
  command.add_option("--ports", o->ports,
                     "Ports: 22,80,8000-8010, top (100 common ports), all (default: scan.ports)");
  command.add_option(
      "--udp-ports", o->udp_ports,
      "UDP ports, asked with their probes: 53,161, or none (default: scan.udp_ports)");
  command.add_option("--checks", o->checks,
                     "Only these exposure checks (comma-separated names; default: all)");
  command
      .add_option("--allow", o->allow,
                  "Also in scope, whoever holds it (a test range; adds to scan.allow)")
      ->allow_extra_args(false)
      ->type_name("CIDR");
  command
      .add_option("--discovery", o->discovery,
                  "How open TCP ports are found: syn (raw SYNs, then a connect to confirm), "
                  "connect, or auto (syn when permitted; default: scan.discovery)")
      ->check(CLI::IsMember({"auto", "syn", "connect"}));
  command.add_option("--rate", o->rate, "Probes per second (default: scan.rate)");
  command.add_option("--rate-per-network", o->rate_per_network,
                     "Per /24 or /64 (default: scan.rate_per_network)");
  command.add_option("--timeout", o->timeout_ms, "Milliseconds a probe waits for its answer")
      ->capture_default_str();
  command.add_option("--retries", o->retries, "Probes again after a timeout")
      ->capture_default_str();
  command.add_option("--workers", o->workers, "Open ports identified at once")
      ->capture_default_str();
  command.add_flag("--no-identify", o->no_identify, "Find open ports only");
  command.add_flag("--submit", o->submit, "Also take the findings into the store (the spine)");
  command.add_flag("--no-vulndb", o->no_vulndb,
                   "Do not match products against the vulnerability database");
  command.add_option("--services", o->services,
                     "Service database (default: scan.services, else the built-in one)");
  return [o] { return RunScan(*o); };
}

}  // namespace bulwark::cli
