#pragma once
// The composition root of the incident spine: what every command and `serve` build from the
// configuration, built in one place so that they cannot drift apart. Files are read through the
// Env given (the builtin: overlay at the program's edge).

#include <memory>

#include "bulwark/config/config.h"
#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/incident/policy.h"
#include "bulwark/notify/mail.h"
#include "bulwark/notify/notifier.h"

namespace bulwark::spine {

// What the spine takes from the configuration besides the store: loaded together, so that a
// caller can swap it in whole (serve's reload) or use it once (a command). Reads no store.
struct Settings {
  incident::Policy policy = incident::Policy::Default();  // with the KEV catalog when configured
  notify::Templates templates;
  notify::NotifierSettings notifier;  // sender, Message-ID domain, signature, digest hour, webhooks
};

// Reads the policy, the KEV catalog, the mail templates and the webhooks' secrets `config` names.
// An Error names the file and what is wrong with it.
Result<Settings> LoadSettings(const config::Config& config, const Env& env);

// The mailer `mail` asks for: SMTP to `smtp_url` (the configuration's when empty), or messages
// printed to `print_to` (the configuration's mail.print when empty). An Error when the SMTP
// password file cannot be read.
Result<std::unique_ptr<notify::Mailer>> NewMailer(const config::Config::Mail& mail, const Env& env,
                                                  const std::string& smtp_url = {},
                                                  const std::string& print_to = {});

}  // namespace bulwark::spine
