#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "bulwark/core/strings.h"
#include "bulwark/core/time.h"
#include "bulwark/sigma/rule.h"

namespace bulwark::sigma {

std::string Rejection::ToString() const {
  return fmt::format("{}: rule {}: {}", where, rule_id.empty() ? "(no id)" : rule_id, reason);
}

bool CountCondition::Holds(int64_t count) const {
  if (gt && !(count > *gt)) return false;
  if (gte && !(count >= *gte)) return false;
  if (lt && !(count < *lt)) return false;
  if (lte && !(count <= *lte)) return false;
  if (eq && count != *eq) return false;
  if (neq && count == *neq) return false;
  return true;
}

namespace {

// Thrown inside this file only and turned into a Rejection per document.
struct ParseError {
  std::string where;
  std::string reason;
};

class DocumentParser {
 public:
  // `first_line` is the 0-based line of the document within its file.
  DocumentParser(const std::string& name, int first_line) : name_(name), first_line_(first_line) {}

  std::string Where(const YAML::Node& node) const {
    YAML::Mark mark = node.Mark();
    if (mark.line < 0) return name_;
    return fmt::format("{}:{}:{}", name_, first_line_ + mark.line + 1, mark.column + 1);
  }

  [[noreturn]] void Error(const YAML::Node& node, std::string reason) const {
    throw ParseError{Where(node), std::move(reason)};
  }

  std::string Scalar(const YAML::Node& node, std::string_view what) const {
    if (!node.IsScalar()) Error(node, fmt::format("'{}' must be a string", what));
    return node.Scalar();
  }

  std::vector<std::string> Strings(const YAML::Node& node, std::string_view what) const {
    std::vector<std::string> out;
    if (!node) return out;
    if (node.IsScalar()) {
      out.push_back(node.Scalar());
    } else if (node.IsSequence()) {
      for (const auto& item : node) out.push_back(Scalar(item, what));
    } else if (!node.IsNull()) {
      Error(node, fmt::format("'{}' must be a string or a list of strings", what));
    }
    return out;
  }

  static std::optional<Modifier> ModifierFromName(std::string_view name) {
    static const std::pair<std::string_view, Modifier> kNames[] = {
        {"contains", Modifier::kContains},
        {"startswith", Modifier::kStartsWith},
        {"endswith", Modifier::kEndsWith},
        {"all", Modifier::kAll},
        {"base64", Modifier::kBase64},
        {"base64offset", Modifier::kBase64Offset},
        {"utf16le", Modifier::kUtf16Le},
        {"wide", Modifier::kUtf16Le},
        {"utf16be", Modifier::kUtf16Be},
        {"utf16", Modifier::kUtf16},
        {"windash", Modifier::kWindash},
        {"re", Modifier::kRe},
        {"i", Modifier::kReI},
        {"m", Modifier::kReM},
        {"s", Modifier::kReS},
        {"cidr", Modifier::kCidr},
        {"exists", Modifier::kExists},
        {"cased", Modifier::kCased},
        {"neq", Modifier::kNeq},
        {"lt", Modifier::kLt},
        {"lte", Modifier::kLte},
        {"gt", Modifier::kGt},
        {"gte", Modifier::kGte},
        {"fieldref", Modifier::kFieldRef},
        {"expand", Modifier::kExpand},
        {"minute", Modifier::kMinute},
        {"hour", Modifier::kHour},
        {"day", Modifier::kDay},
        {"week", Modifier::kWeek},
        {"month", Modifier::kMonth},
        {"year", Modifier::kYear},
    };
    for (const auto& [text, modifier] : kNames) {
      if (name == text) return modifier;
    }
    return std::nullopt;
  }

  // Bounds the size of one document: YAML aliases can expand a few kilobytes of text into
  // millions of values.
  void Count(const YAML::Node& node) const {
    constexpr size_t kMaxValues = 100000;
    if (++values_seen_ > kMaxValues) {
      Error(node, fmt::format("rule too large (more than {} values)", kMaxValues));
    }
  }

