#pragma once
// Flattens one JSON object into (dotted path, scalar text) pairs: {"a":{"b":1}} gives ("a.b",
// "1"); arrays repeat their path once per element; strings are unescaped; numbers keep their JSON
// spelling; booleans are "true"/"false"; nulls are skipped. Depth is limited to 32. One flattener
// per thread (it owns a simdjson parser).

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace bulwark::input {

class JsonFlattener {
 public:
  class Visitor {
   public:
    virtual ~Visitor() = default;
    virtual void Field(std::string_view path, std::string_view value) = 0;
  };

  JsonFlattener();
  ~JsonFlattener();

  // Visits every scalar of the object in `text`. False when `text` is not one JSON object
  // (malformed, too deep, another JSON type, or anything but white space after it); fields
  // visited before the error stay visited.
  bool Flatten(std::string_view text, Visitor& visitor);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A Visitor that keeps the value of every path; a repeated path (an array) gets its values joined
// with ",".
struct FlatFields final : JsonFlattener::Visitor {
  std::map<std::string, std::string, std::less<>> fields;
  void Field(std::string_view path, std::string_view value) override;
  // The value of `path` without surrounding blanks; empty when absent.
  std::string Get(std::string_view path) const;
};

}  // namespace bulwark::input
