#pragma once
// The vulnerability database (docs/scanning.md, "Vulnerability data"): what Bulwark knows about
// vulnerabilities, from offline files imported by `bulwark vulndb import`:
//   - NVD CVE API 2.0 JSON: CVEs, CVSS, and the CPE ranges of vulnerable products;
//   - OSV JSON (one record or a list), e.g. the Debian:12 ecosystem: package versions that fix;
//   - the CISA KEV catalog (known exploited);
//   - EPSS CSV (probability of exploitation).
// Kept in an SQLite file of its own (<data_dir>/vulndb.sqlite). Match() answers which CVEs a
// recognised product is exposed to: a distribution's package version decides where OSV knows the
// CVE for that package (a Debian backport is not flagged for an upstream CVE it fixes); the
// upstream version against NVD's ranges decides otherwise. Thread-safe (one connection behind a
// mutex).

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/core/time.h"

namespace bulwark::store::sqlite {
class Database;
}

namespace bulwark::vuln {

// What a scan recognised.
struct Product {
  std::string cpe;      // CPE 2.3 formatted string; vendor and product are used
  std::string version;  // upstream version as the banner says it ("9.2p1")
  std::string ecosystem, package,
      package_version;  // e.g. "Debian:12", "openssh", "1:9.2p1-2+deb12u3"
};

struct VulnMatch {
  std::string cve;
  std::string basis;  // how: "nvd: openssh 9.2p1 in [8.5, 9.8)", "osv DEBIAN-CVE-...: ..."
  std::string fixed;  // the first fixed version, when known
  std::string cvss_vector;
  std::optional<double> cvss_score;
  bool known_exploited = false;
  std::optional<double> epss;
  std::string description;
};

struct ImportStats {
  std::string kind;  // nvd, osv, kev, epss
  size_t records = 0;
  size_t rejected = 0;
  std::vector<std::string> problems;  // the first few, each with its place
  // CVE ids the database learned of with this file, sorted, each once: a CVE it did not hold, or
  // held without products and now with some (NVD); an OSV record it did not hold; a CVE newly
  // known exploited (KEV). What a reactive re-scan asks about (ExposedSightings).
  std::vector<std::string> fresh;
};

// A product the scanner recognised at an endpoint, as last seen.
struct Sighting {
  std::string address;  // canonical text
  int port = 0;
  std::string transport = "tcp";
  Product product;
  TimeNs seen_at = 0;
};

struct VulnDbCounts {
  size_t cves = 0, cpe_ranges = 0, osv_ranges = 0, known_exploited = 0, epss = 0;
  size_t sightings = 0;  // services the scanner recognised (RecordSightings)
};

class VulnDb {
 public:
  // Opens or creates the database file. Errors: SQLite's.
  static Result<std::unique_ptr<VulnDb>> Open(const std::string& path);
  ~VulnDb();

  // Imports one file's content (`name` for messages); the format is recognised from the content.
  // A record that cannot be read is counted and named in `problems`; the others are kept. Errors:
  // not a format Bulwark knows, not JSON, a write failed (nothing of the file is kept).
  Result<ImportStats> Import(std::string_view content, const std::string& name);

  // The CVEs `product` is exposed to, by CVE id. Errors: SQLite's.
  Result<std::vector<VulnMatch>> Match(const Product& product) const;

  Result<VulnDbCounts> Counts() const;

  // Remembers what a scan recognised: one row per address, port and transport, the latest
  // replacing the one before; rows last seen before `forget_before` are dropped. Errors: SQLite's
  // (nothing is kept then).
  Result<void> RecordSightings(const std::vector<Sighting>& sightings, TimeNs forget_before);

  // The sightings whose product is exposed to one of `cves` (Match), by address text, then port.
  // Errors: SQLite's.
  Result<std::vector<Sighting>> ExposedSightings(const std::set<std::string>& cves) const;

 private:
  explicit VulnDb(std::unique_ptr<store::sqlite::Database> db);
  std::unique_ptr<store::sqlite::Database> db_;
  mutable std::mutex mutex_;
};

}  // namespace bulwark::vuln
