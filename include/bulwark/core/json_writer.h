#pragma once
// A minimal streaming JSON writer into a std::string. Not thread-safe; one writer per output.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // Writes a member name inside an object; the next call writes its value.
  void Key(std::string_view name);
  void String(std::string_view value);
  void Int(int64_t value);
  void Double(double value);
  void Bool(bool value);
  void Null();
  // A member of the current object: Key(name) and its value.
  void Member(std::string_view name, std::string_view value) {
    Key(name);
    String(value);
  }
  void Member(std::string_view name, const char* value) { Member(name, std::string_view(value)); }
  void Member(std::string_view name, int64_t value) {
    Key(name);
    Int(value);
  }
  void Member(std::string_view name, bool value) {
    Key(name);
    Bool(value);
  }
  // Writes an already rendered JSON value as is.
  void Raw(std::string_view json);

 private:
  void Separate();
  std::string& out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace bulwark
