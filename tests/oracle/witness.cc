#include "witness.h"

#include <re2/re2.h>

#include <algorithm>
#include <bitset>
#include <charconv>
#include <functional>
#include <map>
#include <set>

#include "bulwark/core/time.h"
#include "encoding.h"

namespace bulwark::oracle {

using sigma::Modifier;

namespace {

bool Has(const std::vector<Modifier>& modifiers, Modifier m) {
  return std::find(modifiers.begin(), modifiers.end(), m) != modifiers.end();
}

// Builds example texts for a regex: the `choice`-th combination of alternatives and repetitions.
class RegexExampler {
 public:
  RegexExampler(std::string_view pattern, uint32_t choice) : p_(pattern), choice_(choice) {}

  std::optional<std::string> Run() {
    std::string out = Alternation();
    if (!ok_ || at_ != p_.size()) return std::nullopt;
    return out;
  }

 private:
  bool Pick(uint32_t options) {  // a pseudo-random but deterministic decision per choice
    ++decisions_;
    return ((choice_ >> (decisions_ % 16)) & 1) != 0 && options > 1;
  }

  std::string Alternation() {
    std::vector<std::string> alternatives{Sequence()};
    while (ok_ && at_ < p_.size() && p_[at_] == '|') {
      ++at_;
      alternatives.push_back(Sequence());
    }
    size_t pick = 0;
    if (alternatives.size() > 1 && Pick(2)) pick = (choice_ / 7 + decisions_) % alternatives.size();
    return alternatives[pick];
  }

  std::string Sequence() {
    std::string out;
    while (ok_ && at_ < p_.size() && p_[at_] != '|' && p_[at_] != ')') {
      std::string atom = Atom();
      size_t repeat = Quantifier();
      for (size_t i = 0; i < repeat; ++i) out += atom;
    }
    return out;
  }

  size_t Quantifier() {
    if (at_ >= p_.size()) return 1;
    size_t minimum = 1;
    bool extra = false;
    char c = p_[at_];
    if (c == '*' || c == '?') {
      minimum = 0;
      extra = true;
      ++at_;
    } else if (c == '+') {
      minimum = 1;
      extra = true;
      ++at_;
    } else if (c == '{') {
      size_t close = p_.find('}', at_);
      if (close == std::string_view::npos) return 1;  // a literal '{'
      std::string_view body = p_.substr(at_ + 1, close - at_ - 1);
      size_t value = 0;
      auto [end, error] = std::from_chars(body.data(), body.data() + body.size(), value);
      if (error != std::errc()) return 1;
      minimum = value;
      extra = end != body.data() + body.size();
      at_ = close + 1;
    } else {
      return 1;
    }
    if (at_ < p_.size() && (p_[at_] == '?' || p_[at_] == '+')) ++at_;  // lazy, possessive
    return minimum + (extra && Pick(2) ? 1 : 0);
  }

  std::string Atom() {
    char c = p_[at_++];
    switch (c) {
      case '(': {
        if (at_ < p_.size() && p_[at_] == '?') {
          ++at_;
          if (at_ < p_.size() && (p_[at_] == ':')) {
            ++at_;
          } else if (at_ < p_.size() && (p_[at_] == 'P' || p_[at_] == '<')) {
            size_t close = p_.find('>', at_);
            if (close == std::string_view::npos) return Fail();
            at_ = close + 1;
          } else {
            // Flags: (?i) or (?i:...). Lookarounds are not handled.
            while (at_ < p_.size() && std::isalpha(static_cast<unsigned char>(p_[at_]))) ++at_;
            if (at_ < p_.size() && p_[at_] == ')') {
              ++at_;
              return "";
            }
            if (at_ < p_.size() && p_[at_] == ':') {
              ++at_;
            } else {
              return Fail();
            }
          }
        }
        std::string inner = Alternation();
        if (at_ >= p_.size() || p_[at_] != ')') return Fail();
        ++at_;
        return inner;
      }
      case '[':
        return Class();
      case '.':
        return "a";
      case '^':
      case '$':
        return "";
      case '\\':
        return Escape(false);
      default:
        return std::string(1, c);
    }
  }

