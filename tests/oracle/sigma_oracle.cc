#include "sigma_oracle.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <unordered_map>

#include "bulwark/core/time.h"
#include "bulwark/event/ip.h"
#include "encoding.h"

namespace bulwark::oracle {

using sigma::Modifier;

namespace {

bool Has(const std::vector<Modifier>& modifiers, Modifier m) {
  return std::find(modifiers.begin(), modifiers.end(), m) != modifiers.end();
}

char Lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// One step of a glob: a byte, `*`, `?` (one UTF-8 character) or a windash dash (any of five).
struct Element {
  enum class Kind { kByte, kStar, kOne, kDash } kind;
  char byte = 0;
};

constexpr std::string_view kDashes[] = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x80\x95"};

// A Sigma value as glob elements: \* \? \\ are literal characters, any other backslash is itself.
std::vector<Element> SigmaGlob(std::string_view value, bool windash) {
  std::vector<Element> out;
  for (size_t i = 0; i < value.size();) {
    char c = value[i];
    if (c == '\\' && i + 1 < value.size() &&
        (value[i + 1] == '*' || value[i + 1] == '?' || value[i + 1] == '\\')) {
      out.push_back({Element::Kind::kByte, value[i + 1]});
      i += 2;
      continue;
    }
    if (c == '*') {
      out.push_back({Element::Kind::kStar});
      ++i;
      continue;
    }
    if (c == '?') {
      out.push_back({Element::Kind::kOne});
      ++i;
      continue;
    }
    if (windash) {
      bool dash = false;
      for (std::string_view d : kDashes) {
        if (value.substr(i).starts_with(d)) {
          out.push_back({Element::Kind::kDash});
          i += d.size();
          dash = true;
          break;
        }
      }
      if (dash) continue;
    }
    out.push_back({Element::Kind::kByte, c});
    ++i;
  }
  return out;
}

std::vector<Element> Bytes(std::string_view bytes) {
  std::vector<Element> out;
  for (char c : bytes) out.push_back({Element::Kind::kByte, c});
  return out;
}

bool SameByte(char a, char b, bool caseless) {
  return caseless ? Lower(a) == Lower(b) : a == b;
}

// Whole-text glob match by dynamic programming over (element, position), last element first.
// Globs of bytes with at most a leading and a trailing `*` (most values) take a direct path.
bool Matches(const std::vector<Element>& elements, std::string_view text, bool caseless) {
  size_t first = 0, last = elements.size();
  bool lead = first < last && elements[first].kind == Element::Kind::kStar;
  if (lead) ++first;
  bool trail = first < last && elements[last - 1].kind == Element::Kind::kStar;
  if (trail) --last;
  bool plain = true;
  for (size_t i = first; i < last; ++i) plain = plain && elements[i].kind == Element::Kind::kByte;
  if (plain) {
    size_t length = last - first;
    auto at = [&](size_t position) {
      for (size_t i = 0; i < length; ++i) {
        if (!SameByte(text[position + i], elements[first + i].byte, caseless)) return false;
      }
      return true;
    };
    if (length > text.size()) return false;
    if (!lead && !trail) return length == text.size() && at(0);
    if (!lead) return at(0);
    if (!trail) return at(text.size() - length);
    for (size_t position = 0; position + length <= text.size(); ++position) {
      if (at(position)) return true;
    }
    return false;
  }
  const size_t n = text.size();
  std::vector<char> next(n + 1, 0), row(n + 1, 0);
  next[n] = 1;  // no elements left matches the empty rest only
  for (size_t e = elements.size(); e-- > 0;) {
    const Element& element = elements[e];
    for (size_t j = n + 1; j-- > 0;) {
      bool ok = false;
      switch (element.kind) {
        case Element::Kind::kStar:
          ok = next[j] || (j < n && row[j + 1]);
          break;
        case Element::Kind::kByte:
          ok = j < n && next[j + 1] && SameByte(text[j], element.byte, caseless);
          break;
        case Element::Kind::kOne:
          ok = j < n && next[j + CharLength(text, j)];
          break;
        case Element::Kind::kDash:
          for (std::string_view d : kDashes) {
            if (text.substr(j).starts_with(d) && next[j + d.size()]) ok = true;
          }
          break;
      }
      row[j] = ok;
    }
    std::swap(next, row);
  }
  return next[0];
}

// What a rule's field name stands for in an event: the values of the first candidate present.
struct FieldValues {
  bool present = false;
  std::vector<std::string_view> values;
};

FieldValues Lookup(const event::Event& event, const std::vector<event::FieldId>& candidates,
                   bool raw_for_message) {
  FieldValues out;
  bool message_candidate = false;
  for (event::FieldId id : candidates) {
    message_candidate |= id == event::fid::kMessage;
    if (!event.Has(id)) continue;
    out.present = true;
    for (size_t i = 0; i < event.size(); ++i) {
      if (event.IdAt(i) == id) out.values.push_back(event.ValueAt(i));
    }
    if (out.values.empty()) out.values.push_back(*event.Get(id));  // @timestamp, rendered
    return out;
  }
  if (raw_for_message && message_candidate && !event.raw().empty()) {
    out.present = true;
    out.values.push_back(event.raw());
  }
  return out;
}

std::optional<double> Number(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n' ||
                           text.front() == '\r' || text.front() == '\f' || text.front() == '\v')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                           text.back() == '\r' || text.back() == '\f' || text.back() == '\v')) {
    text.remove_suffix(1);
  }
  if (text.empty()) return std::nullopt;
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The three base64 forms of `bytes` at offsets 0, 1 and 2 in an unknown text: the characters
// that depend only on `bytes` (pySigma's base64offset).
std::vector<std::string> Base64Offsets(std::string_view bytes) {
  std::vector<std::string> out;
  for (size_t shift = 0; shift < 3; ++shift) {
    std::string padded(shift, '\0');
    padded.append(bytes);
    std::string encoded = Base64(padded);
    // Characters fully determined by the value: skip those touching the shift bytes, and at the
    // end those touching the unknown byte(s) after it.
    size_t start = shift == 0 ? 0 : shift == 1 ? 2 : 3;
    size_t total_bits = padded.size() * 8;
    size_t full_chars = total_bits / 6;  // characters made of value bits only (and shift bits)
    size_t end = (padded.size() % 3 == 0) ? padded.size() / 3 * 4 : full_chars;
    if (end > start) out.push_back(encoded.substr(start, end - start));
  }
  return out;
}

