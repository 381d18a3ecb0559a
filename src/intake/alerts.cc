// Detection alerts to findings: one conversion for typed alerts (serve) and for alerts read back
// from JSON lines (`bulwark findings import --from alerts`).

#include <fmt/format.h>

#include <functional>
#include <map>

#include "bulwark/core/strings.h"
#include "bulwark/finding/intelmq.h"
#include "bulwark/intake/intake.h"

namespace bulwark::intake {

namespace {

// A rule tag names `tag` or one of its sub-techniques ("attack.t1110.001" is "attack.t1110").
bool TagIs(std::string_view rule_tag, std::string_view tag) {
  rule_tag = Trim(rule_tag);
  if (rule_tag.size() < tag.size() || !AsciiIEquals(rule_tag.substr(0, tag.size()), tag)) {
    return false;
  }
  return rule_tag.size() == tag.size() || rule_tag[tag.size()] == '.';
}

// Whom an alert's finding is about (docs/rules.md, "Who is affected").
enum class Role { kSource, kHost, kDestination };

// The rule's `bulwark.affected.host`, `bulwark.affected.source` or `bulwark.affected.destination`
// (the target of a flood seen in flows) tag; else initial access with
// valid accounts (T1078: a login that worked) is about the host; then by ATT&CK tactic: attacks
// carried out from the source (reconnaissance, resource development, initial access such as
// exploit attempts, credential access such as brute force, discovery such as port scans,
// lateral movement, impact such as floods) are about the source; a compromise of the system that
// logged it (execution, persistence, privilege escalation, defense evasion, collection, command
// and control, exfiltration) is about that host. Without either, the source. An event without
// the address of its role (a local sudo log has no source.ip) is about the other.
Role AffectedRole(const std::function<bool(std::string_view)>& tagged) {
  if (tagged("bulwark.affected.host")) return Role::kHost;
  if (tagged("bulwark.affected.source")) return Role::kSource;
  if (tagged("bulwark.affected.destination")) return Role::kDestination;
  if (tagged("attack.t1078") && tagged("attack.initial-access")) return Role::kHost;
  for (const char* tactic : {"attack.reconnaissance", "attack.resource-development",
                             "attack.initial-access", "attack.credential-access",
                             "attack.discovery", "attack.lateral-movement", "attack.impact"}) {
    if (tagged(tactic)) return Role::kSource;
  }
  for (const char* tactic :
       {"attack.execution", "attack.persistence", "attack.privilege-escalation",
        "attack.defense-evasion", "attack.collection", "attack.command-and-control",
        "attack.exfiltration"}) {
    if (tagged(tactic)) return Role::kHost;
  }
  return Role::kSource;
}

// What a finding takes from an alert, however the alert arrived.
struct AlertFacts {
  std::string_view rule_id, title, level;
  std::function<bool(std::string_view tag)> tagged;  // tag compared in lower case
  TimeNs timestamp = 0;
  // A field of the alert's group (else of its event); empty when absent.
  std::function<std::string(std::string_view name)> field;
  std::string count;  // correlations
};

// The first of a field's values (alerts join repeated values with commas), trimmed.
std::string FirstValue(const AlertFacts& facts, std::string_view name) {
  std::string value = facts.field(name);
  return std::string(Trim(std::string_view(value).substr(0, value.find(','))));
}

Result<std::optional<model::Finding>> FindingOfFacts(const AlertFacts& facts, TimeNs received) {
  Role role = AffectedRole(facts.tagged);
  std::string source = FirstValue(facts, "source.ip");
  std::string host_ip = FirstValue(facts, "host.ip");
  std::string system = FirstValue(facts, "host.id");
  // The affected system: the one that logged it (host) or the one the attack came from
  // (source); when the event does not name that one, the other.
  std::string destination =
      role == Role::kDestination ? FirstValue(facts, "destination.ip") : std::string();
  bool about_destination = !destination.empty();
  bool about_host = !about_destination &&
                    (role == Role::kHost ? (!host_ip.empty() || !system.empty()) : source.empty());
  std::string ip = about_destination ? destination : about_host ? host_ip : source;
  if (ip.empty() && (!about_host || system.empty())) return std::optional<model::Finding>();
  model::Finding out;
  out.feed_name = "bulwark-detect";
  out.identifier = std::string(facts.rule_id);
  if (!ip.empty()) {
    out.source_ip = event::IpAddress::Parse(ip);
    if (!out.source_ip) {
      return Fail(fmt::format("{}: '{}' is not an IP address",
                              about_destination ? "destination.ip"
                              : about_host      ? "host.ip"
                                                : "source.ip",
                              ip));
    }
  }
  out.fields["extra.affected"] = about_destination ? "destination" : about_host ? "host" : "source";
  if (about_host || about_destination) {
    if (!system.empty()) out.fields["extra.system_id"] = system;
    if (!source.empty()) out.fields["extra.attacker_ip"] = source;
  }
  out.time_source = facts.timestamp;
  out.time_observation = received;
  auto tagged = facts.tagged;
  out.type = tagged("attack.t1505") ? "application-compromise"
             : tagged("attack.t1078") && tagged("attack.initial-access")
                 ? "unprivileged-account-compromise"
             : tagged("attack.t1190")                           ? "exploit"
             : tagged("attack.t1110")                           ? "brute-force"
             : tagged("attack.t1498") || tagged("attack.t1499") ? "ddos"
             : tagged("attack.t1595") || tagged("attack.t1046") || tagged("attack.reconnaissance")
                 ? "scanner"
                 : "ids-alert";
  out.taxonomy = std::string(*finding::TaxonomyOfType(out.type));
  static const std::map<std::string, std::string, std::less<>> kSeverities = {
      {"informational", "info"},
      {"low", "low"},
      {"medium", "medium"},
      {"high", "high"},
      {"critical", "critical"}};
  if (auto level = kSeverities.find(facts.level); level != kSeverities.end()) {
    out.fields["extra.severity"] = level->second;
  }
  out.fields["extra.rule_title"] = std::string(facts.title);
  if (!facts.count.empty()) out.fields["extra.count"] = facts.count;
  if (std::string user = facts.field("user.name"); !user.empty()) {
    out.fields["extra.user_name"] = user;
  }
  if (std::string host = facts.field("host.name"); !host.empty()) {
    out.fields["destination.fqdn"] = host;
  }
  out.evidence = facts.field("event.original");
  return std::optional<model::Finding>(std::move(out));
}

}  // namespace

Result<std::optional<model::Finding>> FindingOfAlert(const pipeline::Alert& alert,
                                                     TimeNs received) {
  AlertFacts facts;
  facts.rule_id = alert.rule_id;
  facts.title = alert.rule_title;
  facts.level = alert.rule_level;
  facts.timestamp = alert.timestamp;
  facts.tagged = [&](std::string_view tag) {
    for (const std::string& t : alert.rule_tags) {
      if (TagIs(t, tag)) return true;
    }
    return false;
  };
  facts.field = [&](std::string_view name) { return std::string(alert.Field(name)); };
  if (alert.correlation) facts.count = std::to_string(alert.count);
  return FindingOfFacts(facts, received);
}

Result<std::optional<model::Finding>> FindingOfAlertJson(std::string_view json, TimeNs received,
                                                         input::JsonFlattener& flattener) {
  input::FlatFields collected;
  if (!flattener.Flatten(json, collected)) return Fail("not a JSON object");
  std::string rule = collected.Get("rule.id");
  std::string when = collected.Get("@timestamp");
  if (rule.empty() || when.empty()) return Fail("not a bulwark alert (no rule.id or @timestamp)");
  auto time = ParseTimestamp(when);
  if (!time) return Fail(fmt::format("@timestamp: '{}' is not an RFC 3339 time", when));
  std::string title = collected.Get("rule.title");
  std::string level = collected.Get("rule.level");
  std::string tags = collected.Get("rule.tags");
  AlertFacts facts;
  facts.rule_id = rule;
  facts.title = title;
  facts.level = level;
  facts.timestamp = *time;
  facts.tagged = [&](std::string_view tag) {
    for (std::string_view t : Split(tags, ',')) {
      if (TagIs(t, tag)) return true;
    }
    return false;
  };
  facts.field = [&](std::string_view name) {
    std::string value = collected.Get(name);
    return value.empty() ? collected.Get("events." + std::string(name)) : value;
  };
  facts.count = collected.Get("count");
  return FindingOfFacts(facts, received);
}

std::optional<int> LevelRank(std::string_view level) {
  static const std::map<std::string, int, std::less<>> kRanks = {
      {"informational", 0}, {"info", 0}, {"low", 1}, {"medium", 2}, {"high", 3}, {"critical", 4}};
  auto it = kRanks.find(level);
  if (it == kRanks.end()) return std::nullopt;
  return it->second;
}

AlertFindings::AlertFindings(std::string min_level, std::function<TimeNs()> now)
    : min_rank_(LevelRank(min_level).value_or(2)), now_(std::move(now)) {}

void AlertFindings::Take(const pipeline::Alert& alert) {
  ++tally_.alerts;
  if (auto rank = LevelRank(alert.rule_level); rank && *rank < min_rank_) {
    ++tally_.below_level;
    return;
  }
  auto finding = FindingOfAlert(alert, now_());
  if (!finding) {
    ++tally_.unreadable;
    if (problems_.size() < 10) {
      problems_.push_back(fmt::format("rule {}: {}", alert.rule_id, finding.error().message));
    }
    return;
  }
  if (!*finding) {
    ++tally_.no_address;
    return;
  }
  findings_.push_back(std::move(**finding));
}

std::vector<model::Finding> AlertFindings::Drain() {
  return std::exchange(findings_, {});
}

void AlertFindings::PutBack(std::vector<model::Finding> findings) {
  findings.insert(findings.end(), std::make_move_iterator(findings_.begin()),
                  std::make_move_iterator(findings_.end()));
  findings_ = std::move(findings);
}

AlertTally AlertFindings::DrainTally() {
  return std::exchange(tally_, {});
}

std::vector<std::string> AlertFindings::DrainProblems() {
  return std::exchange(problems_, {});
}

}  // namespace bulwark::intake
