#include "common.h"

#include <yaml-cpp/yaml.h>

#include <map>

#include "bulwark/core/strings.h"
#include "bulwark/data/embedded.h"
#include "bulwark/event/ip.h"
#include "bulwark/mail/message.h"

namespace bulwark::abuse {
namespace {

// "Feb  3 2014 02:13:35 +0100" (pyxarf's date form).
std::optional<TimeNs> ParseMonthFirst(std::string_view text) {
  std::vector<std::string_view> words;
  for (std::string_view word : Split(text, ' ')) {
    if (!word.empty()) words.push_back(word);
  }
  if (words.size() < 4) return std::nullopt;
  int month = MonthFromAbbrev(words[0]);
  auto day = ParseInt(words[1]);
  auto year = ParseInt(words[2]);
  if (month == 0 || !day || !year) return std::nullopt;
  std::string iso = std::to_string(*year) + "-" + (month < 10 ? "0" : "") + std::to_string(month) +
                    "-" + (*day < 10 ? "0" : "") + std::to_string(*day) + "T" +
                    std::string(words[3]);
  if (words.size() > 4) {
    auto offset = ParseZoneOffset(words[4]);
    if (!offset) return std::nullopt;
    auto utc = ParseTimestamp(iso + "Z");
    if (!utc) return std::nullopt;
    return *utc - static_cast<TimeNs>(*offset) * 1'000'000'000;
  }
  return ParseTimestamp(iso + "Z");
}

using Table = std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>>;

Table LoadClassifications() {
  Table table;
  YAML::Node root = YAML::Load(std::string(data::EmbeddedFileContent("abuse/classification.yml")));
  for (const auto& format : root) {
    for (const auto& entry : format.second) {
      table[format.first.as<std::string>()][entry.first.as<std::string>()] =
          entry.second.as<std::string>();
    }
  }
  return table;
}

}  // namespace

std::optional<TimeNs> ParseReportTime(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return std::nullopt;
  if (auto time = ParseTimestamp(text)) return time;
  if (auto time = ParseLogTimestamp(text)) return time;
  if (auto time = ParseMonthFirst(text)) return time;
  return mail::ParseDate(text);
}

std::optional<std::string> ClassificationType(std::string_view format, std::string_view key) {
  static const Table table = LoadClassifications();
  auto group = table.find(format);
  if (group == table.end()) return std::nullopt;
  auto type = group->second.find(key);
  if (type == group->second.end()) return std::nullopt;
  return type->second;
}

std::string AddressIn(std::string_view text) {
  text = Trim(text);
  if (auto ip = event::IpAddress::Parse(text)) return ip->ToString();
  size_t scheme = text.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view host = text.substr(scheme + 3);
  host = host.substr(0, host.find_first_of("/?#"));
  if (size_t at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
  if (host.starts_with('[')) {
    host = host.substr(
        1, host.find(']') == std::string_view::npos ? host.size() - 1 : host.find(']') - 1);
  } else if (size_t colon = host.find(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  auto ip = event::IpAddress::Parse(host);
  return ip ? ip->ToString() : std::string();
}

void EmitRow(finding::HarmonizedFields keys, const std::vector<std::string>& header,
             const std::vector<std::string>& cells, TimeNs received, const std::string& where,
             const std::function<void(model::Finding)>& finding,
             const std::function<void(Error)>& rejected) {
  std::string raw;
  for (size_t i = 0; i < header.size() && i < cells.size(); ++i) {
    if (cells[i].empty()) continue;
    raw += (raw.empty() ? "" : ", ") + header[i] + "=" + cells[i];
  }
  keys["raw"] = std::move(raw);
  auto read = finding::FromHarmonizedFields(std::move(keys), received);
  if (!read) {
    rejected(Error{read.error().message, where});
    return;
  }
  finding(std::move(*read));
}

}  // namespace bulwark::abuse
