#include "bulwark/incident/policy.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "bulwark/core/strings.h"
#include "bulwark/input/json_flatten.h"
#include "bulwark/vuln/cvss.h"

namespace bulwark::incident {

namespace {

using model::Severity;

constexpr TimeNs kHour = 3600 * kNsPerSecond;
constexpr TimeNs kDay = 24 * kHour;

Severity Raise(Severity s, Severity cap = Severity::kCritical) {
  auto next = static_cast<Severity>(std::min(static_cast<int>(s) + 1, 4));
  return std::min(next, std::max(cap, s));
}

Severity Lower(Severity s) {
  return static_cast<Severity>(std::max(static_cast<int>(s) - 1, 0));
}

std::string Where(const std::string& name, const YAML::Mark& mark) {
  return fmt::format("{}:{}:{}", name, mark.line + 1, mark.column + 1);
}

}  // namespace

Policy Policy::Default() {
  Policy p;
  p.handling_[static_cast<int>(Severity::kCritical)] = {true, kDay, {12 * kHour}, true};
  p.handling_[static_cast<int>(Severity::kHigh)] = {true, 7 * kDay, {3 * kDay, 6 * kDay}, false};
  p.handling_[static_cast<int>(Severity::kMedium)] = {
      false, 30 * kDay, {14 * kDay, 28 * kDay}, false};
  p.handling_[static_cast<int>(Severity::kLow)] = {false, 90 * kDay, {60 * kDay}, false};
  p.handling_[static_cast<int>(Severity::kInfo)] = {false, std::nullopt, {}, false};
  p.by_type_ = {
      {"infected-system", Severity::kHigh},
      {"c2-server", Severity::kHigh},
      {"malware-distribution", Severity::kHigh},
      {"system-compromise", Severity::kCritical},
      {"application-compromise", Severity::kHigh},
      {"privileged-account-compromise", Severity::kCritical},
      {"unprivileged-account-compromise", Severity::kHigh},
      {"brute-force", Severity::kMedium},
      {"scanner", Severity::kMedium},
      {"exploit", Severity::kHigh},
      {"ddos", Severity::kHigh},
      {"spam", Severity::kMedium},
      {"phishing", Severity::kHigh},
      {"vulnerable-system", Severity::kMedium},
      {"ddos-amplifier", Severity::kMedium},
      {"potentially-unwanted-accessible", Severity::kMedium},
      {"weak-crypto", Severity::kLow},
      {"information-disclosure", Severity::kMedium},
      {"test", Severity::kInfo},
  };
  return p;
}

Result<Policy> Policy::Parse(std::string_view yaml, const std::string& name) {
  Policy p = Default();
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Fail(e.msg, Where(name, e.mark));
  }
  if (root.IsNull()) return p;
  if (!root.IsMap()) return Fail("a policy must be a mapping", Where(name, root.Mark()));
  auto severity_of = [&](const YAML::Node& node) -> Result<Severity> {
    auto parsed = model::ParseSeverity(AsciiLower(node.IsScalar() ? node.Scalar() : ""));
    if (!parsed) {
      return Fail("expected info, low, medium, high or critical", Where(name, node.Mark()));
    }
    return *parsed;
  };
  auto number_of = [&](const YAML::Node& node, double low, double high) -> Result<double> {
    auto parsed = ParseDouble(node.IsScalar() ? node.Scalar() : "");
    if (!parsed || *parsed < low || *parsed > high) {
      return Fail(fmt::format("expected a number from {} to {}", low, high),
                  Where(name, node.Mark()));
    }
    return *parsed;
  };
  auto span_of = [&](const YAML::Node& node) -> Result<TimeNs> {
    auto parsed = ParseTimespan(node.IsScalar() ? node.Scalar() : "");
    if (!parsed) return Fail("expected a duration such as 24h or 7d", Where(name, node.Mark()));
    return *parsed;
  };
  for (const auto& section : root) {
    std::string key = section.first.Scalar();
    const YAML::Node& body = section.second;
    if (key == "severity") {
      if (!body.IsMap()) return Fail("'severity' must be a mapping", Where(name, body.Mark()));
      for (const auto& item : body) {
        std::string field = item.first.Scalar();
        const YAML::Node& value = item.second;
        if (field == "cvss") {
          for (const auto& band : value) {
            auto threshold = number_of(band.second, 0, 10);
            if (!threshold) return tl::unexpected(threshold.error());
            std::string level = band.first.Scalar();
            if (level == "critical")
              p.cvss_critical_ = *threshold;
            else if (level == "high")
              p.cvss_high_ = *threshold;
            else if (level == "medium")
              p.cvss_medium_ = *threshold;
            else
              return Fail("cvss bands are critical, high and medium",
                          Where(name, band.first.Mark()));
          }
        } else if (field == "low_confidence") {
          auto threshold = number_of(value, 0, 1);
          if (!threshold) return tl::unexpected(threshold.error());
          p.low_confidence_ = *threshold;
        } else if (field == "exposure_raises") {
          p.exposure_raises_ = AsciiLower(value.Scalar()) == "true";
        } else if (field == "default") {
          auto level = severity_of(value);
          if (!level) return tl::unexpected(level.error());
          p.fallback_ = *level;
        } else if (field == "classifications") {
          for (const auto& entry : value) {
            auto level = severity_of(entry.second);
            if (!level) return tl::unexpected(level.error());
            p.by_type_[AsciiLower(entry.first.Scalar())] = *level;
          }
        } else {
          return Fail(fmt::format("unknown severity setting '{}'", field),
                      Where(name, item.first.Mark()));
        }
      }
    } else if (key == "handling") {
      for (const auto& item : body) {
        auto level = severity_of(item.first);
        if (!level) return tl::unexpected(level.error());
        Handling& h = p.handling_[static_cast<int>(*level)];
        for (const auto& setting : item.second) {
          std::string field = setting.first.Scalar();
          const YAML::Node& value = setting.second;
          if (field == "notify") {
            std::string mode = AsciiLower(value.Scalar());
            if (mode != "immediately" && mode != "digest") {
              return Fail("notify is 'immediately' or 'digest'", Where(name, value.Mark()));
            }
            h.notify_at_once = mode == "immediately";
          } else if (field == "deadline") {
            if (value.IsNull() || AsciiLower(value.Scalar()) == "none") {
              h.deadline.reset();
            } else {
              auto span = span_of(value);
              if (!span) return tl::unexpected(span.error());
              h.deadline = *span;
            }
          } else if (field == "reminders") {
            h.reminders.clear();
            for (const auto& reminder : value) {
              auto span = span_of(reminder);
              if (!span) return tl::unexpected(span.error());
              h.reminders.push_back(*span);
            }
          } else if (field == "countermeasure_without_consultation") {
            h.countermeasure_without_consultation = AsciiLower(value.Scalar()) == "true";
          } else {
            return Fail(fmt::format("unknown handling setting '{}'", field),
                        Where(name, setting.first.Mark()));
          }
        }
      }
    } else {
      return Fail(fmt::format("unknown section '{}' (expected severity, handling)", key),
                  Where(name, section.first.Mark()));
    }
  }
  return p;
}

