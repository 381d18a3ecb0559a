#include "http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <mutex>

namespace bulwark::cloud {

namespace {
size_t Collect(char* data, size_t size, size_t items, void* out) {
  static_cast<std::string*>(out)->append(data, size * items);
  return size * items;
}
}  // namespace

Result<std::string> HttpCall(const std::string& method, const std::string& url,
                             const std::vector<std::string>& headers, const std::string& body,
                             long timeout_seconds) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (!curl) return Fail("libcurl could not start");
  std::string answer;
  curl_slist* list = nullptr;
  for (const auto& header : headers) list = curl_slist_append(list, header.c_str());
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  if (method != "GET" && method != "POST") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (method == "POST" || !body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    return Fail(fmt::format("{} {}: {}", method, url, error[0] ? error : curl_easy_strerror(code)));
  }
  if (status < 200 || status > 299) {
    return Fail(fmt::format("{} {}: HTTP {}: {}", method, url, status, answer.substr(0, 300)));
  }
  return answer;
}

}  // namespace bulwark::cloud