  Value ParseValue(const YAML::Node& node) const {
    Count(node);
    Value value;
    if (node.IsNull()) {
      value.kind = Value::Kind::kNull;
      return value;
    }
    if (!node.IsScalar()) Error(node, "a value must be a string, number, boolean or null");
    value.text = node.Scalar();
    if (node.Tag() == "?") {  // plain (unquoted) scalar: may be a number or boolean
      if (ParseDouble(value.text)) {
        value.kind = Value::Kind::kNumber;
      } else if (value.text == "true" || value.text == "false") {
        value.kind = Value::Kind::kBool;
      }
    }
    return value;
  }

  DetectionItem ParseItem(const YAML::Node& key, const YAML::Node& values) const {
    Count(key);
    DetectionItem item;
    item.where = Where(key);
    std::vector<std::string_view> parts = Split(key.Scalar(), '|');
    item.field = std::string(parts[0]);
    bool seen_re = false;
    for (size_t i = 1; i < parts.size(); ++i) {
      auto modifier = ModifierFromName(parts[i]);
      if (!modifier) Error(key, fmt::format("unknown modifier '{}'", parts[i]));
      bool re_flag =
          *modifier == Modifier::kReI || *modifier == Modifier::kReM || *modifier == Modifier::kReS;
      if (re_flag && !seen_re) {
        Error(key, fmt::format("modifier '{}' is only valid after 're'", parts[i]));
      }
      if (*modifier == Modifier::kRe) seen_re = true;
      item.modifiers.push_back(*modifier);
    }
    if (values.IsSequence()) {
      for (const auto& v : values) item.values.push_back(ParseValue(v));
      if (item.values.empty()) Error(values, "empty value list");
    } else {
      item.values.push_back(ParseValue(values));
    }
    return item;
  }

  SearchIdentifier ParseSearch(const YAML::Node& node) const {
    SearchIdentifier search;
    if (node.IsMap()) {
      std::vector<DetectionItem> items;
      for (const auto& kv : node) items.push_back(ParseItem(kv.first, kv.second));
      if (items.empty()) Error(node, "empty selection");
      search.alternatives.push_back(std::move(items));
    } else if (node.IsSequence()) {
      bool maps = false;
      bool scalars = false;
      for (const auto& element : node) {
        if (element.IsMap()) {
          maps = true;
        } else if (element.IsScalar() || element.IsNull()) {
          scalars = true;
        } else {
          Error(element, "a selection list holds maps or plain values");
        }
      }
      if (maps && scalars) Error(node, "a selection list mixes maps and plain values");
      if (maps) {
        for (const auto& element : node) {
          std::vector<DetectionItem> items;
          for (const auto& kv : element) items.push_back(ParseItem(kv.first, kv.second));
          search.alternatives.push_back(std::move(items));
        }
      } else {
        DetectionItem keywords;
        keywords.where = Where(node);
        for (const auto& element : node) keywords.values.push_back(ParseValue(element));
        if (keywords.values.empty()) Error(node, "empty keyword list");
        search.alternatives.push_back({std::move(keywords)});
      }
    } else if (node.IsScalar()) {
      DetectionItem keywords;
      keywords.where = Where(node);
      keywords.values.push_back(ParseValue(node));
      search.alternatives.push_back({std::move(keywords)});
    } else {
      Error(node, "a search identifier must be a map or a list");
    }
    return search;
  }

  void ParseDetection(const YAML::Node& node, std::map<std::string, SearchIdentifier>& detection,
                      std::vector<std::unique_ptr<ConditionNode>>& conditions,
                      bool is_filter) const {
    if (!node || !node.IsMap())
      Error(node, is_filter ? "'filter' must be a map" : "missing 'detection' map");
    YAML::Node condition;
    for (const auto& kv : node) {
      std::string key = kv.first.Scalar();
      if (key == "condition") {
        condition = kv.second;
      } else if (key == "timeframe") {
        // Legacy aggregation window; only meaningful with the obsolete "| count()" syntax.
      } else if (is_filter && key == "rules") {
        // Handled by the caller.
      } else {
        detection.emplace(key, ParseSearch(kv.second));
      }
    }
    if (!condition) Error(node, "missing 'condition'");
    for (const std::string& text : Strings(condition, "condition")) {
      if (text.find('|') != std::string::npos) {
        Error(condition,
              "aggregation in the condition ('| count() ...') is obsolete Sigma; use a correlation "
              "rule");
      }
      auto parsed = ParseCondition(text, detection);
      if (!parsed) Error(condition, parsed.error().message);
      conditions.push_back(std::move(*parsed));
    }
  }

