#include "bulwark/decode/decoder.h"

#include <fmt/format.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <unordered_map>

#include "bulwark/core/env.h"
#include "bulwark/core/hash.h"
#include "bulwark/core/strings.h"
#include "bulwark/match/database.h"

namespace bulwark::decode {

namespace {

std::string Where(const std::string& name, const YAML::Mark& mark) {
  if (mark.line < 0) return name;
  return fmt::format("{}:{}:{}", name, mark.line + 1, mark.column + 1);
}

Result<std::vector<std::string>> StringList(const YAML::Node& node, const std::string& name) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.as<std::string>());
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsScalar()) return Fail("expected a string", Where(name, item.Mark()));
      out.push_back(item.as<std::string>());
    }
  } else {
    return Fail("expected a string or a list of strings", Where(name, node.Mark()));
  }
  return out;
}

}  // namespace

PatternAnchor AnchorOf(std::string_view pattern) {
  if (!pattern.starts_with('^')) return PatternAnchor::kNone;
  int depth = 0;
  bool in_class = false;
  bool multiline = false;
  bool end_anchor = false;
  for (size_t i = 1; i < pattern.size(); ++i) {
    char ch = pattern[i];
    end_anchor = false;
    if (ch == '\\') {
      ++i;  // the escaped character is a literal
      continue;
    }
    if (in_class) {
      if (ch == ']') in_class = false;
      continue;
    }
    switch (ch) {
      case '[':
        in_class = true;
        if (i + 1 < pattern.size() && pattern[i + 1] == ']') ++i;  // []...] starts with ']'
        break;
      case '(':
        if (pattern.substr(i + 1).starts_with("?")) {
          for (size_t j = i + 2; j < pattern.size() && pattern[j] != ')' && pattern[j] != ':';
               ++j) {
            if (pattern[j] == 'm') multiline = true;
          }
        }
        ++depth;
        break;
      case ')':
        --depth;
        break;
      case '|':
        if (depth == 0) return PatternAnchor::kNone;
        break;
      case '$':
        end_anchor = depth == 0;
        break;
      default:
        break;
    }
  }
  return end_anchor && !multiline ? PatternAnchor::kBoth : PatternAnchor::kStart;
}

Result<std::vector<DecoderSpec>> ParseDecoderFile(std::string_view yaml, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Fail(e.msg, Where(name, e.mark));
  }
  std::vector<DecoderSpec> specs;
  YAML::Node list = root["decoders"];
  if (!list || !list.IsSequence()) {
    return Fail("expected a top-level 'decoders:' list", name);
  }
  for (const YAML::Node& item : list) {
    std::string where = Where(name, item.Mark());
    if (!item.IsMap()) return Fail("a decoder must be a map", where);
    DecoderSpec spec;
    spec.origin = where;
    for (const auto& entry : item) {
      std::string key = entry.first.as<std::string>();
      const YAML::Node& value = entry.second;
      std::string at = Where(name, entry.first.Mark());
      if (key == "id") {
        spec.id = value.as<std::string>();
      } else if (key == "programs" || key == "prefilter") {
        auto list_or = StringList(value, name);
        if (!list_or) return tl::unexpected(list_or.error());
        (key == "programs" ? spec.programs : spec.prefilter) = std::move(*list_or);
      } else if (key == "source") {
        spec.source = value.as<std::string>();
      } else if (key == "pattern") {
        spec.pattern = value.as<std::string>();
      } else if (key == "set") {
        if (!value.IsMap()) return Fail("'set' must be a map of field: value", at);
        for (const auto& kv : value) {
          spec.set.emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>());
        }
      } else if (key == "continue") {
        spec.continue_after = value.as<bool>();
      } else if (key == "description" || key == "examples") {
        // Documentation only.
      } else {
        return Fail(fmt::format("unknown decoder key '{}'", key), at);
      }
    }
    if (spec.id.empty()) return Fail("a decoder needs an 'id'", where);
    if (spec.pattern.empty())
      return Fail(fmt::format("decoder '{}' has no 'pattern'", spec.id), where);
    specs.push_back(std::move(spec));
  }
  return specs;
}