  // After a backslash. In a class, `\b` is a backspace.
  std::string Escape(bool in_class) {
    if (at_ >= p_.size()) return Fail();
    char c = p_[at_++];
    switch (c) {
      case 'd':
        return "1";
      case 'D':
        return "a";
      case 'w':
        return "a";
      case 'W':
        return "-";
      case 's':
        return " ";
      case 'S':
        return "x";
      case 'n':
        return "\n";
      case 't':
        return "\t";
      case 'r':
        return "\r";
      case 'b':
        return in_class ? "\b" : "";
      case 'B':
      case 'A':
      case 'z':
      case 'Z':
        return "";
      case 'x': {
        if (at_ + 2 > p_.size()) return Fail();
        unsigned value = 0;
        auto [end, error] = std::from_chars(p_.data() + at_, p_.data() + at_ + 2, value, 16);
        if (error != std::errc() || end != p_.data() + at_ + 2) return Fail();
        at_ += 2;
        return std::string(1, static_cast<char>(value));
      }
      default:
        if (std::isalnum(static_cast<unsigned char>(c))) return Fail();  // \p{..}, \1, ...
        return std::string(1, c);
    }
  }

  std::string Class() {
    bool negated = at_ < p_.size() && p_[at_] == '^';
    if (negated) ++at_;
    std::bitset<256> set;
    std::string first;
    bool start = true;
    while (at_ < p_.size() && (p_[at_] != ']' || start)) {
      start = false;
      std::string item;
      if (p_[at_] == '\\') {
        ++at_;
        if (at_ < p_.size() && (p_[at_] == 'd' || p_[at_] == 'w' || p_[at_] == 's')) {
          char kind = p_[at_++];
          for (int b = 0; b < 128; ++b) {
            bool in = kind == 'd'   ? std::isdigit(b)
                      : kind == 'w' ? (std::isalnum(b) || b == '_')
                                    : (b == ' ' || (b >= 9 && b <= 13));
            if (in) set.set(b);
          }
          if (first.empty()) first.assign(1, kind == 'd' ? '1' : kind == 'w' ? 'a' : ' ');
          continue;
        }
        item = Escape(true);
        if (!ok_) return "";
      } else {
        // One UTF-8 character.
        auto lead = static_cast<unsigned char>(p_[at_]);
        size_t length = lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        item = std::string(p_.substr(at_, length));
        at_ += length;
      }
      if (item.size() == 1 && at_ + 1 < p_.size() && p_[at_] == '-' && p_[at_ + 1] != ']') {
        ++at_;
        std::string last;
        if (p_[at_] == '\\') {
          ++at_;
          last = Escape(true);
        } else {
          last = std::string(1, p_[at_++]);
        }
        if (last.size() != 1) return Fail();
        for (int b = static_cast<unsigned char>(item[0]); b <= static_cast<unsigned char>(last[0]);
             ++b) {
          set.set(b);
        }
      } else if (item.size() == 1) {
        set.set(static_cast<unsigned char>(item[0]));
      }
      if (first.empty()) first = item;
    }
    if (at_ >= p_.size()) return Fail();
    ++at_;  // ']'
    if (!negated) return first;
    for (char candidate : std::string("ax0 _-Q.")) {
      if (!set.test(static_cast<unsigned char>(candidate))) return std::string(1, candidate);
    }
    return Fail();
  }

  std::string Fail() {
    ok_ = false;
    return "";
  }

  std::string_view p_;
  uint32_t choice_;
  size_t at_ = 0;
  uint32_t decisions_ = 0;
  bool ok_ = true;
};

// What one item asks of one event field.
struct Want {
  enum class Kind { kWhole, kContains, kStarts, kEnds, kAbsent } kind;
  std::string text;
};

// A Sigma glob made into a text it matches: `*` empty, `?` one letter, escapes resolved.
std::string GlobExample(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' && i + 1 < value.size() &&
        (value[i + 1] == '*' || value[i + 1] == '?' || value[i + 1] == '\\')) {
      out.push_back(value[++i]);
    } else if (c == '?') {
      out.push_back('x');
    } else if (c != '*') {
      out.push_back(c);
    }
  }
  return out;
}

