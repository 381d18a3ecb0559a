// Fuzzes the RFC 6587 syslog framer, differentially: the stream fed at once and fed in pieces
// (their size taken from the first byte) must give the same messages and problems.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/receive/framing.h"

namespace {
struct Framed {
  std::vector<std::string> messages;
  size_t problems = 0;
};

Framed Frame(std::string_view stream, size_t piece) {
  Framed out;
  bulwark::receive::SyslogFramer::Options options;
  options.max_message = 64;  // small, so that the limits are reached
  bulwark::receive::SyslogFramer framer(
      [&](std::string_view m, uint64_t) { out.messages.emplace_back(m); },
      [&](const bulwark::receive::FramingProblem&) { ++out.problems; }, options);
  for (size_t at = 0; at < stream.size(); at += piece) framer.Feed(stream.substr(at, piece));
  framer.Finish();
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = data[0] % 16 + 1;
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  Framed whole = Frame(stream, stream.size() + 1);
  Framed split = Frame(stream, piece);
  if (whole.messages != split.messages || whole.problems != split.problems) std::abort();
  for (const auto& message : whole.messages) {
    if (message.size() > 64) std::abort();
  }
  return 0;
}