struct Invalid {
  std::string reason;
};

}  // namespace

// What the oracle derived from rule values, by the value's address (documents do not move).
struct SigmaOracle::Memo {
  std::unordered_map<std::string, std::vector<event::FieldId>> candidates;
  struct Globs {
    std::vector<std::vector<Element>> forms;
    bool caseless = true;
  };
  std::unordered_map<const sigma::Value*, Globs> globs;
  std::unordered_map<const sigma::Value*, std::unique_ptr<RE2>> regexes;
};

namespace {

class Evaluator {
 public:
  Evaluator(const detect::CompileOptions& options, SigmaOracle::Memo& memo,
            const event::Event& event)
      : options_(options), memo_(memo), event_(event) {}

  // Throws Invalid for a value that cannot be evaluated.
  bool Condition(const sigma::ConditionNode& node,
                 const std::map<std::string, sigma::SearchIdentifier>& detection) {
    using Kind = sigma::ConditionNode::Kind;
    switch (node.kind) {
      case Kind::kIdentifier:
        return Search(detection.at(node.name));
      case Kind::kAnd:
      case Kind::kAllOf:
        for (const auto& child : node.children) {
          if (!Condition(*child, detection)) return false;
        }
        return true;
      case Kind::kOr:
      case Kind::kOneOf:
        for (const auto& child : node.children) {
          if (Condition(*child, detection)) return true;
        }
        return false;
      case Kind::kNot:
        return !Condition(*node.children.at(0), detection);
    }
    return false;
  }

