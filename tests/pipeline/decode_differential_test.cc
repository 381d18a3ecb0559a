// Differential test of decoding: the built-in decoders as the pipeline runs them (vectorscan
// prefilter, the decode cache, the message scan shared with the rules) against DecoderOracle
// (each decoder applied with RE2 alone), on every line of the real log samples, each also with
// its message shifted by padding and cut right after each prefilter literal, so that literals lie
// at every distance from the end of buffers of every length.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../support/event_text.h"
#include "bulwark/data/builtin_env.h"
#include "bulwark/data/embedded.h"
#include "bulwark/input/parser.h"
#include "bulwark/pipeline/rules_loader.h"
#include "decoder_oracle.h"
#include "message_scan.h"

namespace bulwark::oracle {
namespace {

std::vector<std::string> SampleLines() {
  std::vector<std::string> lines;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(
           std::string(BULWARK_SHARED_DIR) + "/logs/fail2ban")) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line[0] != '#') lines.push_back(line);
    }
  }
  // Firewall, router and switch lines (the network-device golden case) and nftables' NFLOG lines.
  for (const std::string& file :
       {std::string(BULWARK_SOURCE_DIR) + "/tests/golden/network_devices/input.log",
        std::string(BULWARK_SHARED_DIR) + "/perimeter/nftables-nflog-ulogd2-logemu.log"}) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) lines.push_back(line);
    }
  }
  for (const auto& file : data::EmbeddedUnder("samples/")) {
    if (!file.path.ends_with(".log")) continue;
    std::string content(file.content);
    size_t start = 0;
    while (start < content.size()) {
      size_t end = content.find('\n', start);
      if (end == std::string::npos) end = content.size();
      lines.push_back(content.substr(start, end - start));
      start = end + 1;
    }
  }
  return lines;
}

TEST(DecodeDifferential, BuiltinDecodersAgreeWithRe2Alone) {
  auto decoders = decode::DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
  ASSERT_TRUE(decoders.has_value());
  DecoderOracle oracle = DecoderOracle::Builtin();
  auto loaded =
      pipeline::LoadRules({"builtin", std::string(BULWARK_SHARED_DIR) + "/sigma/rules/rules/linux"},
                          detect::CompileOptions{}, bulwark::data::BuiltinEnv::Default());
  auto message_scan = pipeline::MessageScan::Build(*loaded.rules, **decoders);
  ASSERT_TRUE(message_scan);
  pipeline::MessageScan::Scanner scanner(*message_scan);
  decode::DecoderSet::PrefilterScan prefilter = [&](std::string_view message,
                                                    std::vector<uint32_t>& candidates) {
    scanner.Scan(message, candidates);
  };
  auto cached = (*decoders)->NewScratch();
  auto shared = (*decoders)->NewScratch();
  std::vector<std::string> literals;
  for (const auto& pattern : (*decoders)->MessagePrefilter())
    literals.push_back(pattern.expression);

  input::ParseOptions options;
  options.year = 2026;
  input::LineParser parser(options);
  size_t variants = 0, decoded = 0, disagreements = 0;
  for (const std::string& line : SampleLines()) {
    event::Event base;
    input::Repairs repairs;
    if (parser.Parse(line, base, repairs) != input::Reject::kNone) continue;
    auto message = base.Get(event::fid::kMessage);
    if (!message) continue;
    std::string text(*message);
    std::vector<std::string> messages = {text};
    for (size_t pad : {1, 7, 15, 16, 31, 33, 47, 63, 64, 65, 100, 127, 129, 255, 300}) {
      messages.push_back(std::string(pad, 'x') + " " + text);
    }
    for (const std::string& literal : literals) {
      for (size_t at = text.find(literal); at != std::string::npos;
           at = text.find(literal, at + 1)) {
        std::string cut = text.substr(0, at + literal.size());
        messages.push_back(cut);
        messages.push_back(std::string(70, 'x') + " " + cut);
      }
    }
    for (const std::string& variant_message : messages) {
      event::Event variant = base;
      variant.Set(event::fid::kMessage, variant_message);
      event::Event expected = variant;
      int matched = oracle.Decode(expected);
      decoded += matched > 0;
      std::string want = testing_support::EventText(expected);
      for (int repeat = 0; repeat < 2; ++repeat) {  // the second time from the decode cache
        event::Event got = variant;
        (*decoders)->Decode(got, *cached);
        event::Event got_shared = variant;
        scanner.Reset();
        (*decoders)->Decode(got_shared, *shared, &prefilter);
        ++variants;
        for (const event::Event* event : {&got, &got_shared}) {
          std::string have = testing_support::EventText(*event);
          if (have == want) continue;
          if (++disagreements <= 5) {
            ADD_FAILURE() << (event == &got ? "decoder scan" : "shared message scan")
                          << " disagrees with RE2 alone\nline: " << line
                          << "\nmessage: " << variant_message << "\nengine: " << have
                          << "\noracle: " << want;
          }
        }
      }
    }
  }
  std::printf("%zu variants decoded twice each, %zu decoded by some decoder, %zu disagreements\n",
              variants / 2, decoded, disagreements);
  EXPECT_EQ(disagreements, 0u);
  EXPECT_GT(decoded, 10000u);
}

}  // namespace
}  // namespace bulwark::oracle
