// Witnesses for every rule of a real rule set: for each detection rule of SigmaHQ's rule set
// (../shared/sigma/rules) and of the built-in pack, an event built from the rule that satisfies
// its detection and a near miss (one value changed) that does not. The matcher must fire the rule
// on the first and not on the second, and agree with the reference evaluator (SigmaOracle) on
// every rule of the set for both events.

#include "witness.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "bulwark/data/builtin_env.h"
#include "bulwark/detect/ruleset.h"
#include "bulwark/pipeline/rules_loader.h"
#include "sigma_oracle.h"

namespace bulwark::oracle {
namespace {

struct Outcome {
  size_t rules = 0, witnesses = 0, near_misses = 0, disagreements = 0;
  std::map<std::string, size_t> missing;  // reason -> rules without a witness
};

std::string Join(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

Outcome CheckWitnesses(const std::vector<std::string>& paths) {
  detect::CompileOptions options;  // the built-in field map
  options.apply_routing = false;   // a witness is about the detection, not the event's source
  // The built-in rules' address lists, as if configured.
  options.field_map.placeholders["feodo_c2"] = {"198.51.100.7", "2001:db8::7"};
  options.field_map.placeholders["spamhaus_drop"] = {"192.0.2.0/24", "203.0.113.128/25"};
  std::vector<sigma::Document> for_oracle, for_engine;
  std::vector<sigma::Rejection> rejected;
  size_t files = 0;
  pipeline::ParseRulePaths(paths, bulwark::data::BuiltinEnv::Default(), for_oracle, rejected,
                           files);
  pipeline::ParseRulePaths(paths, bulwark::data::BuiltinEnv::Default(), for_engine, rejected,
                           files);
  rejected.clear();
  auto rules = detect::RuleSet::Compile(std::move(for_engine), options, rejected);
  SigmaOracle oracle(for_oracle, options);
  std::set<std::string> compiled;
  for (size_t i = 0; i < rules->rule_count(); ++i) {
    if (!rules->rule(i).is_correlation) compiled.insert(rules->rule(i).id);
  }
  auto matcher = rules->NewMatcher();
  Outcome outcome;
  std::set<std::string> done;
  auto check = [&](const sigma::Rule& rule, const GeneratedEvent& generated, bool must_fire) {
    event::Event event;
    CaseGenerator::Fill(generated, event);
    std::vector<uint32_t> matched;
    matcher->Match(event, matched);
    std::vector<std::string> engine;
    for (uint32_t index : matched) engine.push_back(rules->rule(index).id);
    std::vector<std::string> expected;
    for (const std::string& id : oracle.Match(event)) {
      if (compiled.count(id)) expected.push_back(id);
    }
    bool fired = std::find(engine.begin(), engine.end(), rule.id) != engine.end();
    if (engine == expected && fired == must_fire) return;
    if (++outcome.disagreements <= 5) {
      ADD_FAILURE() << rule.where << " " << rule.id << " (" << (must_fire ? "witness" : "near miss")
                    << "): engine [" << Join(engine) << "], oracle [" << Join(expected)
                    << "]\nevent: " << generated.raw;
    }
  };
  for (const sigma::Document& document : for_oracle) {
    const auto* rule = std::get_if<sigma::Rule>(&document);
    if (!rule || !compiled.count(rule->id) || !done.insert(rule->id).second) continue;
    ++outcome.rules;
    std::string why;
    auto witness = MakeWitness(*rule, options, oracle, why);
    if (!witness) {
      ++outcome.missing[why];
      if (std::getenv("BULWARK_WITNESS_VERBOSE"))
        std::printf("no witness: %s %s\n", rule->where.c_str(), why.c_str());
      continue;
    }
    ++outcome.witnesses;
    check(*rule, witness->match, true);
    if (witness->has_near_miss) {
      ++outcome.near_misses;
      check(*rule, witness->near_miss, false);
    } else if (std::getenv("BULWARK_WITNESS_VERBOSE")) {
      std::printf("no near miss: %s\n", rule->where.c_str());
    }
  }
  return outcome;
}

void Print(const char* name, const Outcome& outcome) {
  std::printf("%s: %zu rules compiled, %zu witnesses, %zu near misses, %zu disagreements\n", name,
              outcome.rules, outcome.witnesses, outcome.near_misses, outcome.disagreements);
  for (const auto& [why, count] : outcome.missing) {
    std::printf("  no witness: %zu (%s)\n", count, why.c_str());
  }
}

TEST(Witness, SigmaHQRuleSet) {
  std::string base = std::string(BULWARK_SHARED_DIR) + "/sigma/rules/";
  Outcome outcome = CheckWitnesses({base + "rules", base + "rules-emerging-threats",
                                    base + "rules-threat-hunting", base + "rules-compliance",
                                    base + "rules-placeholder"});
  Print("SigmaHQ", outcome);
  EXPECT_EQ(outcome.disagreements, 0u);
  EXPECT_GT(outcome.rules, 3000u);
  EXPECT_EQ(outcome.near_misses, outcome.witnesses);
  EXPECT_EQ(outcome.witnesses, outcome.rules)
      << "rules without a witness (BULWARK_WITNESS_VERBOSE=1 "
         "lists them)";
}

TEST(Witness, BuiltinPack) {
  Outcome outcome = CheckWitnesses({"builtin"});
  Print("built-in", outcome);
  EXPECT_EQ(outcome.disagreements, 0u);
  EXPECT_EQ(outcome.witnesses, outcome.rules);
}

}  // namespace
}  // namespace bulwark::oracle
