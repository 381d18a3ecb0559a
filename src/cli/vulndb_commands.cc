// bulwark vulndb import FILE... | status

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <set>

#include "bulwark/scan/reactive.h"
#include "bulwark/scan/setup.h"
#include "bulwark/vuln/vulndb.h"
#include "commands.h"

namespace bulwark::cli {

namespace {

struct VulnDbOptions {
  StoreOptions store;
  std::vector<std::string> files;
};

Result<std::unique_ptr<vuln::VulnDb>> OpenVulnDb(const config::Config& config) {
  std::error_code error;
  std::filesystem::create_directories(config.data_dir, error);
  return vuln::VulnDb::Open(scan::VulnDbPath(config));
}

}  // namespace

Handler SetupVulnDbImport(CLI::App& command) {
  auto o = std::make_shared<VulnDbOptions>();
  AddStoreOptions(command, o->store);
  command
      .add_option("files", o->files,
                  "NVD CVE API 2.0 JSON, OSV JSON (a record or a list), the CISA KEV catalog, "
                  "EPSS CSV")
      ->required()
      ->type_name("FILE");
  return [o]() -> Outcome {
    auto config = LoadConfig(o->store);
    if (!config) return tl::unexpected(config.error());
    auto db = OpenVulnDb(*config);
    if (!db) return RuntimeError(db.error());
    bool clean = true;
    std::set<std::string> fresh;
    for (const auto& file : o->files) {
      auto content = ProgramEnv().ReadFile(file);
      if (!content) {
        fmt::print(stderr, "bulwark: {}\n", content.error().ToString());
        clean = false;
        continue;
      }
      auto stats = (*db)->Import(*content, file);
      if (!stats) {
        fmt::print(stderr, "bulwark: {}\n", stats.error().ToString());
        clean = false;
        continue;
      }
      for (const auto& problem : stats->problems) fmt::print(stderr, "{}\n", problem);
      fmt::print("{}: {}: {} records, {} rejected, {} new\n", file, stats->kind, stats->records,
                 stats->rejected, stats->fresh.size());
      fresh.insert(stats->fresh.begin(), stats->fresh.end());
      clean = clean && stats->rejected == 0;
    }
    if (!fresh.empty()) {
      auto exposed = scan::ExposedTargets(**db, fresh);
      if (!exposed) return RuntimeError(exposed.error());
      fmt::print("{} CVE entries are new; {} services last seen are exposed to them\n",
                 fresh.size(), exposed->size());
      if (!exposed->empty() && fresh.size() <= 20) {
        fmt::print("re-scan them: bulwark scan --exposed-to {}\n", fmt::join(fresh, ","));
      }
    }
    return clean ? kExitOk : kExitFindings;
  };
}

Handler SetupVulnDbStatus(CLI::App& command) {
  auto o = std::make_shared<VulnDbOptions>();
  AddStoreOptions(command, o->store);
  return [o]() -> Outcome {
    auto config = LoadConfig(o->store);
    if (!config) return tl::unexpected(config.error());
    auto db = OpenVulnDb(*config);
    if (!db) return RuntimeError(db.error());
    auto counts = (*db)->Counts();
    if (!counts) return RuntimeError(counts.error());
    fmt::print(
        "{{\"cves\":{},\"cpe_ranges\":{},\"osv_ranges\":{},\"known_exploited\":{},\"epss\":{},"
        "\"sightings\":{}}}\n",
        counts->cves, counts->cpe_ranges, counts->osv_ranges, counts->known_exploited, counts->epss,
        counts->sightings);
    return kExitOk;
  };
}

}  // namespace bulwark::cli
