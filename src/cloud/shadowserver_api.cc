#include "bulwark/cloud/shadowserver_api.h"

#include <simdjson.h>

#include "bulwark/core/digest.h"
#include "bulwark/core/json_writer.h"
#include "http_client.h"

namespace bulwark::cloud {
namespace {

std::string WithSlash(std::string url) {
  if (!url.empty() && url.back() != '/') url += '/';
  return url;
}

std::string Text(simdjson::dom::object object, std::string_view key) {
  std::string_view value;
  if (object[key].get_string().get(value) == simdjson::SUCCESS) return std::string(value);
  return {};
}

}  // namespace

std::string ListRequestBody(const ShadowserverApiSettings& settings, std::string_view from,
                            std::string_view to) {
  std::string body;
  JsonWriter json(body);
  json.BeginObject();
  json.Member("apikey", settings.key);
  json.Member("date", std::string(from) + ":" + std::string(to));
  if (!settings.reports.empty()) {
    json.Key("reports");
    json.BeginArray();
    for (const auto& report : settings.reports) json.String(report);
    json.EndArray();
  }
  json.EndObject();
  return body;
}

Result<std::vector<ReportFile>> ListReports(const ShadowserverApiSettings& settings,
                                            std::string_view from, std::string_view to) {
  std::string body = ListRequestBody(settings, from, to);
  std::string url = WithSlash(settings.api_url) + "reports/list";
  auto answer =
      HttpCall("POST", url,
               {"Content-Type: application/json", "HMAC2: " + HmacSha256Hex(settings.secret, body)},
               body, settings.timeout_seconds);
  if (!answer) return tl::unexpected(answer.error());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(*answer).get(root) != simdjson::SUCCESS) {
    return Fail("Shadowserver API: the report list is not JSON: " + answer->substr(0, 200), url);
  }
  simdjson::dom::array list;
  if (root.get_array().get(list) != simdjson::SUCCESS) {
    // Errors come back as {"error": "..."}.
    simdjson::dom::object object;
    std::string error;
    if (root.get_object().get(object) == simdjson::SUCCESS) error = Text(object, "error");
    return Fail("Shadowserver API: " + (error.empty() ? "the answer is not a list" : error), url);
  }
  std::vector<ReportFile> files;
  for (simdjson::dom::element item : list) {
    simdjson::dom::object object;
    if (item.get_object().get(object) != simdjson::SUCCESS) continue;
    ReportFile file{Text(object, "id"), Text(object, "file"), Text(object, "type"),
                    Text(object, "report"), Text(object, "timestamp")};
    if (!file.id.empty()) files.push_back(std::move(file));
  }
  return files;
}

Result<std::string> DownloadReport(const ShadowserverApiSettings& settings,
                                   const ReportFile& report) {
  return HttpCall("GET", WithSlash(settings.download_url) + report.id, {}, "",
                  settings.timeout_seconds);
}

}  // namespace bulwark::cloud
