#include "bulwark/finding/intelmq.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "bulwark/core/json_writer.h"
#include "bulwark/core/strings.h"

namespace bulwark::finding {

namespace {

// IntelMQ's classification types and their RSIT taxonomy (IntelMQ harmonization, 3.x).
constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
    {"spam", "abusive-content"},
    {"harmful-speech", "abusive-content"},
    {"violence", "abusive-content"},
    {"infected-system", "malicious-code"},
    {"c2-server", "malicious-code"},
    {"malware-distribution", "malicious-code"},
    {"malware-configuration", "malicious-code"},
    {"scanner", "information-gathering"},
    {"sniffing", "information-gathering"},
    {"social-engineering", "information-gathering"},
    {"ids-alert", "intrusion-attempts"},
    {"brute-force", "intrusion-attempts"},
    {"exploit", "intrusion-attempts"},
    {"privileged-account-compromise", "intrusions"},
    {"unprivileged-account-compromise", "intrusions"},
    {"application-compromise", "intrusions"},
    {"system-compromise", "intrusions"},
    {"burglary", "intrusions"},
    {"ddos", "availability"},
    {"dos", "availability"},
    {"outage", "availability"},
    {"sabotage", "availability"},
    {"unauthorised-information-access", "information-content-security"},
    {"unauthorised-information-modification", "information-content-security"},
    {"data-loss", "information-content-security"},
    {"data-leak", "information-content-security"},
    {"unauthorized-use-of-resources", "fraud"},
    {"copyright", "fraud"},
    {"masquerade", "fraud"},
    {"phishing", "fraud"},
    {"weak-crypto", "vulnerable"},
    {"ddos-amplifier", "vulnerable"},
    {"potentially-unwanted-accessible", "vulnerable"},
    {"information-disclosure", "vulnerable"},
    {"vulnerable-system", "vulnerable"},
    {"blocklist", "other"},
    {"undetermined", "other"},
    {"other", "other"},
    {"test", "test"},
};

// CVE-YYYY-NNNN... ids in `text`, upper-cased.
void CollectCves(std::string_view text, std::vector<std::string>& out) {
  std::string upper(text);
  for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  size_t pos = 0;
  while ((pos = upper.find("CVE-", pos)) != std::string::npos) {
    size_t end = pos + 4;
    size_t digits = 0;
    while (end < upper.size() && std::isdigit(static_cast<unsigned char>(upper[end]))) {
      ++end;
      ++digits;
    }
    if (digits == 4 && end < upper.size() && upper[end] == '-') {
      size_t tail = end + 1, more = 0;
      while (tail < upper.size() && std::isdigit(static_cast<unsigned char>(upper[tail]))) {
        ++tail;
        ++more;
      }
      if (more >= 4) {
        std::string id = upper.substr(pos, tail - pos);
        if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
        pos = tail;
        continue;
      }
    }
    pos += 4;
  }
}

// Keys read into Finding members; everything else stays in Finding::fields.
constexpr std::string_view kMemberKeys[] = {
    "feed.name",
    "classification.taxonomy",
    "classification.type",
    "classification.identifier",
    "source.ip",
    "source.port",
    "protocol.transport",
    "time.source",
    "time.observation",
    "feed.accuracy",
    "extra.cvss_vector",
    "extra.cvss_score",
    "raw",
    "extra.cves",
};

}  // namespace

std::optional<std::string_view> TaxonomyOfType(std::string_view type) {
  for (const auto& [t, taxonomy] : kTypes) {
    if (t == type) return taxonomy;
  }
  return std::nullopt;
}

Result<model::Finding> ParseHarmonized(std::string_view json, TimeNs received,
                                       input::JsonFlattener& flattener) {
  input::FlatFields collected;
  if (!flattener.Flatten(json, collected)) return Fail("not a JSON object");
  return FromHarmonizedFields(std::move(collected.fields), received);
}