std::string NumberText(double value) {
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return error == std::errc() ? std::string(buffer, end) : "0";
}

class Builder {
 public:
  Builder(const detect::CompileOptions& options, uint32_t choice)
      : options_(options), choice_(choice) {}

  std::string FieldName(const std::string& sigma_name) const {
    return options_.field_map.Resolve(sigma_name).front();
  }

  // Adds what makes `item` hold; false when it cannot be expressed.
  bool Item(const sigma::DetectionItem& item) {
    const auto& mods = item.modifiers;
    std::string field = item.field.empty() ? "message" : FieldName(item.field);
    if (Has(mods, Modifier::kNeq)) return true;  // the field stays absent unless set elsewhere
    bool all = Has(mods, Modifier::kAll);
    size_t count = all ? item.values.size() : 1;
    for (size_t v = 0; v < count; ++v) {
      size_t index = all ? v : (choice_ / 3) % item.values.size();
      if (!Value(item, item.values[index], field)) return false;
    }
    return true;
  }

  bool Value(const sigma::DetectionItem& item, const sigma::Value& value,
             const std::string& field) {
    const auto& mods = item.modifiers;
    bool keyword = item.field.empty();
    if (Has(mods, Modifier::kExists)) {
      // A field typed as an address takes only an address.
      bool address = event::TypeOf(event::InternField(field)) == event::FieldType::kIp;
      Add(field, value.text == "true" ? Want{Want::Kind::kWhole, address ? "192.0.2.1" : "present"}
                                      : Want{Want::Kind::kAbsent, ""});
      return true;
    }
    if (value.kind == sigma::Value::Kind::kNull) {
      Add(field, Want{Want::Kind::kAbsent, ""});
      return true;
    }
    for (Modifier m : {Modifier::kMinute, Modifier::kHour, Modifier::kDay, Modifier::kWeek,
                       Modifier::kMonth, Modifier::kYear}) {
      if (!Has(mods, m)) continue;
      double number = std::strtod(value.text.c_str(), nullptr);
      if (Has(mods, Modifier::kGt)) number += 1;
      if (Has(mods, Modifier::kLt)) number -= 1;
      CivilTime civil{2026, 3, 2, 10, 15, 0};  // a Monday in week 9
      int part = static_cast<int>(number);
      switch (m) {
        case Modifier::kMinute:
          civil.minute = part;
          break;
        case Modifier::kHour:
          civil.hour = part;
          break;
        case Modifier::kDay:
          civil.day = part;
          break;
        case Modifier::kMonth:
          civil.month = part;
          break;
        case Modifier::kYear:
          civil.year = part;
          break;
        default:  // week n: the day 7 (n - 1) days after 1 January
          civil = FromUnixNs((DaysFromCivil(2026, 1, 1) + 7 * (part - 1)) * 86400 * kNsPerSecond);
          break;
      }
      Add(field, Want{Want::Kind::kWhole, FormatTimestamp(ToUnixNs(civil))});
      return true;
    }
    for (auto [m, delta] : {std::pair{Modifier::kGt, 1.0},
                            {Modifier::kGte, 0.0},
                            {Modifier::kLt, -1.0},
                            {Modifier::kLte, 0.0}}) {
      if (!Has(mods, m)) continue;
      Add(field,
          Want{Want::Kind::kWhole, NumberText(std::strtod(value.text.c_str(), nullptr) + delta)});
      return true;
    }
    if (Has(mods, Modifier::kFieldRef)) {
      Add(field, Want{Want::Kind::kWhole, "same-value"});
      Add(FieldName(value.text), Want{Want::Kind::kWhole, "same-value"});
      return true;
    }
    if (Has(mods, Modifier::kRe)) {
      auto example = RegexExample(value.text, Has(mods, Modifier::kReI), Has(mods, Modifier::kReM),
                                  Has(mods, Modifier::kReS));
      if (!example) {
        why_ = "no example for regex " + value.text;
        return false;
      }
      Add(field, Want{Want::Kind::kWhole, *example});
      return true;
    }
    std::string text = value.text;
    if (Has(mods, Modifier::kExpand)) {
      size_t open = text.find('%');
      size_t close = open == std::string::npos ? open : text.find('%', open + 1);
      if (close != std::string::npos) {
        auto found = options_.field_map.placeholders.find(text.substr(open + 1, close - open - 1));
        if (found == options_.field_map.placeholders.end() || found->second.empty()) {
          why_ = "unknown placeholder";
          return false;
        }
        text = text.substr(0, open) + found->second.front() + text.substr(close + 1);
      }
    }
    if (Has(mods, Modifier::kCidr)) {  // the prefix's own address (an address list's first)
      Add(field, Want{Want::Kind::kWhole, text.substr(0, text.find('/'))});
      return true;
    }
    std::string example = GlobExample(text);
    for (Modifier m : mods) {
      switch (m) {
        case Modifier::kBase64:
        case Modifier::kBase64Offset:
          example = Base64(example);
          break;
        case Modifier::kUtf16Le:
          example = Utf16(example, false, false);
          break;
        case Modifier::kUtf16Be:
          example = Utf16(example, true, false);
          break;
        case Modifier::kUtf16:
          example = Utf16(example, false, true);
          break;
        default:
          break;
      }
    }
    bool contains = keyword || Has(mods, Modifier::kContains) ||
                    (Has(mods, Modifier::kBase64Offset)) ||
                    (Has(mods, Modifier::kStartsWith) && Has(mods, Modifier::kEndsWith));
    Want::Kind kind = contains                           ? Want::Kind::kContains
                      : Has(mods, Modifier::kStartsWith) ? Want::Kind::kStarts
                      : Has(mods, Modifier::kEndsWith)   ? Want::Kind::kEnds
                                                         : Want::Kind::kWhole;
    Add(field, Want{kind, example});
    return true;
  }

