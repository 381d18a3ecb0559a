#pragma once
// A compiled, immutable set of Sigma detection and correlation rules. All string predicates of all
// rules are compiled into vectorscan databases, one per event field, so that one pass over an
// event finds which predicates hold and only rules with a chance to match are evaluated.
// A RuleSet is shared by all threads (swap it atomically with std::atomic<shared_ptr>); each
// thread matches with its own Matcher.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/detect/field_map.h"
#include "bulwark/event/event.h"
#include "bulwark/match/database.h"
#include "bulwark/sigma/rule.h"

namespace bulwark::detect {

// What an alert says about its rule.
struct RuleInfo {
  std::string id, title, name, level, status, where;
  std::vector<std::string> tags;
  bool is_correlation = false;
  bool generates = true;  // emits alerts of its own (false for rules only used by correlations)
};

// A rule whose alerts a detector component raises (flowdetect): it has no detection of its own
// and is fed the events of `input`, a rule's name, which then alerts no more of its own (as a
// correlation's input).
struct DetectorRule {
  RuleInfo info;
  std::string input;
};

struct CompileOptions {
  FieldMap field_map = FieldMap::Builtin();
  LogSourceRouting routing = LogSourceRouting::Builtin();
  bool apply_routing = true;  // false: every rule applies to every event
  // Rules of detector components, added after the correlations; one whose input rule is not in
  // the set is rejected.
  std::vector<DetectorRule> detector_rules;
};

// One correlation rule after compilation.
struct CompiledCorrelation {
  sigma::Correlation spec;
  uint32_t rule_index = 0;       // its RuleInfo
  std::vector<uint32_t> inputs;  // rule indices it consumes, in `rules` order
  // Per input: event fields whose values form the group key (aliases resolved), in group-by order.
  std::vector<std::vector<std::vector<event::FieldId>>> group_fields;
  std::vector<std::string> group_names;      // group-by names as written (for alerts)
  std::vector<event::FieldId> value_fields;  // value_count field candidates
};

class Matcher;

// A logsource route and the detection rules it restricts, so that a run can say which rules saw
// no event at all and what their route asks of an event.
struct RouteWatch {
  sigma::LogSource logsource;
  size_t rules = 0;           // enabled detection rules with this logsource
  std::string needs;          // the route's condition, e.g. "Channel = Security"
  std::string product_needs;  // what the routes of the product alone need, e.g. "Channel present"
};

struct MatcherOptions {
  // Remember what repeated values hit (see Matcher); off only for tests that compare the matcher
  // with and without it.
  bool value_cache = true;
};

class RuleSet {
 public:
  struct Compiled;
  ~RuleSet();

  // Compiles documents. Rules that cannot be compiled are left out and reported in `rejected`;
  // the set is still usable. Fails only when nothing at all can be built.
  static std::shared_ptr<const RuleSet> Compile(std::vector<sigma::Document> documents,
                                                const CompileOptions& options,
                                                std::vector<sigma::Rejection>& rejected);

  size_t rule_count() const;  // detection + correlation + detector rules
  const RuleInfo& rule(uint32_t index) const;
  // The index of the rule with this id or name, if any.
  std::optional<uint32_t> FindRule(std::string_view id_or_name) const;
  const std::vector<CompiledCorrelation>& correlations() const;
  // Correlations that consume rule `index` (directly).
  const std::vector<uint32_t>& consumers(uint32_t index) const;
  std::unique_ptr<Matcher> NewMatcher(MatcherOptions options = {}) const;
  // The literal patterns the matcher scans values of `message` for, with the ids it numbers
  // them by (empty when it scans none, and for other fields: their patterns are not kept). For a
  // caller that scans the same text anyway, e.g. for decoder prefilters, with one database holding
  // both sets: it hands the hits to Matcher::Match as a Prescan.
  std::vector<match::Pattern> ScanLiterals(event::FieldId field) const;
  // One entry per distinct routed logsource of the compiled rules (empty without routing); the
  // matcher tells which of them an event satisfied (Matcher::routes_seen).
  const std::vector<RouteWatch>& routes() const;

 private:
  RuleSet();
  friend class Matcher;
  std::unique_ptr<Compiled> compiled_;
};

// Holds the current RuleSet for readers on many threads and swaps in a new one atomically.
// Readers take a snapshot (a shared_ptr) per batch; a set stays alive while any reader holds it.
class RuleSetSlot {
 public:
  explicit RuleSetSlot(std::shared_ptr<const RuleSet> initial) : current_(std::move(initial)) {}
  std::shared_ptr<const RuleSet> Get() const { return current_.load(std::memory_order_acquire); }
  // Installs `candidate` unless it is null or `rejected` is non-empty (a reload with errors keeps
  // the old set). Returns whether it was installed.
  bool Swap(std::shared_ptr<const RuleSet> candidate,
            const std::vector<sigma::Rejection>& rejected) {
    if (!candidate || !rejected.empty()) return false;
    current_.store(std::move(candidate), std::memory_order_release);
    return true;
  }

 private:
  std::atomic<std::shared_ptr<const RuleSet>> current_;
};

// What a caller's scan of one field's value found for RuleSet::ScanLiterals(field): pattern ids
// and end offsets, as vectorscan reports them.
struct Prescan {
  event::FieldId field = event::kInvalidField;
  std::string_view text;  // the value scanned
  std::vector<std::pair<uint32_t, uint64_t>> hits;
};

// Per-thread matching state. Not thread-safe.
class Matcher {
 public:
  explicit Matcher(const RuleSet& rules, MatcherOptions options = {});
  ~Matcher();
  // Appends the indices of detection rules that match `event` (in rule order) to `matched`.
  // With `prescan`, a value of prescan->field equal to prescan->text is not scanned again for
  // the literal patterns: the hits given stand in.
  void Match(const event::Event& event, std::vector<uint32_t>& matched,
             const Prescan* prescan = nullptr);
  // How many rule conditions Match() has evaluated so far: rules whose condition could hold for
  // the event given its hits and present fields (the others are skipped unevaluated).
  uint64_t evaluations() const;
  // Per entry of RuleSet::routes(): 1 once an event given to Match() satisfied that route.
  const std::vector<uint8_t>& routes_seen() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace bulwark::detect
