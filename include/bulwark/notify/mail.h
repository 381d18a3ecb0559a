#pragma once
// Customer mail: templates (German and English, bundled or overridden from a folder), RFC 5322
// messages with one thread per incident, and sending over SMTP (libcurl: STARTTLS, auth).

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/core/time.h"

namespace bulwark::notify {

// Message templates by language and kind ("en"/"opened"): the bundled ones, overridden by
// <dir>/<language>/<kind>.txt files when `dir` is set. A template's first line is
// "Subject: ...", then a blank line, then the body; {{name}} is replaced by the value of name.
class Templates {
 public:
  // Files are read through `env`. Errors: a `dir` that does not exist, an override file that
  // cannot be read or has no Subject line.
  static Result<Templates> Load(const std::string& dir, const Env& env);
  // Renders `kind` in `language` (falling back to English); {{name}} without a value stays
  // visible. Returns subject and body.
  std::pair<std::string, std::string> Render(
      const std::string& language, const std::string& kind,
      const std::map<std::string, std::string>& values) const;
  bool Has(const std::string& language, const std::string& kind) const;

 private:
  std::map<std::string, std::pair<std::string, std::string>> templates_;  // "en/opened"
};

struct Message {
  std::string from;
  std::vector<std::string> to;
  std::string subject;
  std::string body;
  std::string message_id;   // without angle brackets
  std::string in_reply_to;  // the thread's first message, without brackets; empty for it
  std::map<std::string, std::string> extra_headers;
  TimeNs date = 0;
};

// The message in RFC 5322 form: CRLF line ends, UTF-8 body (8bit), RFC 2047 encoded subject when
// it is not ASCII, body lines longer than 998 bytes wrapped.
std::string Render(const Message& message);

// Outcome of one delivery attempt.
struct SendResult {
  bool ok = false;
  std::string detail;  // the server's answer or the transport error
};

// Called once the server has accepted a message, before the connection is closed: the caller
// records the delivery then, so that a crash (or a server that hangs on QUIT) after the
// acceptance sends the message again as rarely as can be.
using AcceptedFn = std::function<void(const SendResult&)>;

class Mailer {
 public:
  virtual ~Mailer() = default;
  // Sends one rendered message to `recipients` (envelope), from `from`; calls `accepted` (when
  // set) as soon as the server took it. Thread-safe.
  virtual SendResult Send(const std::string& from, const std::vector<std::string>& recipients,
                          const std::string& rendered, const AcceptedFn& accepted) = 0;
  // Aborts sends in progress and fails later ones at once ("cancelled"): for a shutdown that
  // must not wait for a hanging server. Thread-safe; irreversible.
  virtual void Cancel() {}
};

struct SmtpSettings {
  std::string url;               // smtp://host:port (STARTTLS per `starttls`) or smtps://host:port
  std::string starttls = "try";  // "off", "try", "require"
  std::string username;
  std::string password;
  bool verify_peer = true;
  long timeout_seconds = 30;
};

// Webhooks: JSON POSTed to a customer's URL, signed with HMAC-SHA256 over the body
// ("X-Bulwark-Signature: sha256=<hex>"). 2xx is success; anything else is retried.
class WebhookSender {
 public:
  virtual ~WebhookSender() = default;
  virtual SendResult Post(const std::string& url, const std::string& secret,
                          const std::string& event, const std::string& body) = 0;
  // As Mailer::Cancel.
  virtual void Cancel() {}
};
std::unique_ptr<WebhookSender> NewWebhookSender(long timeout_seconds = 10);
// Hex HMAC-SHA256 of `body` under `secret`: what the receiver recomputes to check a delivery.
std::string WebhookSignature(const std::string& secret, const std::string& body);

// SMTP over libcurl. Thread-safe: each Send uses its own handle.
std::unique_ptr<Mailer> NewSmtpMailer(SmtpSettings settings);
// Writes each message to `path` ("-" = standard output) instead of sending it: for trials
// without a mail server.
std::unique_ptr<Mailer> NewPrintingMailer(std::string path);

}  // namespace bulwark::notify
