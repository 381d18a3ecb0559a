#pragma once
// Turning Sigma values and modifiers into vectorscan regexes (private to the detect module).

#include <string>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/detect/field_map.h"
#include "bulwark/sigma/rule.h"

namespace bulwark::detect {

// Where a literal must sit in the field's text.
enum class Anchor : uint8_t { kNone, kStart, kEnd, kWhole };

struct RegexSpec {
  std::string expression;  // a regex, or the literal bytes when `literal`
  unsigned flags = 0;
  bool sigma_re = false;  // came from the `re` modifier (may need an RE2 confirmation)
  bool literal = false;   // plain bytes for the literal database; position checked by `anchor`
  Anchor anchor = Anchor::kNone;
  // For `contains` values with inner `*` wildcards: the literal pieces in order. `expression` is
  // then the longest piece, used as a prefilter; a hit is confirmed by GlobContains.
  std::vector<std::string> glob;
};

// True when `pieces` occur in `text` in order without overlapping (a `*`-only glob with
// implicit wildcards at both ends); ASCII case-insensitive when `caseless`.
bool GlobContains(std::string_view text, const std::vector<std::string>& pieces, bool caseless);

// Builds the patterns that together (OR) implement one string value under `modifiers`: literals
// (the common case, compiled into fast literal databases) or regexes.
// Errors: unknown placeholder, wildcards combined with an encoding, an empty expansion.
Result<std::vector<RegexSpec>> BuildRegexes(const sigma::Value& value,
                                            const std::vector<sigma::Modifier>& modifiers,
                                            const FieldMap& field_map, bool keyword);

// A Sigma `re` pattern (PCRE syntax) for RE2, with PCRE's meaning of `$` outside multi-line mode
// kept: the end of the text or just before a newline that ends it (RE2's `$` is the end only).
// Other syntax is passed through; RE2 reports what it does not take.
std::string PcreForRe2(std::string_view pattern, bool multiline);

// The values `text` stands for: its %placeholders% replaced by each of their values (every
// combination). A placeholder the field map declares with no values (an address list that is
// not configured) stands for nothing: the result is empty. Errors: a placeholder the field map
// does not declare.
Result<std::vector<std::string>> ExpandPlaceholders(const std::string& text,
                                                    const FieldMap& field_map);

// Base64 helpers, exposed for tests.
std::string Base64Encode(std::string_view bytes);
std::vector<std::string> Base64OffsetVariants(std::string_view bytes);

}  // namespace bulwark::detect
