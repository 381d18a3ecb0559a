#pragma once
// Holds every response of the API tests against the OpenAPI document the service publishes
// (data/openapi.json): the operation lists the status, the media type is one it names, and a
// JSON body matches the schema given for it (bulwark's JSON Schema validator; OpenAPI 3.1
// schemas are JSON Schema 2020-12).

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <string>
#include <vector>

#include "../support/files.h"
#include "bulwark/core/strings.h"
#include "bulwark/jsonschema/validator.h"

namespace bulwark::testing_support {

class OpenApiCheck {
 public:
  OpenApiCheck() {
    dir_ =
        std::filesystem::temp_directory_path() / ("bulwark-openapi-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::filesystem::copy_file(std::string(BULWARK_SOURCE_DIR) + "/data/openapi.json",
                               dir_ / "openapi.json",
                               std::filesystem::copy_options::overwrite_existing);
    auto set = jsonschema::SchemaSet::LoadDirectory(dir_.string());
    EXPECT_TRUE(set) << set.error().ToString();
    if (set) schemas_ = std::move(*set);
    text_ = simdjson::padded_string(ReadAll(dir_ / "openapi.json"));
    EXPECT_EQ(parser_.parse(text_).get(doc_), simdjson::SUCCESS);
  }
  ~OpenApiCheck() { std::filesystem::remove_all(dir_); }

  // Checks one exchange; failures are added to the running test.
  void Check(const std::string& method, const std::string& target, long status,
             const std::string& content_type, const std::string& body) {
    std::string path = target.substr(0, target.find('?'));
    std::string where = method + " " + path + " -> " + std::to_string(status);
    std::string media =
        AsciiLower(Trim(std::string_view(content_type)
                            .substr(0, std::min(content_type.size(), content_type.find(';')))));
    std::string templated = Template(path);
    if (templated.empty()) {
      // No resource: answered before any operation.
      EXPECT_TRUE(status == 400 || status == 404 || status == 414 || status == 431) << where;
      EXPECT_EQ(media, "application/problem+json") << where;
      return;
    }
    std::string verb = AsciiLower(method == "HEAD" ? "GET" : method);
    simdjson::dom::element operation;
    if (doc_["paths"][templated][verb].get(operation) != simdjson::SUCCESS) {
      EXPECT_TRUE(status == 405 || status == 400 || status == 414 || status == 431)
          << where << ": no such operation in the document";
      return;
    }
    std::string pointer =
        "#/paths/" + Escape(templated) + "/" + verb + "/responses/" + std::to_string(status);
    simdjson::dom::element response;
    if (doc_["paths"][templated][verb]["responses"][std::to_string(status)].get(response) !=
        simdjson::SUCCESS) {
      ADD_FAILURE() << where << ": the status is not in the document";
      return;
    }
    std::string_view ref;
    if (response["$ref"].get(ref) == simdjson::SUCCESS) {
      pointer = std::string(ref);
      EXPECT_EQ(doc_.at_pointer(pointer.substr(1)).get(response), simdjson::SUCCESS) << ref;
    }
    simdjson::dom::object content;
    if (response["content"].get(content) != simdjson::SUCCESS) return;
    simdjson::dom::element schema;
    if (content[media].get(schema) != simdjson::SUCCESS) {
      ADD_FAILURE() << where << ": media type '" << media << "' is not in the document";
      return;
    }
    if (method == "HEAD" || body.empty()) return;
    if (media != "application/json" && media != "application/problem+json") return;
    if (schema["schema"].get(schema) != simdjson::SUCCESS) return;
    auto violations =
        schemas_.Validate(body, "openapi.json" + pointer + "/content/" + Escape(media) + "/schema");
    ASSERT_TRUE(violations) << where << ": " << violations.error().ToString();
    for (const auto& violation : *violations) {
      ADD_FAILURE() << where << ": " << violation.ToString() << "\n" << body.substr(0, 2000);
    }
  }

 private:
  // The document's path template that `path` matches ("/api/v1/incidents/{id}"), or empty.
  std::string Template(const std::string& path) {
    auto parts = Split(path, '/');
    simdjson::dom::object paths;
    if (doc_["paths"].get(paths) != simdjson::SUCCESS) return {};
    std::string best;
    for (auto field : paths) {
      std::string_view candidate = field.key;
      auto pattern = Split(candidate, '/');
      if (pattern.size() != parts.size()) continue;
      bool literal_match = true, match = true;
      for (size_t i = 0; i < parts.size() && match; ++i) {
        if (pattern[i].starts_with('{')) {
          literal_match = false;
        } else {
          match = pattern[i] == parts[i];
        }
      }
      if (!match) continue;
      if (literal_match) return std::string(candidate);  // literal paths win over templates
      best = std::string(candidate);
    }
    return best;
  }

  static std::string Escape(std::string_view token) {
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

  std::filesystem::path dir_;
  jsonschema::SchemaSet schemas_;
  simdjson::padded_string text_;
  simdjson::dom::parser parser_;
  simdjson::dom::element doc_;
};

}  // namespace bulwark::testing_support