  LogSource ParseLogSource(const YAML::Node& node) const {
    LogSource source;
    if (!node) return source;
    if (!node.IsMap()) Error(node, "'logsource' must be a map");
    if (node["product"]) source.product = Scalar(node["product"], "product");
    if (node["category"]) source.category = Scalar(node["category"], "category");
    if (node["service"]) source.service = Scalar(node["service"], "service");
    return source;
  }

  template <typename T>
  void ParseMeta(const YAML::Node& doc, T& target) const {
    if (!doc["title"]) Error(doc, "missing 'title'");
    target.title = Scalar(doc["title"], "title");
    if (doc["id"]) target.id = Scalar(doc["id"], "id");
    if (doc["name"]) target.name = Scalar(doc["name"], "name");
  }

  Rule ParseRule(const YAML::Node& doc) const {
    Rule rule;
    rule.where = Where(doc);
    ParseMeta(doc, rule);
    if (doc["status"]) rule.status = Scalar(doc["status"], "status");
    if (doc["level"]) rule.level = Scalar(doc["level"], "level");
    if (doc["description"]) rule.description = Scalar(doc["description"], "description");
    if (doc["author"]) rule.author = Scalar(doc["author"], "author");
    if (doc["tags"]) rule.tags = Strings(doc["tags"], "tags");
    rule.logsource = ParseLogSource(doc["logsource"]);
    ParseDetection(doc["detection"], rule.detection, rule.conditions, false);
    return rule;
  }

  Correlation ParseCorrelation(const YAML::Node& doc) const {
    Correlation corr;
    corr.where = Where(doc);
    ParseMeta(doc, corr);
    if (doc["status"]) corr.status = Scalar(doc["status"], "status");
    if (doc["level"]) corr.level = Scalar(doc["level"], "level");
    if (doc["description"]) corr.description = Scalar(doc["description"], "description");
    if (doc["tags"]) corr.tags = Strings(doc["tags"], "tags");
    if (doc["generate"]) corr.generate = doc["generate"].as<bool>(false);
    const YAML::Node& c = doc["correlation"];
    if (!c.IsMap()) Error(c, "'correlation' must be a map");
    std::string type = c["type"] ? Scalar(c["type"], "type") : "";
    if (type == "event_count") {
      corr.type = CorrelationType::kEventCount;
    } else if (type == "value_count") {
      corr.type = CorrelationType::kValueCount;
    } else if (type == "temporal") {
      corr.type = CorrelationType::kTemporal;
    } else if (type == "temporal_ordered") {
      corr.type = CorrelationType::kTemporalOrdered;
    } else if (type == "value_sum" || type == "value_avg" || type == "value_percentile") {
      Error(c["type"], fmt::format("correlation type '{}' is not supported yet", type));
    } else {
      Error(c, fmt::format("unknown correlation type '{}'", type));
    }
    if (c["generate"]) corr.generate = c["generate"].as<bool>(false);
    corr.rules = Strings(c["rules"], "rules");
    if (corr.rules.empty()) Error(c, "correlation needs 'rules'");
    corr.group_by = Strings(c["group-by"], "group-by");
    if (!c["timespan"]) Error(c, "correlation needs 'timespan'");
    auto span = ParseTimespan(Scalar(c["timespan"], "timespan"));
    if (!span) Error(c["timespan"], "timespan must be a number and one of s, m, h, d");
    corr.timespan_ns = *span;
    if (const YAML::Node& aliases = c["aliases"]) {
      if (!aliases.IsMap()) Error(aliases, "'aliases' must be a map");
      for (const auto& alias : aliases) {
        if (!alias.second.IsMap()) Error(alias.second, "an alias maps rule names to fields");
        for (const auto& kv : alias.second) {
          corr.aliases[alias.first.Scalar()][kv.first.Scalar()] = Scalar(kv.second, "alias field");
        }
      }
    }
    const YAML::Node& condition = c["condition"];
    bool temporal =
        corr.type == CorrelationType::kTemporal || corr.type == CorrelationType::kTemporalOrdered;
    if (!condition) {
      if (!temporal) Error(c, "correlation needs a 'condition'");
      corr.condition.gte = static_cast<int64_t>(corr.rules.size());
    } else {
      if (!condition.IsMap()) Error(condition, "'condition' must be a map such as {gte: 10}");
      for (const auto& kv : condition) {
        std::string op = kv.first.Scalar();
        if (op == "field") {
          corr.condition.field = Scalar(kv.second, "field");
          continue;
        }
        auto number = ParseInt(Scalar(kv.second, op));
        if (!number) Error(kv.second, fmt::format("'{}' needs an integer", op));
        if (op == "gt")
          corr.condition.gt = number;
        else if (op == "gte")
          corr.condition.gte = number;
        else if (op == "lt")
          corr.condition.lt = number;
        else if (op == "lte")
          corr.condition.lte = number;
        else if (op == "eq")
          corr.condition.eq = number;
        else if (op == "neq")
          corr.condition.neq = number;
        else
          Error(kv.first, fmt::format("unknown condition operator '{}'", op));
      }
      if (corr.type == CorrelationType::kValueCount && corr.condition.field.empty()) {
        Error(condition, "value_count needs 'field' in its condition");
      }
    }
    return corr;
  }