  // With `check_all`, every value is evaluated even when the condition is decided without it, so
  // that an invalid value is found whatever the event.
  bool Detection(const std::map<std::string, sigma::SearchIdentifier>& detection,
                 const std::vector<std::unique_ptr<sigma::ConditionNode>>& conditions,
                 bool check_all = false) {
    if (check_all) {
      validating_ = true;
      for (const auto& [name, search] : detection) (void)Search(search);
      validating_ = false;
    }
    for (const auto& condition : conditions) {
      if (Condition(*condition, detection)) return true;
    }
    return false;
  }

  bool Search(const sigma::SearchIdentifier& search) {
    bool any = false;
    for (const auto& group : search.alternatives) {
      bool all = true;
      for (const auto& item : group) all = Item(item) && all;
      any = any || all;
    }
    return any;
  }

  bool Item(const sigma::DetectionItem& item) {
    bool all = Has(item.modifiers, Modifier::kAll);
    bool result = all;
    for (const sigma::Value& value : item.values) {
      bool holds = Value(item, value);
      result = all ? (result && holds) : (result || holds);
    }
    return Has(item.modifiers, Modifier::kNeq) ? !result : result;
  }

  // The event fields a rule's field name stands for, in the order they are tried.
  const std::vector<event::FieldId>& Candidates(const std::string& name) {
    auto found = memo_.candidates.find(name);
    if (found != memo_.candidates.end()) return found->second;
    std::vector<event::FieldId> ids;
    for (const std::string& candidate : options_.field_map.Resolve(name)) {
      event::FieldId id = event::InternField(candidate);
      if (id != event::kInvalidField) ids.push_back(id);
    }
    return memo_.candidates.emplace(name, std::move(ids)).first->second;
  }

