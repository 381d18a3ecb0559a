// The JSON Schema validator: each keyword on a schema written here, then the published XARF
// schemas against their own valid and invalid samples (../shared/abuse).

#include "bulwark/jsonschema/validator.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../support/files.h"

namespace bulwark::jsonschema {
namespace {

namespace fs = std::filesystem;

class Validator : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/bwschemaXXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    fs::create_directories(dir_ / "types");
    std::ofstream(dir_ / "main.json") << R"({
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "type": "object",
      "required": ["id", "when"],
      "additionalProperties": false,
      "properties": {
        "id": {"type": "string", "pattern": "^[a-z]+-\\d+$", "maxLength": 10},
        "when": {"type": "string", "format": "date-time"},
        "ip": {"oneOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "kind": {"enum": ["a", "b"]},
        "fixed": {"const": 3},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": true},
        "more": {"$ref": "types/more.json"},
        "local": {"$ref": "#/$defs/local"},
        "ifthen": {"type": "object",
                   "if": {"properties": {"t": {"const": "x"}}},
                   "then": {"required": ["x"]}, "else": {"required": ["y"]}},
        "neither": {"not": {"type": "null"}},
        "any": {"anyOf": [{"type": "boolean"}, {"type": "number"}]}
      },
      "$defs": {"local": {"type": "object", "minProperties": 1}}
    })";
    std::ofstream(dir_ / "types" / "more.json") << R"({"type": "object", "required": ["m"],
      "properties": {"m": {"type": "string", "format": "email"}}})";
    auto set = SchemaSet::LoadDirectory(dir_.string());
    ASSERT_TRUE(set) << set.error().ToString();
    set_ = std::move(*set);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Check(const std::string& json) {
    auto violations = set_.Validate(json, "main.json");
    if (!violations) return "error: " + violations.error().ToString();
    std::string out;
    for (const auto& v : *violations) out += v.ToString() + "\n";
    return out;
  }

  fs::path dir_;
  SchemaSet set_;
};

TEST_F(Validator, ValidDocumentHasNoViolations) {
  EXPECT_EQ(Check(R"({"id": "abc-1", "when": "2026-11-26T10:00:00Z", "ip": "2001:db8::1",
      "port": 22, "kind": "a", "fixed": 3.0, "tags": ["x", "y"], "more": {"m": "a@b.example"},
      "local": {"k": 1}, "ifthen": {"t": "x", "x": 1}, "neither": 0, "any": true})"),
            "");
}

