#include "decoder_oracle.h"

#include <re2/re2.h>

#include <map>
#include <stdexcept>

#include "bulwark/core/time.h"
#include "bulwark/data/embedded.h"

namespace bulwark::oracle {

DecoderOracle::DecoderOracle(std::vector<decode::DecoderSpec> specs) {
  std::map<std::string, size_t> position;
  for (decode::DecoderSpec& spec : specs) {
    auto found = position.find(spec.id);
    if (found != position.end()) {
      specs_[found->second] = std::move(spec);
    } else {
      position.emplace(spec.id, specs_.size());
      specs_.push_back(std::move(spec));
    }
  }
}

DecoderOracle DecoderOracle::Builtin() {
  std::vector<decode::DecoderSpec> specs;
  for (const auto& file : data::EmbeddedUnder("decoders/")) {
    auto parsed = decode::ParseDecoderFile(file.content, std::string(file.path));
    if (!parsed) throw std::runtime_error(parsed.error().ToString());
    for (auto& spec : *parsed) specs.push_back(std::move(spec));
  }
  return DecoderOracle(std::move(specs));
}

int DecoderOracle::Decode(event::Event& event) const {
  // Which decoders apply is decided on the event as read, before any decoder changed it.
  std::vector<bool> candidate(specs_.size(), false);
  for (size_t i = 0; i < specs_.size(); ++i) {
    const decode::DecoderSpec& spec = specs_[i];
    if (spec.prefilter.empty()) {
      candidate[i] = true;
      continue;
    }
    auto text = event.Get(event::InternField(spec.source));
    if (!text) continue;
    for (const std::string& literal : spec.prefilter) {
      if (text->find(literal) != std::string_view::npos) candidate[i] = true;
    }
  }
  int matched = 0;
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (!candidate[i]) continue;
    const decode::DecoderSpec& spec = specs_[i];
    if (!spec.programs.empty()) {
      auto program = event.Get(event::fid::kProcessName);
      if (!program) continue;
      bool allowed = false;
      for (const std::string& name : spec.programs) {
        allowed |=
            *program == name || (program->size() > name.size() && program->starts_with(name) &&
                                 (*program)[name.size()] == '/');
      }
      if (!allowed) continue;
    }
    auto source = event.Get(event::InternField(spec.source));
    if (!source) continue;
    std::string text(*source);  // the event's storage may move while fields are set
    RE2::Options options;
    options.set_log_errors(false);
    RE2 re(spec.pattern, options);
    int groups = re.NumberOfCapturingGroups() + 1;
    std::vector<re2::StringPiece> pieces(groups);
    if (!re.Match(text, 0, text.size(), RE2::UNANCHORED, pieces.data(), groups)) continue;
    ++matched;
    std::map<int, std::string> field_of_group;
    for (const auto& [name, index] : re.NamedCapturingGroups()) {
      std::string field;
      for (size_t k = 0; k < name.size(); ++k) {
        if (name[k] == '_' && k + 1 < name.size() && name[k + 1] == '_') {
          field.push_back('.');
          ++k;
        } else {
          field.push_back(name[k]);
        }
      }
      field_of_group[index] = field;
    }
    // Fields in the order of their groups in the pattern.
    for (const auto& [index, field] : field_of_group) {
      const re2::StringPiece& piece = pieces[index];
      if (piece.data() == nullptr || piece.empty()) continue;
      std::string value(piece.data(), piece.size());
      if (field == "timestamp") {  // the event's own time, e.g. a web server's [26/Nov/...]
        if (auto ts = ParseLogTimestamp(value)) event.SetTimestamp(*ts);
        continue;
      }
      if (!event.Set(field, value) && field.ends_with(".ip")) {
        std::string prefix = field.substr(0, field.size() - 3);
        event.Set(prefix + ".address", value);
        event.Set(prefix + ".domain", value);
      }
    }
    for (const auto& [field, value] : spec.set) event.Set(field, value);
    if (!spec.continue_after) break;
  }
  return matched;
}

}  // namespace bulwark::oracle