  bool Value(const sigma::DetectionItem& item, const sigma::Value& value) {
    const auto& mods = item.modifiers;
    bool keyword = item.field.empty();
    static const std::vector<event::FieldId> kMessage{event::fid::kMessage};
    const std::vector<event::FieldId>& candidates = keyword ? kMessage : Candidates(item.field);
    auto any = [](const FieldValues& field, auto&& test) {
      for (std::string_view v : field.values) {
        if (test(v)) return true;
      }
      return false;
    };
    if (Has(mods, Modifier::kExists)) {
      if (value.kind != sigma::Value::Kind::kBool) throw Invalid{"exists needs true or false"};
      return Lookup(event_, candidates, false).present == (value.text == "true");
    }
    std::optional<Modifier> time_part;
    std::optional<Modifier> compare;
    for (Modifier m : mods) {
      if (m == Modifier::kMinute || m == Modifier::kHour || m == Modifier::kDay ||
          m == Modifier::kWeek || m == Modifier::kMonth || m == Modifier::kYear) {
        time_part = m;
      }
      if (m == Modifier::kLt || m == Modifier::kLte || m == Modifier::kGt || m == Modifier::kGte) {
        compare = m;
      }
    }
    auto compare_numbers = [&](double left, double right) {
      switch (compare.value_or(Modifier::kNeq)) {  // kNeq stands for "equal" here
        case Modifier::kLt:
          return left < right;
        case Modifier::kLte:
          return left <= right;
        case Modifier::kGt:
          return left > right;
        case Modifier::kGte:
          return left >= right;
        default:
          return left == right;
      }
    };
    if (time_part || compare) {
      auto bound = Number(value.text);
      if (!bound || value.text.find_first_of(" \t\r\n") != std::string::npos) {
        throw Invalid{"not a number: " + value.text};
      }
      FieldValues field = Lookup(event_, candidates, false);
      return any(field, [&](std::string_view v) {
        if (!time_part) {
          auto number = Number(v);
          return number && compare_numbers(*number, *bound);
        }
        auto ts = ParseTimestamp(v);
        if (!ts) return false;
        CivilTime civil = FromUnixNs(*ts);
        double part = 0;
        switch (*time_part) {
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
          default:  // week: days since 1 January, in whole weeks, from 1
            part = static_cast<double>((DaysFromCivil(civil.year, civil.month, civil.day) -
                                        DaysFromCivil(civil.year, 1, 1)) /
                                           7 +
                                       1);
            break;
        }
        return compare_numbers(part, *bound);
      });
    }
    if (Has(mods, Modifier::kCidr)) {
      // Every prefix the value stands for (an address list: all of its entries), one by one.
      std::vector<event::Cidr> prefixes;
      for (const std::string& text :
           Has(mods, Modifier::kExpand) ? Expand(value.text, true) : std::vector{value.text}) {
        auto prefix = event::Cidr::Parse(text);
        if (!prefix) throw Invalid{"not a prefix: " + text};
        prefixes.push_back(*prefix);
      }
      return any(Lookup(event_, candidates, false), [&](std::string_view v) {
        auto address = event::IpAddress::Parse(v);
        if (!address) return false;
        for (const event::Cidr& prefix : prefixes) {
          if (prefix.Contains(*address)) return true;
        }
        return false;
      });
    }
    bool cased = Has(mods, Modifier::kCased);
    if (Has(mods, Modifier::kFieldRef)) {
      FieldValues other = Lookup(event_, Candidates(value.text), false);
      if (!other.present) return false;
      std::string ref(other.values.front());
      if (!cased) std::transform(ref.begin(), ref.end(), ref.begin(), Lower);
      return any(Lookup(event_, candidates, false), [&](std::string_view v) {
        std::string text(v);
        if (!cased) std::transform(text.begin(), text.end(), text.begin(), Lower);
        if (Has(mods, Modifier::kContains)) return text.find(ref) != std::string::npos;
        if (Has(mods, Modifier::kStartsWith)) return text.starts_with(ref);
        if (Has(mods, Modifier::kEndsWith)) return text.ends_with(ref);
        return text == ref;
      });
    }
    if (value.kind == sigma::Value::Kind::kNull) {
      if (keyword) throw Invalid{"a keyword cannot be null"};
      FieldValues field = Lookup(event_, candidates, false);
      return !field.present || any(field, [](std::string_view v) { return v.empty(); });
    }
    FieldValues field = Lookup(event_, candidates, true);
    if (!field.present && !validating_) return false;  // no value can match
    if (Has(mods, Modifier::kRe)) {
      std::unique_ptr<RE2>& re = memo_.regexes[&value];
      if (!re) {
        RE2::Options re_options;
        re_options.set_log_errors(false);
        re_options.set_case_sensitive(!Has(mods, Modifier::kReI));
        re_options.set_dot_nl(Has(mods, Modifier::kReS));
        // Sigma's regular expressions are PCRE: outside multi-line mode `$` also matches before
        // a newline that ends the text, which RE2's `$` does not. Each `$` outside a class
        // becomes "an optional newline, then the end".
        std::string pattern;
        bool escaped = false, in_class = false;
        size_t class_start = 0;
        for (size_t i = 0; i < value.text.size(); ++i) {
          char c = value.text[i];
          if (escaped) {
            escaped = false;
          } else if (c == '\\') {
            escaped = true;
          } else if (in_class) {
            if (c == ']' && i > class_start) in_class = false;
          } else if (c == '[') {
            in_class = true;
            class_start = i + 1;
            if (i + 1 < value.text.size() && value.text[i + 1] == '^') ++class_start;
          } else if (c == '$' && !Has(mods, Modifier::kReM)) {
            pattern += "(?:\\n?\\z)";
            continue;
          }
          pattern.push_back(c);
        }
        if (Has(mods, Modifier::kReM)) pattern = "(?m)" + pattern;
        auto compiled = std::make_unique<RE2>(pattern, re_options);
        if (!compiled->ok()) throw Invalid{"regex: " + compiled->error()};
        re = std::move(compiled);
      }
      return any(field, [&](std::string_view v) {
        return RE2::PartialMatch(re2::StringPiece(v.data(), v.size()), *re);
      });
    }
    auto found = memo_.globs.find(&value);
    if (found == memo_.globs.end()) {
      SigmaOracle::Memo::Globs globs;
      globs.forms = Forms(item, value, keyword, globs.caseless);
      found = memo_.globs.emplace(&value, std::move(globs)).first;
    }
    const SigmaOracle::Memo::Globs& globs = found->second;
    return any(field, [&](std::string_view v) {
      for (const std::vector<Element>& form : globs.forms) {
        if (Matches(form, v, globs.caseless)) return true;
      }
      return false;
    });
  }