  void Add(const std::string& field, Want want) { wants_[field].push_back(std::move(want)); }

  // For a search identifier that must not hold: fields it tests for absence or emptiness (null,
  // '', exists: false) get a neutral value unless something else sets them, so that it does not
  // hold merely because they are missing.
  void MustNotHold(const sigma::SearchIdentifier& search) {
    for (const auto& group : search.alternatives) {
      for (const auto& item : group) {
        if (item.field.empty()) continue;
        for (const sigma::Value& value : item.values) {
          bool absence = value.kind == sigma::Value::Kind::kNull ||
                         (value.text.empty() && value.kind == sigma::Value::Kind::kString) ||
                         (Has(item.modifiers, Modifier::kExists) && value.text == "false");
          if (absence) present_.insert(FieldName(item.field));
        }
      }
    }
  }

  // The event: one value per field that joins what its wants ask (`split`: one value per want).
  std::optional<GeneratedEvent> Event(bool split) {
    GeneratedEvent event;
    event.timestamp = 1772446500 * kNsPerSecond;  // 2026-03-02T10:15:00Z
    for (auto& [field, wants] : wants_) {
      bool absent = false, other = false;
      for (const Want& want : wants) (want.kind == Want::Kind::kAbsent ? absent : other) = true;
      if (absent && other) return std::nullopt;
      if (absent) continue;
      // With `choice` odd, values get a letter of filler where they may have more text, so
      // that filters on whole values or on what a value ends with do not hit by accident.
      bool filler = (choice_ & 1) != 0;
      if (split) {
        for (const Want& want : wants) {
          std::string text = want.text;
          if (filler && (want.kind == Want::Kind::kContains || want.kind == Want::Kind::kEnds)) {
            text = "w" + text;
          }
          if (filler && (want.kind == Want::Kind::kContains || want.kind == Want::Kind::kStarts)) {
            text += "w";
          }
          event.fields.push_back(EventField{field, text});
        }
        continue;
      }
      std::string starts, middle, ends, whole;
      bool has_whole = false;
      for (const Want& want : wants) {
        switch (want.kind) {
          case Want::Kind::kWhole:
            whole = want.text;
            has_whole = true;
            break;
          case Want::Kind::kStarts:
            starts = want.text + starts;
            break;
          case Want::Kind::kEnds:
            ends += want.text;
            break;
          default:
            middle += (middle.empty() ? "" : " ") + want.text;
            break;
        }
      }
      if (filler && starts.empty()) starts = "w";
      if (filler && ends.empty()) ends = "w";
      std::string value =
          has_whole ? whole : starts + (middle.empty() ? "" : " " + middle + " ") + ends;
      event.fields.push_back(EventField{field, value});
    }
    for (const std::string& field : present_) {
      if (!wants_.count(field)) event.fields.push_back(EventField{field, "witness-" + field});
    }
    event.raw = CaseGenerator::ToJson(event);
    return event;
  }