  Filter ParseFilter(const YAML::Node& doc) const {
    Filter filter;
    filter.where = Where(doc);
    ParseMeta(doc, filter);
    filter.logsource = ParseLogSource(doc["logsource"]);
    const YAML::Node& body = doc["filter"];
    if (!body.IsMap()) Error(body, "'filter' must be a map");
    filter.rules = Strings(body["rules"], "rules");
    ParseDetection(body, filter.detection, filter.conditions, true);
    return filter;
  }

  const std::string& name_;
  int first_line_;
  mutable size_t values_seen_ = 0;  // per document
};

// The documents of a multi-document YAML file with the line each starts on. Split by hand on
// "---" lines: yaml-cpp's LoadAll never returns on some malformed input (found by fuzzing), while
// a single Load always does.
std::vector<std::pair<std::string_view, int>> SplitDocuments(std::string_view yaml) {
  std::vector<std::pair<std::string_view, int>> documents;
  size_t start = 0;
  int start_line = 0;
  int line = 0;
  size_t pos = 0;
  while (pos <= yaml.size()) {
    size_t end = yaml.find('\n', pos);
    if (end == std::string_view::npos) end = yaml.size();
    std::string_view text = yaml.substr(pos, end - pos);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    bool marker =
        text.starts_with("---") && (text.size() == 3 || text[3] == ' ' || text[3] == '\t');
    if (marker) {
      documents.emplace_back(yaml.substr(start, pos - start), start_line);
      // The marker line may carry content ("--- title: x" is rare); keep it with the document.
      start = pos + 3;
      start_line = line;
    }
    pos = end + 1;
    ++line;
  }
  documents.emplace_back(yaml.substr(std::min(start, yaml.size())), start_line);
  return documents;
}

}  // namespace

ParsedFile ParseRuleFile(std::string_view yaml, const std::string& name) {
  ParsedFile result;
  for (const auto& [text, first_line] : SplitDocuments(yaml)) {
    YAML::Node doc;
    try {
      doc = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      std::string where =
          e.mark.line < 0
              ? name
              : fmt::format("{}:{}:{}", name, first_line + e.mark.line + 1, e.mark.column + 1);
      result.rejections.push_back(Rejection{where, "", "YAML error: " + e.msg});
      continue;
    }
    if (doc.IsNull()) continue;
    DocumentParser parser(name, first_line);
    std::string id;
    try {
      if (!doc.IsMap()) parser.Error(doc, "a rule document must be a map");
      if (doc["id"] && doc["id"].IsScalar()) id = doc["id"].Scalar();
      if (doc["correlation"]) {
        result.documents.emplace_back(parser.ParseCorrelation(doc));
      } else if (doc["filter"]) {
        result.documents.emplace_back(parser.ParseFilter(doc));
      } else {
        if (doc["action"]) parser.Error(doc, "rule collections with 'action' are not supported");
        result.documents.emplace_back(parser.ParseRule(doc));
      }
    } catch (const ParseError& e) {
      result.rejections.push_back(Rejection{e.where, id, e.reason});
    } catch (const YAML::Exception& e) {
      result.rejections.push_back(Rejection{parser.Where(doc), id, "YAML error: " + e.msg});
    }
  }
  return result;
}

}  // namespace bulwark::sigma
