#pragma once
// One vectorscan pass over an event's `message` serves both the decoders' prefilter literals and
// the matcher's literal patterns for `message`: the two sets are compiled into one database, and
// the hits are handed to each (DecoderSet::PrefilterScan, detect::Prescan). A message that the
// decoders remember (a repeat) is not scanned here; the matcher then scans it as usual.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/decode/decoder.h"
#include "bulwark/detect/ruleset.h"
#include "bulwark/match/database.h"

namespace bulwark::pipeline {

class MessageScan {
 public:
  // The combined database of `rules` and `decoders`; nullptr when either side has no literals
  // for `message` (each then scans on its own) or the combined set does not compile.
  static std::shared_ptr<const MessageScan> Build(const detect::RuleSet& rules,
                                                  const decode::DecoderSet& decoders);

  // Per-thread scanning state. Not thread-safe.
  class Scanner {
   public:
    explicit Scanner(const MessageScan& scan);
    // Forgets the last scan; call before each event.
    void Reset() { scanned_ = false; }
    // Scans `message`: appends the decoders whose prefilter literals occur to `candidates` and
    // keeps the matcher's hits for prescan().
    void Scan(std::string_view message, std::vector<uint32_t>& candidates);
    // The matcher's hits of the scan since Reset(), or nullptr when there was none.
    const detect::Prescan* prescan() const { return scanned_ ? &prescan_ : nullptr; }

   private:
    static bool OnHit(unsigned id, unsigned long long to, void* context);
    const MessageScan& scan_;
    match::Scratch scratch_;
    std::string text_;  // the message scanned (the event's storage may move while decoding)
    detect::Prescan prescan_;
    std::vector<uint32_t>* candidates_ = nullptr;
    bool scanned_ = false;
  };

 private:
  MessageScan() = default;
  std::shared_ptr<const match::Database> database_;
  unsigned rule_base_ = 0;  // ids below are decoders', ids from here the matcher's (+ rule_base_)
};

}  // namespace bulwark::pipeline
