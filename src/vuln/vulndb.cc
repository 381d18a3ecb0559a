#include "bulwark/vuln/vulndb.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "bulwark/store/sqlite.h"
#include "bulwark/vuln/versions.h"

namespace bulwark::vuln {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS cve (id TEXT PRIMARY KEY, description TEXT, cvss_vector TEXT,
  cvss_score TEXT, published TEXT);
CREATE TABLE IF NOT EXISTS cpe_range (cve TEXT NOT NULL, vendor TEXT, product TEXT, version TEXT,
  update_ TEXT, start_including TEXT, start_excluding TEXT, end_including TEXT,
  end_excluding TEXT);
CREATE INDEX IF NOT EXISTS cpe_range_product ON cpe_range(vendor, product);
CREATE INDEX IF NOT EXISTS cpe_range_cve ON cpe_range(cve);
CREATE TABLE IF NOT EXISTS osv_range (osv_id TEXT NOT NULL, cve TEXT, ecosystem TEXT,
  package TEXT, introduced TEXT, fixed TEXT, last_affected TEXT);
CREATE INDEX IF NOT EXISTS osv_range_package ON osv_range(ecosystem, package);
CREATE INDEX IF NOT EXISTS osv_range_id ON osv_range(osv_id);
CREATE TABLE IF NOT EXISTS kev (cve TEXT PRIMARY KEY, date_added TEXT, due_date TEXT);
CREATE TABLE IF NOT EXISTS epss (cve TEXT PRIMARY KEY, score TEXT, percentile TEXT);
CREATE TABLE IF NOT EXISTS sighting (address TEXT NOT NULL, port INTEGER NOT NULL,
  transport TEXT NOT NULL, cpe TEXT, version TEXT, ecosystem TEXT, package TEXT,
  package_version TEXT, seen_at INTEGER NOT NULL, PRIMARY KEY (address, port, transport));
)sql";

