// The rule compiler: Sigma documents to the compiled form (compiled.h), once per rule set.
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

namespace {

class Compiler {
 public:
  Compiler(RuleSet::Compiled& out, const CompileOptions& options,
           std::vector<sigma::Rejection>& rejected)
      : out_(out), options_(options), rejected_(rejected) {}

  std::vector<FieldId> FieldCandidates(const std::string& sigma_name) {
    std::vector<FieldId> ids;
    for (const std::string& name : options_.field_map.Resolve(sigma_name)) {
      FieldId id = event::InternField(name);
      if (id != event::kInvalidField) ids.push_back(id);
    }
    return ids;
  }

  uint32_t AddNode(Node node) {
    out_.nodes.push_back(node);
    return static_cast<uint32_t>(out_.nodes.size() - 1);
  }

  uint32_t AddGroup(Node::Op op, const std::vector<uint32_t>& kids) {
    if (kids.size() == 1) return kids[0];
    Node node{op, static_cast<uint32_t>(out_.children.size()), static_cast<uint32_t>(kids.size())};
    out_.children.insert(out_.children.end(), kids.begin(), kids.end());
    return AddNode(node);
  }

  uint32_t AddPred(Pred pred) {
    out_.preds.push_back(std::move(pred));
    out_.pred_owner.push_back(current_rule_);
    return AddNode(Node{Node::Op::kPred, static_cast<uint32_t>(out_.preds.size() - 1), 0});
  }

  uint32_t Negate(uint32_t child) { return AddNode(Node{Node::Op::kNot, child, 0}); }

  static bool Has(const std::vector<Modifier>& mods, Modifier m) {
    return std::find(mods.begin(), mods.end(), m) != mods.end();
  }

  static std::optional<CompareOp> CompareOf(const std::vector<Modifier>& mods) {
    for (Modifier m : mods) {
      switch (m) {
        case Modifier::kLt:
          return CompareOp::kLt;
        case Modifier::kLte:
          return CompareOp::kLte;
        case Modifier::kGt:
          return CompareOp::kGt;
        case Modifier::kGte:
          return CompareOp::kGte;
        default:
          break;
      }
    }
    return std::nullopt;
  }

  static std::optional<Modifier> TimePartOf(const std::vector<Modifier>& mods) {
    for (Modifier m : mods) {
      if (m == Modifier::kMinute || m == Modifier::kHour || m == Modifier::kDay ||
          m == Modifier::kWeek || m == Modifier::kMonth || m == Modifier::kYear) {
        return m;
      }
    }
    return std::nullopt;
  }

  // One value of one detection item.
  Result<uint32_t> CompileValue(const sigma::DetectionItem& item, const sigma::Value& value,
                                const std::vector<FieldId>& fields) {
    const auto& mods = item.modifiers;
    bool keyword = item.field.empty();
    Pred pred;
    pred.fields = fields;
    pred.cased = Has(mods, Modifier::kCased);
    if (Has(mods, Modifier::kExists)) {
      if (value.kind != sigma::Value::Kind::kBool) return Fail("'exists' needs true or false");
      pred.kind = PredKind::kExists;
      pred.expect = value.text == "true";
      return AddPred(std::move(pred));
    }
    if (auto part = TimePartOf(mods)) {
      auto number = ParseDouble(value.text);
      if (!number) return Fail("a time modifier needs a number");
      pred.kind = PredKind::kTimePart;
      pred.time_part = *part;
      pred.op = CompareOf(mods).value_or(CompareOp::kEq);
      pred.number = *number;
      return AddPred(std::move(pred));
    }
    if (auto op = CompareOf(mods)) {
      auto number = ParseDouble(value.text);
      if (!number) return Fail(fmt::format("'{}' is not a number", value.text));
      pred.kind = PredKind::kCompare;
      pred.op = *op;
      pred.number = *number;
      return AddPred(std::move(pred));
    }
    if (Has(mods, Modifier::kCidr)) return CompileCidr(item, {value}, fields);
    if (Has(mods, Modifier::kFieldRef)) {
      pred.kind = PredKind::kFieldRef;
      pred.ref_fields = FieldCandidates(value.text);
      pred.ref_mode = Has(mods, Modifier::kContains)     ? 'c'
                      : Has(mods, Modifier::kStartsWith) ? 's'
                      : Has(mods, Modifier::kEndsWith)   ? 'e'
                                                         : '=';
      return AddPred(std::move(pred));
    }
    if (value.kind == sigma::Value::Kind::kNull) {
      if (keyword) return Fail("a keyword cannot be null");
      pred.kind = PredKind::kNull;
      return AddPred(std::move(pred));
    }
    if (value.text.empty() && !keyword && !Has(mods, Modifier::kRe)) {
      bool anywhere = Has(mods, Modifier::kContains) || Has(mods, Modifier::kStartsWith) ||
                      Has(mods, Modifier::kEndsWith);
      pred.kind = anywhere ? PredKind::kExists : PredKind::kEmpty;
      return AddPred(std::move(pred));
    }
    auto regexes = BuildRegexes(value, mods, options_.field_map, keyword);
    if (!regexes) return tl::unexpected(regexes.error());
    pred.kind = PredKind::kPattern;
    uint32_t node = AddPred(std::move(pred));
    auto pred_index = static_cast<uint32_t>(out_.preds.size() - 1);
    for (RegexSpec& regex : *regexes) {
      std::shared_ptr<RE2> confirm;
      if (regex.sigma_re) {
        auto checked = CheckRegex(regex);
        if (!checked) return tl::unexpected(checked.error());
        confirm = std::move(*checked);
      }
      std::shared_ptr<const std::vector<std::string>> glob;
      if (!regex.glob.empty()) glob = std::make_shared<const std::vector<std::string>>(regex.glob);
      for (size_t rank = 0; rank < fields.size(); ++rank) {
        PatternRef ref{pred_index,
                       static_cast<uint8_t>(rank),
                       regex.anchor,
                       static_cast<uint32_t>(regex.expression.size()),
                       confirm,
                       glob,
                       (regex.flags & match::kCaseless) != 0};
        pending_.push_back(PendingPattern{fields[rank], regex, std::move(ref)});
      }
    }
    return node;
  }