  const std::string& why() const { return why_; }

 private:
  const detect::CompileOptions& options_;
  uint32_t choice_;
  std::map<std::string, std::vector<Want>> wants_;
  std::set<std::string> present_;  // fields that must be present (see MustNotHold)
  std::string why_;
};

void Identifiers(const sigma::ConditionNode& node, std::set<std::string>& out) {
  if (node.kind == sigma::ConditionNode::Kind::kIdentifier) out.insert(node.name);
  for (const auto& child : node.children) Identifiers(*child, out);
}

bool Holds(const sigma::ConditionNode& node, const std::map<std::string, bool>& truth) {
  using Kind = sigma::ConditionNode::Kind;
  switch (node.kind) {
    case Kind::kIdentifier:
      return truth.at(node.name);
    case Kind::kAnd:
    case Kind::kAllOf:
      return std::all_of(node.children.begin(), node.children.end(),
                         [&](const auto& child) { return Holds(*child, truth); });
    case Kind::kOr:
    case Kind::kOneOf:
      return std::any_of(node.children.begin(), node.children.end(),
                         [&](const auto& child) { return Holds(*child, truth); });
    case Kind::kNot:
      return !Holds(*node.children.at(0), truth);
  }
  return false;
}

bool EventHolds(const SigmaOracle& oracle, const sigma::Rule& rule,
                const GeneratedEvent& generated) {
  event::Event event;
  CaseGenerator::Fill(generated, event);
  return oracle.DetectionHolds(rule, event);
}

