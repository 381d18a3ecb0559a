// The matcher: one per thread, evaluates events against a compiled rule set (compiled.h).
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

#include "bulwark/core/hash.h"
#include "bulwark/core/strings.h"
#include "bulwark/detect/correlation.h"
#include "bulwark/detect/ruleset.h"
#include "bulwark/match/database.h"
#include "compiled.h"
#include "values.h"

namespace bulwark::detect {

using event::FieldId;
using sigma::Modifier;

// ---------------------------------------------------------------------------------------------

struct Matcher::State {
  const RuleSet::Compiled& c;
  match::Scratch scratch;
  std::vector<uint8_t> pred_state;  // 0 unknown, 1 false, 2 true
  std::vector<uint32_t> touched;
  std::vector<uint8_t> rule_mark;
  std::vector<uint32_t> candidates;
  uint64_t evaluations = 0;
  const event::Event* event = nullptr;
  std::string_view scanning;     // text being scanned (for anchors and RE2 confirmation)
  std::string lowered;           // lower-cased value for the exact-match index
  std::string deferred_lowered;  // lower-cased value for deferred literals
  const char* deferred_lowered_of = nullptr;  // the event value it was made from (this event)
  const DatabasePart* part = nullptr;
  const Prescan* prescan = nullptr;            // set during Match()
  const DatabasePart* prescan_part = nullptr;  // the literal part `prescan` stands in for

  // Scan results by (field, value): host names, program names, actions and user names repeat
  // from line to line, so what a value hits is remembered (from its second miss in a row in its
  // slot on) instead of scanning it again. Only the value-dependent checks are cached (anchors,
  // RE2 confirmation, globs); checks that depend on the rest of the event (candidate rank) run
  // on every event. Direct-mapped, per matcher.
  struct CachedScan {
    uint64_t hash = 0;
    FieldId field = event::kInvalidField;
    std::string value;
    std::vector<const PatternRef*> refs;
    uint8_t credit = 0;  // hits not yet spent: misses in this slot spend one before replacing it
    // The last missed value's hash: a value replaces the slot's content when it misses a second
    // time, so that one-off values (most messages) are scanned without being recorded.
    uint64_t missed_hash = 0;
  };
  // Per field: lookups and hits of the current trial window; fields whose values rarely repeat
  // (ports, PIDs, messages) stop using the cache for a while.
  struct FieldCacheUse {
    uint32_t lookups = 0;
    uint32_t hits = 0;
    uint32_t bypass = 0;  // scans left before the field tries the cache again
  };
  // Small enough to stay in the processor's cache; a slot that had hits survives that many
  // misses, so one-off values do not push out repeated ones.
  static constexpr size_t kCacheSlots = 1024;
  static constexpr uint8_t kMaxCredit = 3;
  static constexpr size_t kMaxCachedValue = 256;
  static constexpr size_t kMaxCachedRefs = 64;
  static constexpr uint32_t kTrialLookups = 1024;
  static constexpr uint32_t kBypassScans = 65536;
  std::vector<CachedScan> cache = std::vector<CachedScan>(kCacheSlots);
  bool value_cache = true;           // MatcherOptions::value_cache
  std::vector<uint8_t> routes_seen;  // Matcher::routes_seen
  std::vector<FieldCacheUse> cache_use;
  std::vector<const PatternRef*>* recording = nullptr;  // set while a missed value is scanned
  std::vector<const PatternRef*> recorded;
  bool record_overflow = false;

  explicit State(const RuleSet::Compiled& compiled) : c(compiled) {
    for (const auto& db : c.databases) {
      for (const DatabasePart* part : {&db.literal, &db.regex}) {
        if (part->database && !scratch.Prepare(*part->database)) throw std::bad_alloc();
      }
    }
    pred_state.assign(c.preds.size(), 0);
    rule_mark.assign(c.roots.size(), 0);
    routes_seen.assign(c.routes.size(), 0);
    cache_use.resize(c.database_of_field.size());
  }

  void SetPred(uint32_t pred, bool value) {
    pred_state[pred] = value ? 2 : 1;
    touched.push_back(pred);
  }

  void MarkRule(uint32_t rule) {
    if (!rule_mark[rule]) {
      rule_mark[rule] = 1;
      candidates.push_back(rule);
    }
  }

  static bool OnHit(unsigned id, unsigned long long to, void* context) {
    auto* self = static_cast<State*>(context);
    for (const PatternRef& ref : self->part->refs[id]) self->Hit(ref, to);
    return true;
  }