  // Validates a Sigma `re` value before it reaches vectorscan: RE2 must take it within a small
  // memory budget (which also bounds repetition counts), so that a hostile or mistaken rule
  // cannot make the compiler exhaust memory. Returns the RE2 confirmation to use when vectorscan
  // can only prefilter the pattern (null when vectorscan matches it exactly), or the reason it is
  // refused.
  static Result<std::shared_ptr<RE2>> CheckRegex(RegexSpec& regex) {
    constexpr int kMaxProgramSize = 20000;
    RE2::Options re2_options;
    re2_options.set_log_errors(false);
    re2_options.set_max_mem(4 << 20);
    re2_options.set_case_sensitive(!(regex.flags & match::kCaseless));
    re2_options.set_dot_nl(regex.flags & match::kDotAll);
    bool multiline = (regex.flags & match::kMultiline) != 0;
    std::string expression = PcreForRe2(regex.expression, multiline);
    if (multiline) expression = "(?m)" + expression;
    auto re2 = std::make_shared<RE2>(expression, re2_options);
    if (!re2->ok()) return Fail(fmt::format("regex does not compile: {}", re2->error()));
    if (re2->ProgramSize() > kMaxProgramSize) {
      return Fail(fmt::format("regex too complex ({} instructions, at most {})", re2->ProgramSize(),
                              kMaxProgramSize));
    }
    if (match::Database::Compile({match::Pattern{regex.expression, regex.flags, 0}}, false)) {
      return std::shared_ptr<RE2>();
    }
    regex.flags |= match::kPrefilter;
    auto prefilter =
        match::Database::Compile({match::Pattern{regex.expression, regex.flags, 0}}, false);
    if (!prefilter)
      return Fail(fmt::format("regex does not compile: {}", prefilter.error().message));
    return re2;
  }

  // Network prefixes (placeholders expanded: address lists) as one predicate, true for an
  // address in any of them.
  Result<uint32_t> CompileCidr(const sigma::DetectionItem& item,
                               const std::vector<sigma::Value>& values,
                               const std::vector<FieldId>& fields) {
    auto prefixes = std::make_shared<event::PrefixSet>();
    for (const sigma::Value& value : values) {
      std::vector<std::string> texts{value.text};
      if (Has(item.modifiers, Modifier::kExpand)) {
        auto expanded = ExpandPlaceholders(value.text, options_.field_map);
        if (!expanded) return tl::unexpected(expanded.error());
        texts = std::move(*expanded);
      }
      for (const std::string& text : texts) {
        auto cidr = event::Cidr::Parse(text);
        if (!cidr) return Fail(fmt::format("'{}' is not a network prefix", text));
        prefixes->Add(*cidr);
      }
    }
    Pred pred;
    pred.fields = fields;
    pred.kind = PredKind::kCidr;
    pred.prefixes = std::move(prefixes);
    return AddPred(std::move(pred));
  }

  Result<uint32_t> CompileItem(const sigma::DetectionItem& item) {
    std::vector<FieldId> fields;
    if (item.field.empty()) {
      fields = {event::fid::kMessage};
    } else {
      fields = FieldCandidates(item.field);
    }
    if (fields.empty()) return Fail("field name cannot be registered");
    bool all = Has(item.modifiers, Modifier::kAll);
    if (!all && Has(item.modifiers, Modifier::kCidr) && !Has(item.modifiers, Modifier::kExists)) {
      // Any of the prefixes: one radix tree instead of one predicate per prefix.
      auto node = CompileCidr(item, item.values, fields);
      if (!node) return Fail(node.error().message, item.where);
      return Has(item.modifiers, Modifier::kNeq) ? Negate(*node) : *node;
    }
    std::vector<uint32_t> kids;
    for (const sigma::Value& value : item.values) {
      auto node = CompileValue(item, value, fields);
      if (!node) return Fail(node.error().message, item.where);
      kids.push_back(*node);
    }
    uint32_t node = AddGroup(all ? Node::Op::kAnd : Node::Op::kOr, kids);
    if (Has(item.modifiers, Modifier::kNeq)) node = Negate(node);
    return node;
  }

  Result<uint32_t> CompileSearch(const sigma::SearchIdentifier& search) {
    std::vector<uint32_t> alternatives;
    for (const auto& group : search.alternatives) {
      std::vector<uint32_t> items;
      for (const auto& item : group) {
        auto node = CompileItem(item);
        if (!node) return node;
        items.push_back(*node);
      }
      alternatives.push_back(AddGroup(Node::Op::kAnd, items));
    }
    return AddGroup(Node::Op::kOr, alternatives);
  }