// The witness with one value changed so that the rule no longer holds: one ASCII character of a
// value replaced, else one value dropped.
std::optional<GeneratedEvent> NearMiss(const SigmaOracle& oracle, const sigma::Rule& rule,
                                       const detect::CompileOptions& options,
                                       const GeneratedEvent& witness) {
  for (size_t f = 0; f < witness.fields.size(); ++f) {
    const std::string& value = witness.fields[f].value;
    std::vector<size_t> positions;
    for (size_t i = 0; i < value.size(); ++i) {
      if (static_cast<unsigned char>(value[i]) < 0x80) positions.push_back(i);
    }
    // The middle first, then the ends, then every other position.
    std::vector<size_t> order;
    if (!positions.empty()) {
      order = {positions[positions.size() / 2], positions.back(), positions.front()};
      for (size_t p : positions) order.push_back(p);
    }
    for (size_t position : order) {
      GeneratedEvent changed = witness;
      char& c = changed.fields[f].value[position];
      c = c == 'q' ? 'j' : 'q';
      changed.raw = CaseGenerator::ToJson(changed);
      if (!EventHolds(oracle, rule, changed)) return changed;
    }
  }
  for (size_t f = 0; f < witness.fields.size(); ++f) {
    GeneratedEvent changed = witness;
    changed.fields.erase(changed.fields.begin() + static_cast<std::ptrdiff_t>(f));
    changed.raw = CaseGenerator::ToJson(changed);
    if (!EventHolds(oracle, rule, changed)) return changed;
  }
  // A rule that holds for an empty event (`not selection`): add the values of one identifier.
  for (const auto& [name, search] : rule.detection) {
    if (search.alternatives.empty()) continue;
    Builder builder(options, 0);
    bool ok = true;
    for (const auto& item : search.alternatives.front()) ok = ok && builder.Item(item);
    auto added = builder.Event(false);
    if (!ok || !added) continue;
    GeneratedEvent changed = witness;
    for (const EventField& field : added->fields) changed.fields.push_back(field);
    changed.raw = CaseGenerator::ToJson(changed);
    if (!EventHolds(oracle, rule, changed)) return changed;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> RegexExample(std::string_view pattern, bool caseless, bool multiline,
                                        bool dot_all) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(!caseless);
  options.set_dot_nl(dot_all);
  std::string text(pattern);
  if (multiline) text = "(?m)" + text;
  RE2 re(text, options);
  if (!re.ok()) return std::nullopt;
  for (uint32_t choice = 0; choice < 64; ++choice) {
    auto example = RegexExampler(pattern, choice * 2654435761u).Run();
    if (example && RE2::PartialMatch(*example, re)) return example;
  }
  return std::nullopt;
}

std::optional<Witness> MakeWitness(const sigma::Rule& rule, const detect::CompileOptions& options,
                                   const SigmaOracle& oracle, std::string& why) {
  std::set<std::string> names;
  for (const auto& condition : rule.conditions) Identifiers(*condition, names);
  std::vector<std::string> ids(names.begin(), names.end());
  if (ids.size() > 64) {
    why = "more than 64 search identifiers";
    return std::nullopt;
  }
  // Assignments to try, fewest identifiers true first: all of them for up to 12 identifiers,
  // else those with at most 3 true.
  std::vector<uint64_t> masks;
  size_t most = ids.size() <= 12 ? ids.size() : 3;
  std::function<void(size_t, size_t, uint64_t)> choose = [&](size_t from, size_t left,
                                                             uint64_t mask) {
    if (left == 0) {
      masks.push_back(mask);
      return;
    }
    for (size_t i = from; i + left <= ids.size(); ++i) {
      choose(i + 1, left - 1, mask | (uint64_t{1} << i));
    }
  };
  for (size_t k = 0; k <= most; ++k) choose(0, k, 0);
  size_t tried = 0;
  why = "no assignment of the search identifiers satisfies the condition";
  for (uint64_t mask : masks) {
    std::map<std::string, bool> truth;
    for (size_t i = 0; i < ids.size(); ++i) truth[ids[i]] = (mask >> i) & 1;
    bool holds = false;
    for (const auto& condition : rule.conditions) holds = holds || Holds(*condition, truth);
    if (!holds) continue;
    if (++tried > 24) break;
    for (uint32_t choice = 0; choice < 4; ++choice) {
      Builder builder(options, choice);
      bool ok = true;
      for (size_t i = 0; i < ids.size() && ok; ++i) {
        if (!truth[ids[i]]) {
          builder.MustNotHold(rule.detection.at(ids[i]));
          continue;
        }
        const sigma::SearchIdentifier& search = rule.detection.at(ids[i]);
        if (search.alternatives.empty()) continue;
        const auto& group = search.alternatives[choice % search.alternatives.size()];
        for (const auto& item : group) ok = ok && builder.Item(item);
      }
      if (!ok) {
        why = builder.why();
        continue;
      }
      for (bool split : {false, true}) {
        auto event = builder.Event(split);
        if (!event || !EventHolds(oracle, rule, *event)) {
          why = "the values built do not satisfy the rule";
          continue;
        }
        Witness witness;
        witness.match = *event;
        if (auto near = NearMiss(oracle, rule, options, *event)) {
          witness.near_miss = *near;
          witness.has_near_miss = true;
        }
        return witness;
      }
    }
  }
  return std::nullopt;
}

}  // namespace bulwark::oracle