struct CompiledDecoder {
  DecoderSpec spec;
  std::unique_ptr<RE2> regex;
  event::FieldId source = event::fid::kMessage;
  std::vector<event::FieldId> group_fields;  // by capture index (1-based; [0] unused)
  std::vector<std::pair<event::FieldId, std::string>> constants;
  RE2::Anchor anchor = RE2::UNANCHORED;  // from AnchorOf(): same matches, cheaper captures
};

namespace {

// One field assignment a decoding made: replayed for a repeated message.
struct Assignment {
  event::FieldId field;
  bool constant;    // a decoder's `set:` value (stored as is) rather than a capture
  uint32_t offset;  // into the slot's text
  uint32_t length;
};

// What decoding a (process.name, message) pair did, for a repeated pair. Decoding depends on
// nothing else when every decoder reads `message` (the prefilter and pattern read the message,
// `programs` reads process.name), so replaying the assignments gives the event a fresh decoding
// would.
struct CachedDecode {
  uint64_t hash = 0;
  bool has_program = false;
  uint32_t program_length = 0;
  uint32_t message_length = 0;
  std::string text;  // program, message, then the assigned values
  std::vector<Assignment> assignments;
  int matched = 0;
  uint8_t credit = 0;  // hits not yet spent: misses in this slot spend one before replacing it
  // The last missed pair's hash: a pair replaces the slot's content when it misses a second
  // time, so that one-off messages (most sshd lines) are decoded without being recorded.
  uint64_t missed_hash = 0;
};

}  // namespace

struct DecodeScratch::Impl {
  match::Scratch scan;
  std::vector<uint32_t> candidates;
  std::vector<re2::StringPiece> groups;
  std::vector<std::string> values;

  // Direct-mapped cache of decodings by (process.name, message). Messages repeat in many logs
  // (cron, systemd, session lines), while sshd failures carry ports and PIDs and rarely do: a
  // pair is recorded when it misses for the second time in a row in its slot (a one-off message
  // costs no recording); a slot survives as many misses as it had hits, up to kMaxCredit
  // (one-off messages do not push out the repeated ones); and each trial window of kTrialLookups
  // lookups with fewer than a quarter hits turns the cache off for the next kBypassLines lines
  // and frees its memory, so logs without repeats pay little for it. Small enough to stay in the
  // processor's cache.
  static constexpr size_t kCacheSlots = 1024;
  static constexpr uint8_t kMaxCredit = 3;
  static constexpr size_t kMaxCachedMessage = 512;
  static constexpr uint32_t kTrialLookups = 1024;
  static constexpr uint32_t kBypassLines = 65536;
  std::vector<CachedDecode> cache;
  uint32_t lookups = 0;
  uint32_t hits = 0;
  uint32_t bypass = 0;
  CachedDecode* recording = nullptr;  // the slot being filled while a missed pair is decoded
  // The caller's scan of the message for this Decode() call, if any.
  const DecoderSet::PrefilterScan* message_scan = nullptr;
};

DecodeScratch::DecodeScratch() : impl_(std::make_unique<Impl>()) {}
DecodeScratch::~DecodeScratch() = default;

namespace {
// A capture group named `timestamp` sets the event time instead of a field.
const event::FieldId kTimestampField = event::InternField("timestamp");
}  // namespace

struct DecoderSet::Impl {
  std::vector<CompiledDecoder> decoders;
  // Literal prefilters per source field; pattern id = decoder index.
  std::vector<std::pair<event::FieldId, std::shared_ptr<const match::Database>>> prefilters;
  std::vector<match::Pattern> message_literals;  // the prefilter literals of `message`
  std::vector<uint32_t> always;                  // decoders without a prefilter
  bool cacheable = true;  // every decoder reads `message`: decodings can be cached

  // Stores `value` in the field a capture names (the event time for `timestamp`); records the
  // assignment when a cache slot is being filled.
  static void Assign(event::Event& event, event::FieldId field, std::string_view value,
                     bool constant, CachedDecode* recording);
  int DecodeUncached(event::Event& event, DecodeScratch::Impl& scratch) const;
};