  Result<uint32_t> CompileCondition(const sigma::ConditionNode& node,
                                    const std::map<std::string, uint32_t>& searches) {
    using Kind = sigma::ConditionNode::Kind;
    if (node.kind == Kind::kIdentifier) return searches.at(node.name);
    std::vector<uint32_t> kids;
    for (const auto& child : node.children) {
      auto compiled = CompileCondition(*child, searches);
      if (!compiled) return compiled;
      kids.push_back(*compiled);
    }
    switch (node.kind) {
      case Kind::kAnd:
      case Kind::kAllOf:
        return AddGroup(Node::Op::kAnd, kids);
      case Kind::kOr:
      case Kind::kOneOf:
        return AddGroup(Node::Op::kOr, kids);
      case Kind::kNot:
        return Negate(kids[0]);
      case Kind::kIdentifier:
        break;
    }
    return Fail("broken condition tree");
  }

  Result<uint32_t> CompileDetection(
      const std::map<std::string, sigma::SearchIdentifier>& detection,
      const std::vector<std::unique_ptr<sigma::ConditionNode>>& conditions) {
    std::map<std::string, uint32_t> searches;
    for (const auto& [name, search] : detection) {
      auto node = CompileSearch(search);
      if (!node) return node;
      searches.emplace(name, *node);
    }
    std::vector<uint32_t> roots;
    for (const auto& condition : conditions) {
      auto node = CompileCondition(*condition, searches);
      if (!node) return node;
      roots.push_back(*node);
    }
    return AddGroup(Node::Op::kOr, roots);
  }

  std::vector<uint32_t> RouteNodes(const sigma::LogSource& source) {
    std::vector<uint32_t> nodes;
    if (!options_.apply_routing) return nodes;
    for (const LogSourceRoute& route : options_.routing.routes) {
      if (!route.product.empty() && route.product != source.product) continue;
      if (!route.category.empty() && route.category != source.category) continue;
      if (!route.service.empty() && route.service != source.service) continue;
      if (route.product.empty() && route.category.empty() && route.service.empty()) continue;
      std::vector<uint32_t> alternatives;
      for (const LogSourceRoute::Condition& condition : route.alternatives) {
        std::vector<uint32_t> parts;
        for (const auto& [field, values] : condition) {
          sigma::DetectionItem item;
          item.field = field;
          for (const auto& v : values)
            item.values.push_back(sigma::Value{sigma::Value::Kind::kString, v});
          std::vector<FieldId> ids = FieldCandidates(field);
          std::vector<uint32_t> kids;
          for (const auto& value : item.values) {
            if (auto node = CompileValue(item, value, ids)) kids.push_back(*node);
          }
          parts.push_back(kids.empty() ? AddNode(Node{Node::Op::kFalse, 0, 0})
                                       : AddGroup(Node::Op::kOr, kids));
        }
        if (!parts.empty()) alternatives.push_back(AddGroup(Node::Op::kAnd, parts));
      }
      if (!alternatives.empty()) nodes.push_back(AddGroup(Node::Op::kOr, alternatives));
    }
    return nodes;
  }

  void Reject(const std::string& where, const std::string& id, const std::string& reason) {
    rejected_.push_back(sigma::Rejection{where, id, reason});
  }

  // Sizes of the compiled tables, to roll back a rule that fails half-way.
  struct Mark {
    size_t nodes, children, preds, pending;
  };
  Mark Save() const {
    return {out_.nodes.size(), out_.children.size(), out_.preds.size(), pending_.size()};
  }
  void Rollback(const Mark& mark) {
    out_.nodes.resize(mark.nodes);
    out_.children.resize(mark.children);
    out_.preds.resize(mark.preds);
    out_.pred_owner.resize(mark.preds);
    pending_.resize(mark.pending);
  }

  // Compiles one detection rule; on failure rolls back everything it added.
  void AddRule(const sigma::Rule& rule) {
    Mark mark = Save();
    current_rule_ = static_cast<uint32_t>(out_.roots.size());
    std::string duplicate;
    if (!rule.id.empty() && seen_ids_.count(rule.id)) {
      duplicate = "duplicate rule id";
    } else if (!rule.name.empty() && seen_names_.count(rule.name)) {
      duplicate = "duplicate rule name '" + rule.name + "'";
    }
    if (!duplicate.empty()) {
      Reject(rule.where, rule.id, duplicate);
      return;
    }
    auto root = CompileDetection(rule.detection, rule.conditions);
    if (!root) {
      Rollback(mark);
      Reject(root.error().where.empty() ? rule.where : root.error().where, rule.id,
             root.error().message);
      return;
    }
    if (!rule.id.empty()) seen_ids_.insert(rule.id);
    if (!rule.name.empty()) seen_names_.insert(rule.name);
    std::vector<uint32_t> parts{*root};
    for (uint32_t node : RouteNodes(rule.logsource)) parts.push_back(node);
    RuleInfo info;
    info.id = rule.id;
    info.title = rule.title;
    info.name = rule.name;
    info.level = rule.level.empty() ? "medium" : rule.level;
    info.status = rule.status;
    info.tags = rule.tags;
    info.where = rule.where;
    out_.infos.push_back(std::move(info));
    out_.roots.push_back(AddGroup(Node::Op::kAnd, parts));
    out_.enabled.push_back(true);
    logsources_.push_back(rule.logsource);
  }

