#include "bulwark/abuse/csv_mapping.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <unordered_map>

#include "bulwark/core/csv.h"
#include "bulwark/core/strings.h"
#include "bulwark/data/embedded.h"
#include "bulwark/finding/intelmq.h"
#include "common.h"

namespace bulwark::abuse {
namespace {

std::string Where(const std::string& where, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) return where;
  return fmt::format("{}:{}:{}", where, mark.line + 1, mark.column + 1);
}

// Replaces each "{column}" by the row's value; false when a named column is not in the row or
// empty (the field is then left out).
bool Expand(std::string_view pattern, const std::unordered_map<std::string, std::string>& row,
            std::string& out) {
  out.clear();
  size_t pos = 0;
  while (pos < pattern.size()) {
    size_t open = pattern.find('{', pos);
    if (open == std::string_view::npos) {
      out.append(pattern.substr(pos));
      break;
    }
    size_t close = pattern.find('}', open);
    if (close == std::string_view::npos) {
      out.append(pattern.substr(pos));
      break;
    }
    out.append(pattern.substr(pos, open - pos));
    auto cell = row.find(std::string(pattern.substr(open + 1, close - open - 1)));
    if (cell == row.end() || Trim(cell->second).empty()) return false;
    out.append(Trim(cell->second));
    pos = close + 1;
  }
  return true;
}

// A field's value as a pattern: a bare column name means "{column}".
std::string AsPattern(const std::string& value) {
  return value.find('{') == std::string::npos ? "{" + value + "}" : value;
}

// The column a field reads: the value itself, or the columns its "{...}" placeholders name.
std::vector<std::string> ColumnsOf(const std::string& value) {
  if (value.find('{') == std::string::npos) return {value};
  std::vector<std::string> columns;
  size_t pos = 0;
  while ((pos = value.find('{', pos)) != std::string::npos) {
    size_t close = value.find('}', pos);
    if (close == std::string::npos) break;
    columns.push_back(value.substr(pos + 1, close - pos - 1));
    pos = close + 1;
  }
  return columns;
}

}  // namespace

bool CsvMapping::Recognises(const std::vector<std::string>& header) const {
  std::set<std::string_view> present(header.begin(), header.end());
  for (const std::string& column : columns) {
    if (!present.count(column)) return false;
  }
  return !columns.empty();
}

Result<CsvMapping> ParseCsvMapping(std::string_view yaml, const std::string& where) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& error) {
    return Fail(error.msg,
                fmt::format("{}:{}:{}", where, error.mark.line + 1, error.mark.column + 1));
  }
  if (!root.IsMap())
    return Fail("a mapping file is a YAML map (name, feed, columns, fields)", where);
  CsvMapping mapping;
  static const std::set<std::string> known = {
      "name", "feed", "columns", "fields", "classification", "delimiter", "other_columns"};
  try {
    for (const auto& entry : root) {
      std::string key = entry.first.as<std::string>();
      if (!known.count(key)) {
        return Fail("unknown key '" + key +
                        "' (name, feed, columns, delimiter, classification, "
                        "fields, other_columns)",
                    Where(where, entry.first));
      }
    }
    mapping.name = root["name"] ? root["name"].as<std::string>() : "";
    mapping.feed = root["feed"] ? root["feed"].as<std::string>() : "";
    if (mapping.name.empty()) return Fail("'name' is missing", where);
    if (mapping.feed.empty()) return Fail("'feed' is missing", where);
    if (root["columns"]) mapping.columns = root["columns"].as<std::vector<std::string>>();
    if (root["delimiter"]) {
      std::string delimiter = root["delimiter"].as<std::string>();
      if (delimiter == "\\t") delimiter = "\t";
      if (delimiter.size() != 1) {
        return Fail("'delimiter' is one character", Where(where, root["delimiter"]));
      }
      mapping.delimiter = delimiter[0];
    }
    if (root["other_columns"]) {
      std::string other = root["other_columns"].as<std::string>();
      if (other != "extra" && other != "drop") {
        return Fail("'other_columns' is extra or drop", Where(where, root["other_columns"]));
      }
      mapping.keep_other_columns = other == "extra";
    }
    if (root["classification"]) {
      for (const auto& entry : root["classification"]) {
        std::string key = entry.first.as<std::string>();
        if (key != "type" && key != "taxonomy" && key != "identifier") {
          return Fail("classification takes type, taxonomy and identifier, not '" + key + "'",
                      Where(where, entry.first));
        }
        mapping.classification[key] = entry.second.as<std::string>();
      }
    }
    if (!mapping.classification.count("type")) {
      return Fail("classification.type is missing", where);
    }
    if (!root["fields"] || !root["fields"].IsMap()) {
      return Fail("'fields' (harmonized key -> column) is missing", where);
    }
    for (const auto& entry : root["fields"]) {
      mapping.fields[entry.first.as<std::string>()] = entry.second.as<std::string>();
    }
  } catch (const YAML::Exception& error) {
    return Fail(error.msg,
                fmt::format("{}:{}:{}", where, error.mark.line + 1, error.mark.column + 1));
  }
  for (const char* essential : {"source.ip", "time.source"}) {
    if (!mapping.fields.count(essential)) {
      return Fail(std::string("fields: '") + essential + "' is missing", where);
    }
  }
  return mapping;
}

