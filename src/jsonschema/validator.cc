#include "bulwark/jsonschema/validator.h"

#include <arpa/inet.h>
#include <re2/re2.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "bulwark/core/strings.h"
#include "bulwark/core/time.h"

namespace bulwark::jsonschema {
namespace fs = std::filesystem;
using simdjson::dom::element;
using simdjson::dom::element_type;

std::string Violation::ToString() const {
  return (instance_path.empty() ? std::string("(document)") : instance_path) + ": " + message;
}

namespace {

// One loaded schema file; the parser owns the memory `root` points into.
struct Document {
  std::string path;  // canonical
  std::unique_ptr<simdjson::dom::parser> parser;
  element root;
};

std::string Quote(std::string_view text) {
  std::string out = "'";
  out += text.size() > 80 ? std::string(text.substr(0, 77)) + "..." : std::string(text);
  return out + "'";
}

const char* TypeName(element value) {
  switch (value.type()) {
    case element_type::ARRAY:
      return "array";
    case element_type::OBJECT:
      return "object";
    case element_type::INT64:
    case element_type::UINT64:
      return "integer";
    case element_type::DOUBLE:
      return "number";
    case element_type::STRING:
      return "string";
    case element_type::BOOL:
      return "boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

bool IsNumber(element value) {
  auto type = value.type();
  return type == element_type::INT64 || type == element_type::UINT64 ||
         type == element_type::DOUBLE;
}

double NumberOf(element value) {
  switch (value.type()) {
    case element_type::INT64:
      return static_cast<double>(int64_t(value));
    case element_type::UINT64:
      return static_cast<double>(uint64_t(value));
    default:
      return double(value);
  }
}

bool HasType(element value, std::string_view type) {
  std::string_view actual = TypeName(value);
  if (type == actual) return true;
  if (type == "number") return IsNumber(value);
  if (type == "integer" && value.type() == element_type::DOUBLE) {
    double number = double(value);
    return number == static_cast<double>(static_cast<int64_t>(number));
  }
  return false;
}

bool Equal(element a, element b) {
  if (IsNumber(a) && IsNumber(b)) return NumberOf(a) == NumberOf(b);
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case element_type::STRING:
      return std::string_view(a) == std::string_view(b);
    case element_type::BOOL:
      return bool(a) == bool(b);
    case element_type::NULL_VALUE:
      return true;
    case element_type::ARRAY: {
      auto x = simdjson::dom::array(a), y = simdjson::dom::array(b);
      if (x.size() != y.size()) return false;
      auto it = y.begin();
      for (element item : x) {
        if (!Equal(item, *it)) return false;
        ++it;
      }
      return true;
    }
    case element_type::OBJECT: {
      auto x = simdjson::dom::object(a), y = simdjson::dom::object(b);
      if (x.size() != y.size()) return false;
      for (auto field : x) {
        element other;
        if (y.at_key(field.key).get(other) != simdjson::SUCCESS || !Equal(field.value, other)) {
          return false;
        }
      }
      return true;
    }
    default:
      return false;
  }
}

size_t CodePoints(std::string_view text) {
  size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

bool IsDateTime(std::string_view text) {
  static const RE2 shape(R"(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))");
  return RE2::FullMatch(text, shape) && ParseTimestamp(text).has_value();
}

bool IsDate(std::string_view text) {
  static const RE2 shape(R"(\d{4}-\d{2}-\d{2})");
  return RE2::FullMatch(text, shape) &&
         ParseTimestamp(std::string(text) + "T00:00:00Z").has_value();
}

bool IsAddress(std::string_view text, int family) {
  unsigned char buffer[16];
  return inet_pton(family, std::string(text).c_str(), buffer) == 1;
}

// The formats of the specification that reports use; an unknown format always holds.
bool FormatHolds(std::string_view format, std::string_view text) {
  static const RE2 email(R"([^@\s]+@[^@\s]+)");
  static const RE2 hostname(
      R"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?)");
  static const RE2 uri(R"([A-Za-z][A-Za-z0-9+.-]*:[^\s]*)");
  static const RE2 uuid(
      R"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})");
  if (format == "date-time") return IsDateTime(text);
  if (format == "date") return IsDate(text);
  if (format == "email") return RE2::FullMatch(text, email);
  if (format == "hostname") return text.size() <= 253 && RE2::FullMatch(text, hostname);
  if (format == "ipv4") return IsAddress(text, AF_INET);
  if (format == "ipv6") return IsAddress(text, AF_INET6);
  if (format == "uri") return RE2::FullMatch(text, uri);
  if (format == "uuid") return RE2::FullMatch(text, uuid);
  return true;
}

std::string PointerToken(std::string_view token) {
  std::string out;
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size()) {
      out += token[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      out += token[i];
    }
  }
  return out;
}

std::string EscapeToken(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

struct SchemaSet::Impl {
  std::vector<Document> documents;
  std::map<std::string, size_t> by_path;  // canonical path -> document
  std::map<std::string, size_t> by_id;    // $id without fragment -> document
  std::map<std::string, std::unique_ptr<RE2>> patterns;
  std::string directory;

  Result<std::string> CompilePatterns(element node, const std::string& where) {
    if (node.type() == element_type::ARRAY) {
      for (element item : simdjson::dom::array(node)) {
        if (auto done = CompilePatterns(item, where); !done) return done;
      }
    } else if (node.type() == element_type::OBJECT) {
      for (auto field : simdjson::dom::object(node)) {
        if (field.key == "pattern" && field.value.type() == element_type::STRING) {
          std::string pattern(std::string_view(field.value));
          if (patterns.count(pattern)) continue;
          auto compiled = std::make_unique<RE2>(pattern, RE2::Quiet);
          if (!compiled->ok()) {
            return Fail("pattern " + Quote(pattern) + " does not compile: " + compiled->error(),
                        where);
          }
          patterns.emplace(pattern, std::move(compiled));
        } else if (field.key != "enum" && field.key != "const" && field.key != "examples") {
          if (auto done = CompilePatterns(field.value, where); !done) return done;
        }
      }
    }
    return std::string();
  }
};

// Walks one document against one schema, collecting violations.
class Checker {
 public:
  Checker(const SchemaSet::Impl& set, std::vector<Violation>& out) : set_(set), out_(out) {}

  // Errors only for broken schemas (unresolvable $ref, too deep).
  Result<bool> Check(element value, element schema, size_t document, const std::string& path,
                     int depth) {
    if (depth > 64) return Fail("schema recursion deeper than 64 levels (a $ref loop?)");
    if (schema.type() == element_type::BOOL) {
      if (!bool(schema)) Add(path, "no value is allowed here");
      return bool(schema);
    }
    if (schema.type() != element_type::OBJECT) return true;
    size_t before = out_.size();
    simdjson::dom::object keywords(schema);
    for (auto field : keywords) {
      auto done = Keyword(field.key, field.value, keywords, value, document, path, depth);
      if (!done) return tl::unexpected(done.error());
    }
    return out_.size() == before;
  }

 private:
  void Add(const std::string& path, std::string message) {
    out_.push_back({path, std::move(message)});
  }

  // Validates into a scratch list: whether `value` matches, without reporting.
  Result<std::vector<Violation>> Trial(element value, element schema, size_t document,
                                       const std::string& path, int depth) {
    std::vector<Violation> scratch;
    Checker inner(set_, scratch);
    auto done = inner.Check(value, schema, document, path, depth + 1);
    if (!done) return tl::unexpected(done.error());
    return scratch;
  }

 public:
  // The schema `ref` ("file#/pointer", "#/pointer", an $id) names, seen from `document`.
  Result<std::pair<element, size_t>> Resolve(std::string_view ref, size_t document) {
    std::string_view target = ref, fragment;
    if (size_t hash = ref.find('#'); hash != std::string_view::npos) {
      target = ref.substr(0, hash);
      fragment = ref.substr(hash + 1);
    }
    size_t index = document;
    if (!target.empty()) {
      auto by_id = set_.by_id.find(std::string(target));
      if (by_id != set_.by_id.end()) {
        index = by_id->second;
      } else {
        fs::path base = fs::path(set_.documents[document].path).parent_path();
        std::string resolved = (base / std::string(target)).lexically_normal().string();
        auto by_path = set_.by_path.find(resolved);
        if (by_path == set_.by_path.end()) return Fail("$ref " + Quote(ref) + " names no file");
        index = by_path->second;
      }
    }
    element node = set_.documents[index].root;
    if (!fragment.empty()) {
      for (std::string_view token :
           Split(fragment.substr(fragment.starts_with('/') ? 1 : 0), '/')) {
        std::string key = PointerToken(token);
        element next;
        if (node.type() == element_type::OBJECT &&
            simdjson::dom::object(node).at_key(key).get(next) == simdjson::SUCCESS) {
          node = next;
        } else if (auto i = ParseInt(key);
                   node.type() == element_type::ARRAY && i &&
                   simdjson::dom::array(node).at(*i).get(next) == simdjson::SUCCESS) {
          node = next;
        } else {
          return Fail("$ref " + Quote(ref) + " points at nothing");
        }
      }
    }
    return std::pair{node, index};
  }

 private:
  Result<bool> Keyword(std::string_view key, element arg, simdjson::dom::object schema,
                       element value, size_t document, const std::string& path, int depth) {
    auto type = value.type();
    if (key == "$ref") {
      auto target = Resolve(std::string_view(arg), document);
      if (!target) return tl::unexpected(target.error());
      return Check(value, target->first, target->second, path, depth + 1);
    }
    if (key == "type") {
      bool ok = false;
      std::string expected;
      if (arg.type() == element_type::STRING) {
        ok = HasType(value, std::string_view(arg));
        expected = std::string_view(arg);
      } else if (arg.type() == element_type::ARRAY) {
        for (element t : simdjson::dom::array(arg)) {
          ok = ok || HasType(value, std::string_view(t));
          expected += (expected.empty() ? "" : " or ") + std::string(std::string_view(t));
        }
      }
      if (!ok) Add(path, std::string("is ") + TypeName(value) + ", must be " + expected);
      return true;
    }
    if (key == "enum") {
      for (element option : simdjson::dom::array(arg)) {
        if (Equal(value, option)) return true;
      }
      Add(path, type == element_type::STRING
                    ? Quote(std::string_view(value)) + " is not one of the allowed values"
                    : "is not one of the allowed values");
      return true;
    }
    if (key == "const") {
      if (!Equal(value, arg)) {
        Add(path, arg.type() == element_type::STRING ? "must be " + Quote(std::string_view(arg))
                                                     : "is not the required constant");
      }
      return true;
    }
    if (key == "required" && type == element_type::OBJECT) {
      for (element name : simdjson::dom::array(arg)) {
        element ignored;
        if (simdjson::dom::object(value).at_key(std::string_view(name)).get(ignored) !=
            simdjson::SUCCESS) {
          Add(path, "required member " + Quote(std::string_view(name)) + " is missing");
        }
      }
      return true;
    }
    if (key == "properties" && type == element_type::OBJECT) {
      for (auto member : simdjson::dom::object(value)) {
        element sub;
        if (simdjson::dom::object(arg).at_key(member.key).get(sub) == simdjson::SUCCESS) {
          auto done =
              Check(member.value, sub, document, path + "/" + EscapeToken(member.key), depth + 1);
          if (!done) return done;
        }
      }
      return true;
    }
    if (key == "additionalProperties" && type == element_type::OBJECT) {
      simdjson::dom::object known;
      bool has_known = schema["properties"].get_object().get(known) == simdjson::SUCCESS;
      for (auto member : simdjson::dom::object(value)) {
        element ignored;
        if (has_known && known.at_key(member.key).get(ignored) == simdjson::SUCCESS) continue;
        if (arg.type() == element_type::BOOL && !bool(arg)) {
          Add(path, "member " + Quote(member.key) + " is not allowed");
          continue;
        }
        auto done =
            Check(member.value, arg, document, path + "/" + EscapeToken(member.key), depth + 1);
        if (!done) return done;
      }
      return true;
    }
    if ((key == "minProperties" || key == "maxProperties") && type == element_type::OBJECT) {
      size_t count = simdjson::dom::object(value).size();
      double limit = NumberOf(arg);
      if (key == "minProperties" ? count < limit : count > limit) {
        Add(path, "has " + std::to_string(count) + " members, " +
                      (key == "minProperties" ? "at least " : "at most ") +
                      std::to_string(static_cast<int64_t>(limit)) + " allowed");
      }
      return true;
    }
    if (key == "items" && type == element_type::ARRAY && arg.type() != element_type::ARRAY) {
      size_t i = 0;
      for (element item : simdjson::dom::array(value)) {
        auto done = Check(item, arg, document, path + "/" + std::to_string(i++), depth + 1);
        if (!done) return done;
      }
      return true;
    }
    if ((key == "minItems" || key == "maxItems") && type == element_type::ARRAY) {
      size_t count = simdjson::dom::array(value).size();
      double limit = NumberOf(arg);
      if (key == "minItems" ? count < limit : count > limit) {
        Add(path, "has " + std::to_string(count) + " items, " +
                      (key == "minItems" ? "at least " : "at most ") +
                      std::to_string(static_cast<int64_t>(limit)) + " allowed");
      }
      return true;
    }
    if (key == "uniqueItems" && type == element_type::ARRAY && bool(arg)) {
      std::vector<element> seen;
      for (element item : simdjson::dom::array(value)) {
        for (element other : seen) {
          if (Equal(item, other)) {
            Add(path, "items are not unique");
            return true;
          }
        }
        seen.push_back(item);
      }
      return true;
    }
    if (type == element_type::STRING &&
        (key == "minLength" || key == "maxLength" || key == "pattern" || key == "format")) {
      std::string_view text(value);
      if (key == "pattern") {
        auto compiled = set_.patterns.find(std::string(std::string_view(arg)));
        if (compiled != set_.patterns.end() && !RE2::PartialMatch(text, *compiled->second)) {
          Add(path, Quote(text) + " does not match " + Quote(std::string_view(arg)));
        }
      } else if (key == "format") {
        if (!FormatHolds(std::string_view(arg), text)) {
          Add(path, Quote(text) + " is not a valid " + std::string(std::string_view(arg)));
        }
      } else {
        size_t length = CodePoints(text);
        double limit = NumberOf(arg);
        if (key == "minLength" ? length < limit : length > limit) {
          Add(path, "is " + std::to_string(length) + " characters long, " +
                        (key == "minLength" ? "at least " : "at most ") +
                        std::to_string(static_cast<int64_t>(limit)) + " allowed");
        }
      }
      return true;
    }
    if (IsNumber(value) && (key == "minimum" || key == "maximum" || key == "exclusiveMinimum" ||
                            key == "exclusiveMaximum")) {
      double number = NumberOf(value), limit = NumberOf(arg);
      bool ok = key == "minimum"            ? number >= limit
                : key == "maximum"          ? number <= limit
                : key == "exclusiveMinimum" ? number > limit
                                            : number < limit;
      if (!ok)
        Add(path, fmt_number(number) + " violates " + std::string(key) + " " + fmt_number(limit));
      return true;
    }
    if (key == "allOf") {
      for (element sub : simdjson::dom::array(arg)) {
        auto done = Check(value, sub, document, path, depth + 1);
        if (!done) return done;
      }
      return true;
    }
    if (key == "anyOf" || key == "oneOf") {
      size_t matched = 0;
      std::vector<Violation> closest;
      bool first = true;
      for (element sub : simdjson::dom::array(arg)) {
        auto trial = Trial(value, sub, document, path, depth);
        if (!trial) return tl::unexpected(trial.error());
        if (trial->empty()) {
          ++matched;
        } else if (first || Distance(*trial) < Distance(closest)) {
          closest = std::move(*trial);
          first = false;
        }
      }
      if (matched == 0) {
        std::string reason = "matches none of the " + std::string(key) + " alternatives";
        if (!closest.empty()) reason += " (closest: " + closest.front().ToString() + ")";
        Add(path, reason);
      } else if (key == "oneOf" && matched > 1) {
        Add(path, "matches " + std::to_string(matched) + " oneOf alternatives, must match one");
      }
      return true;
    }
    if (key == "not") {
      auto trial = Trial(value, arg, document, path, depth);
      if (!trial) return tl::unexpected(trial.error());
      if (trial->empty()) Add(path, "matches a schema it must not match");
      return true;
    }
    if (key == "if") {
      auto trial = Trial(value, arg, document, path, depth);
      if (!trial) return tl::unexpected(trial.error());
      element branch;
      if (schema[trial->empty() ? "then" : "else"].get(branch) == simdjson::SUCCESS) {
        return Check(value, branch, document, path, depth + 1);
      }
      return true;
    }
    return true;
  }

  // How far a failed alternative is from matching: a wrong discriminator (a const or enum, such
  // as the report type) counts more than any number of other differences.
  static size_t Distance(const std::vector<Violation>& violations) {
    size_t distance = 0;
    for (const Violation& violation : violations) {
      bool discriminator =
          violation.message.find("is not one of the allowed values") != std::string::npos ||
          violation.message.starts_with("must be '");
      distance += discriminator ? 1000 : 1;
    }
    return distance;
  }

  static std::string fmt_number(double number) {
    std::ostringstream out;
    out << number;
    return out.str();
  }

  const SchemaSet::Impl& set_;
  std::vector<Violation>& out_;
};

SchemaSet::SchemaSet() : impl_(std::make_unique<Impl>()) {}
SchemaSet::~SchemaSet() = default;
SchemaSet::SchemaSet(SchemaSet&&) noexcept = default;
SchemaSet& SchemaSet::operator=(SchemaSet&&) noexcept = default;

size_t SchemaSet::size() const {
  return impl_->documents.size();
}

Result<SchemaSet> SchemaSet::LoadDirectory(const std::string& directory) {
  SchemaSet set;
  std::error_code error;
  fs::path root = fs::weakly_canonical(directory, error);
  if (error || !fs::is_directory(root)) return Fail("cannot read schema folder " + directory);
  set.impl_->directory = root.string();
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
  }
  if (error) return Fail("cannot read schema folder " + directory + ": " + error.message());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    Document document;
    document.path = file.lexically_normal().string();
    document.parser = std::make_unique<simdjson::dom::parser>();
    simdjson::padded_string text;
    if (simdjson::padded_string::load(document.path).get(text) != simdjson::SUCCESS) {
      return Fail("cannot read", document.path);
    }
    if (auto code = document.parser->parse(text).get(document.root); code != simdjson::SUCCESS) {
      return Fail(std::string("not JSON: ") + simdjson::error_message(code), document.path);
    }
    auto compiled = set.impl_->CompilePatterns(document.root, document.path);
    if (!compiled) return tl::unexpected(compiled.error());
    std::string_view id;
    if (document.root["$id"].get_string().get(id) == simdjson::SUCCESS) {
      set.impl_->by_id[std::string(id.substr(0, id.find('#')))] = set.impl_->documents.size();
    }
    set.impl_->by_path[document.path] = set.impl_->documents.size();
    set.impl_->documents.push_back(std::move(document));
  }
  if (set.impl_->documents.empty()) return Fail("no *.json schema in " + directory);
  return set;
}

Result<std::vector<Violation>> SchemaSet::Validate(std::string_view document,
                                                   std::string_view schema) const {
  std::string_view file = schema, fragment;
  if (size_t hash = schema.find('#'); hash != std::string_view::npos) {
    file = schema.substr(0, hash);
    fragment = schema.substr(hash);
  }
  std::string path = (fs::path(impl_->directory) / std::string(file)).lexically_normal().string();
  auto found = impl_->by_path.find(path);
  if (found == impl_->by_path.end()) return Fail("no schema " + std::string(schema));
  simdjson::dom::parser parser;
  element root;
  simdjson::padded_string padded(document);
  if (auto code = parser.parse(padded).get(root); code != simdjson::SUCCESS) {
    return Fail(std::string("not JSON: ") + simdjson::error_message(code));
  }
  std::vector<Violation> violations;
  Checker checker(*impl_, violations);
  try {
    element start = impl_->documents[found->second].root;
    if (!fragment.empty()) {
      auto target = checker.Resolve(fragment, found->second);
      if (!target) return tl::unexpected(target.error());
      start = target->first;
    }
    auto done = checker.Check(root, start, found->second, "", 0);
    if (!done) return tl::unexpected(done.error());
  } catch (const simdjson::simdjson_error& error) {
    // A keyword whose argument has the wrong JSON type: the schema, not the document, is bad.
    return Fail(std::string("malformed schema ") + std::string(schema) + ": " + error.what());
  }
  return violations;
}

}  // namespace bulwark::jsonschema
