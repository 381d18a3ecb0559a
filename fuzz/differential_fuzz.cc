// Differential fuzzing of the matcher: the input steers the random rule and event generator of the
// differential tests (tests/oracle/random_rules.h); the matcher, with and without its value cache,
// must fire exactly the rules the reference evaluator (SigmaOracle) says hold. A disagreement
// prints the rules and the event and aborts, so libFuzzer keeps the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "bulwark/detect/ruleset.h"
#include "bulwark/sigma/rule.h"
#include "random_rules.h"
#include "sigma_oracle.h"

using namespace bulwark;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  oracle::CaseGenerator generator(oracle::Random(data, size));
  std::string yaml = generator.Rules(4);
  auto options = oracle::Vocabulary::Options();
  auto for_oracle = sigma::ParseRuleFile(yaml, "fuzz.yml");
  auto for_engine = sigma::ParseRuleFile(yaml, "fuzz.yml");
  std::vector<sigma::Rejection> rejected;
  auto rules = detect::RuleSet::Compile(std::move(for_engine.documents), options, rejected);
  oracle::SigmaOracle reference(for_oracle.documents, options);
  std::set<std::string> compiled;
  for (size_t i = 0; i < rules->rule_count(); ++i) compiled.insert(rules->rule(i).id);
  auto cached = rules->NewMatcher();
  auto uncached = rules->NewMatcher(detect::MatcherOptions{.value_cache = false});
  event::Event event;
  for (int e = 0; e < 8; ++e) {
    oracle::GeneratedEvent generated = generator.Event(/*json_safe=*/false);
    oracle::CaseGenerator::Fill(generated, event);
    std::vector<std::string> expected;
    for (const std::string& id : reference.Match(event)) {
      if (compiled.count(id)) expected.push_back(id);
    }
    for (int repeat = 0; repeat < 3; ++repeat) {
      for (detect::Matcher* matcher : {cached.get(), uncached.get()}) {
        std::vector<uint32_t> matched;
        matcher->Match(event, matched);
        std::vector<std::string> got;
        for (uint32_t index : matched) got.push_back(rules->rule(index).id);
        if (got != expected) {
          std::fprintf(stderr, "matcher and oracle disagree\nrules:\n%s\nevent: %s\n", yaml.c_str(),
                       generated.raw.c_str());
          for (const auto& id : got) std::fprintf(stderr, "engine fired %s\n", id.c_str());
          for (const auto& id : expected) std::fprintf(stderr, "oracle fired %s\n", id.c_str());
          std::abort();
        }
      }
    }
  }
  return 0;
}
