#pragma once
// The reference for Sigma detection, used only by tests: rule semantics interpreted straight from
// the rule model (sigma::Rule), one value and one event field at a time. No vectorscan, no caches,
// no triggers, no deferred literals, no compiled condition trees. Obviously correct beats fast:
// it is the oracle the optimised matcher (detect::RuleSet / Matcher) is compared with.
//
// The semantics are those of the Sigma specification as docs/rules.md states them for Bulwark:
// values match the whole field, ASCII case-insensitively unless `cased` (encoded values are
// compared byte for byte); `*` is any sequence, `?` one UTF-8 character, `\*` `\?` `\\` literals;
// contains/startswith/endswith add wildcards as pySigma does; a field name resolves through the
// field map to candidates of which the first present in the event is the one tested; a field
// with several values matches when one does; keywords search `message`, and the raw line stands
// in for a missing `message` in string matches; `null` is absent or empty; `re` is searched with
// RE2; logsource routes and filters are applied as documented.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bulwark/detect/ruleset.h"
#include "bulwark/event/event.h"
#include "bulwark/sigma/rule.h"

namespace bulwark::oracle {

// Not thread-safe: it remembers, per rule value, what it derived from it (field candidates,
// globs, compiled regexes), which is no part of the semantics.
class SigmaOracle {
 public:
  // Keeps pointers to `documents`, which must outlive the oracle. Rules with a duplicate id or
  // name are ignored after the first, as the compiler does.
  SigmaOracle(const std::vector<sigma::Document>& documents, const detect::CompileOptions& options);
  ~SigmaOracle();

  // Ids of the detection rules (routing and filters applied) whose condition holds for `event`,
  // in document order. A rule the oracle finds invalid (invalid()) is never reported.
  std::vector<std::string> Match(const event::Event& event) const;

  // Whether the detection of `rule` alone holds (no routing, no filters).
  bool DetectionHolds(const sigma::Rule& rule, const event::Event& event) const;

  // Rules whose values cannot be evaluated (a comparison with a non-number, an unknown
  // placeholder, wildcards under an encoding...), by id, with the reason.
  const std::map<std::string, std::string>& invalid() const { return invalid_; }

 private:
  struct RuleEntry {
    const sigma::Rule* rule;
    std::vector<const sigma::Filter*> filters;
  };
  std::vector<RuleEntry> rules_;
  detect::CompileOptions options_;
  std::map<std::string, std::string> invalid_;

 public:
  struct Memo;  // defined in the .cc; public for its evaluator

 private:
  std::unique_ptr<Memo> memo_;
};

// Whether `text` matches the Sigma value `value` (escapes and wildcards as above) as a whole;
// `caseless` folds ASCII letters. Exposed for tests of the oracle itself.
bool GlobMatches(std::string_view value, std::string_view text, bool caseless, bool windash);

}  // namespace bulwark::oracle