std::string Text(simdjson::simdjson_result<element> result) {
  std::string_view text;
  if (result.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
  return {};
}

std::string Text(element e) {
  std::string_view text;
  if (e.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
  return {};
}

// The fields of a CPE 2.3 formatted string, '\'-escapes kept.
std::vector<std::string> CpeFields(std::string_view cpe) {
  std::vector<std::string> fields(1);
  for (size_t i = 0; i < cpe.size(); ++i) {
    if (cpe[i] == '\\' && i + 1 < cpe.size()) {
      fields.back() += cpe.substr(i, 2);
      ++i;
    } else if (cpe[i] == ':') {
      fields.emplace_back();
    } else {
      fields.back().push_back(cpe[i]);
    }
  }
  return fields;
}

bool IsCveId(std::string_view id) {
  return id.starts_with("CVE-");
}

// Whether `statement` (one parameter, `key`) finds a row.
Result<bool> Exists(store::sqlite::Statement& statement, std::string_view key) {
  return statement.Reset().Bind(1, key).Step();
}

// Notes `cve` as newly learned (Import sorts the list and keeps each once).
void AddFresh(ImportStats& stats, const std::string& cve) {
  stats.fresh.push_back(cve);
}

// Reports a rejected record: counted, and the first few named.
void Reject(ImportStats& stats, const std::string& what) {
  ++stats.rejected;
  if (stats.problems.size() < 10) stats.problems.push_back(what);
}

Result<void> ImportNvd(store::sqlite::Database& db, array vulnerabilities, const std::string& name,
                       ImportStats& stats) {
  stats.kind = "nvd";
  auto put = db.Prepare(
      "INSERT OR REPLACE INTO cve (id, description, cvss_vector, cvss_score, published) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  auto drop = db.Prepare("DELETE FROM cpe_range WHERE cve = ?1");
  auto known = db.Prepare("SELECT 1 FROM cve WHERE id = ?1");
  if (!known) return tl::unexpected(known.error());
  auto ranged = db.Prepare("SELECT 1 FROM cpe_range WHERE cve = ?1 LIMIT 1");
  if (!ranged) return tl::unexpected(ranged.error());
  auto range = db.Prepare(
      "INSERT INTO cpe_range (cve, vendor, product, version, update_, start_including, "
      "start_excluding, end_including, end_excluding) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
      "?9)");
  if (!put) return tl::unexpected(put.error());
  if (!drop) return tl::unexpected(drop.error());
  if (!range) return tl::unexpected(range.error());
  size_t index = 0;
  for (element item : vulnerabilities) {
    ++index;
    object cve;
    if (item["cve"].get_object().get(cve) != simdjson::SUCCESS) {
      Reject(stats, fmt::format("{}: vulnerabilities[{}] has no cve object", name, index - 1));
      continue;
    }
    std::string id = Text(cve["id"]);
    if (!IsCveId(id)) {
      Reject(stats,
             fmt::format("{}: vulnerabilities[{}]: id '{}' is not a CVE id", name, index - 1, id));
      continue;
    }
    std::string description;
    array descriptions;
    if (cve["descriptions"].get_array().get(descriptions) == simdjson::SUCCESS) {
      for (element d : descriptions) {
        if (Text(d["lang"]) == "en") description = Text(d["value"]);
      }
    }
    std::string vector, score;
    for (const char* key : {"cvssMetricV40", "cvssMetricV31", "cvssMetricV30"}) {
      array metrics;
      if (!vector.empty() || cve["metrics"][key].get_array().get(metrics) != simdjson::SUCCESS) {
        continue;
      }
      // NVD's own rating (Primary) first, else the first with a vector; vector and score
      // always from the same metric.
      for (element metric : metrics) {
        std::string this_vector = Text(metric["cvssData"]["vectorString"]);
        if (this_vector.empty()) continue;
        double base = 0;
        bool scored = metric["cvssData"]["baseScore"].get_double().get(base) == simdjson::SUCCESS;
        bool primary = Text(metric["type"]) == "Primary";
        if (vector.empty() || primary) {
          vector = this_vector;
          score = scored ? fmt::format("{}", base) : "";
        }
        if (primary) break;
      }
    }
    // New: a CVE not held before, or one held without products that now names some (NVD
    // publishes first and adds the CPE ranges when its analysis is done).
    auto held = Exists(**known, id);
    if (!held) return tl::unexpected(held.error());
    auto had_ranges = Exists(**ranged, id);
    if (!had_ranges) return tl::unexpected(had_ranges.error());
    bool fresh = !*held || !*had_ranges;
    size_t ranges_added = 0;
    auto stored = (*put)
                      ->Reset()
                      .Bind(1, id)
                      .BindOptional(2, description)
                      .BindOptional(3, vector)
                      .BindOptional(4, score)
                      .BindOptional(5, Text(cve["published"]))
                      .Run();
    if (!stored) return stored;
    if (auto dropped = (*drop)->Reset().Bind(1, id).Run(); !dropped) return dropped;
    array configurations;
    if (cve["configurations"].get_array().get(configurations) == simdjson::SUCCESS) {
      for (element configuration : configurations) {
        array nodes;
        if (configuration["nodes"].get_array().get(nodes) != simdjson::SUCCESS) continue;
        for (element node : nodes) {
          array matches;
          if (node["cpeMatch"].get_array().get(matches) != simdjson::SUCCESS) continue;
          for (element match : matches) {
            bool vulnerable = false;
            if (match["vulnerable"].get_bool().get(vulnerable) != simdjson::SUCCESS ||
                !vulnerable) {
              continue;
            }
            auto fields = CpeFields(Text(match["criteria"]));
            if (fields.size() < 7 || fields[0] != "cpe" || fields[1] != "2.3") {
              Reject(stats, fmt::format("{}: {}: criteria is not a CPE 2.3 name", name, id));
              continue;
            }
            auto added = (*range)
                             ->Reset()
                             .Bind(1, id)
                             .Bind(2, fields[3])
                             .Bind(3, fields[4])
                             .Bind(4, fields[5])
                             .Bind(5, fields[6])
                             .BindOptional(6, Text(match["versionStartIncluding"]))
                             .BindOptional(7, Text(match["versionStartExcluding"]))
                             .BindOptional(8, Text(match["versionEndIncluding"]))
                             .BindOptional(9, Text(match["versionEndExcluding"]))
                             .Run();
            if (!added) return added;
            ++ranges_added;
          }
        }
      }
    }
    if (fresh && (!*held || ranges_added > 0)) AddFresh(stats, id);
    ++stats.records;
  }
  return {};
}

Result<void> ImportOsvRecord(store::sqlite::Database& db, object record, const std::string& where,
                             ImportStats& stats) {
  std::string id = Text(record["id"]);
  if (id.empty()) {
    Reject(stats, where + ": an OSV record without id");
    return {};
  }
  // The CVE: the id itself, else an alias or the upstream id (Debian's records).
  std::string cve = IsCveId(id) ? id : "";
  if (size_t at = id.find("CVE-"); cve.empty() && at != std::string::npos) cve = id.substr(at);
  for (const char* key : {"aliases", "upstream"}) {
    array ids;
    if (!cve.empty() || record[key].get_array().get(ids) != simdjson::SUCCESS) continue;
    for (element alias : ids) {
      if (IsCveId(Text(alias))) {
        cve = Text(alias);
        break;
      }
    }
  }
  auto drop = db.Prepare("DELETE FROM osv_range WHERE osv_id = ?1");
  auto add = db.Prepare(
      "INSERT INTO osv_range (osv_id, cve, ecosystem, package, introduced, fixed, last_affected) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  auto known = db.Prepare("SELECT 1 FROM osv_range WHERE osv_id = ?1");
  if (!drop) return tl::unexpected(drop.error());
  if (!add) return tl::unexpected(add.error());
  if (!known) return tl::unexpected(known.error());
  auto held = Exists(**known, id);
  if (!held) return tl::unexpected(held.error());
  if (!*held) AddFresh(stats, cve.empty() ? id : cve);
  if (auto dropped = (*drop)->Reset().Bind(1, id).Run(); !dropped) return dropped;
  array affected;
  if (record["affected"].get_array().get(affected) != simdjson::SUCCESS) {
    Reject(stats, fmt::format("{}: {} has no 'affected' list", where, id));
    return {};
  }
  for (element entry : affected) {
    std::string ecosystem = Text(entry["package"]["ecosystem"]);
    std::string package = Text(entry["package"]["name"]);
    array ranges;
    if (ecosystem.empty() || package.empty() ||
        entry["ranges"].get_array().get(ranges) != simdjson::SUCCESS) {
      continue;
    }
    for (element range : ranges) {
      std::string type = Text(range["type"]);
      if (type != "ECOSYSTEM" && type != "SEMVER") continue;
      array events;
      if (range["events"].get_array().get(events) != simdjson::SUCCESS) continue;
      // Each introduced event opens a range that the next fixed or last_affected closes.
      std::string introduced, fixed, last;
      bool open = false;
      auto flush = [&]() -> Result<void> {
        if (!open) return {};
        open = false;
        return (*add)
            ->Reset()
            .Bind(1, id)
            .BindOptional(2, cve)
            .Bind(3, ecosystem)
            .Bind(4, package)
            .Bind(5, introduced)
            .BindOptional(6, fixed)
            .BindOptional(7, last)
            .Run();
      };
      for (element event : events) {
        if (std::string v = Text(event["introduced"]); !v.empty()) {
          if (auto flushed = flush(); !flushed) return flushed;
          introduced = v;
          fixed.clear();
          last.clear();
          open = true;
        } else if (std::string f = Text(event["fixed"]); !f.empty()) {
          fixed = f;
          if (auto flushed = flush(); !flushed) return flushed;
        } else if (std::string l = Text(event["last_affected"]); !l.empty()) {
          last = l;
          if (auto flushed = flush(); !flushed) return flushed;
        }
      }
      if (auto flushed = flush(); !flushed) return flushed;
    }
  }
  ++stats.records;
  return {};
}

Result<void> ImportKev(store::sqlite::Database& db, array vulnerabilities, const std::string& name,
                       ImportStats& stats) {
  stats.kind = "kev";
  std::set<std::string> before;
  auto listed = db.Prepare("SELECT cve FROM kev");
  if (!listed) return tl::unexpected(listed.error());
  (*listed)->Reset();
  while (true) {
    auto step = (*listed)->Step();
    if (!step) return tl::unexpected(step.error());
    if (!*step) break;
    before.insert((*listed)->Text(0));
  }
  // The catalog is complete: it replaces the one before.
  if (auto cleared = db.Exec("DELETE FROM kev"); !cleared) return cleared;
  auto add =
      db.Prepare("INSERT OR REPLACE INTO kev (cve, date_added, due_date) VALUES (?1, ?2, ?3)");
  if (!add) return tl::unexpected(add.error());
  size_t index = 0;
  for (element item : vulnerabilities) {
    std::string cve = Text(item["cveID"]);
    if (!IsCveId(cve)) {
      Reject(stats, fmt::format("{}: vulnerabilities[{}] has no cveID", name, index));
    } else {
      auto added = (*add)
                       ->Reset()
                       .Bind(1, cve)
                       .BindOptional(2, Text(item["dateAdded"]))
                       .BindOptional(3, Text(item["dueDate"]))
                       .Run();
      if (!added) return added;
      if (!before.count(cve)) AddFresh(stats, cve);
      ++stats.records;
    }
    ++index;
  }
  return {};
}

Result<void> ImportEpss(store::sqlite::Database& db, std::string_view content,
                        const std::string& name, ImportStats& stats) {
  stats.kind = "epss";
  if (auto cleared = db.Exec("DELETE FROM epss"); !cleared) return cleared;
  auto add = db.Prepare("INSERT OR REPLACE INTO epss (cve, score, percentile) VALUES (?1, ?2, ?3)");
  if (!add) return tl::unexpected(add.error());
  size_t line_number = 0, start = 0;
  while (start < content.size()) {
    size_t end = std::min(content.find('\n', start), content.size());
    std::string_view line = content.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.starts_with('#') || line.starts_with("cve,")) continue;
    size_t first = line.find(','), second = line.find(',', first + 1);
    std::string_view cve = line.substr(0, first);
    if (first == std::string_view::npos || !IsCveId(cve)) {
      Reject(stats, fmt::format("{}:{}: not 'cve,epss,percentile'", name, line_number));
      continue;
    }
    std::string_view score = line.substr(first + 1, second - first - 1);
    std::string_view percentile =
        second == std::string_view::npos ? std::string_view() : line.substr(second + 1);
    auto added = (*add)->Reset().Bind(1, cve).Bind(2, score).BindOptional(3, percentile).Run();
    if (!added) return added;
    ++stats.records;
  }
  return {};
}

// Whether `version` lies in the range of a CPE match row (bounds may be empty).
bool InRange(const std::string& version, const std::string& start_including,
             const std::string& start_excluding, const std::string& end_including,
             const std::string& end_excluding) {
  if (!start_including.empty() && CompareVersions(version, start_including) < 0) return false;
  if (!start_excluding.empty() && CompareVersions(version, start_excluding) <= 0) return false;
  if (!end_including.empty() && CompareVersions(version, end_including) > 0) return false;
  if (!end_excluding.empty() && CompareVersions(version, end_excluding) >= 0) return false;
  return true;
}

std::string RangeText(const std::string& si, const std::string& se, const std::string& ei,
                      const std::string& ee) {
  std::string low = !si.empty() ? "[" + si : !se.empty() ? "(" + se : "(-inf";
  std::string high = !ei.empty() ? ei + "]" : !ee.empty() ? ee + ")" : "+inf)";
  return low + ", " + high;
}

}  // namespace

VulnDb::VulnDb(std::unique_ptr<store::sqlite::Database> db) : db_(std::move(db)) {}
VulnDb::~VulnDb() = default;

Result<std::unique_ptr<VulnDb>> VulnDb::Open(const std::string& path) {
  auto db = store::sqlite::Database::Open(path);
  if (!db) return tl::unexpected(db.error());
  if (auto made = (*db)->Exec(kSchema); !made) return tl::unexpected(made.error());
  return std::unique_ptr<VulnDb>(new VulnDb(std::move(*db)));
}

Result<ImportStats> VulnDb::Import(std::string_view content, const std::string& name) {
  std::lock_guard lock(mutex_);
  ImportStats stats;
  size_t first = content.find_first_not_of(" \t\r\n\xef\xbb\xbf");
  if (first == std::string_view::npos) return Fail(name + ": empty");
  if (content[first] != '{' && content[first] != '[') {
    if (content.substr(first).starts_with("#model_version") ||
        content.substr(first).starts_with("cve,epss")) {
      auto done =
          store::sqlite::Transaction(*db_, [&] { return ImportEpss(*db_, content, name, stats); });
      if (!done) return tl::unexpected(done.error());
      return stats;
    }
    return Fail(fmt::format(
        "{}: not NVD CVE API 2.0 JSON, OSV JSON, the CISA KEV catalog or an EPSS CSV", name));
  }
  simdjson::dom::parser parser;
  simdjson::padded_string padded(content);
  element root;
  if (auto error = parser.parse(padded).get(root); error) {
    return Fail(fmt::format("{}: not JSON: {}", name, simdjson::error_message(error)));
  }
  auto done = store::sqlite::Transaction(*db_, [&]() -> Result<void> {
    array list;
    if (root.get_array().get(list) == simdjson::SUCCESS) {
      stats.kind = "osv";
      size_t index = 0;
      for (element item : list) {
        object record;
        std::string where = fmt::format("{}: [{}]", name, index++);
        if (item.get_object().get(record) != simdjson::SUCCESS) {
          Reject(stats, where + ": not an object");
          continue;
        }
        if (auto imported = ImportOsvRecord(*db_, record, where, stats); !imported) {
          return imported;
        }
      }
      return {};
    }
    object top = root.get_object().value_unsafe();
    array vulnerabilities;
    bool has_list = top["vulnerabilities"].get_array().get(vulnerabilities) == simdjson::SUCCESS;
    if (has_list && !top["catalogVersion"].error()) {
      return ImportKev(*db_, vulnerabilities, name, stats);
    }
    if (has_list) return ImportNvd(*db_, vulnerabilities, name, stats);
    if (!top["affected"].error() || (!top["id"].error() && !top["modified"].error())) {
      stats.kind = "osv";
      return ImportOsvRecord(*db_, top, name, stats);
    }
    return Fail(fmt::format(
        "{}: JSON, but not NVD CVE API 2.0 (format NVD_CVE), OSV or the CISA KEV catalog", name));
  });
  if (!done) return tl::unexpected(done.error());
  std::sort(stats.fresh.begin(), stats.fresh.end());
  stats.fresh.erase(std::unique(stats.fresh.begin(), stats.fresh.end()), stats.fresh.end());
  return stats;
}

Result<std::vector<VulnMatch>> VulnDb::Match(const Product& product) const {
  std::lock_guard lock(mutex_);
  std::map<std::string, VulnMatch> found;
  // Upstream: NVD's CPE ranges for the product's vendor and name.
  auto fields = CpeFields(product.cpe);
  if (fields.size() >= 5 && !product.version.empty()) {
    auto rows = db_->Prepare(
        "SELECT cve, version, update_, start_including, start_excluding, end_including, "
        "end_excluding FROM cpe_range WHERE vendor = ?1 AND product = ?2");
    if (!rows) return tl::unexpected(rows.error());
    (*rows)->Reset().Bind(1, fields[3]).Bind(2, fields[4]);
    while (true) {
      auto step = (*rows)->Step();
      if (!step) return tl::unexpected(step.error());
      if (!*step) break;
      std::string cve = (*rows)->Text(0);
      if (found.count(cve)) continue;
      std::string version = (*rows)->Text(1), update = (*rows)->Text(2);
      std::string si = (*rows)->Text(3), se = (*rows)->Text(4), ei = (*rows)->Text(5),
                  ee = (*rows)->Text(6);
      std::string basis;
      if (version == "*" || version.empty()) {
        if (!InRange(product.version, si, se, ei, ee)) continue;
        basis =
            fmt::format("nvd: {} {} in {}", fields[4], product.version, RangeText(si, se, ei, ee));
      } else if (version != "-") {
        std::string listed = version + (update == "*" || update == "-" ? "" : update);
        if (CompareVersions(listed, product.version) != 0) continue;
        basis = fmt::format("nvd: {} {} is listed", fields[4], product.version);
      } else {
        continue;
      }
      VulnMatch match;
      match.cve = cve;
      match.basis = basis;
      match.fixed = !ee.empty() ? ee : "";
      found[cve] = match;
    }
  }
  // The distribution: OSV's ranges of the package, which decide for the CVEs they know.
  if (!product.ecosystem.empty() && !product.package.empty() && !product.package_version.empty()) {
    bool debian =
        product.ecosystem.starts_with("Debian") || product.ecosystem.starts_with("Ubuntu");
    auto compare = [&](const std::string& a, const std::string& b) {
      return debian ? CompareDebianVersions(a, b) : CompareVersions(a, b);
    };
    auto rows = db_->Prepare(
        "SELECT osv_id, cve, introduced, fixed, last_affected FROM osv_range "
        "WHERE ecosystem = ?1 AND package = ?2");
    if (!rows) return tl::unexpected(rows.error());
    (*rows)->Reset().Bind(1, product.ecosystem).Bind(2, product.package);
    std::map<std::string, std::pair<bool, VulnMatch>> verdicts;  // cve -> affected, how
    while (true) {
      auto step = (*rows)->Step();
      if (!step) return tl::unexpected(step.error());
      if (!*step) break;
      std::string osv_id = (*rows)->Text(0), cve = (*rows)->Text(1);
      std::string introduced = (*rows)->Text(2), fixed = (*rows)->Text(3), last = (*rows)->Text(4);
      if (cve.empty()) cve = osv_id;
      const std::string& v = product.package_version;
      bool affected = (introduced == "0" || compare(v, introduced) >= 0) &&
                      (fixed.empty() || compare(v, fixed) < 0) &&
                      (last.empty() || compare(v, last) <= 0);
      auto& verdict = verdicts[cve];
      if (verdict.first) continue;  // one affecting range is enough
      verdict.first = affected;
      verdict.second.cve = cve;
      verdict.second.fixed = fixed;
      verdict.second.basis =
          affected ? fmt::format("osv {}: {} {} {} is before the fix {}", osv_id, product.ecosystem,
                                 product.package, v, fixed.empty() ? "(none yet)" : fixed)
                   : fmt::format("osv {}: {} {} {} is fixed ({})", osv_id, product.ecosystem,
                                 product.package, v, fixed.empty() ? last : fixed);
    }
    for (auto& [cve, verdict] : verdicts) {
      if (verdict.first) {
        found[cve] = verdict.second;
      } else {
        found.erase(cve);  // the distribution fixed it in this version
      }
    }
  }
  std::vector<VulnMatch> out;
  auto cve_row = db_->Prepare("SELECT description, cvss_vector, cvss_score FROM cve WHERE id = ?1");
  auto kev_row = db_->Prepare("SELECT 1 FROM kev WHERE cve = ?1");
  auto epss_row = db_->Prepare("SELECT score FROM epss WHERE cve = ?1");
  if (!cve_row) return tl::unexpected(cve_row.error());
  if (!kev_row) return tl::unexpected(kev_row.error());
  if (!epss_row) return tl::unexpected(epss_row.error());
  for (auto& [cve, match] : found) {
    if (auto step = (*cve_row)->Reset().Bind(1, cve).Step(); step && *step) {
      match.description = (*cve_row)->Text(0);
      match.cvss_vector = (*cve_row)->Text(1);
      if (!(*cve_row)->IsNull(2)) match.cvss_score = std::stod((*cve_row)->Text(2));
    }
    if (auto step = (*kev_row)->Reset().Bind(1, cve).Step(); step && *step) {
      match.known_exploited = true;
    }
    if (auto step = (*epss_row)->Reset().Bind(1, cve).Step(); step && *step) {
      try {
        match.epss = std::stod((*epss_row)->Text(0));
      } catch (const std::exception&) {
      }
    }
    out.push_back(std::move(match));
  }
  return out;
}

Result<void> VulnDb::RecordSightings(const std::vector<Sighting>& sightings, TimeNs forget_before) {
  std::lock_guard lock(mutex_);
  return store::sqlite::Transaction(*db_, [&]() -> Result<void> {
    auto put = db_->Prepare(
        "INSERT OR REPLACE INTO sighting (address, port, transport, cpe, version, ecosystem, "
        "package, package_version, seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!put) return tl::unexpected(put.error());
    for (const auto& s : sightings) {
      auto stored = (*put)
                        ->Reset()
                        .Bind(1, s.address)
                        .Bind(2, static_cast<int64_t>(s.port))
                        .Bind(3, s.transport)
                        .BindOptional(4, s.product.cpe)
                        .BindOptional(5, s.product.version)
                        .BindOptional(6, s.product.ecosystem)
                        .BindOptional(7, s.product.package)
                        .BindOptional(8, s.product.package_version)
                        .Bind(9, static_cast<int64_t>(s.seen_at))
                        .Run();
      if (!stored) return stored;
    }
    auto forget = db_->Prepare("DELETE FROM sighting WHERE seen_at < ?1");
    if (!forget) return tl::unexpected(forget.error());
    return (*forget)->Reset().Bind(1, static_cast<int64_t>(forget_before)).Run();
  });
}

Result<std::vector<Sighting>> VulnDb::ExposedSightings(const std::set<std::string>& cves) const {
  std::vector<Sighting> all;
  {
    std::lock_guard lock(mutex_);
    auto rows = db_->Prepare(
        "SELECT address, port, transport, cpe, version, ecosystem, package, package_version, "
        "seen_at FROM sighting ORDER BY cpe, version, ecosystem, package, package_version");
    if (!rows) return tl::unexpected(rows.error());
    (*rows)->Reset();
    while (true) {
      auto step = (*rows)->Step();
      if (!step) return tl::unexpected(step.error());
      if (!*step) break;
      Sighting s;
      s.address = (*rows)->Text(0);
      s.port = static_cast<int>((*rows)->Int(1));
      s.transport = (*rows)->Text(2);
      s.product = {(*rows)->Text(3), (*rows)->Text(4), (*rows)->Text(5), (*rows)->Text(6),
                   (*rows)->Text(7)};
      s.seen_at = (*rows)->Int(8);
      all.push_back(std::move(s));
    }
  }
  // One Match per distinct product: the rows come grouped by it.
  auto same = [](const Product& a, const Product& b) {
    return std::tie(a.cpe, a.version, a.ecosystem, a.package, a.package_version) ==
           std::tie(b.cpe, b.version, b.ecosystem, b.package, b.package_version);
  };
  std::vector<Sighting> exposed;
  std::optional<Product> last;
  bool last_exposed = false;
  for (auto& s : all) {
    if (!last || !same(*last, s.product)) {
      auto matches = Match(s.product);
      if (!matches) return tl::unexpected(matches.error());
      last = s.product;
      last_exposed = std::any_of(matches->begin(), matches->end(),
                                 [&](const VulnMatch& m) { return cves.count(m.cve) > 0; });
    }
    if (last_exposed) exposed.push_back(std::move(s));
  }
  std::sort(exposed.begin(), exposed.end(), [](const Sighting& a, const Sighting& b) {
    return std::tie(a.address, a.port, a.transport) < std::tie(b.address, b.port, b.transport);
  });
  return exposed;
}

Result<VulnDbCounts> VulnDb::Counts() const {
  std::lock_guard lock(mutex_);
  VulnDbCounts counts;
  std::pair<const char*, size_t*> tables[] = {{"cve", &counts.cves},
                                              {"cpe_range", &counts.cpe_ranges},
                                              {"osv_range", &counts.osv_ranges},
                                              {"kev", &counts.known_exploited},
                                              {"epss", &counts.epss},
                                              {"sighting", &counts.sightings}};
  for (auto [table, count] : tables) {
    auto rows = db_->Prepare(fmt::format("SELECT COUNT(*) FROM {}", table));
    if (!rows) return tl::unexpected(rows.error());
    auto step = (*rows)->Reset().Step();
    if (!step) return tl::unexpected(step.error());
    *count = static_cast<size_t>((*rows)->Int(0));
  }
  return counts;
}

}  // namespace bulwark::vuln
