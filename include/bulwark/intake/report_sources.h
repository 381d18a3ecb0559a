#pragma once
// Where `serve` (and `bulwark reports fetch`) get third-party reports from on their own: the
// abuse mailbox over IMAP and Shadowserver's Reports API, as configured in `reports.imap` and
// `reports.shadowserver_api`. Each round hands every report to a Take function (the intake);
// network I/O happens outside it, so the caller's lock is only held while a report is taken.
// Not thread-safe: one round at a time.

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/cloud/shadowserver_api.h"
#include "bulwark/config/config.h"
#include "bulwark/core/env.h"
#include "bulwark/imap/mailbox.h"
#include "bulwark/intake/intake.h"

namespace bulwark::intake {

struct SourceRound {
  size_t read = 0;            // reports taken
  size_t rejected = 0;        // reports refused (mails go to the failed folder)
  size_t duplicates = 0;      // seen before
  std::vector<Error> errors;  // the source could not be reached or refused a command
};

class ReportSources {
 public:
  // Takes one report; `source` is "imap" or "shadowserver_api".
  using Take = std::function<Result<ReportOutcome>(
      std::string_view bytes, const abuse::ReportInput& input, const std::string& source)>;

  // Reads the password, key and secret files. Errors: a file that cannot be read, a bad URL.
  static Result<std::unique_ptr<ReportSources>> Create(const config::ReportsConfig& reports,
                                                       Env& env);

  bool has_imap() const { return mailbox_ != nullptr; }
  bool has_shadowserver_api() const { return !api_.key.empty(); }

  // One round over the mailbox: read mails are moved to the processed folder, rejected ones to
  // the failed folder with the reason.
  SourceRound PollImap(const Take& take);
  // Lists the reports of the last `days` days and takes those not taken before.
  SourceRound PollShadowserverApi(const Take& take);

 private:
  explicit ReportSources(Env& env) : env_(env) {}

  Env& env_;
  config::ReportsConfig config_;
  std::unique_ptr<imap::Mailbox> mailbox_;
  cloud::ShadowserverApiSettings api_;
  std::set<std::string> downloaded_;  // API report ids taken since start
};

}  // namespace bulwark::intake