  void ApplyFilter(const sigma::Filter& filter) {
    current_rule_ = kNoRule;
    auto root = CompileDetection(filter.detection, filter.conditions);
    if (!root) {
      Reject(root.error().where.empty() ? filter.where : root.error().where, filter.id,
             "filter: " + root.error().message);
      return;
    }
    uint32_t exclude = Negate(*root);
    int applied = 0;
    for (size_t r = 0; r < out_.roots.size(); ++r) {
      const RuleInfo& info = out_.infos[r];
      bool named = filter.rules.empty();
      for (const auto& ref : filter.rules)
        named |= ref == info.id || (!info.name.empty() && ref == info.name);
      if (!named) continue;
      const auto& source = logsources_[r];
      if ((!filter.logsource.product.empty() && filter.logsource.product != source.product) ||
          (!filter.logsource.category.empty() && filter.logsource.category != source.category) ||
          (!filter.logsource.service.empty() && filter.logsource.service != source.service)) {
        continue;
      }
      out_.roots[r] = AddGroup(Node::Op::kAnd, {out_.roots[r], exclude});
      ++applied;
    }
    filter_preds_.emplace_back(exclude);
    (void)applied;
  }

  // Compiles one database part from pending patterns; on failure disables the rules that own
  // the failing pattern and returns false so that the caller starts again.
  bool BuildPart(const std::vector<size_t>& indices, bool literal, DatabasePart& part) {
    if (indices.empty()) return true;
    std::vector<match::Pattern> patterns;
    std::map<std::pair<std::string, unsigned>, unsigned> ids;
    for (size_t i : indices) {
      const PendingPattern& p = pending_[i];
      auto [it, inserted] = ids.try_emplace({p.regex.expression, p.regex.flags},
                                            static_cast<unsigned>(patterns.size()));
      if (inserted) {
        patterns.push_back(match::Pattern{p.regex.expression, p.regex.flags, it->second});
        part.refs.emplace_back();
      }
      part.refs[it->second].push_back(p.ref);
    }
    // Fields reached through the field map's prefixes (Image, Event.EventData.Image, ...) carry
    // the same patterns in the same order: their databases are compiled once and shared.
    std::string signature(1, literal ? 'L' : 'R');
    for (const match::Pattern& pattern : patterns) {
      signature +=
          fmt::format("{}:{}:{}", pattern.flags, pattern.expression.size(), pattern.expression);
    }
    if (auto it = compiled_parts_.find(signature); it != compiled_parts_.end()) {
      part.database = it->second.database;
      part.patterns = it->second.patterns;
      return true;
    }
    auto compiled = match::Database::Compile(patterns, literal);
    if (compiled) {
      part.database = *compiled;
      part.patterns = std::make_shared<const std::vector<match::Pattern>>(std::move(patterns));
      compiled_parts_.emplace(std::move(signature), DatabasePart{part.database, {}, part.patterns});
      return true;
    }
    int bad = compiled.error().index;
    std::string reason = bad >= 0 ? fmt::format("pattern '{}' does not compile: {}",
                                                patterns[bad].expression, compiled.error().message)
                                  : "vectorscan: " + compiled.error().message;
    bool disabled = false;
    for (size_t id = 0; id < part.refs.size(); ++id) {
      if (bad >= 0 && id != static_cast<size_t>(bad)) continue;
      for (const PatternRef& ref : part.refs[id]) {
        uint32_t owner = out_.pred_owner[ref.pred];
        if (owner != kNoRule && out_.enabled[owner]) {
          DisableRule(owner, reason);
          disabled = true;
        }
      }
    }
    if (!disabled) throw std::runtime_error("vectorscan rejected a built-in pattern: " + reason);
    return false;
  }

  // Moves pattern predicates whose literals are so short that they hit almost every value out
  // of the databases (Pred::deferred). Predicates with a regex or an RE2 confirmation stay.
  void DeferShortLiterals() {
    constexpr size_t kShortLiteral = 3;
    std::vector<uint8_t> verdict(out_.preds.size(), 0);  // 0 unseen, 1 defer, 2 keep
    for (const PendingPattern& p : pending_) {
      uint8_t& v = verdict[p.ref.pred];
      if (v == 2) continue;
      bool plain = p.regex.literal && !p.ref.confirm && p.regex.anchor != Anchor::kWhole;
      if (!plain) {
        v = 2;
      } else if (p.regex.expression.size() <= kShortLiteral) {
        v = 1;
      }
    }
    // A rule must keep a database trigger: deferring must not turn it into one that is
    // evaluated for every event.
    std::vector<uint32_t> pred_cost = PatternCosts();
    auto needs_trigger = [&](uint32_t rule) {
      return TriggersOf(out_.roots[rule], true, pred_cost).kind != Trigger::Kind::kFree;
    };
    std::vector<bool> triggered(out_.roots.size());
    for (uint32_t r = 0; r < out_.roots.size(); ++r) {
      triggered[r] = out_.enabled[r] && needs_trigger(r);
    }
    deferring_.assign(out_.preds.size(), false);
    for (size_t pred = 0; pred < verdict.size(); ++pred) deferring_[pred] = verdict[pred] == 1;
    for (uint32_t r = 0; r < out_.roots.size(); ++r) {
      if (!triggered[r] || needs_trigger(r)) continue;
      std::vector<uint32_t> preds;
      CollectPreds(out_.roots[r], preds);
      for (uint32_t pred : preds) {
        deferring_[pred] = false;
        if (verdict[pred] == 1) verdict[pred] = 2;
      }
    }
    deferring_.clear();
    std::vector<PendingPattern> kept;
    for (PendingPattern& p : pending_) {
      if (verdict[p.ref.pred] != 1) {
        kept.push_back(std::move(p));
        continue;
      }
      if (p.ref.rank != 0) continue;  // one entry per value; candidates come from Pred::fields
      bool caseless = (p.regex.flags & match::kCaseless) != 0;
      out_.preds[p.ref.pred].deferred.push_back(
          DeferredLiteral{caseless ? AsciiLower(p.regex.expression) : p.regex.expression,
                          p.regex.anchor, caseless, p.ref.glob});
    }
    pending_ = std::move(kept);
  }

