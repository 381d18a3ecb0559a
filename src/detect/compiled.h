#pragma once
// The compiled form of a RuleSet, shared by the compiler (compiler.cc), which builds it once, and
// the matcher (matcher.cc), which reads it on every event from many threads. Immutable once
// compiled. Internal to the detect module.

#include <re2/re2.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "bulwark/core/hash.h"
#include "bulwark/detect/correlation.h"
#include "bulwark/detect/ruleset.h"
#include "bulwark/match/database.h"
#include "values.h"

namespace bulwark::detect {

using event::FieldId;
using sigma::Modifier;

namespace compiled {

enum class PredKind : uint8_t {
  kPattern,   // set by a vectorscan hit
  kExists,    // field present == expect
  kNull,      // field absent or empty
  kEmpty,     // field present and empty
  kCidr,      // field is an address inside one of the prefixes
  kCompare,   // numeric comparison
  kFieldRef,  // field equals (or contains...) another field
  kTimePart,  // a part of a date field compared to a number
};

enum class CompareOp : uint8_t { kLt, kLte, kGt, kGte, kEq };

// A literal tested directly (see Pred::deferred); `text` is lower-case when `caseless`.
struct DeferredLiteral {
  std::string text;
  Anchor anchor = Anchor::kNone;
  bool caseless = false;
  std::shared_ptr<const std::vector<std::string>> glob;  // `*` pieces, as in PatternRef
};

struct Pred {
  PredKind kind = PredKind::kPattern;
  std::vector<FieldId> fields;  // candidates in resolution order
  bool expect = true;
  bool cased = false;
  std::shared_ptr<const event::PrefixSet> prefixes;  // kCidr
  CompareOp op = CompareOp::kEq;
  double number = 0;
  std::vector<FieldId> ref_fields;
  char ref_mode = '=';  // '=', 'c' contains, 's' startswith, 'e' endswith
  Modifier time_part = Modifier::kHour;
  // Pattern predicates with a very short literal (':', '0', '-d'): such literals occur in almost
  // every line, so scanning for them costs a callback per occurrence. They stay out of the
  // databases and are tested directly when a rule that reads them is evaluated.
  std::vector<DeferredLiteral> deferred;
};

struct PatternRef {
  uint32_t pred;
  uint8_t rank;                   // index of the field among the predicate's candidates
  Anchor anchor = Anchor::kNone;  // literals: where the match must sit
  uint32_t length = 0;            // literals: byte length
  std::shared_ptr<RE2> confirm;   // set when vectorscan only prefilters
  // `*` globs found by their longest piece: all pieces in order must be present.
  std::shared_ptr<const std::vector<std::string>> glob;
  bool glob_caseless = false;
};

struct Node {
  enum class Op : uint8_t { kPred, kAnd, kOr, kNot, kTrue, kFalse } op;
  uint32_t a = 0;  // pred index, first child slot, or child node
  uint32_t b = 0;  // child count
};

struct PendingPattern {
  FieldId field;
  RegexSpec regex;
  PatternRef ref;
};

// One vectorscan database and, per pattern id, the predicates it serves (identical patterns of
// different rules are compiled once).
struct DatabasePart {
  std::shared_ptr<const match::Database> database;
  std::vector<std::vector<PatternRef>> refs;
  // What `database` was compiled from (ids index refs); shared like the database.
  std::shared_ptr<const std::vector<match::Pattern>> patterns;
};

// Searched with a string_view, without a copy.
using ExactIndex =
    std::unordered_map<std::string, std::vector<PatternRef>, FastStringHash, std::equal_to<>>;

struct FieldDatabase {
  // Whole-value literals (Sigma's default "equals"): a hash lookup of the field's value, keyed
  // in lower case for case-insensitive ones, is cheaper than a scan.
  ExactIndex exact_caseless, exact_cased;
  // Bit n set when a whole-value literal has n bytes (bit 63: 63 or more): a value of another
  // length skips the lookup (e.g. a PID against the single value "0").
  uint64_t exact_lengths = 0;
  bool HasExactOfLength(size_t length) const {
    return (exact_lengths >> std::min<size_t>(length, 63)) & 1;
  }
  DatabasePart literal;  // other plain strings: fast to compile and scan
  DatabasePart regex;    // wildcards, windash, re
};

}  // namespace compiled

using namespace compiled;

struct RuleSet::Compiled {
  std::vector<RuleInfo> infos;
  std::vector<uint32_t> roots;  // per detection rule
  std::vector<bool> enabled;    // per detection rule
  std::vector<Node> nodes;
  std::vector<uint32_t> children;
  std::vector<Pred> preds;
  std::vector<uint32_t> pred_owner;  // rule index of each predicate
  // Predicate -> rules to evaluate when it hits: those whose condition cannot hold unless it
  // (or another predicate listing them) hits. A hit of a filter (`and not filter`) lists none.
  std::vector<std::vector<uint32_t>> hit_rules;
  std::vector<uint32_t> always;  // rules that can match without any hit
  // FieldId -> rules that can match without any hit only when that field is present (their
  // other predicates test a present value: empty, cidr, comparisons, exists).
  std::vector<std::vector<uint32_t>> presence_rules;
  std::vector<int32_t> database_of_field;  // FieldId -> index into databases, -1
  // FieldId -> what a value of the field costs the matcher: kScanField (it has databases) and/or
  // kPresenceField (presence_rules is not empty); 0 for most fields, which are skipped.
  std::vector<uint8_t> field_work;
  static constexpr uint8_t kScanField = 1;
  static constexpr uint8_t kPresenceField = 2;
  std::vector<FieldDatabase> databases;
  // Roots [0, detection_count) are detection rules; roots from detection_count on are the
  // route watches (one per entry of `routes`), evaluated like rules but never reported as
  // matches.
  size_t detection_count = 0;
  std::vector<RouteWatch> routes;
  std::vector<CompiledCorrelation> correlations;
  std::vector<std::vector<uint32_t>> consumers;
  std::vector<uint32_t> no_consumers;
};

}  // namespace bulwark::detect
