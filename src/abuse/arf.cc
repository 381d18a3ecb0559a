#include "bulwark/abuse/arf.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include "bulwark/core/strings.h"
#include "common.h"

namespace bulwark::abuse {
namespace {

// The fields of a feedback-report part ("Name: value" lines, folded lines joined); repeated
// names keep the first value.
std::map<std::string, std::string> ReportFieldsOf(std::string_view text) {
  std::map<std::string, std::string> fields;
  std::string name, value;
  auto flush = [&] {
    if (!name.empty() && !fields.count(AsciiLower(name))) {
      fields[AsciiLower(name)] = std::string(Trim(value));
    }
    name.clear();
    value.clear();
  };
  for (std::string_view line : Split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      value += " ";
      value += Trim(line);
      continue;
    }
    flush();
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    name = std::string(Trim(line.substr(0, colon)));
    value = std::string(line.substr(colon + 1));
  }
  flush();
  return fields;
}

// The address in the first Received header of the reported message ("from x ([192.0.2.1])"):
// the host that handed the mail to the reporting network, i.e. the sender.
std::string FirstReceivedAddress(const mail::Message& message) {
  static const RE2 bracketed(R"(\[(?:IPv6:)?([0-9A-Fa-f:.]+)\])");
  for (const std::string& headers : message.attached_headers) {
    size_t pos = 0;
    while ((pos = headers.find("Received:", pos)) != std::string::npos) {
      size_t end = pos + 9;
      // The header runs until a line that does not start with white space.
      while ((end = headers.find('\n', end)) != std::string::npos && end + 1 < headers.size() &&
             (headers[end + 1] == ' ' || headers[end + 1] == '\t')) {
        ++end;
      }
      std::string_view received(headers.data() + pos,
                                (end == std::string::npos ? headers.size() : end) - pos);
      std::string candidate;
      if (RE2::PartialMatch(received, bracketed, &candidate)) {
        if (std::string address = AddressIn(candidate); !address.empty()) return address;
      }
      pos += 9;
    }
  }
  return {};
}

}  // namespace

bool IsArf(const mail::Message& message) {
  for (const mail::Part& part : message.parts) {
    if (!part.in_attached_message && part.content_type == "message/feedback-report") return true;
  }
  return false;
}

Result<ReportFields> ReadArf(const mail::Message& message) {
  const mail::Part* report = nullptr;
  for (const mail::Part& part : message.parts) {
    if (!part.in_attached_message && part.content_type == "message/feedback-report") {
      report = &part;
      break;
    }
  }
  if (!report) return Fail("ARF: no message/feedback-report part");
  auto fields = ReportFieldsOf(report->text);
  auto get = [&](const char* name) {
    auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second;
  };
  ReportFields out;
  std::string version = get("version");
  if (version.empty()) {
    out.notes.push_back("ARF: Version missing");
  } else if (version != "1") {
    out.notes.push_back("ARF: Version " + version + " (RFC 5965 says 1); read anyway");
  }
  std::string feedback_type = AsciiLower(get("feedback-type"));
  if (feedback_type.empty()) {
    feedback_type = "abuse";
    out.notes.push_back("ARF: Feedback-Type missing; read as abuse");
  }
  if (get("user-agent").empty()) out.notes.push_back("ARF: User-Agent missing");

  std::string address = AddressIn(get("source-ip"));
  if (address.empty()) {
    address = FirstReceivedAddress(message);
    if (!address.empty()) {
      out.notes.push_back("ARF: Source-IP missing; " + address +
                          " taken from the first Received header of the reported message");
    } else {
      static const RE2 in_subject(R"(\b(\d{1,3}(?:\.\d{1,3}){3})\b)");
      std::string candidate;
      if (RE2::PartialMatch(message.subject, in_subject, &candidate)) {
        address = AddressIn(candidate);
        if (!address.empty()) {
          out.notes.push_back("ARF: Source-IP missing; " + address + " taken from the subject");
        }
      }
    }
  }
  if (address.empty()) {
    return Fail(
        "ARF: no Source-IP, and no address in the reported message's Received headers "
        "or the subject");
  }
  std::optional<TimeNs> time;
  for (const char* name : {"arrival-date", "received-date"}) {
    if ((time = ParseReportTime(get(name)))) {
      if (std::string_view(name) != "arrival-date") {
        out.notes.push_back("ARF: Arrival-Date missing; Received-Date used");
      }
      break;
    }
  }
  if (!time && message.date) {
    time = message.date;
    out.notes.push_back("ARF: Arrival-Date missing; the report mail's Date used");
  }
  if (!time) return Fail("ARF: no Arrival-Date, Received-Date or Date");

  std::string agent = get("user-agent");
  std::string reporter = message.from.empty() ? agent : message.from;
  if (size_t at = reporter.rfind('@'); at != std::string::npos) reporter = reporter.substr(at + 1);
  out.keys["feed.name"] = reporter.empty() ? "ARF" : "ARF " + reporter;
  if (auto type = ClassificationType("arf", feedback_type)) {
    out.keys["classification.type"] = *type;
  } else {
    out.keys["classification.type"] = "undetermined";
    out.notes.push_back("ARF: Feedback-Type '" + feedback_type + "' is not in RFC 5965");
  }
  out.keys["classification.identifier"] = feedback_type;
  out.keys["source.ip"] = address;
  out.keys["time.source"] = FormatTimestamp(*time);
  for (const auto& [name, value] : fields) {
    if (name == "source-ip" || name == "arrival-date" || name == "feedback-type" || value.empty()) {
      continue;
    }
    std::string key = "extra.";
    for (char c : name) key += c == '-' ? '_' : c;
    out.keys[key] = value;
  }
  std::string raw = report->text;
  if (!message.attached_headers.empty()) {
    raw += "\n--- reported message headers ---\n" + message.attached_headers.front();
  }
  out.keys["raw"] = std::string(Trim(raw));
  return out;
}

}  // namespace bulwark::abuse
