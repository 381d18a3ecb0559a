#include "bulwark/pipeline/rule_tests.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "bulwark/core/env.h"
#include "bulwark/core/json_writer.h"
#include "bulwark/pipeline/replay.h"

namespace bulwark::pipeline {

namespace {

void YamlToJson(const YAML::Node& node, JsonWriter& json) {
  if (node.IsMap()) {
    json.BeginObject();
    for (const auto& kv : node) {
      json.Key(kv.first.Scalar());
      YamlToJson(kv.second, json);
    }
    json.EndObject();
  } else if (node.IsSequence()) {
    json.BeginArray();
    for (const auto& item : node) YamlToJson(item, json);
    json.EndArray();
  } else if (node.IsNull()) {
    json.Null();
  } else {
    json.String(node.Scalar());
  }
}

std::vector<std::string> Strings(const YAML::Node& node) {
  std::vector<std::string> out;
  if (!node) return out;
  if (node.IsScalar()) out.push_back(node.Scalar());
  if (node.IsSequence()) {
    for (const auto& item : node) out.push_back(item.Scalar());
  }
  return out;
}

void RunFile(const std::string& name, std::string_view text,
             const std::shared_ptr<const detect::RuleSet>& rules,
             const std::shared_ptr<const decode::DecoderSet>& decoders,
             std::vector<RuleTestOutcome>& outcomes) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    outcomes.push_back({fmt::format("{}:{}:{}", name, e.mark.line + 1, e.mark.column + 1), name,
                        false, "YAML error: " + e.msg});
    return;
  }
  std::set<std::string> known;
  for (uint32_t r = 0; r < rules->rule_count(); ++r) known.insert(rules->rule(r).id);
  if (!root["tests"] || !root["tests"].IsSequence()) {
    outcomes.push_back({name, name, false, "expected a top-level 'tests:' list"});
    return;
  }
  for (const YAML::Node& test : root["tests"]) {
    RuleTestOutcome outcome;
    outcome.where = fmt::format("{}:{}", name, test.Mark().line + 1);
    outcome.name = test["name"] ? test["name"].Scalar() : outcome.where;
    std::string input;
    for (const auto& line : Strings(test["lines"])) input.append(line).push_back('\n');
    if (test["events"]) {
      for (const auto& event : test["events"]) {
        JsonWriter json(input);
        YamlToJson(event, json);
        input.push_back('\n');
      }
    }
    ReplayOptions options;
    options.memory_inputs.emplace_back(outcome.where, input);
    options.threads = 1;
    options.suppress_window = 0;
    options.include_events = false;
    options.parse.reference_time = ToUnixNs(CivilTime{2026, 12, 31, 0, 0, 0, 0});
    if (test["year"]) options.parse.year = test["year"].as<int>();
    auto summary = Replay(options, rules, decoders, nullptr);
    if (!summary) {
      outcome.detail = summary.error().ToString();
      outcomes.push_back(std::move(outcome));
      continue;
    }
    std::set<std::string> fired;  // ids of the rules that wrote an alert
    for (const auto& [rule, count] : summary->alerts) fired.insert(rules->rule(rule).id);
    std::vector<std::string> problems;
    for (const auto& id : Strings(test["expect"])) {
      if (!known.count(id))
        problems.push_back("unknown rule id " + id);
      else if (!fired.count(id))
        problems.push_back("expected " + id + " to fire");
    }
    for (const auto& id : Strings(test["expect_not"])) {
      if (!known.count(id))
        problems.push_back("unknown rule id " + id);
      else if (fired.count(id))
        problems.push_back("expected " + id + " not to fire");
    }
    outcome.passed = problems.empty();
    for (const auto& p : problems) outcome.detail += (outcome.detail.empty() ? "" : "; ") + p;
    outcomes.push_back(std::move(outcome));
  }
}

}  // namespace

std::vector<RuleTestOutcome> RunRuleTests(const std::vector<std::string>& paths,
                                          std::shared_ptr<const detect::RuleSet> rules,
                                          std::shared_ptr<const decode::DecoderSet> decoders,
                                          const Env& env) {
  std::vector<RuleTestOutcome> outcomes;
  for (const std::string& given : paths) {
    const std::string path = given == "builtin" ? "builtin:rules" : given;
    auto files = env.ListFiles(path, {".tests.yml"});
    if (!files) {
      outcomes.push_back({given, given, false, files.error().message});
      continue;
    }
    for (const std::string& file : *files) {
      auto text = env.ReadFile(file);
      if (!text) {
        outcomes.push_back({file, file, false, text.error().message});
        continue;
      }
      RunFile(file, *text, rules, decoders, outcomes);
    }
  }
  return outcomes;
}

}  // namespace bulwark::pipeline