  // Builds the databases of every field, dropping rules whose patterns vectorscan refuses.
  void BuildDatabases() {
    while (true) {
      struct Lists {
        std::vector<size_t> exact, literal, regex;
      };
      std::map<FieldId, Lists> by_field;
      for (size_t i = 0; i < pending_.size(); ++i) {
        uint32_t owner = out_.pred_owner[pending_[i].ref.pred];
        if (owner != kNoRule && !out_.enabled[owner]) continue;
        const RegexSpec& spec = pending_[i].regex;
        Lists& lists = by_field[pending_[i].field];
        if (spec.literal && spec.anchor == Anchor::kWhole) {
          lists.exact.push_back(i);
        } else {
          (spec.literal ? lists.literal : lists.regex).push_back(i);
        }
      }
      out_.databases.clear();
      out_.database_of_field.clear();
      bool complete = true;
      for (auto& [field, lists] : by_field) {
        FieldDatabase database;
        for (size_t i : lists.exact) {
          const PendingPattern& p = pending_[i];
          if (p.regex.flags & match::kCaseless) {
            database.exact_caseless[AsciiLower(p.regex.expression)].push_back(p.ref);
          } else {
            database.exact_cased[p.regex.expression].push_back(p.ref);
          }
          database.exact_lengths |= uint64_t{1} << std::min<size_t>(p.regex.expression.size(), 63);
        }
        if (!BuildPart(lists.literal, true, database.literal) ||
            !BuildPart(lists.regex, false, database.regex)) {
          complete = false;
          break;
        }
        // Only the message's patterns are asked for again (RuleSet::ScanLiterals).
        if (field != event::fid::kMessage) database.literal.patterns.reset();
        database.regex.patterns.reset();
        if (out_.database_of_field.size() <= field) out_.database_of_field.resize(field + 1, -1);
        out_.database_of_field[field] = static_cast<int32_t>(out_.databases.size());
        out_.databases.push_back(std::move(database));
      }
      if (complete) return;
    }
  }

  void DisableRule(uint32_t rule, const std::string& reason) {
    if (!out_.enabled[rule]) return;
    out_.enabled[rule] = false;
    if (rule >= out_.detection_count) return;  // a route watch: its rules are disabled too
    Reject(out_.infos[rule].where, out_.infos[rule].id, reason);
  }

  // What the routes for `source` ask of an event, in words; empty when no route applies.
  std::string RouteNeeds(const sigma::LogSource& source) const {
    std::string needs;
    for (const LogSourceRoute& route : options_.routing.routes) {
      if (!route.product.empty() && route.product != source.product) continue;
      if (!route.category.empty() && route.category != source.category) continue;
      if (!route.service.empty() && route.service != source.service) continue;
      if (route.product.empty() && route.category.empty() && route.service.empty()) continue;
      std::string alternatives;
      for (const LogSourceRoute::Condition& condition : route.alternatives) {
        std::string parts;
        for (const auto& [field, values] : condition) {
          bool any = values.size() == 1 && values[0] == "*";
          std::string joined;
          for (const std::string& value : values) joined += (joined.empty() ? "" : "|") + value;
          parts += (parts.empty() ? "" : ", ") +
                   (any ? field + " present" : fmt::format("{} = {}", field, joined));
        }
        alternatives += (alternatives.empty() ? "" : " or ") + parts;
      }
      needs += (needs.empty() ? "" : "; ") + alternatives;
    }
    return needs;
  }

