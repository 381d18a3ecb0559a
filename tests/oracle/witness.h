#pragma once
// Witnesses: for a Sigma detection rule, an event that satisfies its detection, built from the
// rule itself, and a near miss (the witness with one value changed) that does not. The oracle
// (SigmaOracle) decides what satisfies; the engine must agree on both events. Used by the witness
// test over a whole rule set.

#include <optional>
#include <string>
#include <vector>

#include "bulwark/event/event.h"
#include "bulwark/sigma/rule.h"
#include "random_rules.h"
#include "sigma_oracle.h"

namespace bulwark::oracle {

struct Witness {
  GeneratedEvent match;      // the rule's detection holds
  GeneratedEvent near_miss;  // one value changed: it does not (empty fields when none was found)
  bool has_near_miss = false;
};

// Builds a witness for `rule` (compiled with `options`): tries assignments of its search
// identifiers that satisfy the condition, fewest true first, and values that satisfy the chosen
// identifiers; keeps the first event the oracle confirms. nullopt with the reason in `why` when
// none was found (e.g. a regex too rich for the example generator).
std::optional<Witness> MakeWitness(const sigma::Rule& rule, const detect::CompileOptions& options,
                                   const SigmaOracle& oracle, std::string& why);

// A text that RE2 says matches `pattern` (PCRE-like syntax of Sigma's `re`), built from the
// pattern's first alternatives and minimal repetitions; nullopt when the construct is not handled.
std::optional<std::string> RegexExample(std::string_view pattern, bool caseless, bool multiline,
                                        bool dot_all);

}  // namespace bulwark::oracle