  // A pattern matched `scanning`, ending at byte `to`.
  void Hit(const PatternRef& ref, unsigned long long to) {
    if (!recording && pred_state[ref.pred] == 2) return;
    if (!HoldsForValue(ref, to)) return;
    if (recording) Record(ref);
    Apply(ref);
  }

  // The checks that depend on the scanned value alone: anchors, RE2 confirmation, glob pieces.
  bool HoldsForValue(const PatternRef& ref, unsigned long long to) const {
    switch (ref.anchor) {
      case Anchor::kNone:
        break;
      case Anchor::kStart:
        if (to != ref.length) return false;
        break;
      case Anchor::kEnd:
        if (to != scanning.size()) return false;
        break;
      case Anchor::kWhole:
        if (to != ref.length || to != scanning.size()) return false;
        break;
    }
    if (ref.confirm &&
        !RE2::PartialMatch(re2::StringPiece(scanning.data(), scanning.size()), *ref.confirm)) {
      return false;
    }
    return !ref.glob || GlobContains(scanning, *ref.glob, ref.glob_caseless);
  }

  void Record(const PatternRef& ref) {
    for (const PatternRef* seen : recorded) {
      if (seen == &ref) return;
    }
    if (recorded.size() >= kMaxCachedRefs) {
      record_overflow = true;
      return;
    }
    recorded.push_back(&ref);
  }

  // Marks the predicate true unless an earlier candidate field of it is present in the event.
  void Apply(const PatternRef& ref) {
    if (pred_state[ref.pred] == 2) return;
    if (ref.rank > 0) {
      // A prefixed candidate counts only when no earlier candidate is present.
      const Pred& pred = c.preds[ref.pred];
      for (uint8_t r = 0; r < ref.rank; ++r) {
        if (event->Has(pred.fields[r])) return;
      }
    }
    SetPred(ref.pred, true);
    for (uint32_t rule : c.hit_rules[ref.pred]) MarkRule(rule);
  }

  // Scans `text` as a value of `field`, which must have databases (kScanField).
  void Scan(FieldId field, std::string_view text) {
    const FieldDatabase& database = c.databases[c.database_of_field[field]];
    FieldCacheUse& use = cache_use[field];
    if (!value_cache || text.size() > kMaxCachedValue || use.bypass > 0) {
      if (use.bypass > 0) --use.bypass;
      ScanDatabases(database, text);
      return;
    }
    uint64_t hash = FastHash(text, field);
    CachedScan& slot = cache[hash % kCacheSlots];
    if (++use.lookups == kTrialLookups) {
      if (use.hits < kTrialLookups / 4) use.bypass = kBypassScans;
      use.lookups = 0;
      use.hits = 0;
    }
    if (slot.hash == hash && slot.field == field && slot.value == text) {
      ++use.hits;
      if (slot.credit < kMaxCredit) ++slot.credit;
      for (const PatternRef* ref : slot.refs) Apply(*ref);
      return;
    }
    if (slot.credit > 0 || slot.missed_hash != hash) {
      if (slot.credit > 0) --slot.credit;
      slot.missed_hash = hash;
      ScanDatabases(database, text);
      return;
    }
    recorded.clear();
    record_overflow = false;
    recording = &recorded;
    ScanDatabases(database, text);
    recording = nullptr;
    if (record_overflow) return;
    slot.hash = hash;
    slot.field = field;
    slot.value.assign(text);
    slot.refs.assign(recorded.begin(), recorded.end());
  }

  void ScanDatabases(const FieldDatabase& database, std::string_view text) {
    scanning = text;
    // A value of a length no whole-value literal has cannot be in either index.
    if (database.HasExactOfLength(text.size())) {
      if (!database.exact_caseless.empty()) {
        lowered.assign(text);
        for (char& ch : lowered) {
          if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
        }
        if (auto it = database.exact_caseless.find(lowered); it != database.exact_caseless.end()) {
          for (const PatternRef& ref : it->second) Hit(ref, text.size());
        }
      }
      if (!database.exact_cased.empty()) {
        if (auto it = database.exact_cased.find(text); it != database.exact_cased.end()) {
          for (const PatternRef& ref : it->second) Hit(ref, text.size());
        }
      }
    }
    for (const DatabasePart* candidate : {&database.literal, &database.regex}) {
      if (!candidate->database) continue;
      part = candidate;
      if (candidate == prescan_part && text == prescan->text) {
        for (const auto& [id, to] : prescan->hits) OnHit(id, to, this);
        continue;
      }
      match::Scan(*part->database, scratch, text, OnHit, this);
    }
  }

