#pragma once
// Decoders extract ECS fields from message text. They are data: YAML files (see
// docs/decoders.md) with a literal prefilter and an RE2 pattern whose named groups become fields.
// A DecoderSet is immutable once built and is shared by all threads; each thread decodes with its
// own DecodeScratch.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/event/event.h"
#include "bulwark/match/database.h"

namespace bulwark::decode {

// One decoder definition as read from YAML.
struct DecoderSpec {
  std::string id;                      // unique; a later file with the same id overrides
  std::string origin;                  // file:line for messages
  std::vector<std::string> programs;   // process.name must be one of these, when given
  std::string source = "message";      // field the pattern is applied to
  std::vector<std::string> prefilter;  // at least one literal must occur (case-sensitive)
  std::string pattern;                 // RE2; named groups a__b set field a.b
  std::vector<std::pair<std::string, std::string>> set;  // constant fields on match
  bool continue_after = false;                           // run later decoders too
};

// Parses a decoder file. `name` is used in error locations ("name:line:column").
Result<std::vector<DecoderSpec>> ParseDecoderFile(std::string_view yaml, const std::string& name);

// Where a regular expression is anchored by its own text: a leading `^` (start) and a trailing
// unescaped `$` (end), with no `|` outside groups and no multi-line flag. Such a pattern is run
// anchored, which lets RE2 skip its search pass before extracting captures.
enum class PatternAnchor { kNone, kStart, kBoth };
PatternAnchor AnchorOf(std::string_view pattern);

// Per-thread decoding state (scan scratch, capture buffers).
class DecodeScratch {
 public:
  DecodeScratch();
  ~DecodeScratch();

 private:
  friend class DecoderSet;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class DecoderSet {
 public:
  // Compiles specs in order; a spec whose id repeats an earlier one replaces it in place.
  // An Error names the decoder and why its pattern or prefilter does not compile.
  static Result<std::shared_ptr<const DecoderSet>> Build(std::vector<DecoderSpec> specs);
  // The built-in decoders (builtin:decoders, so `env` is a data::BuiltinEnv), plus the files
  // below `extra_paths` (files or folders of *.yml), which may override built-ins by id; all
  // read through `env`.
  static Result<std::shared_ptr<const DecoderSet>> Load(const std::vector<std::string>& extra_paths,
                                                        const Env& env);
  ~DecoderSet();

  // Finds the decoders whose `message` prefilter literals (MessagePrefilter()) occur in
  // `message`, appending their ids to `candidates`: for a caller that scans the message anyway,
  // with one database holding both its patterns and these.
  using PrefilterScan =
      std::function<void(std::string_view message, std::vector<uint32_t>& candidates)>;

  // Applies matching decoders to `event`. Returns the number of decoders that matched. With
  // `message_scan`, the message is not scanned for prefilter literals here: it is called instead
  // (only when the decoding is not a repeat of a remembered one).
  // Thread-safe given a distinct scratch per thread.
  int Decode(event::Event& event, DecodeScratch& scratch,
             const PrefilterScan* message_scan = nullptr) const;
  // The prefilter literals of decoders that read `message`; ids are decoder indices.
  const std::vector<match::Pattern>& MessagePrefilter() const;
  size_t size() const;
  std::unique_ptr<DecodeScratch> NewScratch() const;

 private:
  DecoderSet();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bulwark::decode
