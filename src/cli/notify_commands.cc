// bulwark notify send

#include <fmt/format.h>

#include "bulwark/spine/spine.h"
#include "commands.h"

namespace bulwark::cli {

Outcome RunNotifySend(const NotifySendOptions& options) {
  auto spine = OpenSpine(options.store, options.overrides);
  if (!spine) return tl::unexpected(spine.error());
  auto round = (*spine)->Deliver();
  if (!round) return RuntimeError(round.error());
  const notify::DeliveryStats& mail = round->mail;
  const notify::DeliveryStats& hooks = round->webhooks;
  fmt::print(
      stderr,
      "messages: sent {}, to retry {}, failed {}; webhooks: sent {}, to retry {}, failed {}\n",
      mail.sent, mail.retried, mail.failed, hooks.sent, hooks.retried, hooks.failed);
  return mail.failed + hooks.failed > 0 ? kExitFindings : kExitOk;
}

Handler SetupNotifySend(CLI::App& command) {
  auto o = std::make_shared<NotifySendOptions>();
  AddStoreOptions(command, o->store);
  AddPolicyOptions(command, o->overrides);
  command.add_option("--smtp", o->overrides.smtp,
                     "SMTP server URL (smtp://host:port, smtps://...)");
  command
      .add_option("--print", o->overrides.print,
                  "Without an SMTP server: print messages here ('-')")
      ->type_name("FILE");
  return [o] { return RunNotifySend(*o); };
}

}  // namespace bulwark::cli
