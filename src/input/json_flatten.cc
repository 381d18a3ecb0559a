#include "bulwark/input/json_flatten.h"

#include <simdjson.h>

#include <string>

#include "bulwark/core/strings.h"

namespace bulwark::input {

struct JsonFlattener::Impl {
  std::string padded;  // simdjson input buffer with padding
  simdjson::ondemand::parser parser;
  std::string path;

  bool Walk(simdjson::ondemand::value value, Visitor& visitor, int depth) {
    using simdjson::ondemand::json_type;
    json_type type;
    if (value.type().get(type) != simdjson::SUCCESS || depth > 32) return false;
    switch (type) {
      case json_type::object: {
        simdjson::ondemand::object object;
        if (value.get_object().get(object) != simdjson::SUCCESS) return false;
        size_t base = path.size();
        for (auto field : object) {
          std::string_view key;
          if (field.unescaped_key().get(key) != simdjson::SUCCESS) return false;
          if (base != 0) path.push_back('.');
          path.append(key);
          simdjson::ondemand::value child;
          if (field.value().get(child) != simdjson::SUCCESS) return false;
          if (!Walk(child, visitor, depth + 1)) return false;
          path.resize(base);
        }
        return true;
      }
      case json_type::array: {
        simdjson::ondemand::array array;
        if (value.get_array().get(array) != simdjson::SUCCESS) return false;
        for (auto element : array) {
          simdjson::ondemand::value child;
          if (element.get(child) != simdjson::SUCCESS) return false;
          if (!Walk(child, visitor, depth + 1)) return false;
        }
        return true;
      }
      case json_type::string: {
        std::string_view text;
        if (value.get_string().get(text) != simdjson::SUCCESS) return false;
        visitor.Field(path, text);
        return true;
      }
      case json_type::number: {
        double number;
        if (value.get_double().get(number) != simdjson::SUCCESS) return false;
        visitor.Field(path, Trim(value.raw_json_token()));
        return true;
      }
      case json_type::boolean: {
        bool flag;
        if (value.get_bool().get(flag) != simdjson::SUCCESS) return false;
        visitor.Field(path, flag ? "true" : "false");
        return true;
      }
      case json_type::null: {
        bool null = false;
        return value.is_null().get(null) == simdjson::SUCCESS && null;
      }
    }
    return false;
  }
};

JsonFlattener::JsonFlattener() : impl_(std::make_unique<Impl>()) {}
JsonFlattener::~JsonFlattener() = default;

bool JsonFlattener::Flatten(std::string_view text, Visitor& visitor) {
  Impl& s = *impl_;
  s.padded.assign(text);
  s.padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
  simdjson::ondemand::document doc;
  if (s.parser.iterate(s.padded.data(), text.size(), s.padded.size()).get(doc) !=
      simdjson::SUCCESS) {
    return false;
  }
  simdjson::ondemand::value root;
  if (doc.get_value().get(root) != simdjson::SUCCESS) return false;
  simdjson::ondemand::json_type type;
  if (root.type().get(type) != simdjson::SUCCESS || type != simdjson::ondemand::json_type::object) {
    return false;
  }
  s.path.clear();
  if (!s.Walk(root, visitor, 0)) return false;
  // One object and nothing after it but white space ("{...} garbage" is not JSON): past the
  // object the document has no location left.
  const char* after = nullptr;
  return doc.current_location().get(after) != simdjson::SUCCESS;
}

void FlatFields::Field(std::string_view path, std::string_view value) {
  auto [it, inserted] = fields.try_emplace(std::string(path), value);
  if (!inserted) it->second.append(",").append(value);
}

std::string FlatFields::Get(std::string_view path) const {
  auto it = fields.find(path);
  return it == fields.end() ? std::string() : std::string(Trim(it->second));
}

}  // namespace bulwark::input