  // The globs a string value stands for (placeholders expanded, encodings applied, wildcards
  // added for contains/startswith/endswith); any of them matching a whole text is a match.
  // `caseless` is set to whether they compare ASCII letters without case.
  std::vector<std::vector<Element>> Forms(const sigma::DetectionItem& item,
                                          const sigma::Value& value, bool keyword, bool& caseless) {
    const auto& mods = item.modifiers;
    std::vector<std::string> texts{value.text};
    if (Has(mods, Modifier::kExpand)) texts = Expand(value.text);
    bool windash = Has(mods, Modifier::kWindash);
    bool contains = keyword || Has(mods, Modifier::kContains);
    bool starts = Has(mods, Modifier::kStartsWith);
    bool ends = Has(mods, Modifier::kEndsWith);
    bool encoded = false;
    for (Modifier m : mods) {
      encoded |= m == Modifier::kBase64 || m == Modifier::kBase64Offset || m == Modifier::kUtf16 ||
                 m == Modifier::kUtf16Le || m == Modifier::kUtf16Be;
    }
    if (encoded && Has(mods, Modifier::kBase64Offset) && !starts && !ends) contains = true;
    caseless = !encoded && !Has(mods, Modifier::kCased);
    std::vector<std::vector<Element>> forms;
    for (const std::string& one : texts) {
      if (!encoded) {
        forms.push_back(SigmaGlob(one, windash));
        continue;
      }
      std::string literal;
      for (const Element& e : SigmaGlob(one, false)) {
        if (e.kind != Element::Kind::kByte) throw Invalid{"wildcards under an encoding modifier"};
        literal.push_back(e.byte);
      }
      std::vector<std::string> encodings{literal};
      for (Modifier m : mods) {
        std::vector<std::string> next;
        for (const std::string& bytes : encodings) {
          switch (m) {
            case Modifier::kBase64:
              next.push_back(Base64(bytes));
              break;
            case Modifier::kBase64Offset:
              for (std::string& variant : Base64Offsets(bytes)) next.push_back(variant);
              break;
            case Modifier::kUtf16Le:
              next.push_back(Utf16(bytes, false, false));
              break;
            case Modifier::kUtf16Be:
              next.push_back(Utf16(bytes, true, false));
              break;
            case Modifier::kUtf16:
              next.push_back(Utf16(bytes, false, true));
              break;
            default:
              next.push_back(bytes);
              break;
          }
        }
        encodings = std::move(next);
      }
      for (const std::string& bytes : encodings) forms.push_back(Bytes(bytes));
    }
    for (std::vector<Element>& form : forms) {
      if (contains || ends) form.insert(form.begin(), Element{Element::Kind::kStar});
      if (contains || starts) form.push_back(Element{Element::Kind::kStar});
    }
    return forms;
  }

  // `value` with its placeholders replaced; a declared placeholder without values stands for
  // nothing where `empty_allowed` (address lists), else it is an error.
  std::vector<std::string> Expand(const std::string& value, bool empty_allowed = false) {
    std::vector<std::string> results{""};
    size_t at = 0;
    while (at < value.size()) {
      size_t open = value.find('%', at);
      size_t close = open == std::string::npos ? open : value.find('%', open + 1);
      if (close == std::string::npos) {
        for (std::string& r : results) r += value.substr(at);
        break;
      }
      std::string name = value.substr(open + 1, close - open - 1);
      auto found = options_.field_map.placeholders.find(name);
      if (found == options_.field_map.placeholders.end() ||
          (found->second.empty() && !empty_allowed)) {
        throw Invalid{"unknown placeholder %" + name + "%"};
      }
      std::vector<std::string> next;
      for (const std::string& r : results) {
        for (const std::string& v : found->second) {
          next.push_back(r + value.substr(at, open - at) + v);
        }
      }
      results = std::move(next);
      at = close + 1;
    }
    return results;
  }

  // A logsource route's `when` condition: the event field (named as written) equals one of the
  // values, as a plain Sigma value would.
  bool RouteHolds(const std::string& field, const std::vector<std::string>& values) {
    FieldValues found = Lookup(event_, Candidates(field), false);
    for (std::string_view v : found.values) {
      for (const std::string& value : values) {
        if (Matches(SigmaGlob(value, false), v, true)) return true;
      }
    }
    return false;
  }

