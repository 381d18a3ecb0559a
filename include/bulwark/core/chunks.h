#pragma once
// A text read piece by piece (a stream too big to hold: a log file, an unpacked archive entry).

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "bulwark/core/result.h"

namespace bulwark {

// Each call fills `buffer` with up to `capacity` further bytes and returns how many; 0 at the
// end, an Error when the text cannot be read further.
using ChunkSource = std::function<Result<size_t>(char* buffer, size_t capacity)>;

// A text in memory as chunks; `text` must outlive the source (static data, or held by the
// caller).
inline ChunkSource ChunksOf(std::string_view text) {
  size_t at = 0;
  return [text, at](char* buffer, size_t capacity) mutable -> Result<size_t> {
    size_t n = std::min(capacity, text.size() - at);
    std::memcpy(buffer, text.data() + at, n);
    at += n;
    return n;
  };
}

// The same for a text the source keeps alive.
inline ChunkSource ChunksOf(std::shared_ptr<const std::string> text) {
  ChunkSource view = ChunksOf(std::string_view(*text));
  return [text, view](char* buffer, size_t capacity) mutable { return view(buffer, capacity); };
}

}  // namespace bulwark