  // Adds one route watch per distinct routed logsource of the enabled detection rules: a hidden
  // rule whose condition is the route alone. Also fixes detection_count.
  void AddRouteWatches() {
    out_.detection_count = out_.roots.size();
    if (!options_.apply_routing) return;
    std::map<std::tuple<std::string, std::string, std::string>, size_t> index;
    for (uint32_t r = 0; r < out_.detection_count; ++r) {
      if (!out_.enabled[r]) continue;
      const sigma::LogSource& source = logsources_[r];
      auto key = std::make_tuple(source.product, source.category, source.service);
      if (auto found = index.find(key); found != index.end()) {
        ++out_.routes[found->second].rules;
        continue;
      }
      std::string needs = RouteNeeds(source);
      if (needs.empty()) continue;
      current_rule_ = static_cast<uint32_t>(out_.roots.size());
      std::vector<uint32_t> nodes = RouteNodes(source);
      if (nodes.empty()) continue;
      out_.roots.push_back(AddGroup(Node::Op::kAnd, nodes));
      out_.enabled.push_back(true);
      index.emplace(key, out_.routes.size());
      out_.routes.push_back(
          RouteWatch{source, 1, std::move(needs), RouteNeeds({source.product, "", ""})});
    }
    current_rule_ = kNoRule;
  }

  void CollectPreds(uint32_t index, std::vector<uint32_t>& preds) const {
    const Node& node = out_.nodes[index];
    switch (node.op) {
      case Node::Op::kPred:
        preds.push_back(node.a);
        break;
      case Node::Op::kNot:
        CollectPreds(node.a, preds);
        break;
      case Node::Op::kAnd:
      case Node::Op::kOr:
        for (uint32_t i = 0; i < node.b; ++i) CollectPreds(out_.children[node.a + i], preds);
        break;
      default:
        break;
    }
  }

  // True for a predicate that can only hold for a value of one of its fields present in the
  // event (as stored: @timestamp, rendered on demand, does not count).
  static bool NeedsPresentValue(const Pred& pred) {
    switch (pred.kind) {
      case PredKind::kEmpty:
      case PredKind::kCidr:
      case PredKind::kCompare:
      case PredKind::kTimePart:
      case PredKind::kFieldRef:
        break;
      case PredKind::kExists:
        if (!pred.expect) return false;
        break;
      default:
        return false;
    }
    return std::find(pred.fields.begin(), pred.fields.end(), event::fid::kTimestamp) ==
           pred.fields.end();
  }

  // What an event must bring for a (sub)condition to take a value: nothing (kFree: it can,
  // e.g. `not filter` holds without any hit), something no event brings (kNever), or a hit of
  // one of `preds` or one of `fields` present (kSome). `cost` estimates how often that happens.
  struct Trigger {
    enum class Kind : uint8_t { kNever, kSome, kFree };
    Kind kind = Kind::kNever;
    std::vector<uint32_t> preds;
    std::vector<FieldId> fields;
    uint32_t cost = 0;
  };

  // The triggers of node `index` taking the value `holds`. A conjunction holds only when each
  // part does, so any one part's triggers suffice (the rarest is taken); a disjunction needs the
  // triggers of all its parts; `not` swaps the value asked for.
  Trigger TriggersOf(uint32_t index, bool holds, const std::vector<uint32_t>& pred_cost) const {
    const Node& node = out_.nodes[index];
    switch (node.op) {
      case Node::Op::kTrue:
      case Node::Op::kFalse:
        return Trigger{(node.op == Node::Op::kTrue) == holds ? Trigger::Kind::kFree
                                                             : Trigger::Kind::kNever};
      case Node::Op::kPred: {
        const Pred& pred = out_.preds[node.a];
        if (!holds) return Trigger{Trigger::Kind::kFree};
        if (NeedsPresentValue(pred)) {
          return Trigger{Trigger::Kind::kSome,
                         {},
                         pred.fields,
                         kPresenceCost * static_cast<uint32_t>(pred.fields.size())};
        }
        bool deferred =
            !pred.deferred.empty() || (node.a < deferring_.size() && deferring_[node.a]);
        if (pred.kind != PredKind::kPattern || deferred) return Trigger{Trigger::Kind::kFree};
        return Trigger{Trigger::Kind::kSome, {node.a}, {}, pred_cost[node.a]};
      }
      case Node::Op::kNot:
        return TriggersOf(node.a, !holds, pred_cost);
      case Node::Op::kAnd:
      case Node::Op::kOr:
        break;
    }
    bool all_needed = (node.op == Node::Op::kAnd) == holds;
    Trigger result{all_needed ? Trigger::Kind::kFree : Trigger::Kind::kNever};
    for (uint32_t i = 0; i < node.b; ++i) {
      Trigger part = TriggersOf(out_.children[node.a + i], holds, pred_cost);
      if (all_needed) {
        if (part.kind == Trigger::Kind::kNever) return part;
        if (part.kind == Trigger::Kind::kSome &&
            (result.kind == Trigger::Kind::kFree || part.cost < result.cost)) {
          result = std::move(part);
        }
      } else {
        if (part.kind == Trigger::Kind::kFree) return part;
        if (part.kind == Trigger::Kind::kNever) continue;
        result.kind = Trigger::Kind::kSome;
        result.preds.insert(result.preds.end(), part.preds.begin(), part.preds.end());
        result.fields.insert(result.fields.end(), part.fields.begin(), part.fields.end());
        result.cost += part.cost;
      }
    }
    return result;
  }

  // Estimated hits of each pattern predicate, by its patterns: a short literal ('0', 'root')
  // occurs in more values than a long one.
  std::vector<uint32_t> PatternCosts() const {
    std::vector<uint32_t> cost(out_.preds.size(), 0);
    for (const PendingPattern& p : pending_) {
      size_t length = p.regex.expression.size();
      cost[p.ref.pred] += !p.regex.literal ? 2 : length <= 3 ? 8 : length <= 5 ? 3 : 1;
    }
    return cost;
  }

