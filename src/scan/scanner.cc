#include "bulwark/scan/scanner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <re2/re2.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

namespace bulwark::scan {

namespace {

// The certificate problems the scanner reports (Bulwark's own identifiers: Shadowserver reports
// them as fields of scan_ssl rows, not as report types).
const Classification kExpired{"", "expired-certificate", "vulnerable", "weak-crypto", "medium"};
const Classification kSelfSigned{"", "self-signed-certificate", "vulnerable", "weak-crypto", "low"};
// TLS configuration problems (Bulwark's own identifiers; BSI TR-02102-2 asks for TLS 1.2 or
// later and rules out the weak ciphers below).
const Classification kLegacyTls{"", "tls-legacy-version", "vulnerable", "weak-crypto", "medium"};
const Classification kWeakCipher{"", "tls-weak-cipher", "vulnerable", "weak-crypto", "medium"};
// A CVE by product version (identifier: the CVE). Unconfirmed: a version says nothing of
// configuration or of patches the banner does not show.
const Classification kVersionBased{"", "", "vulnerable", "vulnerable-system", "medium"};
constexpr double kUnconfirmed = 0.7;

bool Wanted(const std::set<std::string>& checks, const std::string& name) {
  return checks.empty() || checks.count(name) > 0;
}

// Whether an OpenSSL cipher name is one of the broken or export-grade kinds: RC4, DES and
// 3DES, NULL encryption, export ciphers, anonymous key exchange, MD5 MACs.
bool WeakCipher(const std::string& name) {
  for (const char* weak : {"RC4", "DES", "NULL", "EXP", "ADH", "AECDH", "MD5", "anon"}) {
    if (name.find(weak) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

const std::vector<std::string>& BuiltinCheckNames() {
  static const std::vector<std::string> names = {kExpired.identifier, kSelfSigned.identifier,
                                                 kLegacyTls.identifier, kWeakCipher.identifier};
  return names;
}

std::string Printable(std::string_view bytes, size_t max) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (bytes.size() > max) out += "...";
  return out;
}

bool Scanner::CanVerify(std::string_view identifier) const {
  // Discovery alone finds no service, certificate, check or CVE again.
  if (!options_.identify) return false;
  const auto& builtin = BuiltinCheckNames();
  if (std::find(builtin.begin(), builtin.end(), identifier) != builtin.end()) {
    return Wanted(options_.checks, std::string(identifier));
  }
  if (identifier.starts_with("CVE-")) return options_.vulndb != nullptr;
  for (const auto& check : db_.checks()) {
    if (check.classification.identifier == identifier && Wanted(options_.checks, check.name)) {
      return true;
    }
  }
  return db_.ServiceIdentifier(identifier);
}

Service Scanner::Identify(const Endpoint& endpoint) const {
  Service service;
  service.endpoint = endpoint;
  std::string host = endpoint.address.ToString();
  for (const Probe* probe : db_.ProbesFor(endpoint.port)) {
    if (probe->tls) {
      auto handshake = Converse(endpoint, {true, false, ""}, [&] {
        ConverseLimits quick = options_.limits;
        quick.first_byte = std::chrono::milliseconds(1);
        return quick;
      }());
      if (!handshake.tls) continue;
      service.tls = handshake.tls;
      service.tls_profile = ProbeTls(endpoint, options_.limits);
      service.identity.service = "tls";
      for (const auto& inner : db_.probes()) {
        if (!inner.over_tls) continue;
        auto talk = Converse(endpoint, {true, false, ProbeBytes(inner.send, host, options_.agent)},
                             options_.limits);
        if (auto identity = ServiceDb::Identify(inner, talk.answer)) {
          service.identity = *identity;
          service.answer = talk.answer;
          return service;
        }
      }
      return service;
    }
    auto talk = Converse(endpoint, {false, false, ProbeBytes(probe->send, host, options_.agent)},
                         options_.limits);
    if (!talk.connected) {
      service.note = talk.error;
      continue;
    }
    if (auto identity = ServiceDb::Identify(*probe, talk.answer)) {
      service.identity = *identity;
      service.answer = talk.answer;
      return service;
    }
    if (probe->send.empty() && !talk.answer.empty()) {
      // It spoke first and nothing knows it: a service that talks without being asked answers
      // no other probe either.
      service.answer = talk.answer;
      service.note = "banner not recognised";
      return service;
    }
    if (!talk.error.empty()) service.note = talk.error;
  }
  return service;
}

std::optional<Service> Scanner::IdentifyUdp(const Endpoint& endpoint) const {
  std::string host = endpoint.address.ToString();
  for (const Probe* probe : db_.ProbesFor(endpoint.port, "udp")) {
    auto talk =
        ConverseUdp(endpoint, ProbeBytes(probe->send, host, options_.agent), options_.limits);
    if (!talk.connected) {
      if (talk.error == "port unreachable") return std::nullopt;  // closed: ask nothing more
      continue;
    }
    Service service;
    service.endpoint = endpoint;
    service.transport = "udp";
    service.answer = talk.answer;
    if (auto identity = ServiceDb::Identify(*probe, talk.answer)) {
      service.identity = *identity;
    } else {
      service.note = "reply not recognised";
    }
    return service;
  }
  return std::nullopt;
}

std::vector<model::Finding> Scanner::Findings(const Service& service) const {
  std::vector<model::Finding> out;
  TimeNs now = env_.Now();
  auto make = [&](const Classification& c, std::string evidence, double confidence) {
    model::Finding f;
    f.feed_name = options_.feed_name;
    f.taxonomy = c.taxonomy;
    f.type = c.type;
    f.identifier = c.identifier;
    f.source_ip = service.endpoint.address;
    f.source_port = service.endpoint.port;
    f.transport = service.transport;
    f.time_source = f.time_observation = now;
    f.confidence = confidence;
    f.evidence = Printable(evidence);
    f.fields["extra.severity"] = c.severity;
    if (!c.report.empty()) f.fields["extra.shadowserver_report"] = c.report;
    const auto& id = service.identity;
    if (!id.service.empty()) f.fields["protocol.application"] = id.service;
    if (!id.product.empty()) f.fields["extra.product"] = id.product;
    if (!id.version.empty()) f.fields["extra.version"] = id.version;
    if (!id.info.empty()) f.fields["extra.info"] = id.info;
    if (!id.cpe.empty()) f.fields["extra.cpe"] = id.cpe;
    if (service.tls) {
      f.fields["extra.tls_version"] = service.tls->version;
      f.fields["extra.tls_cipher"] = service.tls->cipher;
      if (const auto& cert = service.tls->certificate) {
        f.fields["extra.certificate_subject"] = cert->subject;
        f.fields["extra.certificate_issuer"] = cert->issuer;
        f.fields["extra.certificate_not_after"] = FormatTimestamp(cert->not_after);
        f.fields["extra.certificate_sha256"] = cert->sha256;
        f.fields["extra.certificate_self_signed"] = cert->self_signed ? "true" : "false";
        if (!cert->dns_names.empty()) {
          f.fields["extra.certificate_dns_names"] =
              fmt::format("{}", fmt::join(cert->dns_names, ","));
        }
      }
      if (!service.tls->certificate_error.empty()) {
        f.fields["extra.certificate_error"] = service.tls->certificate_error;
      }
    }
    if (service.tls_profile && !service.tls_profile->versions.empty()) {
      f.fields["extra.tls_versions"] =
          fmt::format("{}", fmt::join(service.tls_profile->versions, ","));
      f.fields["extra.tls_ciphers"] =
          fmt::format("{}", fmt::join(service.tls_profile->ciphers, ","));
    }
    if (!service.note.empty()) f.fields["extra.note"] = service.note;
    if (id.service == "http") {
      // The page's title says what runs there (an admin panel, a default page).
      static const RE2 title("(?is)<title[^>]*>\\s*([^<]{1,200}?)\\s*</title>");
      std::string text;
      if (RE2::PartialMatch(service.answer, title, &text)) {
        f.fields["extra.http_title"] = Printable(text, 200);
      }
    }
    return f;
  };
  const std::string& name = service.identity.service.empty() ? "unknown" : service.identity.service;
  if (const Classification* c = db_.ServiceClassification(name)) {
    // A name from a pattern is sure; an open port alone says only that something listens.
    out.push_back(make(*c, service.answer, service.identity.service.empty() ? 0.5 : 1.0));
  }
  if (!options_.identify && service.transport == "tcp") return out;  // discovery only
  if (service.tls && service.tls->certificate) {
    const auto& cert = *service.tls->certificate;
    std::string text =
        fmt::format("subject: {}\nissuer: {}\nnot after: {}\nsha256: {}", cert.subject, cert.issuer,
                    FormatTimestamp(cert.not_after), cert.sha256);
    if (cert.not_after < now && Wanted(options_.checks, kExpired.identifier)) {
      out.push_back(make(kExpired, text, 1.0));
    }
    if (cert.self_signed && Wanted(options_.checks, kSelfSigned.identifier)) {
      out.push_back(make(kSelfSigned, text, 1.0));
    }
  }
  if (const auto& profile = service.tls_profile) {
    std::vector<std::string> legacy, weak;
    for (const auto& version : profile->versions) {
      if (version == "TLSv1" || version == "TLSv1.1") legacy.push_back(version);
    }
    for (const auto& cipher : profile->ciphers) {
      if (WeakCipher(cipher)) weak.push_back(cipher);
    }
    if (!legacy.empty() && Wanted(options_.checks, kLegacyTls.identifier)) {
      out.push_back(make(kLegacyTls, fmt::format("accepted: {}", fmt::join(legacy, ", ")), 1.0));
    }
    if (!weak.empty() && Wanted(options_.checks, kWeakCipher.identifier)) {
      out.push_back(make(kWeakCipher, fmt::format("accepted: {}", fmt::join(weak, ", ")), 1.0));
    }
  }
  if (options_.vulndb && !service.identity.cpe.empty()) {
    const auto& id = service.identity;
    auto matches =
        options_.vulndb->Match({id.cpe, id.version, id.ecosystem, id.package, id.package_version});
    if (!matches) {
      // Recorded with the service, not fatal: the scan's other results stand.
      if (!out.empty()) out.front().fields["extra.vulndb_error"] = matches.error().message;
    } else {
      for (const auto& match : *matches) {
        auto finding = make(kVersionBased, service.answer, kUnconfirmed);
        finding.identifier = match.cve;
        finding.cves = {match.cve};
        finding.cvss_vector = match.cvss_vector;
        finding.cvss_score = match.cvss_score;
        finding.fields.erase("extra.severity");  // the policy bands the CVSS score
        finding.fields["extra.confirmed"] = "false";
        finding.fields["extra.matched"] = match.basis;
        if (!match.fixed.empty()) finding.fields["extra.fixed_version"] = match.fixed;
        if (match.known_exploited) finding.fields["extra.known_exploited"] = "true";
        if (match.epss) finding.fields["extra.epss"] = fmt::format("{}", *match.epss);
        if (!id.package.empty()) {
          finding.fields["extra.package"] =
              fmt::format("{} {} {}", id.ecosystem, id.package, id.package_version);
        }
        out.push_back(std::move(finding));
      }
    }
  }
  std::string host = service.endpoint.address.ToString();
  for (const auto& check : db_.checks()) {
    if (!Wanted(options_.checks, check.name)) continue;
    if (check.transport != service.transport ||
        std::find(check.services.begin(), check.services.end(), service.identity.service) ==
            check.services.end()) {
      continue;
    }
    auto talk = service.transport == "udp"
                    ? ConverseUdp(service.endpoint, ProbeBytes(check.send, host, options_.agent),
                                  options_.limits)
                    : Converse(service.endpoint,
                               {service.tls.has_value(), check.read_banner,
                                ProbeBytes(check.send, host, options_.agent)},
                               options_.limits);
    if (!RE2::PartialMatch(re2::StringPiece(talk.answer.data(), talk.answer.size()),
                           *check.pattern)) {
      continue;
    }
    auto finding = make(check.classification, talk.answer, 1.0);
    finding.fields["extra.check"] = check.name;
    if (!check.version.empty()) {
      finding.fields["extra.version"] =
          ServiceDb::Expand(*check.pattern, talk.answer, check.version);
    }
    out.push_back(std::move(finding));
  }
  return out;
}

ScanReport Scanner::Run(const std::vector<event::IpAddress>& addresses,
                        const std::vector<int>& ports, const std::vector<int>& udp_ports,
                        const std::function<void(size_t, size_t)>& progress) const {
  ScanReport report;
  std::vector<event::IpAddress> allowed;
  TimeNs now = env_.Now();
  // Each address and port once, however often the targets name them.
  auto unique = [](auto list, auto key) {
    std::sort(list.begin(), list.end(),
              [&](const auto& a, const auto& b) { return key(a) < key(b); });
    list.erase(std::unique(list.begin(), list.end(),
                           [&](const auto& a, const auto& b) { return key(a) == key(b); }),
               list.end());
    return list;
  };
  auto same = [](const auto& x) { return x; };
  const auto ports_once = unique(ports, same);
  const auto udp_ports_once = unique(udp_ports, same);
  for (const auto& address :
       unique(addresses, [](const event::IpAddress& a) { return a.bytes(); })) {
    auto decision = scope_.Check(address, now);
    if (decision.allowed) {
      allowed.push_back(address);
    } else {
      report.refused.push_back(std::move(decision));
    }
  }
  report.in_scope = allowed.size();
  if (allowed.empty()) return report;
  // TCP ports found open, then every UDP port asked: each a job for the workers.
  DiscoverOptions discover = options_.discover;
  discover.cancel = options_.cancel;
  std::vector<Endpoint> open = ports_once.empty()
                                   ? std::vector<Endpoint>{}
                                   : DiscoverTcp(allowed, ports_once, discover, &report.discovery);
  size_t tcp_jobs = open.size();
  for (int port : udp_ports_once) {
    for (const auto& address : allowed) open.push_back({address, port});
  }
  std::vector<std::optional<Service>> services(open.size());
  std::vector<std::vector<model::Finding>> findings(open.size());
  std::atomic<size_t> next{0}, done{0};
  std::mutex progress_mutex;
  auto work = [&] {
    for (size_t i = next++; i < open.size(); i = next++) {
      if (options_.cancel && options_.cancel->load()) return;
      if (i >= tcp_jobs) {
        services[i] = IdentifyUdp(open[i]);
      } else if (options_.identify) {
        services[i] = Identify(open[i]);
      } else {
        services[i] = Service{};
        services[i]->endpoint = open[i];
      }
      if (services[i]) findings[i] = Findings(*services[i]);
      size_t finished = ++done;
      if (progress) {
        std::lock_guard lock(progress_mutex);
        progress(finished, open.size());
      }
    }
  };
  std::vector<std::thread> workers;
  size_t count = std::min(std::max<size_t>(options_.workers, 1), open.size());
  for (size_t i = 0; i < count; ++i) workers.emplace_back(work);
  for (auto& worker : workers) worker.join();
  for (auto& service : services) {
    if (service) report.services.push_back(std::move(*service));
  }
  for (auto& list : findings) {
    for (auto& f : list) report.findings.push_back(std::move(f));
  }
  return report;
}

}  // namespace bulwark::scan
