#include "bulwark/abuse/report.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "bulwark/abuse/arf.h"
#include "bulwark/core/csv.h"
#include "bulwark/core/digest.h"
#include "bulwark/core/strings.h"
#include "bulwark/data/embedded.h"
#include "bulwark/finding/intelmq.h"

namespace bulwark::abuse {
namespace {

std::string_view WithoutBom(std::string_view text) {
  return text.starts_with("\xEF\xBB\xBF") ? text.substr(3) : text;
}

bool EndsWithIgnoreCase(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         AsciiIEquals(text.substr(text.size() - suffix.size()), suffix);
}

const CsvMapping* MappingNamed(const std::vector<CsvMapping>& mappings, std::string_view name) {
  if (name.starts_with("mapping:")) name.remove_prefix(8);
  for (const CsvMapping& mapping : mappings) {
    if (mapping.name == name) return &mapping;
  }
  return nullptr;
}

const CsvMapping* MappingFor(const std::vector<CsvMapping>& mappings, std::string_view text) {
  for (const CsvMapping& mapping : mappings) {
    if (mapping.Recognises(CsvHeader(text, mapping.delimiter))) return &mapping;
  }
  return nullptr;
}

// "[CB-Report#20201117-10000030] ..." -> "20201117-10000030"; empty when the subject is no
// CERT-Bund report.
std::string CertBundId(std::string_view subject) {
  size_t start = subject.find("[CB-Report#");
  if (start == std::string_view::npos) return {};
  start += 11;
  size_t end = subject.find(']', start);
  return std::string(subject.substr(start, end == std::string_view::npos ? end : end - start));
}

// A CSV block inside a text body: from the first line a mapping recognises to the next empty
// line. Empty when there is none.
std::string_view InlineCsv(std::string_view text, const std::vector<CsvMapping>& mappings) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (MappingFor(mappings, line)) {
      size_t block_end = text.find("\n\n", pos);
      size_t crlf_end = text.find("\r\n\r\n", pos);
      block_end = std::min(block_end, crlf_end);
      return text.substr(pos, block_end == std::string_view::npos ? block_end : block_end - pos);
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return {};
}

// The data rows of a CSV text (its lines but the header), exactly when there may be more than
// `limit` (quoted cells can span lines), else an upper bound. A streamed text is read once more
// for it (twice when it may hold more than `limit`); an Error when its source fails.
Result<size_t> CountRows(const CsvText& text, char delimiter, size_t limit) {
  size_t lines = 0;
  if (!text.open) {
    lines = static_cast<size_t>(std::count(text.text.begin(), text.text.end(), '\n'));
    if (!text.text.empty() && text.text.back() != '\n') ++lines;
  } else {
    ChunkSource source = text.open();
    std::string chunk(65536, '\0');
    char last = '\n';
    while (true) {
      auto got = source(chunk.data(), chunk.size());
      if (!got) return tl::unexpected(got.error());
      if (*got == 0) break;
      lines += static_cast<size_t>(std::count(chunk.data(), chunk.data() + *got, '\n'));
      last = chunk[*got - 1];
    }
    if (last != '\n') ++lines;
  }
  size_t rows = lines > 0 ? lines - 1 : 0;
  if (rows <= limit) return rows;
  CsvReader reader = text.Reader(delimiter);
  std::vector<std::string> cells;
  size_t records = 0;
  while (records <= limit + 1 && reader.Next(cells)) ++records;
  if (!reader.error().empty()) return Fail(reader.error());
  return records > 0 ? records - 1 : 0;
}

// Adds one part's outcome to the mail's summary.
void Merge(ReportSummary& into, const ReportSummary& part) {
  if (into.format.empty() || into.format == "mail") {
    into.format = part.format;
    into.detail = part.detail;
  }
  into.items += part.items;
  into.notes.insert(into.notes.end(), part.notes.begin(), part.notes.end());
}

}  // namespace

ReaderFiles ReaderFilesOf(const config::ReportsConfig& reports) {
  return {reports.shadowserver_schema, reports.shadowserver_severity, reports.xarf_schemas,
          reports.mappings, reports.gnupg_home};
}

Result<ReaderConfig> LoadReaderConfig(const ReaderFiles& files, const Env& env) {
  ReaderConfig config;
  if (!files.shadowserver_schema.empty()) {
    auto text = env.ReadFile(files.shadowserver_schema);
    if (!text) return tl::unexpected(text.error());
    auto schema = ShadowserverSchema::Parse(*text);
    if (!schema) return Fail(schema.error().message, files.shadowserver_schema);
    std::string severity = files.shadowserver_severity;
    Result<std::string> table = Fail("none");
    if (!severity.empty()) {
      table = env.ReadFile(severity);
      if (!table) return tl::unexpected(table.error());
    } else {
      // The one beside the schema, when it is there.
      severity =
          (std::filesystem::path(files.shadowserver_schema).parent_path() / "severity.md").string();
      table = env.ReadFile(severity);
    }
    if (table) {
      auto loaded = schema->LoadSeverities(*table);
      if (!loaded) return Fail(loaded.error().message, severity);
    }
    YAML::Node aliases =
        YAML::Load(std::string(data::EmbeddedFileContent("abuse/shadowserver-aliases.yml")));
    for (const auto& alias : aliases) {
      schema->AddAlias(alias.first.as<std::string>(), alias.second.as<std::string>());
    }
    config.shadowserver = std::make_shared<const ShadowserverSchema>(std::move(*schema));
  }
  if (!files.xarf_schemas.empty()) {
    auto schemas = XarfSchemas::Load(files.xarf_schemas);
    if (!schemas) return tl::unexpected(schemas.error());
    config.xarf = *schemas;
  }
  config.mappings = BuiltinCsvMappings();
  for (const std::string& file : files.mappings) {
    auto text = env.ReadFile(file);
    if (!text) return tl::unexpected(text.error());
    auto mapping = ParseCsvMapping(*text, file);
    if (!mapping) return tl::unexpected(mapping.error());
    if (MappingNamed(config.mappings, mapping->name)) {
      return Fail("a mapping named '" + mapping->name + "' is already loaded", file);
    }
    // Configured mappings are tried before the built-in ones.
    config.mappings.insert(config.mappings.begin(), std::move(*mapping));
  }
  config.gnupg_home = files.gnupg_home;
  return config;
}

ReportReader::ReportReader(ReaderConfig config) : config_(std::move(config)) {}

Result<ReportSummary> ReportReader::Read(std::string_view bytes, const ReportInput& input,
                                         const ReportSink& sink) const {
  std::string sha256 = Sha256Hex(bytes);
  size_t findings = 0, rejected = 0;
  ReportSink counted{[&](model::Finding finding) {
                       ++findings;
                       finding.fields["extra.report.sha256"] = sha256;
                       sink.finding(std::move(finding));
                     },
                     [&](Error error) {
                       ++rejected;
                       sink.rejected(std::move(error));
                     }};
  std::string_view text = WithoutBom(bytes);
  std::string_view start = Trim(text.substr(0, 64));
  const std::string& type = input.type;
  Budget budget{config_.limits.max_unpacked_bytes, config_.limits.max_rows};
  Result<ReportSummary> summary;
  if (type == "mail" || type == "cert-bund" || type == "arf" ||
      (type.empty() && mail::LooksLikeMail(text))) {
    summary = ReadMail(text, input, counted, budget);
  } else if (type == "xarf" || (type.empty() && start.starts_with('{'))) {
    summary = ReadSingle(ReadXarfJson(text, config_.xarf.get()), "xarf-json", input, counted);
  } else if (type == "x-arf" || (type.empty() && LooksLikeXarfYaml(text))) {
    summary = ReadSingle(ReadXarfYaml(text), "x-arf", input, counted);
  } else {
    summary = ReadCsv(CsvText{text, {}}, input.name, type, input, counted, budget);
  }
  if (!summary) return summary;
  summary->sha256 = sha256;
  summary->findings = findings;
  summary->rejected = rejected;
  return summary;
}

Result<ReportSummary> ReportReader::ReadSingle(Result<ReportFields> fields, std::string format,
                                               const ReportInput& input,
                                               const ReportSink& sink) const {
  if (!fields) return Fail(fields.error().message, input.name);
  ReportSummary summary;
  summary.format = std::move(format);
  summary.items = 1;
  summary.notes = fields->notes;
  summary.detail = fields->keys.count("classification.identifier")
                       ? fields->keys["classification.identifier"]
                       : std::string();
  auto finding = finding::FromHarmonizedFields(std::move(fields->keys), input.received);
  if (!finding) return Fail(finding.error().message, input.name);
  sink.finding(std::move(*finding));
  return summary;
}

Result<ReportSummary> ReportReader::ReadCsv(const CsvText& text, const std::string& name,
                                            std::string_view type, const ReportInput& input,
                                            const ReportSink& sink, Budget& budget) const {
  const CsvMapping* mapping = type.empty() ? nullptr : MappingNamed(config_.mappings, type);
  const ReportType* report_type = nullptr;
  if (!mapping && !type.empty()) {
    if (!config_.shadowserver) {
      return Fail(fmt::format("report type '{}': no mapping of that name, and no Shadowserver "
                              "schema is configured (--schema)",
                              type),
                  name);
    }
    report_type = config_.shadowserver->Find(type);
    if (!report_type) {
      return Fail(
          fmt::format("report type '{}': neither a Shadowserver report type nor a mapping", type),
          name);
    }
  }
  if (!mapping && !report_type) {
    if (config_.shadowserver) report_type = config_.shadowserver->ForPath(name);
    if (!report_type) mapping = MappingFor(config_.mappings, text.Head());
  }
  if (mapping || report_type) {
    auto rows = CountRows(text, mapping ? mapping->delimiter : ',', budget.rows);
    if (!rows) return Fail(rows.error().message, name);
    if (*rows > budget.rows) {
      return Fail(fmt::format("more than {} rows (reports.limits.max_rows): nothing of the report "
                              "was taken",
                              config_.limits.max_rows),
                  name);
    }
    budget.rows -= *rows;
  }
  ReportSummary summary;
  if (mapping) {
    CsvReader reader = text.Reader(mapping->delimiter);
    auto rows =
        ForEachMappedRow(reader, *mapping, name, input.received, sink.finding, sink.rejected);
    if (!rows) return tl::unexpected(rows.error());
    summary.format = "mapping:" + mapping->name;
    summary.detail = mapping->feed;
    summary.items = *rows;
    return summary;
  }
  if (report_type) {
    CsvReader reader = text.Reader();
    auto rows = ForEachShadowserverRow(reader, *report_type, name, input.received, sink.finding,
                                       sink.rejected);
    if (!rows) return tl::unexpected(rows.error());
    summary.format = "shadowserver";
    summary.detail = report_type->name;
    summary.items = *rows;
    return summary;
  }
  std::vector<std::string> header = CsvHeader(text.Head());
  std::string columns;
  for (size_t i = 0; i < header.size() && i < 8; ++i) columns += (i ? "," : "") + header[i];
  return Fail(fmt::format("unknown report: {}no mapping recognises the columns ({}{}); give "
                          "--type",
                          config_.shadowserver ? "the name names no Shadowserver report type, "
                                               : "no Shadowserver schema configured, ",
                          columns, header.size() > 8 ? ",..." : ""),
              name);
}

Result<ReportSummary> ReportReader::ReadMail(std::string_view bytes, const ReportInput& input,
                                             const ReportSink& sink, Budget& budget) const {
  auto message = mail::Parse(bytes, {config_.gnupg_home});
  if (!message) return Fail(message.error().message, input.name);
  ReportSummary summary;
  summary.format = "mail";
  summary.signature = message->signature;
  for (const std::string& problem : message->problems) summary.notes.push_back("MIME: " + problem);
  std::string cb_id = CertBundId(message->subject);
  // Every finding of a mail names the mail, the CERT-Bund report and the signature verdict.
  ReportSink signed_sink = sink;
  signed_sink.finding = [&sink, &message, &cb_id](model::Finding finding) {
    if (!message->message_id.empty()) {
      finding.fields["extra.report.message_id"] = message->message_id;
    }
    if (!cb_id.empty()) finding.fields["extra.report.id"] = "CB-Report#" + cb_id;
    if (message->signature.verdict != mail::SignatureCheck::Verdict::kUnsigned) {
      finding.fields["extra.report.signature"] = mail::VerdictName(message->signature.verdict);
      if (!message->signature.fingerprint.empty()) {
        finding.fields["extra.report.signer"] = message->signature.fingerprint;
      }
    }
    sink.finding(std::move(finding));
  };
  std::string where = input.name;
  if (IsArf(*message)) {
    auto part = ReadSingle(ReadArf(*message), "arf", input, signed_sink);
    if (!part) return part;
    Merge(summary, *part);
    return summary;
  }
  std::vector<std::string> skipped;
  bool read_any = false;
  std::optional<Error> limit_error;  // a part beyond the limits rejects the whole mail
  auto read_csv = [&](const CsvText& text, const std::string& part_name) {
    auto part = ReadCsv(text, part_name, "", input, signed_sink, budget);
    if (!part) {
      if (!limit_error && part.error().message.find("reports.limits.") != std::string::npos) {
        limit_error = part.error();
      }
      skipped.push_back(part.error().ToString());
      return;
    }
    if (part->format == "shadowserver") part->format = "shadowserver-mail";
    Merge(summary, *part);
    read_any = true;
  };
  for (const mail::Part& part : message->parts) {
    if (limit_error) return tl::unexpected(*limit_error);
    if (part.in_attached_message) continue;
    std::string part_name =
        where + ":" + (part.filename.empty() ? part.content_type : part.filename);
    bool zip = EndsWithIgnoreCase(part.filename, ".zip") || part.content_type == "application/zip";
    if (zip) {
      // Entries are read as streams: measured once for the bounds, then counted and read,
      // never held whole.
      auto archive =
          mail::ZipArchive::Open(part.data, budget.unpacked_bytes, config_.limits.max_ratio);
      if (!archive) {
        if (archive.error().message.find("unpacks to more") != std::string::npos) {
          return Fail(fmt::format("{} (reports.limits.max_unpacked_bytes {}, max_ratio {}): "
                                  "nothing of the report was taken",
                                  archive.error().message, config_.limits.max_unpacked_bytes,
                                  config_.limits.max_ratio),
                      part_name);
        }
        skipped.push_back(part_name + ": " + archive.error().message);
        continue;
      }
      const auto& entries = (*archive)->entries();
      for (const auto& entry : entries) budget.unpacked_bytes -= entry.size;
      for (size_t i = 0; i < entries.size(); ++i) {
        const mail::ZipArchive& zip = **archive;
        read_csv(CsvText{{}, [&zip, i] { return zip.Read(i); }}, entries[i].name);
        if (limit_error) return tl::unexpected(*limit_error);
      }
    } else if (EndsWithIgnoreCase(part.filename, ".csv") || part.content_type == "text/csv") {
      read_csv(CsvText{part.text.empty() ? part.data : part.text, {}},
               part.filename.empty() ? part_name : part.filename);
    } else if (part.content_type == "application/json" ||
               EndsWithIgnoreCase(part.filename, ".json")) {
      auto read =
          ReadSingle(ReadXarfJson(part.data, config_.xarf.get()), "xarf-json", input, signed_sink);
      if (!read) {
        skipped.push_back(part_name + ": " + read.error().message);
        continue;
      }
      Merge(summary, *read);
      read_any = true;
    } else if (part.content_type.starts_with("text/") && LooksLikeXarfYaml(part.text)) {
      auto read = ReadSingle(ReadXarfYaml(part.text), "x-arf", input, signed_sink);
      if (!read) {
        skipped.push_back(part_name + ": " + read.error().message);
        continue;
      }
      Merge(summary, *read);
      read_any = true;
    } else if (!cb_id.empty() && part.content_type == "text/plain") {
      std::string_view block = InlineCsv(part.text, config_.mappings);
      if (!block.empty()) read_csv(CsvText{block, {}}, part_name + " (inline CSV)");
    }
  }
  if (limit_error) return tl::unexpected(*limit_error);
  if (!cb_id.empty() && read_any) {
    summary.format = "cert-bund";
    summary.detail = "CB-Report#" + cb_id;
  }
  if (!read_any) {
    std::string reason =
        "no report in the mail: no ARF part, no X-ARF part, no XARF, CSV or "
        "zipped CSV attachment that a reader takes";
    if (!cb_id.empty()) reason = "CERT-Bund mail CB-Report#" + cb_id + " without a readable CSV";
    for (const std::string& detail : skipped) reason += "; " + detail;
    return Fail(reason, where);
  }
  for (const std::string& detail : skipped) summary.notes.push_back("skipped " + detail);
  return summary;
}

}  // namespace bulwark::abuse
