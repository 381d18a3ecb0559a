#include "bulwark/intake/report_sources.h"

#include <fmt/format.h>

#include "bulwark/core/strings.h"

namespace bulwark::intake {

Result<std::unique_ptr<ReportSources>> ReportSources::Create(const config::ReportsConfig& reports,
                                                             Env& env) {
  std::unique_ptr<ReportSources> sources(new ReportSources(env));
  sources->config_ = reports;
  if (!reports.imap.url.empty()) {
    imap::Settings settings;
    settings.url = reports.imap.url;
    settings.username = reports.imap.username;
    settings.verify_peer = reports.imap.verify_peer;
    settings.ca_file = reports.imap.ca_file;
    if (!reports.imap.password_file.empty()) {
      auto password = env.ReadSecretFile(reports.imap.password_file);
      if (!password) return tl::unexpected(password.error());
      settings.password = *password;
    }
    auto mailbox = imap::Mailbox::Open(settings);
    if (!mailbox) return tl::unexpected(mailbox.error());
    sources->mailbox_ = std::move(*mailbox);
  }
  const auto& api = reports.shadowserver_api;
  if (!api.key_file.empty()) {
    auto key = env.ReadSecretFile(api.key_file);
    if (!key) return tl::unexpected(key.error());
    if (api.secret_file.empty()) {
      return Fail("reports.shadowserver_api: key_file without secret_file");
    }
    auto secret = env.ReadSecretFile(api.secret_file);
    if (!secret) return tl::unexpected(secret.error());
    sources->api_.api_url = api.url;
    sources->api_.download_url = api.download_url;
    sources->api_.key = *key;
    sources->api_.secret = *secret;
    sources->api_.reports = api.reports;
  }
  return sources;
}

SourceRound ReportSources::PollImap(const Take& take) {
  SourceRound round;
  if (!mailbox_) return round;
  auto stats =
      imap::PollMailbox(*mailbox_, config_.imap.processed_folder, config_.imap.failed_folder,
                        [&](std::string_view message, uint32_t uid) -> Result<void> {
                          std::string name = fmt::format("imap:{}/{}", mailbox_->folder(), uid);
                          auto taken = take(message, {name, "mail", env_.Now()}, "imap");
                          if (!taken) return tl::unexpected(taken.error());
                          if (taken->duplicate) ++round.duplicates;
                          return {};
                        });
  if (!stats) {
    round.errors.push_back(stats.error());
    return round;
  }
  round.read = stats->processed - round.duplicates;
  round.rejected = stats->failed;
  return round;
}

SourceRound ReportSources::PollShadowserverApi(const Take& take) {
  SourceRound round;
  if (api_.key.empty()) return round;
  TimeNs now = env_.Now();
  std::string to = FormatTimestamp(now).substr(0, 10);
  std::string from =
      FormatTimestamp(now - TimeNs{config_.shadowserver_api.days - 1} * 86400 * kNsPerSecond)
          .substr(0, 10);
  auto files = cloud::ListReports(api_, from, to);
  if (!files) {
    round.errors.push_back(files.error());
    return round;
  }
  for (const auto& file : *files) {
    if (downloaded_.count(file.id)) {
      ++round.duplicates;
      continue;
    }
    auto content = cloud::DownloadReport(api_, file);
    if (!content) {
      round.errors.push_back(content.error());
      continue;
    }
    // The file name types the report ("2026-11-20-scan_redis-asn-64500.csv").
    std::string name = file.file.empty() ? file.type + ".csv" : file.file;
    auto taken =
        take(*content, {name, file.file.empty() ? file.type : "", now}, "shadowserver_api");
    downloaded_.insert(file.id);
    if (!taken) {
      ++round.rejected;
      round.errors.push_back(taken.error());
    } else if (taken->duplicate) {
      ++round.duplicates;
    } else {
      ++round.read;
    }
  }
  return round;
}

}  // namespace bulwark::intake
