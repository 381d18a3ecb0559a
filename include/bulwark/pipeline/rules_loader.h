#pragma once
// Loading Sigma rules from files, folders and the built-in pack, with every rejection reported.

#include <memory>
#include <string>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/detect/ruleset.h"
#include "bulwark/sigma/rule.h"

namespace bulwark::pipeline {

struct LoadedRules {
  std::shared_ptr<const detect::RuleSet> rules;
  std::vector<sigma::Rejection> rejected;
  size_t files = 0;
  size_t documents = 0;
};

// Reads every *.yml/*.yaml below each path through `env` ("builtin" = the pack in the binary,
// builtin:rules, which needs a data::BuiltinEnv, and the flow detectors' rules), parses and
// compiles them. Unreadable paths and
// bad rules end up in `rejected`; never fails.
LoadedRules LoadRules(const std::vector<std::string>& paths, const detect::CompileOptions& options,
                      const Env& env);

// Parses only (no compilation), for `rules check` and tests.
void ParseRulePaths(const std::vector<std::string>& paths, const Env& env,
                    std::vector<sigma::Document>& documents,
                    std::vector<sigma::Rejection>& rejected, size_t& files);

}  // namespace bulwark::pipeline