DecoderSet::DecoderSet() : impl_(std::make_unique<Impl>()) {}
DecoderSet::~DecoderSet() = default;
size_t DecoderSet::size() const {
  return impl_->decoders.size();
}

Result<std::shared_ptr<const DecoderSet>> DecoderSet::Build(std::vector<DecoderSpec> specs) {
  // Later specs override earlier ones with the same id, keeping the earlier position.
  std::vector<DecoderSpec> ordered;
  std::unordered_map<std::string, size_t> position;
  for (DecoderSpec& spec : specs) {
    auto it = position.find(spec.id);
    if (it != position.end()) {
      ordered[it->second] = std::move(spec);
    } else {
      position.emplace(spec.id, ordered.size());
      ordered.push_back(std::move(spec));
    }
  }
  std::shared_ptr<DecoderSet> set(new DecoderSet());
  std::unordered_map<event::FieldId, std::vector<match::Pattern>> literal_sets;
  for (DecoderSpec& spec : ordered) {
    CompiledDecoder decoder;
    RE2::Options options;
    options.set_log_errors(false);
    decoder.regex = std::make_unique<RE2>(spec.pattern, options);
    if (!decoder.regex->ok()) {
      return Fail(fmt::format("decoder '{}': pattern does not compile: {}", spec.id,
                              decoder.regex->error()),
                  spec.origin);
    }
    switch (AnchorOf(spec.pattern)) {
      case PatternAnchor::kNone:
        break;
      case PatternAnchor::kStart:
        decoder.anchor = RE2::ANCHOR_START;
        break;
      case PatternAnchor::kBoth:
        decoder.anchor = RE2::ANCHOR_BOTH;
        break;
    }
    decoder.source = event::InternField(spec.source);
    if (decoder.source != event::fid::kMessage) set->impl_->cacheable = false;
    decoder.group_fields.assign(decoder.regex->NumberOfCapturingGroups() + 1, event::kInvalidField);
    for (const auto& [group, index] : decoder.regex->NamedCapturingGroups()) {
      std::string field;
      for (size_t i = 0; i < group.size(); ++i) {
        bool separator = group[i] == '_' && i + 1 < group.size() && group[i + 1] == '_';
        field.push_back(separator ? '.' : group[i]);
        i += separator ? 1 : 0;
      }
      decoder.group_fields[index] = event::InternField(field);
    }
    for (const auto& [field, value] : spec.set) {
      decoder.constants.emplace_back(event::InternField(field), value);
    }
    auto index = static_cast<unsigned>(set->impl_->decoders.size());
    if (spec.prefilter.empty()) {
      set->impl_->always.push_back(index);
    } else {
      for (const std::string& literal : spec.prefilter) {
        if (literal.empty())
          return Fail(fmt::format("decoder '{}': empty prefilter", spec.id), spec.origin);
        literal_sets[decoder.source].push_back(match::Pattern{literal, match::kSingleMatch, index});
      }
    }
    decoder.spec = std::move(spec);
    set->impl_->decoders.push_back(std::move(decoder));
  }
  for (auto& [field, patterns] : literal_sets) {
    auto database = match::Database::Compile(patterns, /*literal=*/true);
    if (!database) {
      const auto& bad = patterns[std::max(0, database.error().index)];
      return Fail(fmt::format("decoder '{}': prefilter does not compile: {}",
                              set->impl_->decoders[bad.id].spec.id, database.error().message),
                  set->impl_->decoders[bad.id].spec.origin);
    }
    set->impl_->prefilters.emplace_back(field, *database);
    if (field == event::fid::kMessage) set->impl_->message_literals = patterns;
  }
  return std::shared_ptr<const DecoderSet>(std::move(set));
}

