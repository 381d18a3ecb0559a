// CVSS vectors (v4.0, v3.1, v3.0): any input is scored or rejected with a reason, never a crash;
// every score is within 0-10, and the temporal score never exceeds the base score.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bulwark/vuln/cvss.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto score = bulwark::vuln::ScoreCvss(text);
  if (!score) {
    if (score.error().message.empty()) __builtin_trap();  // every rejection says why
    return 0;
  }
  for (double value :
       {score->base_score, score->temporal_score, score->environmental_score, score->score}) {
    if (!(value >= 0 && value <= 10)) __builtin_trap();
  }
  if (score->temporal_score > score->base_score) __builtin_trap();
  return 0;
}
