#pragma once
// `bulwark serve`: the long-running service. It owns the store, the inventory index, the policy,
// the incident spine and the notifier; serves the REST API (docs/api.md, OpenAPI document at
// /api/v1/openapi.json), /metrics and /healthz; and runs the timers (deadlines, reminders,
// outbox delivery) every `tick`. Reload() re-reads the configuration file and everything that
// follows from it, all or nothing; a broken file keeps the running configuration. Stop() drains:
// new requests are answered 503, requests in progress get their answers (a report import still
// running after the grace of 10 s stops at its next batch), sends to hanging servers are cut (their
// messages stay queued), what the followed files still hold is read, then the store closes.

#include <memory>
#include <string>

#include "bulwark/config/config.h"
#include "bulwark/core/env.h"
#include "bulwark/core/result.h"

namespace bulwark::server {

class Service {
 public:
  // Starts everything; `config_path` is re-read by Reload() (empty: no file). Errors (bad
  // policy, store, port in use) mean the service did not start.
  static Result<std::unique_ptr<Service>> Start(config::Config config, std::string config_path,
                                                Env& env);
  ~Service();

  int port() const;
  // The port receiver `name` (config "receivers") listens on; 0 when there is no such receiver.
  int receiver_port(const std::string& name) const;
  Result<void> Reload();
  // One round of the timers now (deadlines, reminders, delivery); the timer thread does this
  // every tick.
  void Tick();
  // One round over the configured report sources now (IMAP mailbox, Shadowserver Reports API);
  // the sources thread does this every `reports.imap.poll` / `reports.shadowserver_api.poll`.
  void PollReports();
  // Whether an address list file (config address_lists) changed since the rules were compiled;
  // if so, compiles them again with the lists as they are now (correlation state starts anew,
  // as on a reload) and returns true. RunUntilSignalled() calls it every 5 seconds. Errors: a
  // list that cannot be read now (the running rules stay).
  Result<bool> CheckAddressLists();
  void Stop();
  // Blocks until SIGTERM or SIGINT (then Stop()s); SIGHUP reloads. The signals must be blocked
  // in every thread (BlockSignals() before Start()).
  void RunUntilSignalled();
  static void BlockSignals();

  struct Impl;

 private:
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bulwark::server