Result<std::shared_ptr<const DecoderSet>> DecoderSet::Load(
    const std::vector<std::string>& extra_paths, const Env& env) {
  std::vector<DecoderSpec> specs;
  std::vector<std::string> paths = {"builtin:decoders"};
  paths.insert(paths.end(), extra_paths.begin(), extra_paths.end());
  for (const std::string& path : paths) {
    auto files = env.ListFiles(path, {".yml", ".yaml"});
    if (!files) return tl::unexpected(files.error());
    for (const std::string& file : *files) {
      auto text = env.ReadFile(file);
      if (!text) return tl::unexpected(text.error());
      auto parsed = ParseDecoderFile(*text, file);
      if (!parsed) return tl::unexpected(parsed.error());
      for (auto& spec : *parsed) specs.push_back(std::move(spec));
    }
  }
  return Build(std::move(specs));
}

std::unique_ptr<DecodeScratch> DecoderSet::NewScratch() const {
  auto holder = std::make_unique<DecodeScratch>();
  DecodeScratch::Impl* scratch = holder->impl_.get();
  for (const auto& [field, database] : impl_->prefilters) {
    if (!scratch->scan.Prepare(*database)) throw std::bad_alloc();
  }
  int max_groups = 1;
  for (const auto& decoder : impl_->decoders) {
    max_groups = std::max(max_groups, decoder.regex->NumberOfCapturingGroups() + 1);
  }
  scratch->groups.resize(max_groups);
  return holder;
}

namespace {
bool CollectCandidate(unsigned id, unsigned long long, void* context) {
  static_cast<std::vector<uint32_t>*>(context)->push_back(id);
  return true;
}
}  // namespace

void DecoderSet::Impl::Assign(event::Event& event, event::FieldId field, std::string_view value,
                              bool constant, CachedDecode* recording) {
  if (recording) {
    auto offset = static_cast<uint32_t>(recording->text.size());
    recording->text.append(value);
    recording->assignments.push_back(
        Assignment{field, constant, offset, static_cast<uint32_t>(value.size())});
  }
  if (constant) {
    event.Set(field, value);
    return;
  }
  if (field == kTimestampField) {  // the event's own time, e.g. a web server's [26/Nov/...]
    if (auto ts = ParseLogTimestamp(value)) event.SetTimestamp(*ts);
    return;
  }
  if (!event.Set(field, value)) {
    // Not an address (e.g. a host name where source.ip was expected): keep it as
    // <prefix>.address and <prefix>.domain, as ECS does.
    std::string_view name = event::FieldName(field);
    if (name.ends_with(".ip")) {
      std::string prefix(name.substr(0, name.size() - 3));
      event.Set(prefix + ".address", value);
      event.Set(prefix + ".domain", value);
    }
  }
}

const std::vector<match::Pattern>& DecoderSet::MessagePrefilter() const {
  return impl_->message_literals;
}

int DecoderSet::Decode(event::Event& event, DecodeScratch& holder,
                       const PrefilterScan* message_scan) const {
  DecodeScratch::Impl& scratch = *holder.impl_;
  scratch.message_scan = message_scan;
  auto message = event.Get(event::fid::kMessage);
  if (!impl_->cacheable || !message || message->size() > DecodeScratch::Impl::kMaxCachedMessage) {
    return impl_->DecodeUncached(event, scratch);
  }
  if (scratch.bypass > 0) {
    --scratch.bypass;
    return impl_->DecodeUncached(event, scratch);
  }
  if (++scratch.lookups == DecodeScratch::Impl::kTrialLookups) {
    if (scratch.hits < DecodeScratch::Impl::kTrialLookups / 4) {
      scratch.bypass = DecodeScratch::Impl::kBypassLines;
      std::vector<CachedDecode>().swap(scratch.cache);  // held again at the next trial
    }
    scratch.lookups = 0;
    scratch.hits = 0;
    if (scratch.bypass > 0) return impl_->DecodeUncached(event, scratch);
  }
  auto program = event.Get(event::fid::kProcessName);
  std::string_view program_text = program.value_or(std::string_view());
  uint64_t hash = FastHash(*message, program_text.size() + (program ? 1 : 0));
  if (scratch.cache.empty()) scratch.cache.resize(DecodeScratch::Impl::kCacheSlots);
  CachedDecode& slot = scratch.cache[hash % DecodeScratch::Impl::kCacheSlots];
  std::string_view slot_text(slot.text);
  if (slot.hash == hash && slot.has_program == program.has_value() &&
      slot.program_length == program_text.size() && slot.message_length == message->size() &&
      slot_text.substr(0, program_text.size()) == program_text &&
      slot_text.substr(program_text.size(), message->size()) == *message) {
    ++scratch.hits;
    if (slot.credit < DecodeScratch::Impl::kMaxCredit) ++slot.credit;
    for (const Assignment& a : slot.assignments) {
      Impl::Assign(event, a.field, slot_text.substr(a.offset, a.length), a.constant, nullptr);
    }
    return slot.matched;
  }
  if (slot.credit > 0 || slot.missed_hash != hash) {
    if (slot.credit > 0) --slot.credit;
    slot.missed_hash = hash;
    return impl_->DecodeUncached(event, scratch);
  }
  slot.hash = hash;
  slot.has_program = program.has_value();
  slot.program_length = static_cast<uint32_t>(program_text.size());
  slot.message_length = static_cast<uint32_t>(message->size());
  slot.text.assign(program_text).append(*message);
  slot.assignments.clear();
  scratch.recording = &slot;
  slot.matched = impl_->DecodeUncached(event, scratch);
  scratch.recording = nullptr;
  return slot.matched;
}

