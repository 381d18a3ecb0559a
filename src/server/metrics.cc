#include "metrics.h"

#include <fmt/format.h>

#include "bulwark/model/countermeasure.h"
#include "bulwark/model/finding.h"

namespace bulwark::server {

namespace {

void Header(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// A label value with backslashes, double quotes and newlines escaped.
std::string LabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string RenderMetrics(const MetricsSnapshot& s) {
  std::string out;
  Header(out, "bulwark_up", "gauge", "Whether the service is running.");
  out += "bulwark_up 1\n";
  Header(out, "bulwark_http_requests_total", "counter", "API requests by status code.");
  for (const auto& [status, count] : s.requests_by_status) {
    out += fmt::format("bulwark_http_requests_total{{code=\"{}\"}} {}\n", status, count);
  }
  Header(out, "bulwark_reports_total", "counter", "Third-party reports by intake path and result.");
  for (const auto& [key, count] : s.intake.reports) {
    out += fmt::format("bulwark_reports_total{{source=\"{}\",result=\"{}\"}} {}\n", key.first,
                       key.second, count);
  }
  Header(out, "bulwark_findings_total", "counter", "Findings taken in, by outcome.");
  for (const char* outcome : {"unattributed", "sighting", "added", "opened", "reopened", "late"}) {
    auto it = s.intake.findings_by_outcome.find(outcome);
    out += fmt::format("bulwark_findings_total{{outcome=\"{}\"}} {}\n", outcome,
                       it == s.intake.findings_by_outcome.end() ? 0 : it->second);
  }
  Header(out, "bulwark_mails_total", "counter",
         "Delivery attempts of mails and webhooks, by result.");
  out += fmt::format("bulwark_mails_total{{result=\"sent\"}} {}\n", s.mails_sent);
  out += fmt::format("bulwark_mails_total{{result=\"retry\"}} {}\n", s.mails_retried);
  out += fmt::format("bulwark_mails_total{{result=\"failed\"}} {}\n", s.mails_failed);
  Header(out, "bulwark_input_lines_total", "counter", "Lines read from followed log files.");
  out += fmt::format("bulwark_input_lines_total {}\n", s.input_lines);
  Header(out, "bulwark_alerts_total", "counter", "Detection alerts from followed log files.");
  out += fmt::format("bulwark_alerts_total {}\n", s.intake.alerts.alerts);
  Header(out, "bulwark_alerts_left_total", "counter", "Alerts that made no finding, by reason.");
  out += fmt::format("bulwark_alerts_left_total{{reason=\"below_level\"}} {}\n",
                     s.intake.alerts.below_level);
  out += fmt::format("bulwark_alerts_left_total{{reason=\"no_address\"}} {}\n",
                     s.intake.alerts.no_address);
  out += fmt::format("bulwark_alerts_left_total{{reason=\"unreadable\"}} {}\n",
                     s.intake.alerts.unreadable);
  if (!s.receivers.empty()) {
    Header(out, "bulwark_receiver_messages_total", "counter",
           "Messages a network receiver got, by what became of them.");
    for (const auto& r : s.receivers) {
      for (auto [result, count] : {std::pair{"received", r.received},
                                   {"queued", r.queued},
                                   {"dropped", r.dropped},
                                   {"processed", r.processed}}) {
        out += fmt::format("bulwark_receiver_messages_total{{receiver=\"{}\",result=\"{}\"}} {}\n",
                           LabelValue(r.name), result, count);
      }
    }
    Header(out, "bulwark_receiver_problems_total", "counter",
           "Refused connections and framing problems of a network receiver.");
    for (const auto& r : s.receivers) {
      out += fmt::format(
          "bulwark_receiver_problems_total{{receiver=\"{}\",kind=\"refused_connection\"}} {}\n",
          LabelValue(r.name), r.refused);
      out += fmt::format("bulwark_receiver_problems_total{{receiver=\"{}\",kind=\"framing\"}} {}\n",
                         LabelValue(r.name), r.problems);
    }
    Header(out, "bulwark_receiver_queue_bytes", "gauge", "Size of a receiver's durable queue.");
    for (const auto& r : s.receivers) {
      out += fmt::format("bulwark_receiver_queue_bytes{{receiver=\"{}\"}} {}\n", LabelValue(r.name),
                         r.queue_bytes);
    }
    Header(out, "bulwark_sender_events_total", "counter",
           "What each sender's messages and connections came to (at most 4,096 senders; the "
           "rest under \"::\").");
    for (const auto& c : s.senders) {
      out += fmt::format("bulwark_sender_events_total{{sender=\"{}\",event=\"{}\"}} {}\n",
                         LabelValue(c.sender), LabelValue(c.what), c.count);
    }
  }
  if (s.incidents) {
    Header(out, "bulwark_incidents", "gauge", "Incidents by state.");
    for (model::IncidentState state : model::kAllStates) {
      auto it = s.incidents->find(model::StateName(state));
      out += fmt::format("bulwark_incidents{{state=\"{}\"}} {}\n", model::StateName(state),
                         it == s.incidents->end() ? 0 : it->second);
    }
  }
  if (s.countermeasures) {
    Header(out, "bulwark_countermeasures", "gauge", "Countermeasures by state.");
    for (model::CountermeasureState state : model::kAllCountermeasureStates) {
      auto it = s.countermeasures->find(model::StateName(state));
      out += fmt::format("bulwark_countermeasures{{state=\"{}\"}} {}\n", model::StateName(state),
                         it == s.countermeasures->end() ? 0 : it->second);
    }
  }
  Header(out, "bulwark_countermeasure_problems_total", "counter",
         "Countermeasure problems logged (reconcile, policy, enforcers).");
  out += fmt::format("bulwark_countermeasure_problems_total {}\n", s.countermeasure_problems);
  Header(out, "bulwark_scans_total", "counter", "Scheduled scans run.");
  out += fmt::format("bulwark_scans_total {}\n", s.scans);
  Header(out, "bulwark_reactive_scan_targets_total", "counter",
         "Endpoints re-scanned because an abuse report named them or a new CVE concerns them.");
  out += fmt::format("bulwark_reactive_scan_targets_total{{trigger=\"report\"}} {}\n",
                     s.reactive_report);
  out += fmt::format("bulwark_reactive_scan_targets_total{{trigger=\"cve\"}} {}\n", s.reactive_cve);
  Header(out, "bulwark_scan_findings_total", "counter",
         "Findings of scheduled and reactive scans.");
  out += fmt::format("bulwark_scan_findings_total {}\n", s.scan_findings);
  Header(out, "bulwark_scan_problems_total", "counter",
         "Scan problems logged (targets, ports, vulnerability data, the store).");
  out += fmt::format("bulwark_scan_problems_total {}\n", s.scan_problems);
  Header(out, "bulwark_verifications_total", "counter",
         "Re-scans of verifying incidents by outcome.");
  for (const char* outcome : {"resolved", "awaiting_fix", "countermeasure_due", "unverifiable"}) {
    auto it = s.verifications.find(outcome);
    out += fmt::format("bulwark_verifications_total{{outcome=\"{}\"}} {}\n", outcome,
                       it == s.verifications.end() ? 0 : it->second);
  }
  return out;
}

}  // namespace bulwark::server