Result<model::Finding> FromHarmonizedFields(HarmonizedFields fields, TimeNs received) {
  input::FlatFields collected;
  collected.fields = std::move(fields);
  auto& f = collected.fields;
  auto get = [&](std::string_view key) { return collected.Get(key); };
  model::Finding out;
  out.feed_name = get("feed.name");
  if (out.feed_name.empty()) return Fail("feed.name: missing");
  out.type = AsciiLower(get("classification.type"));
  if (out.type == "blacklist") out.type = "blocklist";  // IntelMQ's name before 3.0
  out.taxonomy = AsciiLower(get("classification.taxonomy"));
  out.identifier = get("classification.identifier");
  if (out.type.empty()) return Fail("classification.type: missing");
  auto taxonomy = TaxonomyOfType(out.type);
  if (!taxonomy) {
    return Fail(
        fmt::format("classification.type: '{}' is not an IntelMQ classification type", out.type));
  }
  if (out.taxonomy.empty()) {
    out.taxonomy = std::string(*taxonomy);
  } else if (out.taxonomy != *taxonomy) {
    return Fail(fmt::format("classification.taxonomy: '{}' does not fit type '{}' (taxonomy '{}')",
                            out.taxonomy, out.type, *taxonomy));
  }
  std::string ip = get("source.ip");
  if (ip.empty()) {
    if (get("extra.system_id").empty()) {
      // (or about a system named in extra.system_id, as alerts of a system's own logs are)
      return Fail("source.ip: missing (a finding is about an address)");
    }
  } else {
    out.source_ip = event::IpAddress::Parse(ip);
    if (!out.source_ip) return Fail(fmt::format("source.ip: '{}' is not an IP address", ip));
  }
  if (std::string port = get("source.port"); !port.empty()) {
    auto number = ParseInt(port);
    if (!number || *number < 0 || *number > 65535) {
      return Fail(fmt::format("source.port: '{}' is not a port number", port));
    }
    out.source_port = static_cast<int>(*number);
  }
  out.transport = AsciiLower(get("protocol.transport"));
  std::string source_time = get("time.source");
  if (source_time.empty()) return Fail("time.source: missing (attribution needs it)");
  auto when = ParseTimestamp(source_time);
  if (!when) return Fail(fmt::format("time.source: '{}' is not an RFC 3339 time", source_time));
  out.time_source = *when;
  out.time_observation = received;
  if (std::string observed = get("time.observation"); !observed.empty()) {
    auto parsed = ParseTimestamp(observed);
    if (!parsed) {
      return Fail(fmt::format("time.observation: '{}' is not an RFC 3339 time", observed));
    }
    out.time_observation = *parsed;
  }
  if (std::string accuracy = get("feed.accuracy"); !accuracy.empty()) {
    auto number = ParseDouble(accuracy);
    if (!number || *number < 0 || *number > 100) {
      return Fail(fmt::format("feed.accuracy: '{}' is not a number from 0 to 100", accuracy));
    }
    out.confidence = *number / 100.0;
  }
  out.cvss_vector = get("extra.cvss_vector");
  if (std::string score = get("extra.cvss_score"); !score.empty()) {
    auto number = ParseDouble(score);
    if (!number || *number < 0 || *number > 10) {
      return Fail(fmt::format("extra.cvss_score: '{}' is not a CVSS score", score));
    }
    out.cvss_score = *number;
  }
  out.evidence = get("raw");
  for (const auto& [key, value] : f) {
    bool member =
        std::find(std::begin(kMemberKeys), std::end(kMemberKeys), key) != std::end(kMemberKeys);
    if (key == "classification.identifier" || key == "extra.cves" ||
        AsciiLower(key).find("cve") != std::string::npos) {
      CollectCves(value, out.cves);
    }
    if (!member) out.fields[key] = value;
  }
  return out;
}

model::Finding CustomerView(model::Finding finding) {
  if (finding.feed_name != "bulwark-detect") return finding;
  static const std::set<std::string, std::less<>> kShared = {"extra.severity", "extra.rule_title",
                                                             "extra.count"};
  std::erase_if(finding.fields, [](const auto& field) { return !kShared.count(field.first); });
  auto field = [&](const char* key) {
    auto it = finding.fields.find(key);
    return it == finding.fields.end() ? std::string() : it->second;
  };
  std::string count = field("extra.count");
  std::string title = field("extra.rule_title");
  finding.evidence = fmt::format(
      "{} matching \"{}\" from {} (at {}); the log lines stay with us: they are another "
      "party's",
      count.empty() || count == "1" ? "an event" : count + " events",
      title.empty() ? finding.identifier : title,
      finding.source_ip ? finding.source_ip->ToString() : std::string("your system"),
      FormatTimestamp(finding.time_source));
  return finding;
}

std::string ToHarmonizedJson(const model::Finding& finding) {
  std::map<std::string, std::string> keys(finding.fields.begin(), finding.fields.end());
  keys["feed.name"] = finding.feed_name;
  keys["classification.taxonomy"] = finding.taxonomy;
  keys["classification.type"] = finding.type;
  if (!finding.identifier.empty()) keys["classification.identifier"] = finding.identifier;
  if (finding.source_ip) keys["source.ip"] = finding.source_ip->ToString();
  if (!finding.transport.empty()) keys["protocol.transport"] = finding.transport;
  keys["time.source"] = FormatTimestamp(finding.time_source);
  keys["time.observation"] = FormatTimestamp(finding.time_observation);
  if (!finding.cvss_vector.empty()) keys["extra.cvss_vector"] = finding.cvss_vector;
  if (!finding.evidence.empty()) keys["raw"] = finding.evidence;
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  for (const auto& [key, value] : keys) {
    json.Key(key);
    json.String(value);
  }
  if (finding.source_port != 0) {
    json.Key("source.port");
    json.Int(finding.source_port);
  }
  if (finding.confidence) {
    json.Key("feed.accuracy");
    json.Double(*finding.confidence * 100.0);
  }
  if (finding.cvss_score) {
    json.Key("extra.cvss_score");
    json.Double(*finding.cvss_score);
  }
  if (!finding.cves.empty()) {
    json.Key("extra.cves");
    json.BeginArray();
    for (const auto& cve : finding.cves) json.String(cve);
    json.EndArray();
  }
  json.EndObject();
  return out;
}

}  // namespace bulwark::finding
