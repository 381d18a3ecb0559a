#pragma once
// The reference for decoding, used only by tests: each decoder spec applied with RE2 alone, in
// order, to the event as the line reader built it. A decoder applies when its `programs` admit
// the event's process.name and one of its prefilter literals occurs in its source field (found
// with std::string_view::find; no vectorscan, no cache, no shared message scan); its named groups
// set fields (non-empty captures; `a__b` names field a.b; an address field that is not an address
// becomes <prefix>.address and <prefix>.domain; `@timestamp` sets the event time), then its
// constants; decoding stops at the first decoder that matches unless it says `continue`.

#include <vector>

#include "bulwark/decode/decoder.h"
#include "bulwark/event/event.h"

namespace bulwark::oracle {

class DecoderOracle {
 public:
  // `specs` in file order; a later spec with an id already seen replaces it in place.
  explicit DecoderOracle(std::vector<decode::DecoderSpec> specs);
  // The built-in decoder files.
  static DecoderOracle Builtin();
  // Decodes `event` in place; returns how many decoders matched.
  int Decode(event::Event& event) const;

 private:
  std::vector<decode::DecoderSpec> specs_;
};

}  // namespace bulwark::oracle
