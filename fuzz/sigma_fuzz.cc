// Fuzzes the Sigma parser and rule compiler with arbitrary YAML.
#include <cstdint>
#include <string>

#include "bulwark/detect/ruleset.h"
#include "bulwark/sigma/rule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = bulwark::sigma::ParseRuleFile(text, "fuzz.yml");
  std::vector<bulwark::sigma::Rejection> rejected;
  auto rules = bulwark::detect::RuleSet::Compile(std::move(parsed.documents),
                                                 bulwark::detect::CompileOptions{}, rejected);
  bulwark::event::Event event;
  event.Set(bulwark::event::fid::kMessage, text.substr(0, 64));
  std::vector<uint32_t> matched;
  rules->NewMatcher()->Match(event, matched);
  return 0;
}
