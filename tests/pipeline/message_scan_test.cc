// The combined scan of messages (decoder prefilters and the matcher's literals in one database)
// must change nothing: every line of the real samples decodes to the same event and matches the
// same rules as with the decoders and the matcher scanning on their own.

#include "message_scan.h"

#include <gtest/gtest.h>

#include <sstream>

#include "../support/event_text.h"
#include "../support/files.h"
#include "bulwark/data/builtin_env.h"
#include "bulwark/input/parser.h"
#include "bulwark/pipeline/rules_loader.h"

namespace bulwark::pipeline {
namespace {

std::string Render(const event::Event& event, const std::vector<uint32_t>& matched) {
  std::string text = testing_support::EventText(event) + " rules";
  for (uint32_t rule : matched) text.append(" ").append(std::to_string(rule));
  return text;
}

TEST(MessageScan, DecodesAndMatchesAsSeparateScans) {
  // The built-in pack and SigmaHQ's Linux rules: many keyword rules that read `message`.
  auto loaded = LoadRules({"builtin", std::string(BULWARK_SHARED_DIR) + "/sigma/rules/rules/linux"},
                          detect::CompileOptions{}, bulwark::data::BuiltinEnv::Default());
  ASSERT_TRUE(loaded.rules);
  auto decoders = decode::DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
  ASSERT_TRUE(decoders) << decoders.error().ToString();
  auto scan = MessageScan::Build(*loaded.rules, **decoders);
  ASSERT_TRUE(scan) << "the rules and decoders both scan messages";
  MessageScan::Scanner scanner(*scan);
  decode::DecoderSet::PrefilterScan hook = [&](std::string_view message,
                                               std::vector<uint32_t>& candidates) {
    scanner.Scan(message, candidates);
  };
  auto plain_scratch = (*decoders)->NewScratch();
  auto combined_scratch = (*decoders)->NewScratch();
  auto plain_matcher = loaded.rules->NewMatcher();
  auto combined_matcher = loaded.rules->NewMatcher();
  input::ParseOptions options;
  options.year = 2026;
  input::LineParser parser(options);

  std::string corpus =
      testing_support::ReadAll(std::string(BULWARK_SOURCE_DIR) + "/data/samples/auth.log");
  for (const char* service : {"sshd", "sshd-journal", "pam-generic", "postfix", "dovecot",
                              "nginx-http-auth", "apache-auth"}) {
    corpus +=
        testing_support::ReadAll(std::string(BULWARK_SHARED_DIR) + "/logs/fail2ban/" + service);
  }
  ASSERT_GT(corpus.size(), 10000u);
  std::istringstream lines(corpus);
  std::string line;
  size_t compared = 0, prescanned = 0, matched_any = 0;
  // Twice: the second pass repeats every message, as the decoders' memory then answers.
  for (int pass = 0; pass < 2; ++pass) {
    lines.clear();
    lines.seekg(0);
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == '#') continue;
      event::Event plain, combined;
      input::Repairs repairs;
      if (parser.Parse(line, plain, repairs) != input::Reject::kNone) continue;
      parser.Parse(line, combined, repairs);
      std::vector<uint32_t> plain_matched, combined_matched;
      (*decoders)->Decode(plain, *plain_scratch);
      plain_matcher->Match(plain, plain_matched);
      scanner.Reset();
      (*decoders)->Decode(combined, *combined_scratch, &hook);
      combined_matcher->Match(combined, combined_matched, scanner.prescan());
      EXPECT_EQ(Render(combined, combined_matched), Render(plain, plain_matched)) << line;
      ++compared;
      prescanned += scanner.prescan() != nullptr;
      matched_any += !plain_matched.empty();
    }
  }
  EXPECT_GT(compared, 1000u);
  EXPECT_GT(prescanned, 500u);   // the combined scan was used
  EXPECT_GT(matched_any, 100u);  // and rules matched
}

}  // namespace
}  // namespace bulwark::pipeline