TEST_F(Validator, EachKeywordSaysWhatIsWrongAndWhere) {
  EXPECT_EQ(Check(R"({"when": "2026-11-26T10:00:00Z"})"),
            "(document): required member 'id' is missing\n");
  EXPECT_EQ(Check(R"({"id": "abc-1", "when": "yesterday"})"),
            "/when: 'yesterday' is not a valid date-time\n");
  EXPECT_EQ(Check(R"({"id": "ABC", "when": "2026-11-26T10:00:00Z"})"),
            "/id: 'ABC' does not match '^[a-z]+-\\d+$'\n");
  EXPECT_EQ(Check(R"({"id": "abcdefghij-1", "when": "2026-11-26T10:00:00Z"})"),
            "/id: is 12 characters long, at most 10 allowed\n");
  EXPECT_EQ(Check(R"({"id": "a-1", "when": "2026-11-26T10:00:00Z", "extra": 1})"),
            "(document): member 'extra' is not allowed\n");
  EXPECT_EQ(Check(R"({"id": "a-1", "when": "2026-11-26T10:00:00Z", "port": 0})"),
            "/port: 0 violates minimum 1\n");
  EXPECT_EQ(Check(R"({"id": "a-1", "when": "2026-11-26T10:00:00Z", "port": "22"})"),
            "/port: is string, must be integer\n");
  EXPECT_EQ(Check(R"({"id": "a-1", "when": "2026-11-26T10:00:00Z", "kind": "c"})"),
            "/kind: 'c' is not one of the allowed values\n");
  EXPECT_EQ(Check(R"({"id": "a-1", "when": "2026-11-26T10:00:00Z", "fixed": 4})"),
            "/fixed: is not the required constant\n");
  EXPECT_EQ(Check(R"({"id": "a-1", "when": "2026-11-26T10:00:00Z", "tags": ["x", "x"]})"),
            "/tags: items are not unique\n");
  EXPECT_EQ(Check(R"({"id": "a-1", "when": "2026-11-26T10:00:00Z", "tags": [1]})"),
            "/tags/0: is integer, must be string\n");
  EXPECT_EQ(Check(R"({"id": "a-1", "when": "2026-11-26T10:00:00Z", "more": {"m": "no"}})"),
            "/more/m: 'no' is not a valid email\n");
  EXPECT_EQ(Check(R"({"id": "a-1", "when": "2026-11-26T10:00:00Z", "local": {}})"),
            "/local: has 0 members, at least 1 allowed\n");
  EXPECT_EQ(Check(R"({"id": "a-1", "when": "2026-11-26T10:00:00Z", "ifthen": {"t": "z"}})"),
            "/ifthen: required member 'y' is missing\n");
  EXPECT_EQ(Check(R"({"id": "a-1", "when": "2026-11-26T10:00:00Z", "neither": null})"),
            "/neither: matches a schema it must not match\n");
  EXPECT_EQ(Check(R"({"id": "a-1", "when": "2026-11-26T10:00:00Z", "ip": "300.1.1.1"})"),
            "/ip: matches none of the oneOf alternatives (closest: /ip: '300.1.1.1' is not a "
            "valid ipv4)\n");
  EXPECT_EQ(Check(R"({"id": "a-1", "when": "2026-11-26T10:00:00Z", "any": "s"})"),
            "/any: matches none of the anyOf alternatives (closest: /any: is string, must be "
            "boolean)\n");
  EXPECT_TRUE(Check("{not json").starts_with("error: not JSON: "));
}

TEST_F(Validator, BrokenSchemasAreErrorsNotViolations) {
  std::ofstream(dir_ / "dangling.json") << R"({"$ref": "nowhere.json"})";
  std::ofstream(dir_ / "badpattern.json") << R"({"pattern": "(unclosed"})";
  auto set = SchemaSet::LoadDirectory(dir_.string());
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message.find("does not compile"), std::string::npos);
  fs::remove(dir_ / "badpattern.json");
  set = SchemaSet::LoadDirectory(dir_.string());
  ASSERT_TRUE(set);
  auto dangling = set->Validate("{}", "dangling.json");
  ASSERT_FALSE(dangling);
  EXPECT_NE(dangling.error().message.find("names no file"), std::string::npos);
  EXPECT_FALSE(set->Validate("{}", "absent.json"));
  EXPECT_FALSE(SchemaSet::LoadDirectory("/nonexistent-bulwark"));
}

TEST(PublishedSchemas, XarfSamplesValidateAsTheirAuthorsSay) {
  const std::string shared = BULWARK_SHARED_DIR "/abuse";
  auto v3 = SchemaSet::LoadDirectory(shared + "/xarf/schemas/3");
  ASSERT_TRUE(v3) << v3.error().ToString();
  auto v4 = SchemaSet::LoadDirectory(shared + "/xarf-spec/schemas/v4");
  ASSERT_TRUE(v4) << v4.error().ToString();
  size_t checked = 0;
  for (const auto& [folder, set, schema, valid] :
       {std::tuple{"/xarf/samples/positive/3", &*v3, "xarf.schema.json", true},
        std::tuple{"/xarf/samples/negative/3", &*v3, "xarf.schema.json", false},
        std::tuple{"/xarf-spec/samples/v4", &*v4, "xarf-v4-master.json", true}}) {
    for (const auto& entry : fs::directory_iterator(shared + folder)) {
      auto violations = set->Validate(testing_support::ReadAll(entry.path()), schema);
      ASSERT_TRUE(violations) << entry.path() << ": " << violations.error().ToString();
      EXPECT_EQ(violations->empty(), valid)
          << entry.path() << (violations->empty() ? "" : ": " + (*violations)[0].ToString());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 29u + 8u + 32u);
}

}  // namespace
}  // namespace bulwark::jsonschema
