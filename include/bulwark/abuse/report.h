#pragma once
// One entry point for every third-party report: a Shadowserver CSV, an XARF JSON document, a
// CSV read by a column mapping, or an abuse mail (Shadowserver with its zipped CSV, CERT-Bund
// "CB-Report" with inline CSV or events.csv, X-ARF 0.1/0.2, ARF feedback reports, AbuseHUB,
// XARF JSON attachments). The reader recognises the format, turns each reported system into a
// finding (feed, classification, time.source, address, port, CVEs, the original row or report as
// evidence) and links every finding to the original by its SHA-256 (extra.report.sha256). Bad
// rows are rejected one by one with their reason; the rest is read.
//
// Formats (ReportSummary::format): "shadowserver", "shadowserver-mail", "cert-bund",
// "xarf-json", "x-arf", "arf", "mapping:<name>".

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/abuse/csv_mapping.h"
#include "bulwark/abuse/shadowserver.h"
#include "bulwark/abuse/xarf.h"
#include "bulwark/config/config.h"
#include "bulwark/core/csv.h"
#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/mail/message.h"
#include "bulwark/model/finding.h"

namespace bulwark::abuse {

struct ReaderConfig {
  std::shared_ptr<const ShadowserverSchema> shadowserver;  // null: Shadowserver CSVs unread
  std::shared_ptr<const XarfSchemas> xarf;                 // null: XARF JSON not validated
  std::vector<CsvMapping> mappings;                        // built-in ones plus configured ones
  std::string gnupg_home;  // OpenPGP keys of signing senders (CERT-Bund); empty: not checked
  // Bounds on one report (unpacked size, ratio, rows); max_duration is the caller's to keep.
  config::ReportsConfig::Limits limits;
};

// Where the reader's data comes from (command-line options or the serve configuration).
struct ReaderFiles {
  std::string shadowserver_schema;    // Shadowserver's report_schema/intelmq.json
  std::string shadowserver_severity;  // severity.md; empty: severity.md beside the schema if any
  std::vector<std::string> xarf_schemas;  // XarfSchemas::Load
  std::vector<std::string> mappings;      // mapping files added to the built-in ones
  std::string gnupg_home;
};

// The reader files a configuration's `reports` section names.
ReaderFiles ReaderFilesOf(const config::ReportsConfig& reports);

// Loads what `files` name. Errors: a file that cannot be read or parsed (with its location), a
// mapping whose name repeats another's.
Result<ReaderConfig> LoadReaderConfig(const ReaderFiles& files, const Env& env);

struct ReportInput {
  std::string name;  // file name or origin ("imap:INBOX/42", "api"); used in locations
  // What the caller knows: a Shadowserver report type, "mapping:<name>" or a mapping name,
  // "xarf", "x-arf", "arf", "mail", "cert-bund", or empty (recognised from content and name).
  std::string type;
  TimeNs received = 0;  // becomes time.observation
};

struct ReportSummary {
  std::string format;  // see above
  std::string detail;  // report type, mapping, XARF version, CB-Report id, ...
  std::string sha256;  // of the original bytes (hex)
  size_t items = 0;    // rows or reports read
  size_t findings = 0;
  size_t rejected = 0;
  std::vector<std::string> notes;  // what was missing or guessed; MIME problems
  mail::SignatureCheck signature;
};

struct ReportSink {
  std::function<void(model::Finding)> finding;
  std::function<void(Error)> rejected;  // one row or report that could not be read
};

// Recognises and reads reports. Immutable; thread-safe.
class ReportReader {
 public:
  explicit ReportReader(ReaderConfig config);

  // Reads one report. Errors (the whole input is rejected): an unknown format, a mail with no
  // report in it, a CSV without a header, an invalid XARF document (with the schema's reasons),
  // a report beyond the limits (checked before any of its findings is handed on).
  Result<ReportSummary> Read(std::string_view bytes, const ReportInput& input,
                             const ReportSink& sink) const;

  const ReaderConfig& config() const { return config_; }

 private:
  // What one Read may still unpack and read (config_.limits at its start).
  struct Budget {
    size_t unpacked_bytes;
    size_t rows;
  };
  Result<ReportSummary> ReadCsv(const CsvText& text, const std::string& name, std::string_view type,
                                const ReportInput& input, const ReportSink& sink,
                                Budget& budget) const;
  Result<ReportSummary> ReadMail(std::string_view bytes, const ReportInput& input,
                                 const ReportSink& sink, Budget& budget) const;
  Result<ReportSummary> ReadSingle(Result<ReportFields> fields, std::string format,
                                   const ReportInput& input, const ReportSink& sink) const;

  ReaderConfig config_;
};

}  // namespace bulwark::abuse
