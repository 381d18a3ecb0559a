#pragma once
// The Sigma rule model: detection rules, correlation rules and filters, as parsed from YAML and
// checked against the Sigma specification (../shared/sigma/spec). No matching happens here; the
// detect module compiles these into a RuleSet.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bulwark/core/result.h"

namespace bulwark::sigma {

enum class Modifier : uint8_t {
  kContains,
  kStartsWith,
  kEndsWith,
  kAll,
  kBase64,
  kBase64Offset,
  kUtf16Le,
  kUtf16Be,
  kUtf16,
  kWindash,
  kRe,
  kReI,
  kReM,
  kReS,
  kCidr,
  kExists,
  kCased,
  kNeq,
  kLt,
  kLte,
  kGt,
  kGte,
  kFieldRef,
  kExpand,
  kMinute,
  kHour,
  kDay,
  kWeek,
  kMonth,
  kYear
};

// A value in a detection item. Strings keep Sigma's escapes (\* \? \\) for the compiler.
struct Value {
  enum class Kind : uint8_t { kString, kNumber, kBool, kNull };
  Kind kind = Kind::kString;
  std::string text;
};

// "field|mod|mod: value(s)" or a keyword list entry (field empty).
struct DetectionItem {
  std::string field;  // empty for keywords
  std::vector<Modifier> modifiers;
  std::vector<Value> values;
  std::string where;  // file:line:column
};

// A named search identifier: alternatives (OR) of item groups (AND).
struct SearchIdentifier {
  std::vector<std::vector<DetectionItem>> alternatives;
};

// Condition expression tree over search identifiers.
struct ConditionNode {
  enum class Kind : uint8_t { kIdentifier, kAnd, kOr, kNot, kOneOf, kAllOf };
  Kind kind = Kind::kIdentifier;
  std::string name;  // identifier, or pattern for kOneOf/kAllOf (already expanded into children)
  std::vector<std::unique_ptr<ConditionNode>> children;
};

struct LogSource {
  std::string product, category, service;
};

struct Rule {
  std::string title, id, name, status, level, description, author;
  std::vector<std::string> tags;
  LogSource logsource;
  std::map<std::string, SearchIdentifier> detection;
  std::vector<std::unique_ptr<ConditionNode>> conditions;  // OR of all listed conditions
  std::string where;                                       // file:line
};

enum class CorrelationType : uint8_t { kEventCount, kValueCount, kTemporal, kTemporalOrdered };

struct CountCondition {
  std::optional<int64_t> gt, gte, lt, lte, eq, neq;
  std::string field;  // value_count only
  bool Holds(int64_t count) const;
};

struct Correlation {
  std::string title, id, name, status, level, description;
  std::vector<std::string> tags;
  CorrelationType type = CorrelationType::kEventCount;
  std::vector<std::string> rules;     // ids or names of referenced rules / correlations
  std::vector<std::string> group_by;  // field names or alias names
  // alias -> (rule id or name -> field)
  std::map<std::string, std::map<std::string, std::string>> aliases;
  int64_t timespan_ns = 0;
  CountCondition condition;
  bool generate = false;
  std::string where;
};

struct Filter {
  std::string title, id, name;
  std::vector<std::string> rules;  // ids or names it applies to; empty = all matching logsource
  LogSource logsource;
  std::map<std::string, SearchIdentifier> detection;
  std::vector<std::unique_ptr<ConditionNode>> conditions;
  std::string where;
};

using Document = std::variant<Rule, Correlation, Filter>;

// A rule file that could not be used: where, which rule id (if known) and why.
struct Rejection {
  std::string where;
  std::string rule_id;
  std::string reason;
  std::string ToString() const;
};

// Parses every YAML document of a rule file. Documents that fail are reported as rejections;
// the others are returned. `name` is used in locations. Multi-document files whose later
// documents are partial ("action: repeat"/global) are not supported and are rejected.
struct ParsedFile {
  std::vector<Document> documents;
  std::vector<Rejection> rejections;
};
ParsedFile ParseRuleFile(std::string_view yaml, const std::string& name);

// Parses a condition expression against the identifiers of a detection. Errors name the offset.
Result<std::unique_ptr<ConditionNode>> ParseCondition(
    std::string_view text, const std::map<std::string, SearchIdentifier>& detection);

}  // namespace bulwark::sigma
