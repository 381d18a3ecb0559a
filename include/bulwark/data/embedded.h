#pragma once
// Files compiled into the binary: built-in decoders, the rule pack, the field map and sample logs.

#include <span>
#include <string_view>
#include <vector>

namespace bulwark::data {

struct EmbeddedFile {
  std::string_view path;     // relative to data/, e.g. "rules/ssh_brute_force.yml"
  std::string_view content;  // whole file
};

// All embedded files, sorted by path. Never fails; the storage lives for the whole program.
std::span<const EmbeddedFile> Embedded();

// Embedded files whose path starts with `prefix` (e.g. "rules/"), in path order.
std::vector<EmbeddedFile> EmbeddedUnder(std::string_view prefix);

// The embedded file at exactly `path`, or an empty content view when there is none.
std::string_view EmbeddedFileContent(std::string_view path);

}  // namespace bulwark::data
