#pragma once
// The scanner as the configuration describes it (section `scan`), for `bulwark scan` and serve.

#include <memory>
#include <string>

#include "bulwark/config/config.h"
#include "bulwark/core/env.h"
#include "bulwark/scan/scanner.h"
#include "bulwark/scan/service_db.h"
#include "bulwark/vuln/scope.h"

namespace bulwark::scan {

// The scope settings of the configuration (its prefixes were checked when it was read).
vuln::ScopeSettings ScopeSettingsOf(const config::ScanConfig& config);

// The service database `path` names, read through `env`; the built-in one when `path` is empty.
// Errors: the file cannot be read or parsed (with file:line:column).
Result<std::shared_ptr<const ServiceDb>> LoadServiceDb(const std::string& path, Env& env);

// Scan options with the configured rates.
ScanOptions OptionsOf(const config::ScanConfig& config);

// Where the vulnerability database lives: <data_dir>/vulndb.sqlite.
std::string VulnDbPath(const config::Config& config);

}  // namespace bulwark::scan