Assessment Policy::Assess(const model::Finding& finding, const model::System* system) const {
  Assessment a;
  auto row = finding.fields.find("extra.severity");
  std::optional<Severity> reported;
  if (row != finding.fields.end()) reported = model::ParseSeverity(AsciiLower(row->second));
  // A vector without a score is scored here (v3.x: the base score; v4.0: the score of every metric
  // the vector gives, CVSS-B to CVSS-BTE).
  std::optional<double> cvss = finding.cvss_score;
  std::string cvss_name = "CVSS base score";
  if (!cvss && !finding.cvss_vector.empty()) {
    if (auto scored = vuln::ScoreCvss(finding.cvss_vector); !scored) {
      a.reasons.push_back(fmt::format("CVSS vector ignored: {}", scored.error().message));
    } else if (scored->version == "4.0") {
      cvss = scored->score;
      cvss_name = scored->nomenclature;
    } else {
      cvss = scored->base_score;
    }
  }
  if (cvss) {
    double score = *cvss;
    a.severity = score >= cvss_critical_ ? Severity::kCritical
                 : score >= cvss_high_   ? Severity::kHigh
                 : score >= cvss_medium_ ? Severity::kMedium
                 : score > 0             ? Severity::kLow
                                         : Severity::kInfo;
    a.reasons.push_back(fmt::format("{} {:.1f}: {}", cvss_name, score, SeverityName(a.severity)));
  } else if (reported) {
    a.severity = *reported;
    a.reasons.push_back(fmt::format("the source rates it {}", SeverityName(a.severity)));
  } else if (auto it = by_type_.find(finding.type); it != by_type_.end()) {
    a.severity = it->second;
    a.reasons.push_back(fmt::format("{} defaults to {}", finding.type, SeverityName(a.severity)));
  } else {
    a.severity = fallback_;
    a.reasons.push_back(fmt::format("default severity {}", SeverityName(a.severity)));
  }
  for (const auto& cve : finding.cves) {
    if (!KnownExploited(cve)) continue;
    a.severity = std::max(Raise(a.severity), Severity::kHigh);
    a.reasons.push_back(
        fmt::format("{} is known to be exploited: {}", cve, SeverityName(a.severity)));
    break;
  }
  if (exposure_raises_ && system && system->internet_exposed && finding.taxonomy == "vulnerable") {
    Severity raised = Raise(a.severity, Severity::kHigh);
    if (raised != a.severity) {
      a.severity = raised;
      a.reasons.push_back(
          fmt::format("the system is exposed to the internet: {}", SeverityName(a.severity)));
    }
  }
  if (finding.confidence && *finding.confidence < low_confidence_ &&
      a.severity != Severity::kInfo) {
    a.severity = Lower(a.severity);
    a.reasons.push_back(fmt::format("confidence {:.0f} %: {}", *finding.confidence * 100,
                                    SeverityName(a.severity)));
  }
  return a;
}

const Handling& Policy::HandlingOf(Severity severity) const {
  return handling_[static_cast<int>(severity)];
}

Result<size_t> Policy::LoadKnownExploited(std::string_view json) {
  struct Collector final : input::JsonFlattener::Visitor {
    std::set<std::string>* out;
    size_t count = 0;
    void Field(std::string_view path, std::string_view value) override {
      if (path == "vulnerabilities.cveID") {
        std::string id(Trim(value));
        for (char& c : id) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
        out->insert(std::move(id));
        ++count;
      }
    }
  } collector;
  collector.out = &known_exploited_;
  input::JsonFlattener flattener;
  if (!flattener.Flatten(json, collector) || collector.count == 0) {
    return Fail("not a CISA KEV catalog (no vulnerabilities[].cveID)");
  }
  return collector.count;
}

}  // namespace bulwark::incident
