#include "bulwark/spine/settings.h"

namespace bulwark::spine {

Result<Settings> LoadSettings(const config::Config& config, const Env& env) {
  Settings settings;
  if (!config.policy.empty()) {
    auto text = env.ReadFile(config.policy);
    if (!text) return tl::unexpected(text.error());
    auto parsed = incident::Policy::Parse(*text, config.policy);
    if (!parsed) {
      return Fail("policy: " + parsed.error().message, parsed.error().where);
    }
    settings.policy = std::move(*parsed);
  }
  if (!config.kev.empty()) {
    auto text = env.ReadFile(config.kev);
    if (!text) return tl::unexpected(text.error());
    auto loaded = settings.policy.LoadKnownExploited(*text);
    if (!loaded) return Fail(loaded.error().message, config.kev);
  }
  auto templates = notify::Templates::Load(config.mail.templates, env);
  if (!templates) return tl::unexpected(templates.error());
  settings.templates = std::move(*templates);
  const auto& mail = config.mail;
  settings.notifier.from = mail.from;
  settings.notifier.domain = mail.domain;
  settings.notifier.signature = mail.signature;
  settings.notifier.digest_hour = mail.digest_hour;
  for (const auto& hook : config.webhooks) {
    auto secret = env.ReadSecretFile(hook.secret_file);
    if (!secret) return tl::unexpected(secret.error());
    settings.notifier.webhooks.push_back({hook.customer, hook.url, *secret});
  }
  return settings;
}

Result<std::unique_ptr<notify::Mailer>> NewMailer(const config::Config::Mail& mail, const Env& env,
                                                  const std::string& smtp_url,
                                                  const std::string& print_to) {
  std::string url = smtp_url.empty() ? mail.smtp_url : smtp_url;
  if (url.empty()) return notify::NewPrintingMailer(print_to.empty() ? mail.print : print_to);
  notify::SmtpSettings smtp;
  smtp.url = url;
  smtp.starttls = mail.starttls;
  smtp.username = mail.username;
  smtp.verify_peer = mail.verify_peer;
  if (!mail.password_file.empty()) {
    auto password = env.ReadSecretFile(mail.password_file);
    if (!password) return tl::unexpected(password.error());
    smtp.password = *password;
  }
  return notify::NewSmtpMailer(smtp);
}

}  // namespace bulwark::spine