  // Sorts rules into those evaluated for every event (`always`), for events with a field present
  // (`presence_rules`) and for events with a hit of a predicate (`hit_rules`), by their triggers.
  void Index() {
    out_.hit_rules.assign(out_.preds.size(), {});
    std::vector<uint32_t> pred_cost = PatternCosts();
    for (uint32_t r = 0; r < out_.roots.size(); ++r) {
      if (!out_.enabled[r]) continue;
      Trigger trigger = TriggersOf(out_.roots[r], true, pred_cost);
      if (trigger.kind == Trigger::Kind::kFree) {
        out_.always.push_back(r);
        continue;
      }
      for (uint32_t p : trigger.preds) {
        auto& list = out_.hit_rules[p];
        if (list.empty() || list.back() != r) list.push_back(r);
      }
      for (FieldId field : trigger.fields) {
        if (field >= out_.presence_rules.size()) out_.presence_rules.resize(field + 1);
        auto& rules = out_.presence_rules[field];
        if (rules.empty() || rules.back() != r) rules.push_back(r);
      }
    }
    out_.field_work.assign(std::max(out_.presence_rules.size(), out_.database_of_field.size()), 0);
    for (size_t field = 0; field < out_.field_work.size(); ++field) {
      if (field < out_.database_of_field.size() && out_.database_of_field[field] >= 0) {
        out_.field_work[field] |= RuleSet::Compiled::kScanField;
      }
      if (field < out_.presence_rules.size() && !out_.presence_rules[field].empty()) {
        out_.field_work[field] |= RuleSet::Compiled::kPresenceField;
      }
    }
  }

  void AddCorrelations(const std::vector<const sigma::Correlation*>& correlations) {
    // Name/id lookup over detection rules first, then correlations as they are added.
    std::unordered_map<std::string, uint32_t> by_ref;
    for (uint32_t r = 0; r < out_.infos.size(); ++r) {
      if (!out_.enabled[r]) continue;
      by_ref.emplace(out_.infos[r].id, r);
      if (!out_.infos[r].name.empty()) by_ref.emplace(out_.infos[r].name, r);
    }
    // Correlations may reference each other in any order: resolve until nothing changes.
    std::vector<const sigma::Correlation*> remaining = correlations;
    bool progress = true;
    while (!remaining.empty() && progress) {
      progress = false;
      std::vector<const sigma::Correlation*> next;
      for (const sigma::Correlation* spec : remaining) {
        bool temporal = spec->type == sigma::CorrelationType::kTemporal ||
                        spec->type == sigma::CorrelationType::kTemporalOrdered;
        if (temporal && spec->rules.size() > kMaxTemporalInputs) {
          Reject(spec->where, spec->id,
                 fmt::format("temporal correlations take at most {} rules", kMaxTemporalInputs));
          progress = true;
          continue;
        }
        if (auto problem = UnsupportedCondition(*spec)) {
          Reject(spec->where, spec->id, *problem);
          progress = true;
          continue;
        }
        if (!spec->id.empty() && by_ref.count(spec->id)) {
          Reject(spec->where, spec->id, "duplicate rule id");
          progress = true;
          continue;
        }
        bool resolvable = true;
        for (const auto& ref : spec->rules) resolvable &= by_ref.count(ref) > 0;
        if (!resolvable) {
          next.push_back(spec);
          continue;
        }
        progress = true;
        CompiledCorrelation corr;
        corr.spec = *spec;
        corr.rule_index = static_cast<uint32_t>(out_.infos.size());
        for (const auto& ref : spec->rules) {
          uint32_t input = by_ref.at(ref);
          corr.inputs.push_back(input);
          if (!spec->generate) out_.infos[input].generates = false;
          std::vector<std::vector<FieldId>> fields;
          for (const std::string& group : spec->group_by) {
            std::string field = group;
            if (auto alias = spec->aliases.find(group); alias != spec->aliases.end()) {
              const RuleInfo& info = out_.infos[input];
              if (auto it = alias->second.find(info.id); it != alias->second.end())
                field = it->second;
              else if (auto it2 = alias->second.find(info.name); it2 != alias->second.end())
                field = it2->second;
            }
            fields.push_back(FieldCandidates(field));
          }
          corr.group_fields.push_back(std::move(fields));
        }
        corr.group_names = spec->group_by;
        if (!spec->condition.field.empty())
          corr.value_fields = FieldCandidates(spec->condition.field);
        RuleInfo info;
        info.id = spec->id;
        info.title = spec->title;
        info.name = spec->name;
        info.level = spec->level.empty() ? "high" : spec->level;
        info.status = spec->status;
        info.tags = spec->tags;
        info.where = spec->where;
        info.is_correlation = true;
        out_.infos.push_back(std::move(info));
        by_ref.emplace(spec->id, corr.rule_index);
        if (!spec->name.empty()) by_ref.emplace(spec->name, corr.rule_index);
        out_.correlations.push_back(std::move(corr));
      }
      remaining = std::move(next);
    }
    for (const sigma::Correlation* spec : remaining) {
      std::string missing;
      for (const auto& ref : spec->rules) {
        if (!by_ref.count(ref)) missing += (missing.empty() ? "" : ", ") + ref;
      }
      Reject(spec->where, spec->id, "correlation references unknown or rejected rules: " + missing);
    }
    for (const DetectorRule& detector : options_.detector_rules) {
      auto input = by_ref.find(detector.input);
      if (input == by_ref.end()) {
        Reject("builtin", detector.info.id,
               "detector input rule " + detector.input + " is missing");
        continue;
      }
      out_.infos[input->second].generates = false;
      by_ref.emplace(detector.info.id, static_cast<uint32_t>(out_.infos.size()));
      out_.infos.push_back(detector.info);
    }
    out_.consumers.assign(out_.infos.size(), {});
    for (uint32_t c = 0; c < out_.correlations.size(); ++c) {
      for (uint32_t input : out_.correlations[c].inputs) {
        auto& list = out_.consumers[input];
        if (list.empty() || list.back() != c) list.push_back(c);
      }
    }
  }

