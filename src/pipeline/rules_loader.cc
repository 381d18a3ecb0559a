#include "bulwark/pipeline/rules_loader.h"

#include <algorithm>

#include "bulwark/core/env.h"
#include "bulwark/flowdetect/detector.h"

namespace bulwark::pipeline {

namespace {
void AddParsed(sigma::ParsedFile parsed, std::vector<sigma::Document>& documents,
               std::vector<sigma::Rejection>& rejected) {
  for (auto& doc : parsed.documents) documents.push_back(std::move(doc));
  for (auto& rejection : parsed.rejections) rejected.push_back(std::move(rejection));
}
}  // namespace

void ParseRulePaths(const std::vector<std::string>& paths, const Env& env,
                    std::vector<sigma::Document>& documents,
                    std::vector<sigma::Rejection>& rejected, size_t& files) {
  for (const std::string& given : paths) {
    const std::string path = given == "builtin" ? "builtin:rules" : given;
    auto list = env.ListFiles(path, {".yml", ".yaml"});
    if (!list) {
      rejected.push_back(sigma::Rejection{given, "", list.error().message});
      continue;
    }
    for (const std::string& file : *list) {
      if (file.ends_with(".tests.yml")) continue;
      ++files;
      auto text = env.ReadFile(file);
      if (!text) {
        rejected.push_back(sigma::Rejection{file, "", text.error().message});
        continue;
      }
      AddParsed(sigma::ParseRuleFile(*text, file), documents, rejected);
    }
  }
}

LoadedRules LoadRules(const std::vector<std::string>& paths, const detect::CompileOptions& options,
                      const Env& env) {
  LoadedRules loaded;
  std::vector<sigma::Document> documents;
  ParseRulePaths(paths, env, documents, loaded.rejected, loaded.files);
  loaded.documents = documents.size();
  // The built-in pack includes the flow detectors' rules.
  bool builtin = std::find(paths.begin(), paths.end(), "builtin") != paths.end();
  if (builtin && options.detector_rules.empty()) {
    detect::CompileOptions with_detectors = options;
    with_detectors.detector_rules = flowdetect::DetectorRules();
    loaded.rules = detect::RuleSet::Compile(std::move(documents), with_detectors, loaded.rejected);
    return loaded;
  }
  loaded.rules = detect::RuleSet::Compile(std::move(documents), options, loaded.rejected);
  return loaded;
}

}  // namespace bulwark::pipeline
