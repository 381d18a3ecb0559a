#include "bulwark/detect/field_map.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "bulwark/data/embedded.h"

namespace bulwark::detect {

namespace {
std::string Where(const std::string& name, const YAML::Mark& mark) {
  if (mark.line < 0) return name;
  return fmt::format("{}:{}:{}", name, mark.line + 1, mark.column + 1);
}

Result<YAML::Node> LoadYaml(std::string_view yaml, const std::string& name) {
  try {
    return YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Fail(e.msg, Where(name, e.mark));
  }
}

std::vector<std::string> ScalarList(const YAML::Node& node) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (item.IsScalar()) out.push_back(item.Scalar());
    }
  }
  return out;
}
}  // namespace

Result<FieldMap> FieldMap::Parse(std::string_view yaml, const std::string& name) {
  auto root = LoadYaml(yaml, name);
  if (!root) return tl::unexpected(root.error());
  if (!root->IsMap())
    return Fail("a field map must be a YAML map with 'fields' and/or 'prefixes'", name);
  FieldMap map;
  for (const auto& kv : *root) {
    std::string key = kv.first.Scalar();
    const YAML::Node& value = kv.second;
    std::string at = Where(name, kv.first.Mark());
    if (key == "fields") {
      if (!value.IsMap()) return Fail("'fields' must map Sigma field names to event fields", at);
      for (const auto& field : value) {
        std::vector<std::string> targets = ScalarList(field.second);
        bool empty = targets.empty() || std::any_of(targets.begin(), targets.end(),
                                                    [](const std::string& t) { return t.empty(); });
        if (empty) {
          return Fail(fmt::format("field '{}' maps to nothing", field.first.Scalar()),
                      Where(name, field.first.Mark()));
        }
        map.fields[field.first.Scalar()] = std::move(targets);
      }
    } else if (key == "prefixes") {
      if (!value.IsSequence()) return Fail("'prefixes' must be a list", at);
      map.prefixes = ScalarList(value);
    } else if (key == "placeholders") {
      if (!value.IsMap()) return Fail("'placeholders' must map names to lists of values", at);
      for (const auto& placeholder : value) {
        map.placeholders[placeholder.first.Scalar()] = ScalarList(placeholder.second);
      }
    } else {
      return Fail(fmt::format("unknown key '{}' (expected fields, prefixes, placeholders)", key),
                  at);
    }
  }
  if (map.fields.empty() && map.prefixes.empty()) {
    return Fail("the field map names nothing: give 'fields' or 'prefixes'", name);
  }
  return map;
}

const FieldMap& FieldMap::Builtin() {
  static const FieldMap map = [] {
    auto parsed = Parse(data::EmbeddedFileContent("field-map.yml"), "builtin:field-map.yml");
    if (!parsed) throw std::runtime_error("built-in field map: " + parsed.error().ToString());
    return *parsed;
  }();
  return map;
}

std::vector<std::string> FieldMap::Resolve(const std::string& sigma_name) const {
  std::vector<std::string> out;
  if (auto it = fields.find(sigma_name); it != fields.end()) out = it->second;
  out.push_back(sigma_name);
  for (const std::string& prefix : prefixes) out.push_back(prefix + sigma_name);
  return out;
}

Result<LogSourceRouting> LogSourceRouting::Parse(std::string_view yaml, const std::string& name) {
  auto root = LoadYaml(yaml, name);
  if (!root) return tl::unexpected(root.error());
  LogSourceRouting routing;
  const YAML::Node& list = (*root)["logsources"];
  if (!list || !list.IsSequence()) return Fail("expected a top-level 'logsources:' list", name);
  for (const auto& item : list) {
    std::string at = Where(name, item.Mark());
    if (!item["match"] || !item["match"].IsMap()) return Fail("a route needs a 'match' map", at);
    LogSourceRoute route;
    for (const auto& kv : item["match"]) {
      std::string key = kv.first.Scalar();
      if (key == "product")
        route.product = kv.second.Scalar();
      else if (key == "category")
        route.category = kv.second.Scalar();
      else if (key == "service")
        route.service = kv.second.Scalar();
      else
        return Fail(fmt::format("unknown logsource key '{}'", key), Where(name, kv.first.Mark()));
    }
    auto condition = [&](const YAML::Node& map) {
      LogSourceRoute::Condition out;
      for (const auto& kv : map) out.emplace_back(kv.first.Scalar(), ScalarList(kv.second));
      return out;
    };
    const YAML::Node& when = item["when"];
    const YAML::Node& when_any = item["when_any"];
    if (when && when.IsMap()) {
      route.alternatives.push_back(condition(when));
    } else if (when_any && when_any.IsSequence() && when_any.size() > 0) {
      for (const auto& alternative : when_any) {
        if (!alternative.IsMap()) {
          return Fail("'when_any' must list maps of field: values",
                      Where(name, alternative.Mark()));
        }
        route.alternatives.push_back(condition(alternative));
      }
    } else {
      return Fail("a route needs a 'when' map or a 'when_any' list of maps", at);
    }
    routing.routes.push_back(std::move(route));
  }
  return routing;
}

const LogSourceRouting& LogSourceRouting::Builtin() {
  static const LogSourceRouting routing = [] {
    auto parsed = Parse(data::EmbeddedFileContent("logsources.yml"), "builtin:logsources.yml");
    if (!parsed)
      throw std::runtime_error("built-in logsource routing: " + parsed.error().ToString());
    return *parsed;
  }();
  return routing;
}

}  // namespace bulwark::detect