int DecoderSet::Impl::DecodeUncached(event::Event& event, DecodeScratch::Impl& scratch) const {
  scratch.candidates.assign(always.begin(), always.end());
  for (const auto& [field, database] : prefilters) {
    auto text = event.Get(field);
    if (!text) continue;
    if (field == event::fid::kMessage && scratch.message_scan) {
      (*scratch.message_scan)(*text, scratch.candidates);
      continue;
    }
    match::Scan(*database, scratch.scan, *text, CollectCandidate, &scratch.candidates);
  }
  if (scratch.candidates.empty()) return 0;
  std::sort(scratch.candidates.begin(), scratch.candidates.end());
  scratch.candidates.erase(std::unique(scratch.candidates.begin(), scratch.candidates.end()),
                           scratch.candidates.end());
  int matched = 0;
  for (uint32_t index : scratch.candidates) {
    const CompiledDecoder& decoder = decoders[index];
    if (!decoder.spec.programs.empty()) {
      auto program = event.Get(event::fid::kProcessName);
      if (!program) continue;
      bool allowed = false;
      for (const std::string& name : decoder.spec.programs) {
        // "postfix" also admits "postfix/smtpd"; a trailing slash component names a sub-program.
        if (*program == name || (program->starts_with(name) && (*program)[name.size()] == '/')) {
          allowed = true;
          break;
        }
      }
      if (!allowed) continue;
    }
    auto text = event.Get(decoder.source);
    if (!text) continue;
    int groups = static_cast<int>(decoder.group_fields.size());
    if (!decoder.regex->Match(re2::StringPiece(text->data(), text->size()), 0, text->size(),
                              decoder.anchor, scratch.groups.data(), groups)) {
      continue;
    }
    ++matched;
    // Captures from the raw line stay valid while fields are set (and are stored without a
    // copy); others are copied out first, as Set() may reallocate the storage they point into.
    bool stable = event.InRaw(*text);
    if (!stable) {
      scratch.values.resize(groups);
      for (int g = 1; g < groups; ++g) {
        const auto& piece = scratch.groups[g];
        if (piece.data() == nullptr) {
          scratch.values[g].clear();
        } else {
          scratch.values[g].assign(piece.data(), piece.size());
        }
      }
    }
    for (int g = 1; g < groups; ++g) {
      event::FieldId field = decoder.group_fields[g];
      if (field == event::kInvalidField || scratch.groups[g].data() == nullptr) continue;
      std::string_view value =
          stable ? std::string_view(scratch.groups[g].data(), scratch.groups[g].size())
                 : std::string_view(scratch.values[g]);
      if (value.empty()) continue;
      Assign(event, field, value, /*constant=*/false, scratch.recording);
    }
    for (const auto& [field, value] : decoder.constants) {
      Assign(event, field, value, /*constant=*/true, scratch.recording);
    }
    if (!decoder.spec.continue_after) break;
  }
  return matched;
}

}  // namespace bulwark::decode
