#include "bulwark/notify/mail.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>

#include "bulwark/core/digest.h"
#include "bulwark/core/env.h"
#include "bulwark/core/strings.h"
#include "bulwark/data/embedded.h"

namespace bulwark::notify {

namespace {

constexpr const char* kLanguages[] = {"de", "en"};
constexpr const char* kKinds[] = {"opened", "reminder",       "escalation",
                                  "digest", "countermeasure", "lifted"};

Result<std::pair<std::string, std::string>> SplitTemplate(std::string_view text,
                                                          const std::string& where) {
  if (!text.starts_with("Subject:")) return Fail("a template starts with 'Subject: ...'", where);
  size_t end = text.find('\n');
  std::string subject(text.substr(8, end == std::string_view::npos ? text.size() - 8 : end - 8));
  while (!subject.empty() && (subject.front() == ' ')) subject.erase(0, 1);
  while (!subject.empty() && (subject.back() == '\r' || subject.back() == ' ')) subject.pop_back();
  std::string body = end == std::string_view::npos ? "" : std::string(text.substr(end + 1));
  while (!body.empty() && (body.front() == '\n' || body.front() == '\r')) body.erase(0, 1);
  return std::make_pair(subject, body);
}

std::string Substitute(const std::string& text, const std::map<std::string, std::string>& values) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("{{", pos);
    if (open == std::string::npos) break;
    size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(text, pos, open - pos);
    auto it = values.find(text.substr(open + 2, close - open - 2));
    if (it == values.end()) {
      out.append(text, open, close + 2 - open);
    } else {
      out.append(it->second);
    }
    pos = close + 2;
  }
  out.append(text, pos);
  return out;
}

bool IsAscii(std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0x80 || c < 0x20) return false;
  }
  return true;
}

// RFC 2047 encoded-words of at most 75 characters, split between UTF-8 characters.
std::string EncodeHeader(std::string_view text) {
  if (IsAscii(text)) return std::string(text);
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t take = std::min<size_t>(42, text.size() - pos);  // 42 bytes -> 56 base64 characters
    while (pos + take < text.size() && (uint8_t(text[pos + take]) & 0xC0) == 0x80) --take;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64Encode(text.substr(pos, take)) + "?=";
    pos += take;
  }
  return out;
}

std::string RfcDate(TimeNs ns) {
  static constexpr const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  CivilTime c = FromUnixNs(ns);
  int64_t days = ns / kNsPerSecond / 86400;
  return fmt::format("{}, {:02d} {} {} {:02d}:{:02d}:{:02d} +0000", kDays[((days % 7) + 7) % 7],
                     c.day, kMonths[c.month - 1], c.year, c.hour, c.minute, c.second);
}

// Makes `curl`'s transfer abort (CURLE_ABORTED_BY_CALLBACK) soon after `cancelled` is set.
void WatchCancel(CURL* curl, const std::atomic<bool>& cancelled) {
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &cancelled);
  curl_easy_setopt(
      curl, CURLOPT_XFERINFOFUNCTION,
      +[](void* flag, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
        return static_cast<const std::atomic<bool>*>(flag)->load() ? 1 : 0;
      });
}

class SmtpMailer final : public Mailer {
 public:
  explicit SmtpMailer(SmtpSettings settings) : settings_(std::move(settings)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  SendResult Send(const std::string& from, const std::vector<std::string>& recipients,
                  const std::string& rendered, const AcceptedFn& accepted) override {
    if (cancelled_) return {false, "cancelled (shutting down)"};
    CURL* curl = curl_easy_init();
    if (!curl) return {false, "libcurl could not start"};
    struct Reader {
      std::string_view data;
      static size_t Read(char* buffer, size_t size, size_t items, void* self) {
        auto* r = static_cast<Reader*>(self);
        size_t n = std::min(size * items, r->data.size());
        std::memcpy(buffer, r->data.data(), n);
        r->data.remove_prefix(n);
        return n;
      }
    } reader{rendered};
    curl_slist* rcpt = nullptr;
    for (const auto& r : recipients) rcpt = curl_slist_append(rcpt, ("<" + r + ">").c_str());
    std::string sender = "<" + from + ">";
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, settings_.url.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, sender.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &Reader::Read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &reader);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, settings_.timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    WatchCancel(curl, cancelled_);
    long tls = settings_.starttls == "require" ? CURLUSESSL_ALL
               : settings_.starttls == "try"   ? CURLUSESSL_TRY
                                               : CURLUSESSL_NONE;
    curl_easy_setopt(curl, CURLOPT_USE_SSL, tls);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, settings_.verify_peer ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, settings_.verify_peer ? 2L : 0L);
    if (!settings_.username.empty()) {
      curl_easy_setopt(curl, CURLOPT_USERNAME, settings_.username.c_str());
      curl_easy_setopt(curl, CURLOPT_PASSWORD, settings_.password.c_str());
    }
    CURLcode code = curl_easy_perform(curl);
    long response = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response);
    SendResult result{code == CURLE_OK, ""};
    if (result.ok) {
      result.detail = fmt::format("accepted ({})", response);
      // libcurl keeps the connection open until the handle is cleaned up: QUIT comes after this.
      if (accepted) accepted(result);
    } else {
      result.detail =
          fmt::format("{} (SMTP {})", error[0] ? error : curl_easy_strerror(code), response);
    }
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    return result;
  }

  void Cancel() override { cancelled_ = true; }

 private:
  SmtpSettings settings_;
  std::atomic<bool> cancelled_{false};
};