  template <typename F>
  bool AnyValue(const std::vector<FieldId>& fields, F&& test) const {
    for (FieldId field : fields) {
      if (!event->Has(field)) continue;  // cheap for absent well-known fields (presence bits)
      bool present = false;
      for (size_t i = 0; i < event->size(); ++i) {
        if (event->IdAt(i) != field) continue;
        present = true;
        if (test(event->ValueAt(i))) return true;
      }
      if (!present) {
        auto derived = event->Get(field);  // @timestamp, rendered on demand
        if (derived) return test(*derived);
      }
      if (present) return false;  // only the first present candidate counts
    }
    return false;
  }

  // A pattern predicate kept out of the databases: its literals tested against the first
  // present candidate field (the raw line stands in for a missing `message`, as in Scan).
  bool EvalDeferred(const Pred& pred) {
    auto test = [&](std::string_view value) {
      std::string_view lowered_value = value;
      bool lowered_ready = false;
      for (const DeferredLiteral& literal : pred.deferred) {
        if (literal.glob) {
          if (GlobContains(value, *literal.glob, literal.caseless)) return true;
          continue;
        }
        if (literal.caseless && !lowered_ready) {
          lowered_value = LowerOnce(value);
          lowered_ready = true;
        }
        std::string_view text = literal.caseless ? lowered_value : value;
        switch (literal.anchor) {
          case Anchor::kNone:
            if (text.find(literal.text) != std::string_view::npos) return true;
            break;
          case Anchor::kStart:
            if (text.starts_with(literal.text)) return true;
            break;
          case Anchor::kEnd:
            if (text.ends_with(literal.text)) return true;
            break;
          case Anchor::kWhole:
            if (text == literal.text) return true;
            break;
        }
      }
      return false;
    };
    if (!Present(pred.fields) && !event->raw().empty() &&
        std::find(pred.fields.begin(), pred.fields.end(), event::fid::kMessage) !=
            pred.fields.end()) {
      return test(event->raw());
    }
    return AnyValue(pred.fields, test);
  }

  // `value` lower-cased; the last result is reused while the same event value is asked for.
  std::string_view LowerOnce(std::string_view value) {
    if (value.data() != deferred_lowered_of || value.size() != deferred_lowered.size()) {
      deferred_lowered.assign(value);
      for (char& ch : deferred_lowered) {
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
      }
      deferred_lowered_of = value.data();
    }
    return deferred_lowered;
  }

  bool Present(const std::vector<FieldId>& fields) const {
    for (FieldId field : fields) {
      if (event->Has(field)) return true;
    }
    return false;
  }

  static bool Compare(double value, CompareOp op, double number) {
    switch (op) {
      case CompareOp::kLt:
        return value < number;
      case CompareOp::kLte:
        return value <= number;
      case CompareOp::kGt:
        return value > number;
      case CompareOp::kGte:
        return value >= number;
      case CompareOp::kEq:
        return value == number;
    }
    return false;
  }

  bool EvalEager(const Pred& pred) {
    switch (pred.kind) {
      case PredKind::kPattern:
        return EvalDeferred(pred);
      case PredKind::kExists:
        return Present(pred.fields) == pred.expect;
      case PredKind::kNull:
        return !Present(pred.fields) ||
               AnyValue(pred.fields, [](std::string_view v) { return v.empty(); });
      case PredKind::kEmpty:
        return AnyValue(pred.fields, [](std::string_view v) { return v.empty(); });
      case PredKind::kCidr:
        return AnyValue(pred.fields, [&](std::string_view v) {
          auto ip = event::IpAddress::Parse(v);
          return ip && pred.prefixes->Contains(*ip);
        });
      case PredKind::kCompare:
        return AnyValue(pred.fields, [&](std::string_view v) {
          auto number = ParseDouble(Trim(v));
          return number && Compare(*number, pred.op, pred.number);
        });
      case PredKind::kTimePart:
        return AnyValue(pred.fields, [&](std::string_view v) {
          auto ts = ParseTimestamp(v);
          if (!ts) return false;
          CivilTime civil = FromUnixNs(*ts);
          double part = 0;
          switch (pred.time_part) {
            case Modifier::kMinute:
              part = civil.minute;
              break;
            case Modifier::kHour:
              part = civil.hour;
              break;
            case Modifier::kDay:
              part = civil.day;
              break;
            case Modifier::kMonth:
              part = civil.month;
              break;
            case Modifier::kYear:
              part = civil.year;
              break;
            case Modifier::kWeek: {
              int64_t days = DaysFromCivil(civil.year, civil.month, civil.day) -
                             DaysFromCivil(civil.year, 1, 1);
              part = static_cast<double>(days / 7 + 1);
              break;
            }
            default:
              break;
          }
          return Compare(part, pred.op, pred.number);
        });
      case PredKind::kFieldRef: {
        std::optional<std::string_view> other;
        for (FieldId f : pred.ref_fields) {
          if ((other = event->Get(f))) break;
        }
        if (!other) return false;
        std::string ref = pred.cased ? std::string(*other) : AsciiLower(*other);
        return AnyValue(pred.fields, [&](std::string_view v) {
          std::string value = pred.cased ? std::string(v) : AsciiLower(v);
          switch (pred.ref_mode) {
            case 'c':
              return value.find(ref) != std::string::npos;
            case 's':
              return value.starts_with(ref);
            case 'e':
              return value.ends_with(ref);
            default:
              return value == ref;
          }
        });
      }
    }
    return false;
  }