const std::vector<CsvMapping>& BuiltinCsvMappings() {
  static const std::vector<CsvMapping> mappings = [] {
    std::vector<CsvMapping> out;
    for (const auto& file : data::EmbeddedUnder("abuse/mappings/")) {
      auto mapping = ParseCsvMapping(file.content, std::string(file.path));
      if (!mapping) throw std::logic_error("built-in mapping: " + mapping.error().ToString());
      out.push_back(std::move(*mapping));
    }
    return out;
  }();
  return mappings;
}

std::vector<std::string> CsvHeader(std::string_view text, char delimiter) {
  CsvReader reader(text, delimiter);
  std::vector<std::string> header;
  if (!reader.Next(header)) return {};
  for (auto& column : header) column = std::string(Trim(column));
  return header;
}

Result<size_t> ForEachMappedRow(std::string_view text, const CsvMapping& mapping,
                                const std::string& name, TimeNs received,
                                const std::function<void(model::Finding)>& finding,
                                const std::function<void(Error)>& rejected) {
  CsvReader reader(text, mapping.delimiter);
  return ForEachMappedRow(reader, mapping, name, received, finding, rejected);
}

Result<size_t> ForEachMappedRow(CsvReader& reader, const CsvMapping& mapping,
                                const std::string& name, TimeNs received,
                                const std::function<void(model::Finding)>& finding,
                                const std::function<void(Error)>& rejected) {
  std::vector<std::string> header;
  if (!reader.Next(header)) return Fail("no header line", name);
  for (auto& column : header) column = std::string(Trim(column));
  std::set<std::string> present(header.begin(), header.end());
  std::set<std::string> mapped;
  for (const auto& [key, value] : mapping.fields) {
    for (const std::string& column : ColumnsOf(value)) {
      mapped.insert(column);
      if ((key == "source.ip" || key == "time.source") && !present.count(column)) {
        return Fail(fmt::format("the header has no column '{}' (for {}, mapping {})", column, key,
                                mapping.name),
                    name);
      }
    }
  }
  size_t rows = 0;
  std::vector<std::string> cells;
  std::unordered_map<std::string, std::string> row;
  std::string value;
  while (reader.Next(cells)) {
    ++rows;
    std::string where = fmt::format("{}:{}", name, reader.line());
    if (cells.size() != header.size()) {
      rejected(Error{fmt::format("{} columns where the header has {}", cells.size(), header.size()),
                     where});
      continue;
    }
    row.clear();
    for (size_t i = 0; i < header.size(); ++i) row[header[i]] = cells[i];
    finding::HarmonizedFields keys;
    keys["feed.name"] = mapping.feed;
    for (const auto& [key, pattern] : mapping.classification) {
      if (Expand(pattern, row, value)) keys["classification." + key] = value;
    }
    if (!Expand(AsPattern(mapping.fields.at("time.source")), row, value)) {
      rejected(Error{"time.source: empty", where});
      continue;
    }
    auto time = ParseReportTime(value);
    if (!time) {
      rejected(Error{fmt::format("time.source: '{}' is not a time", value), where});
      continue;
    }
    keys["time.source"] = FormatTimestamp(*time);
    for (const auto& [key, pattern] : mapping.fields) {
      if (key != "time.source" && Expand(AsPattern(pattern), row, value)) keys[key] = value;
    }
    if (mapping.keep_other_columns) {
      for (size_t i = 0; i < header.size(); ++i) {
        if (mapped.count(header[i]) || Trim(cells[i]).empty()) continue;
        keys["extra." + header[i]] = std::string(Trim(cells[i]));
      }
    }
    EmitRow(std::move(keys), header, cells, received, where, finding, rejected);
  }
  if (!reader.error().empty()) return Fail(reader.error(), name);
  return rows;
}

}  // namespace bulwark::abuse
