#include "bulwark/scan/setup.h"

#include <filesystem>

namespace bulwark::scan {

vuln::ScopeSettings ScopeSettingsOf(const config::ScanConfig& config) {
  vuln::ScopeSettings settings;
  for (const auto& text : config.allow) {
    if (auto prefix = model::Prefix::Parse(text)) settings.allow.push_back(*prefix);
  }
  for (const auto& text : config.deny) {
    if (auto prefix = model::Prefix::Parse(text)) settings.deny.push_back(*prefix);
  }
  settings.opted_out.insert(config.opted_out.begin(), config.opted_out.end());
  return settings;
}

Result<std::shared_ptr<const ServiceDb>> LoadServiceDb(const std::string& path, Env& env) {
  if (path.empty()) {
    // The built-in one lives for the whole program: a shared_ptr that owns nothing.
    return std::shared_ptr<const ServiceDb>(std::shared_ptr<const ServiceDb>(),
                                            &ServiceDb::Builtin());
  }
  auto text = env.ReadFile(path);
  if (!text) return tl::unexpected(text.error());
  auto parsed = ServiceDb::Parse(*text, path);
  if (!parsed) return tl::unexpected(parsed.error());
  return std::make_shared<const ServiceDb>(std::move(*parsed));
}

ScanOptions OptionsOf(const config::ScanConfig& config) {
  ScanOptions options;
  options.discover.rate = static_cast<double>(config.rate);
  options.discover.rate_per_network = static_cast<double>(config.rate_per_network);
  options.discover.method = config.discovery == "syn"       ? DiscoveryMethod::kSyn
                            : config.discovery == "connect" ? DiscoveryMethod::kConnect
                                                            : DiscoveryMethod::kAuto;
  if (!config.identity_url.empty() || !config.contact.empty()) {
    options.agent =
        kDefaultAgent + " (+" +
        (config.identity_url.empty() ? config.contact : config.identity_url) +
        (config.identity_url.empty() || config.contact.empty() ? "" : "; " + config.contact) + ")";
  }
  return options;
}

std::string VulnDbPath(const config::Config& config) {
  return (std::filesystem::path(config.data_dir) / "vulndb.sqlite").string();
}

}  // namespace bulwark::scan
