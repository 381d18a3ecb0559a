#pragma once
// Translation of Sigma field names to event fields, and routing of rule log sources to events.
// Both are data (YAML); built-in defaults ship in the binary (data/field-map.yml,
// data/logsources.yml).

#include <map>
#include <string>
#include <vector>

#include "bulwark/core/result.h"

namespace bulwark::detect {

struct FieldMap {
  // Sigma name -> event field paths, tried in order (one per event shape, e.g. Winlogbeat's
  // winlog.channel and an EVTX export's Event.System.Channel).
  std::map<std::string, std::vector<std::string>> fields;
  std::vector<std::string> prefixes;  // tried for names neither mapped nor present
  // Values for the `expand` modifier's %placeholders%.
  std::map<std::string, std::vector<std::string>> placeholders;

  // Parses the field-map YAML (keys: fields, prefixes, placeholders). Errors carry file:line:col.
  // A map that names nothing (no fields and no prefixes) is an error.
  static Result<FieldMap> Parse(std::string_view yaml, const std::string& name);
  // The built-in map.
  static const FieldMap& Builtin();
  // Event field candidates for a Sigma field name, in the order they are tried: the mapped
  // fields, the name as written, then each prefix + name. The first one present in an event is
  // the one matched.
  std::vector<std::string> Resolve(const std::string& sigma_name) const;
};

// Which events a rule with a given logsource applies to: every route whose `match` keys all equal
// the rule's logsource adds its condition: one of its alternatives holds, an alternative being a
// list of fields each equal to one of its values (as Sigma values: case-insensitive, wildcards).
// Field names are resolved through the field map, as the rules' are.
struct LogSourceRoute {
  using Condition = std::vector<std::pair<std::string, std::vector<std::string>>>;
  std::string product, category, service;  // empty = any
  std::vector<Condition> alternatives;     // `when` (one) or `when_any` (several)
};

struct LogSourceRouting {
  std::vector<LogSourceRoute> routes;
  static Result<LogSourceRouting> Parse(std::string_view yaml, const std::string& name);
  static const LogSourceRouting& Builtin();
};

}  // namespace bulwark::detect