  // Conditions the streaming engine cannot decide when an event arrives: without a lower bound
  // (lt, lte, eq, neq) a window's count is only known when the window ends.
  static std::optional<std::string> UnsupportedCondition(const sigma::Correlation& spec) {
    const auto& c = spec.condition;
    if (!c.gt && !c.gte) {
      return "correlation conditions need a lower bound (gt or gte); lt, lte, eq and neq alone are "
             "decided at window end, which is not supported yet";
    }
    if (c.eq || c.neq) return "eq and neq in correlation conditions are not supported yet";
    int64_t threshold = c.gte ? *c.gte : *c.gt + 1;
    if (spec.type == sigma::CorrelationType::kEventCount && threshold > kMaxEventCountThreshold) {
      return fmt::format("event_count thresholds above {} are not supported",
                         kMaxEventCountThreshold);
    }
    return std::nullopt;
  }

  static constexpr uint32_t kNoRule = 0xFFFFFFFF;
  static constexpr uint32_t kPresenceCost = 16;  // a present field, as a trigger, per field
  RuleSet::Compiled& out_;
  const CompileOptions& options_;
  std::vector<sigma::Rejection>& rejected_;
  std::vector<PendingPattern> pending_;
  std::vector<bool> deferring_;  // predicates DeferShortLiterals() is about to defer
  // Databases compiled so far, by their pattern list (see BuildPart); refs are not kept here.
  std::unordered_map<std::string, DatabasePart> compiled_parts_;
  std::vector<sigma::LogSource> logsources_;
  std::set<std::string> seen_ids_, seen_names_;
  std::vector<uint32_t> filter_preds_;
  uint32_t current_rule_ = kNoRule;
};

}  // namespace

RuleSet::RuleSet() : compiled_(std::make_unique<Compiled>()) {}
RuleSet::~RuleSet() = default;

std::shared_ptr<const RuleSet> RuleSet::Compile(std::vector<sigma::Document> documents,
                                                const CompileOptions& options,
                                                std::vector<sigma::Rejection>& rejected) {
  std::shared_ptr<RuleSet> set(new RuleSet());
  Compiler compiler(*set->compiled_, options, rejected);
  std::vector<const sigma::Correlation*> correlations;
  std::vector<const sigma::Filter*> filters;
  for (const auto& document : documents) {
    if (const auto* rule = std::get_if<sigma::Rule>(&document)) {
      compiler.AddRule(*rule);
    } else if (const auto* corr = std::get_if<sigma::Correlation>(&document)) {
      correlations.push_back(corr);
    } else if (const auto* filter = std::get_if<sigma::Filter>(&document)) {
      filters.push_back(filter);
    }
  }
  for (const sigma::Filter* filter : filters) compiler.ApplyFilter(*filter);
  compiler.AddRouteWatches();
  compiler.DeferShortLiterals();
  compiler.BuildDatabases();
  compiler.Index();
  compiler.AddCorrelations(correlations);
  return set;
}

size_t RuleSet::rule_count() const {
  return compiled_->infos.size();
}
const RuleInfo& RuleSet::rule(uint32_t index) const {
  return compiled_->infos[index];
}
std::optional<uint32_t> RuleSet::FindRule(std::string_view id_or_name) const {
  for (uint32_t i = 0; i < compiled_->infos.size(); ++i) {
    if (compiled_->infos[i].id == id_or_name || compiled_->infos[i].name == id_or_name) return i;
  }
  return std::nullopt;
}
const std::vector<CompiledCorrelation>& RuleSet::correlations() const {
  return compiled_->correlations;
}
const std::vector<uint32_t>& RuleSet::consumers(uint32_t index) const {
  if (index >= compiled_->consumers.size()) return compiled_->no_consumers;
  return compiled_->consumers[index];
}
std::vector<match::Pattern> RuleSet::ScanLiterals(FieldId field) const {
  if (field >= compiled_->database_of_field.size()) return {};
  int32_t index = compiled_->database_of_field[field];
  if (index < 0) return {};
  const auto& patterns = compiled_->databases[index].literal.patterns;
  return patterns ? *patterns : std::vector<match::Pattern>();
}

const std::vector<RouteWatch>& RuleSet::routes() const {
  return compiled_->routes;
}

std::unique_ptr<Matcher> RuleSet::NewMatcher(MatcherOptions options) const {
  return std::make_unique<Matcher>(*this, options);
}

}  // namespace bulwark::detect