class PrintingMailer final : public Mailer {
 public:
  explicit PrintingMailer(std::string path) : path_(std::move(path)) {}
  SendResult Send(const std::string& from, const std::vector<std::string>& recipients,
                  const std::string& rendered, const AcceptedFn& accepted) override {
    std::FILE* out = path_ == "-" ? stdout : std::fopen(path_.c_str(), "a");
    if (!out) return {false, fmt::format("cannot open {}", path_)};
    std::string to;
    for (const auto& r : recipients) to += (to.empty() ? "" : ", ") + r;
    fmt::print(out, "--- mail from {} to {} ---\n", from, to);
    std::string text = rendered;
    std::string unix_text;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
      unix_text.push_back(text[i]);
    }
    fmt::print(out, "{}\n", unix_text);
    if (out != stdout) std::fclose(out);
    SendResult result{true, "printed"};
    if (accepted) accepted(result);
    return result;
  }

 private:
  std::string path_;
};

class CurlWebhookSender final : public WebhookSender {
 public:
  explicit CurlWebhookSender(long timeout) : timeout_(timeout) {}
  SendResult Post(const std::string& url, const std::string& secret, const std::string& event,
                  const std::string& body) override {
    if (cancelled_) return {false, "cancelled (shutting down)"};
    CURL* curl = curl_easy_init();
    if (!curl) return {false, "libcurl could not start"};
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, ("X-Bulwark-Event: " + event).c_str());
    headers = curl_slist_append(
        headers, ("X-Bulwark-Signature: sha256=" + WebhookSignature(secret, body)).c_str());
    std::string ignored;
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    WatchCancel(curl, cancelled_);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(
        curl, CURLOPT_WRITEFUNCTION,
        +[](char*, size_t size, size_t items, void*) { return size * items; });
    CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (code != CURLE_OK) return {false, error[0] ? error : curl_easy_strerror(code)};
    if (status < 200 || status > 299) return {false, fmt::format("HTTP {}", status)};
    return {true, fmt::format("HTTP {}", status)};
  }

  void Cancel() override { cancelled_ = true; }

 private:
  long timeout_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

std::string WebhookSignature(const std::string& secret, const std::string& body) {
  return HmacSha256Hex(secret, body);
}

std::unique_ptr<WebhookSender> NewWebhookSender(long timeout_seconds) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::make_unique<CurlWebhookSender>(timeout_seconds);
}

Result<Templates> Templates::Load(const std::string& dir, const Env& env) {
  Templates t;
  // The files of `dir` that override bundled templates: "de/opened.txt", ...
  std::set<std::string> overrides;
  if (!dir.empty()) {
    auto listed = env.ListFiles(dir, {".txt"});
    if (!listed) return tl::unexpected(listed.error());
    overrides.insert(listed->begin(), listed->end());
  }
  for (const char* language : kLanguages) {
    for (const char* kind : kKinds) {
      std::string key = fmt::format("{}/{}", language, kind);
      std::string text(data::EmbeddedFileContent("templates/" + key + ".txt"));
      std::string where = "builtin:templates/" + key + ".txt";
      std::string path = (std::filesystem::path(dir) / (key + ".txt")).string();
      if (!dir.empty() && overrides.count(path)) {
        auto read = env.ReadFile(path);
        if (!read) return tl::unexpected(read.error());
        text = *read;
        where = path;
      }
      if (text.empty()) continue;
      auto split = SplitTemplate(text, where);
      if (!split) return tl::unexpected(split.error());
      t.templates_[key] = *split;
    }
  }
  return t;
}

bool Templates::Has(const std::string& language, const std::string& kind) const {
  return templates_.count(language + "/" + kind) > 0;
}

std::pair<std::string, std::string> Templates::Render(
    const std::string& language, const std::string& kind,
    const std::map<std::string, std::string>& values) const {
  auto it = templates_.find(language + "/" + kind);
  if (it == templates_.end()) it = templates_.find("en/" + kind);
  if (it == templates_.end()) return {kind, ""};
  return {Substitute(it->second.first, values), Substitute(it->second.second, values)};
}

std::string Render(const Message& m) {
  std::string out;
  auto header = [&](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  header("From", m.from);
  std::string to;
  for (const auto& r : m.to) to += (to.empty() ? "" : ", ") + r;
  header("To", to);
  header("Subject", EncodeHeader(m.subject));
  header("Date", RfcDate(m.date));
  header("Message-ID", "<" + m.message_id + ">");
  if (!m.in_reply_to.empty()) {
    header("In-Reply-To", "<" + m.in_reply_to + ">");
    header("References", "<" + m.in_reply_to + ">");
  }
  header("MIME-Version", "1.0");
  header("Content-Type", "text/plain; charset=utf-8");
  header("Content-Transfer-Encoding", "8bit");
  header("Auto-Submitted", "auto-generated");
  for (const auto& [name, value] : m.extra_headers) header(name, value);
  out.append("\r\n");
  size_t pos = 0;
  while (pos <= m.body.size()) {
    size_t end = m.body.find('\n', pos);
    std::string_view line(m.body.data() + pos,
                          (end == std::string::npos ? m.body.size() : end) - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (line.size() > 998) {
      out.append(line.substr(0, 998)).append("\r\n");
      line.remove_prefix(998);
    }
    out.append(line).append("\r\n");
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return out;
}

std::unique_ptr<Mailer> NewSmtpMailer(SmtpSettings settings) {
  return std::make_unique<SmtpMailer>(std::move(settings));
}

std::unique_ptr<Mailer> NewPrintingMailer(std::string path) {
  return std::make_unique<PrintingMailer>(std::move(path));
}

}  // namespace bulwark::notify