  bool Eval(uint32_t index) {
    const Node& node = c.nodes[index];
    switch (node.op) {
      case Node::Op::kTrue:
        return true;
      case Node::Op::kFalse:
        return false;
      case Node::Op::kPred: {
        uint8_t state = pred_state[node.a];
        if (state != 0) return state == 2;
        const Pred& pred = c.preds[node.a];
        if (pred.kind == PredKind::kPattern && pred.deferred.empty()) return false;
        bool value = EvalEager(pred);
        SetPred(node.a, value);
        return value;
      }
      case Node::Op::kNot:
        return !Eval(node.a);
      case Node::Op::kAnd:
        for (uint32_t i = 0; i < node.b; ++i) {
          if (!Eval(c.children[node.a + i])) return false;
        }
        return true;
      case Node::Op::kOr:
        for (uint32_t i = 0; i < node.b; ++i) {
          if (Eval(c.children[node.a + i])) return true;
        }
        return false;
    }
    return false;
  }
};

Matcher::Matcher(const RuleSet& rules, MatcherOptions options)
    : state_(std::make_unique<State>(*rules.compiled_)) {
  state_->value_cache = options.value_cache;
}
Matcher::~Matcher() = default;

uint64_t Matcher::evaluations() const {
  return state_->evaluations;
}

const std::vector<uint8_t>& Matcher::routes_seen() const {
  return state_->routes_seen;
}

void Matcher::Match(const event::Event& event, std::vector<uint32_t>& matched,
                    const Prescan* prescan) {
  State& s = *state_;
  s.event = &event;
  s.prescan = prescan;
  s.prescan_part = nullptr;
  if (prescan && prescan->field < s.c.database_of_field.size() &&
      s.c.database_of_field[prescan->field] >= 0) {
    s.prescan_part = &s.c.databases[s.c.database_of_field[prescan->field]].literal;
  }
  s.deferred_lowered_of = nullptr;
  const std::vector<uint8_t>& field_work = s.c.field_work;
  for (size_t i = 0; i < event.size(); ++i) {
    FieldId id = event.IdAt(i);
    uint8_t work = id < field_work.size() ? field_work[id] : 0;
    if (work == 0) continue;
    if (work & RuleSet::Compiled::kScanField) s.Scan(id, event.ValueAt(i));
    if (work & RuleSet::Compiled::kPresenceField) {
      for (uint32_t rule : s.c.presence_rules[id]) s.MarkRule(rule);
    }
  }
  auto scans = [&](FieldId id) {
    return id < field_work.size() && (field_work[id] & RuleSet::Compiled::kScanField);
  };
  // The raw line stands in for a missing message; @timestamp is scanned as rendered when no
  // stored field holds it.
  if (scans(event::fid::kMessage) && !event.Has(event::fid::kMessage) && !event.raw().empty()) {
    s.Scan(event::fid::kMessage, event.raw());
  }
  if (scans(event::fid::kTimestamp)) {
    bool stored = false;
    for (size_t i = 0; i < event.size() && !stored; ++i) {
      stored = event.IdAt(i) == event::fid::kTimestamp;
    }
    if (!stored) {
      if (auto text = event.Get(event::fid::kTimestamp)) s.Scan(event::fid::kTimestamp, *text);
    }
  }
  for (uint32_t rule : s.c.always) s.MarkRule(rule);
  std::sort(s.candidates.begin(), s.candidates.end());
  s.evaluations += s.candidates.size();
  for (uint32_t rule : s.candidates) {
    if (s.Eval(s.c.roots[rule])) {
      if (rule < s.c.detection_count) {
        matched.push_back(rule);
      } else {
        s.routes_seen[rule - s.c.detection_count] = 1;
      }
    }
    s.rule_mark[rule] = 0;
  }
  s.candidates.clear();
  for (uint32_t pred : s.touched) s.pred_state[pred] = 0;
  s.touched.clear();
}

}  // namespace bulwark::detect
