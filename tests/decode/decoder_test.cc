#include "bulwark/decode/decoder.h"

#include <gtest/gtest.h>

#include "bulwark/data/builtin_env.h"
#include "bulwark/input/parser.h"

namespace bulwark::decode {
namespace {

namespace fid = event::fid;

event::Event Decode(const DecoderSet& set, std::string_view line) {
  input::ParseOptions options;
  options.year = 2026;
  input::LineParser parser(options);
  event::Event event;
  input::Repairs repairs;
  parser.Parse(line, event, repairs);
  auto scratch = set.NewScratch();
  set.Decode(event, *scratch);
  return event;
}

TEST(DecoderFile, ParsesAndReportsErrorsWithLocation) {
  auto ok = ParseDecoderFile(R"(decoders:
  - id: a
    prefilter: "x"
    pattern: 'x(?P<source__ip>\S+)'
    set: {event.outcome: failure}
)",
                             "t.yml");
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->size(), 1u);
  auto bad_key = ParseDecoderFile("decoders:\n  - id: a\n    patern: x\n", "t.yml");
  ASSERT_FALSE(bad_key);
  EXPECT_EQ(bad_key.error().where, "t.yml:3:5");
  auto bad_yaml = ParseDecoderFile("decoders: [\n", "t.yml");
  ASSERT_FALSE(bad_yaml);
  EXPECT_NE(bad_yaml.error().where.find("t.yml:"), std::string::npos);
}

TEST(DecoderSet, BadRegexIsAnErrorNamingTheDecoder) {
  auto specs = ParseDecoderFile("decoders:\n  - id: broken\n    pattern: '(unclosed'\n", "b.yml");
  ASSERT_TRUE(specs);
  auto set = DecoderSet::Build(*specs);
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message.find("broken"), std::string::npos);
}

TEST(DecoderSet, LaterDecoderOverridesById) {
  auto base = ParseDecoderFile(
      "decoders:\n  - id: d\n    prefilter: [hello]\n    pattern: 'hello (?P<user__name>\\w+)'\n",
      "a.yml");
  auto override_specs = ParseDecoderFile(
      "decoders:\n  - id: d\n    prefilter: [hello]\n    pattern: 'hello (?P<source__ip>\\S+)'\n",
      "b.yml");
  ASSERT_TRUE(base && override_specs);
  std::vector<DecoderSpec> specs = *base;
  specs.insert(specs.end(), override_specs->begin(), override_specs->end());
  auto set = DecoderSet::Build(specs);
  ASSERT_TRUE(set);
  EXPECT_EQ((*set)->size(), 1u);
  auto event = Decode(**set, "Nov 26 10:00:01 h app[1]: hello 10.1.2.3");
  EXPECT_EQ(event.Get(fid::kSourceIp).value_or(""), "10.1.2.3");
  EXPECT_FALSE(event.Has(fid::kUserName));
}

TEST(Builtin, SshdFailureIPv6AndHostnames) {
  auto set = DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
  ASSERT_TRUE(set) << set.error().ToString();
  auto e = Decode(**set,
                  "Nov 26 10:00:01 h sshd[1]: Failed password for invalid user ROOT from "
                  "aaaa:bbbb::1 port 50273 ssh2");
  EXPECT_EQ(e.Get(fid::kSourceIp).value_or(""), "aaaa:bbbb::1");
  EXPECT_EQ(e.Get(fid::kUserName).value_or(""), "ROOT");
  EXPECT_EQ(e.Get(fid::kEventOutcome).value_or(""), "failure");
  EXPECT_EQ(e.Get(fid::kSourcePort).value_or(""), "50273");
  auto mapped = Decode(
      **set,
      "Nov 26 10:00:01 h sshd[1]: Failed password for root from ::ffff:1.2.3.4 port 22 ssh2");
  EXPECT_EQ(mapped.Get(fid::kSourceIp).value_or(""), "1.2.3.4");
  auto ok = Decode(
      **set, "Nov 26 10:00:01 h sshd[1]: Accepted publickey for bob from 1.2.3.4 port 22 ssh2");
  EXPECT_EQ(ok.Get(fid::kEventOutcome).value_or(""), "success");
  auto other = Decode(**set, "Nov 26 10:00:01 h cron[1]: Failed password for root from 1.2.3.4");
  EXPECT_FALSE(other.Has(fid::kEventOutcome));
}

TEST(AnchorOf, OnlyWholePatternAnchorsCount) {
  EXPECT_EQ(AnchorOf("^a (?P<x>\\S+)$"), PatternAnchor::kBoth);
  EXPECT_EQ(AnchorOf("^a (?:b|c)$"), PatternAnchor::kBoth);
  EXPECT_EQ(AnchorOf("^a (b|c)"), PatternAnchor::kStart);
  EXPECT_EQ(AnchorOf("a$"), PatternAnchor::kNone);
  EXPECT_EQ(AnchorOf("^a|b$"), PatternAnchor::kNone);     // (^a)|(b$)
  EXPECT_EQ(AnchorOf("^a\\$"), PatternAnchor::kStart);    // an escaped dollar is a literal
  EXPECT_EQ(AnchorOf("^a\\\\$"), PatternAnchor::kBoth);   // an escaped backslash, then the end
  EXPECT_EQ(AnchorOf("^a[$|]"), PatternAnchor::kStart);   // inside a class
  EXPECT_EQ(AnchorOf("^a[]|]b$"), PatternAnchor::kBoth);  // ']' first in a class
  EXPECT_EQ(AnchorOf("^(?m)a$"), PatternAnchor::kStart);  // '$' would end any line
  EXPECT_EQ(AnchorOf("^(a$)"), PatternAnchor::kStart);
}

}  // namespace
}  // namespace bulwark::decode