 private:
  const detect::CompileOptions& options_;
  SigmaOracle::Memo& memo_;
  const event::Event& event_;
  bool validating_ = false;  // every value is derived, even for absent fields, to find invalid ones
};

bool SameSource(const sigma::LogSource& want, const sigma::LogSource& have) {
  return (want.product.empty() || want.product == have.product) &&
         (want.category.empty() || want.category == have.category) &&
         (want.service.empty() || want.service == have.service);
}

}  // namespace

bool GlobMatches(std::string_view value, std::string_view text, bool caseless, bool windash) {
  return Matches(SigmaGlob(value, windash), text, caseless);
}

SigmaOracle::SigmaOracle(const std::vector<sigma::Document>& documents,
                         const detect::CompileOptions& options)
    : options_(options), memo_(std::make_unique<Memo>()) {
  std::set<std::string> ids, names;
  event::Event empty;
  for (const auto& document : documents) {
    const auto* rule = std::get_if<sigma::Rule>(&document);
    if (!rule) continue;
    if ((!rule->id.empty() && ids.count(rule->id)) ||
        (!rule->name.empty() && names.count(rule->name))) {
      continue;
    }
    // A rule is invalid when any of its values is, whatever the event: evaluate it once.
    try {
      Evaluator(options_, *memo_, empty).Detection(rule->detection, rule->conditions, true);
    } catch (const Invalid& invalid) {
      invalid_[rule->id] = invalid.reason;
      continue;
    }
    ids.insert(rule->id);
    if (!rule->name.empty()) names.insert(rule->name);
    rules_.push_back(RuleEntry{rule, {}});
  }
  for (const auto& document : documents) {
    const auto* filter = std::get_if<sigma::Filter>(&document);
    if (!filter) continue;
    try {
      Evaluator(options_, *memo_, empty).Detection(filter->detection, filter->conditions, true);
    } catch (const Invalid&) {
      continue;  // the compiler drops a filter it cannot build
    }
    for (RuleEntry& entry : rules_) {
      bool named = filter->rules.empty();
      for (const std::string& ref : filter->rules) {
        named |= ref == entry.rule->id || (!entry.rule->name.empty() && ref == entry.rule->name);
      }
      if (named && SameSource(filter->logsource, entry.rule->logsource)) {
        entry.filters.push_back(filter);
      }
    }
  }
}

SigmaOracle::~SigmaOracle() = default;

bool SigmaOracle::DetectionHolds(const sigma::Rule& rule, const event::Event& event) const {
  try {
    return Evaluator(options_, *memo_, event).Detection(rule.detection, rule.conditions);
  } catch (const Invalid&) {
    return false;
  }
}

std::vector<std::string> SigmaOracle::Match(const event::Event& event) const {
  std::vector<std::string> out;
  for (const RuleEntry& entry : rules_) {
    const sigma::Rule& rule = *entry.rule;
    Evaluator evaluator(options_, *memo_, event);
    if (options_.apply_routing) {
      bool routed = true;
      for (const detect::LogSourceRoute& route : options_.routing.routes) {
        if (route.product.empty() && route.category.empty() && route.service.empty()) continue;
        sigma::LogSource want{route.product, route.category, route.service};
        if (!SameSource(want, rule.logsource)) continue;
        bool any = false;
        for (const detect::LogSourceRoute::Condition& condition : route.alternatives) {
          bool all = true;
          for (const auto& [field, values] : condition) {
            all = all && evaluator.RouteHolds(field, values);
          }
          any = any || all;
        }
        routed = routed && any;
      }
      if (!routed) continue;
    }
    if (!evaluator.Detection(rule.detection, rule.conditions)) continue;
    bool excluded = false;
    for (const sigma::Filter* filter : entry.filters) {
      excluded = excluded || evaluator.Detection(filter->detection, filter->conditions);
    }
    if (!excluded) out.push_back(rule.id);
  }
  return out;
}

}  // namespace bulwark::oracle
