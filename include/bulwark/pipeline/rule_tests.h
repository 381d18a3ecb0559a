#pragma once
// Rule tests as data: files named *.tests.yml beside rules hold cases of log lines (or events)
// and the rule ids expected to fire or not, in the spirit of fail2ban's failJSON samples.
//
//   tests:
//     - name: five failures in a minute
//       lines: ["Nov 26 10:00:01 host sshd[1]: Failed password for root from 203.0.113.9 port 1
//       ssh2"] events: [{source.ip: 203.0.113.9, event.outcome: failure}]   # alternative to lines
//       year: 2026                  # optional, for year-less timestamps
//       expect: [<rule id>, ...]    # must fire
//       expect_not: [<rule id>]     # must not fire

#include <memory>
#include <string>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/decode/decoder.h"
#include "bulwark/detect/ruleset.h"

namespace bulwark::pipeline {

struct RuleTestOutcome {
  std::string where;  // file:line of the case
  std::string name;
  bool passed = false;
  std::string detail;  // what differed
};

// Finds *.tests.yml below `paths` through `env` ("builtin" = the built-in pack's tests, which
// needs a data::BuiltinEnv) and runs every case against `rules` with `decoders`, each case in a
// fresh pipeline, suppression off.
std::vector<RuleTestOutcome> RunRuleTests(const std::vector<std::string>& paths,
                                          std::shared_ptr<const detect::RuleSet> rules,
                                          std::shared_ptr<const decode::DecoderSet> decoders,
                                          const Env& env);

}  // namespace bulwark::pipeline
