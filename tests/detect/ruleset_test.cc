// Table-driven tests of Sigma matching semantics: each case is a detection section, an event as
// JSON and whether the rule must match.

#include "bulwark/detect/ruleset.h"

#include <gtest/gtest.h>

#include "bulwark/input/parser.h"
#include "bulwark/sigma/rule.h"

namespace bulwark::detect {
namespace {

struct Compiled {
  std::shared_ptr<const RuleSet> rules;
  std::vector<sigma::Rejection> rejected;
};

Compiled CompileYaml(const std::string& yaml, CompileOptions options = {}) {
  auto parsed = sigma::ParseRuleFile(yaml, "t.yml");
  Compiled out;
  out.rejected = parsed.rejections;
  out.rules = RuleSet::Compile(std::move(parsed.documents), options, out.rejected);
  return out;
}

std::vector<uint32_t> MatchJson(const RuleSet& rules, const std::string& json) {
  input::ParseOptions options;
  options.format = input::Format::kJsonLines;
  input::LineParser parser(options);
  event::Event event;
  input::Repairs repairs;
  EXPECT_EQ(parser.Parse(json, event, repairs), input::Reject::kNone) << json;
  std::vector<uint32_t> matched;
  rules.NewMatcher()->Match(event, matched);
  return matched;
}

struct Case {
  const char* detection;  // body of the detection section (indented by 2)
  const char* event;
  bool match;
};

class Semantics : public ::testing::TestWithParam<Case> {};

TEST_P(Semantics, Matches) {
  const Case& c = GetParam();
  std::string yaml =
      std::string("title: t\nid: r1\nlogsource: {product: test}\ndetection:\n") + c.detection;
  CompileOptions options;
  options.apply_routing = false;
  options.field_map.placeholders["admins"] = {"root", "admin"};
  auto compiled = CompileYaml(yaml, options);
  ASSERT_TRUE(compiled.rejected.empty()) << compiled.rejected[0].ToString();
  bool matched = !MatchJson(*compiled.rules, c.event).empty();
  EXPECT_EQ(matched, c.match) << c.detection << "\n" << c.event;
}

INSTANTIATE_TEST_SUITE_P(
    Sigma, Semantics,
    ::testing::Values(
        // Plain values: whole-field, case-insensitive.
        Case{"  s: {f: abc}\n  condition: s\n", R"({"f":"ABC"})", true},
        Case{"  s: {f: abc}\n  condition: s\n", R"({"f":"abcd"})", false},
        Case{"  s: {f: abc}\n  condition: s\n", R"({"g":"abc"})", false},
        // Wildcards and escapes.
        Case{"  s: {f: 'a*c'}\n  condition: s\n", R"({"f":"aXXXc"})", true},
        Case{"  s: {f: 'a?c'}\n  condition: s\n", R"({"f":"abc"})", true},
        Case{"  s: {f: 'a?c'}\n  condition: s\n", R"({"f":"abbc"})", false},
        Case{"  s: {f: 'a\\*c'}\n  condition: s\n", R"({"f":"aXc"})", false},
        Case{"  s: {f: 'a\\*c'}\n  condition: s\n", R"({"f":"a*c"})", true},
        Case{"  s: {f: 'C:\\Windows\\x.exe'}\n  condition: s\n", R"({"f":"c:\\windows\\X.EXE"})",
             true},
        // contains / startswith / endswith / all.
        Case{"  s: {f|contains: mid}\n  condition: s\n", R"({"f":"aMIDb"})", true},
        // contains with inner wildcards: pieces in order, found by the longest piece.
        Case{"  s: {f|contains: 'ab*longest'}\n  condition: s\n", R"({"f":"x AB y LONGEST z"})",
             true},
        Case{"  s: {f|contains: 'ab*longest'}\n  condition: s\n", R"({"f":"longest then ab"})",
             false},
        Case{"  s: {f|contains: 'aba*aba'}\n  condition: s\n", R"({"f":"xabay"})", false},
        Case{"  s: {f|contains: 'aba*aba'}\n  condition: s\n", R"({"f":"abaaba"})", true},
        Case{"  k: ['needle*stack']\n  condition: k\n", R"({"message":"a needle in a haystack"})",
             true},
        Case{"  s: {f|contains|cased: 'Ab*Cd'}\n  condition: s\n", R"({"f":"ab cd"})", false},
        Case{"  s: {f|startswith: pre}\n  condition: s\n", R"({"f":"prefix"})", true},
        Case{"  s: {f|startswith: pre}\n  condition: s\n", R"({"f":"a prefix"})", false},
        Case{"  s: {f|endswith: '.exe'}\n  condition: s\n", R"({"f":"a.exe.exe"})", true},
        Case{"  s: {f|endswith: '.exe'}\n  condition: s\n", R"({"f":"a.exe b"})", false},
        Case{"  s: {f|contains|all: [a1, b2]}\n  condition: s\n", R"({"f":"b2 a1"})", true},
        Case{"  s: {f|contains|all: [a1, b2]}\n  condition: s\n", R"({"f":"a1"})", false},
        Case{"  s: {f|contains: [x1, y2]}\n  condition: s\n", R"({"f":"..y2.."})", true},
        // cased.
        Case{"  s: {f|cased: Abc}\n  condition: s\n", R"({"f":"abc"})", false},
        Case{"  s: {f|cased: Abc}\n  condition: s\n", R"({"f":"Abc"})", true},
        // re with flags.
        Case{"  s: {f|re: '^a.c$'}\n  condition: s\n", R"({"f":"abc"})", true},
        Case{"  s: {f|re: '^a.c$'}\n  condition: s\n", R"({"f":"ABC"})", false},
        Case{"  s: {f|re|i: '^a.c$'}\n  condition: s\n", R"({"f":"ABC"})", true},
        Case{"  s: {f|re|s: 'a.c'}\n  condition: s\n", R"({"f":"a\nc"})", true},
        Case{"  s: {f|re: 'a.c'}\n  condition: s\n", R"({"f":"a\nc"})", false},
        Case{"  s: {f|re|m: '^b$'}\n  condition: s\n", R"({"f":"a\nb\nc"})", true},
        // base64 / base64offset / utf16 / wide.
        Case{"  s: {f|base64: 'hello'}\n  condition: s\n", R"({"f":"aGVsbG8="})", true},
        Case{"  s: {f|base64offset|contains: 'hello'}\n  condition: s\n", R"({"f":"xxeGhlbGxvxx"})",
             true},
        Case{"  s: {f|base64offset|contains: 'hello'}\n  condition: s\n", R"({"f":"eHhoZWxsbw=="})",
             true},
        Case{"  s: {f|wide|base64offset|contains: 'ping'}\n  condition: s\n",
             R"({"f":"cABpAG4AZwA="})", true},
        // windash.
        Case{"  s: {f|windash|contains: ' -s '}\n  condition: s\n", R"({"f":"cmd /s x"})", true},
        Case{"  s: {f|windash|contains: ' -s '}\n  condition: s\n", R"({"f":"cmd \u2013s x"})",
             true},
        Case{"  s: {f|windash|contains: ' -s '}\n  condition: s\n", R"({"f":"cmd +s x"})", false},
        // cidr.
        Case{"  s: {source.ip|cidr: 10.0.0.0/8}\n  condition: s\n",
             R"({"source":{"ip":"10.1.2.3"}})", true},
        Case{"  s: {source.ip|cidr: [192.168.0.0/16, '2001:db8::/32']}\n  condition: s\n",
             R"({"source":{"ip":"2001:db8::5"}})", true},
        Case{"  s: {source.ip|cidr: 10.0.0.0/8}\n  condition: s\n",
             R"({"source":{"ip":"11.1.2.3"}})", false},
        // exists / null / empty.
        Case{"  s: {f|exists: true}\n  condition: s\n", R"({"f":""})", true},
        Case{"  s: {f|exists: false}\n  condition: s\n", R"({"g":"x"})", true},
        Case{"  s: {f: null}\n  condition: s\n", R"({"g":"x"})", true},
        Case{"  s: {f: null}\n  condition: s\n", R"({"f":"x"})", false},
        Case{"  s: {f: ''}\n  condition: s\n", R"({"f":""})", true},
        Case{"  s: {f: ''}\n  condition: s\n", R"({"f":"x"})", false},
        // numbers: lt/lte/gt/gte/neq.
        Case{"  s: {n|gt: 10}\n  condition: s\n", R"({"n":11})", true},
        Case{"  s: {n|gte: 10}\n  condition: s\n", R"({"n":"10"})", true},
        Case{"  s: {n|lt: 10}\n  condition: s\n", R"({"n":10})", false},
        Case{"  s: {n|lte: 10}\n  condition: s\n", R"({"n":9.5})", true},
        Case{"  s: {n: 4624}\n  condition: s\n", R"({"n":4624})", true},
        Case{"  s: {f|neq: x}\n  condition: s\n", R"({"f":"y"})", true},
        Case{"  s: {f|neq: x}\n  condition: s\n", R"({"f":"X"})", false},
        // fieldref.
        Case{"  s: {a|fieldref: b}\n  condition: s\n", R"({"a":"Same","b":"same"})", true},
        Case{"  s: {a|fieldref: b}\n  condition: s\n", R"({"a":"one","b":"two"})", false},
        Case{"  s: {a|fieldref|contains: b}\n  condition: s\n", R"({"a":"xxonexx","b":"one"})",
             true},
        // expand with configured placeholders.
        Case{"  s: {account|expand: '%admins%'}\n  condition: s\n", R"({"account":"admin"})", true},
        Case{"  s: {account|expand: '%admins%'}\n  condition: s\n", R"({"account":"guest"})",
             false},
        // time parts.
        Case{"  s: {ts|hour: 3}\n  condition: s\n", R"({"ts":"2026-11-26T03:15:00Z"})", true},
        Case{"  s: {ts|hour: 3}\n  condition: s\n", R"({"ts":"2026-11-26T04:15:00Z"})", false},
        // keywords search the message.
        Case{"  k: [needle, other]\n  condition: k\n", R"({"message":"a NEEDLE in a haystack"})",
             true},
        Case{"  k: [needle]\n  condition: k\n", R"({"message":"nothing"})", false},
        Case{"  k: [needle]\n  condition: not k\n", R"({"message":"nothing"})", true},
        // lists of maps (OR), nested field paths, multi-valued fields.
        Case{"  s:\n    - {a: 1}\n    - {b: 2}\n  condition: s\n", R"({"b":2})", true},
        Case{"  s: {Event.EventData.Image: x}\n  condition: s\n",
             R"({"Event":{"EventData":{"Image":"x"}}})", true},
        Case{"  s: {Image: x}\n  condition: s\n", R"({"Event":{"EventData":{"Image":"x"}}})", true},
        Case{"  s: {Image: x}\n  condition: s\n",
             R"({"process":{"executable":"y"},"Event":{"EventData":{"Image":"x"}}})", false},
        Case{"  s: {ImageX: x}\n  condition: s\n", R"({"Event":{"EventData":{"ImageX":"x"}}})",
             true},
        Case{"  s: {tags: b}\n  condition: s\n", R"({"tags":["a","b"]})", true},
        Case{"  s: {ips|cidr: 10.0.0.0/8}\n  condition: s\n", R"({"ips":["192.0.2.1","10.1.1.1"]})",
             true},
        Case{"  s: {n|gt: 5}\n  condition: s\n", R"({"n":[1,7]})", true},
        Case{"  s: {n|gt: 5}\n  condition: s\n", R"({"n":[1,3]})", false},
        // Rules that test present values only are evaluated for events with the field; their
        // negation for every event.
        Case{"  s: {n|gt: 5}\n  condition: not s\n", R"({"m":1})", true},
        Case{"  s: {n: ''}\n  condition: s\n", R"({"n":""})", true},
        Case{"  s: {n: ''}\n  condition: s\n", R"({"m":""})", false},
        Case{"  s: {n|exists: true}\n  k: [needle]\n  condition: s or k\n", R"({"n":"x"})", true},
        Case{"  s: {f: go}\n  d: {g|endswith: '/w'}\n  condition: s and d\n",
             R"({"f":"go","g":["/x","/bin/w"]})", true},
        // Conditions: not, 1 of, all of, them, precedence.
        Case{"  s1: {a: 1}\n  s2: {b: 2}\n  condition: s1 and not s2\n", R"({"a":1,"b":2})", false},
        Case{"  s1: {a: 1}\n  s2: {b: 2}\n  condition: 1 of s*\n", R"({"b":2})", true},
        Case{"  s1: {a: 1}\n  s2: {b: 2}\n  condition: all of s*\n", R"({"b":2})", false},
        Case{"  s1: {a: 1}\n  s2: {b: 2}\n  condition: all of them\n", R"({"a":1,"b":2})", true},
        Case{"  s1: {a: 1}\n  s2: {b: 2}\n  s3: {c: 3}\n  condition: s1 or s2 and s3\n",
             R"({"a":1})", true},
        Case{"  s1: {a: 1}\n  s2: {b: 2}\n  s3: {c: 3}\n  condition: (s1 or s2) and s3\n",
             R"({"a":1})", false},
        Case{"  s: {f: x}\n  condition: [s, s]\n", R"({"f":"x"})", true},
        // Whole-value literals of several lengths, short and long, in one field.
        Case{"  s: {f: [ab, "
             "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy]}\n  "
             "condition: s\n",
             R"({"f":"AB"})", true},
        Case{"  s: {f: [ab, "
             "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy]}\n  "
             "condition: s\n",
             R"({"f":"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"})",
             true},
        Case{"  s: {f: [ab, "
             "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy]}\n  "
             "condition: s\n",
             R"({"f":"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"})",
             false},
        Case{"  s: {f: [ab, "
             "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy]}\n  "
             "condition: s\n",
             R"({"f":"abc"})", false},
        // Very short literals (tested directly instead of through the databases) keep every
        // semantic: keywords, anchors, case, candidate order, the raw line as message.
        Case{"  t: ['scp ']\n  f: [':', '@']\n  condition: t and f\n",
             R"({"message":"scp a.tgz host:/tmp"})", true},
        Case{"  t: ['scp ']\n  f: [':', '@']\n  condition: t and f\n",
             R"({"message":"scp a.tgz /tmp"})", false},
        Case{"  t: [needle]\n  f: [':']\n  condition: t and f\n", R"({"a":"needle"})", true},
        Case{"  s: {f: go}\n  d: {g|endswith: '/W'}\n  condition: s and d\n",
             R"({"f":"go","g":"/usr/bin/w"})", true},
        Case{"  s: {f: go}\n  d: {g|endswith: '/w'}\n  condition: s and d\n",
             R"({"f":"go","g":"/usr/bin/who"})", false},
        Case{"  s: {f: go}\n  d: {g|startswith|cased: 'ab'}\n  condition: s and d\n",
             R"({"f":"go","g":"ABC"})", false},
        Case{"  s: {f: go}\n  d: {g|startswith|cased: 'AB'}\n  condition: s and d\n",
             R"({"f":"go","g":"ABC"})", true},
        Case{"  s: {f: go}\n  d: {Image|endswith: '/w'}\n  condition: s and d\n",
             R"({"f":"go","Event":{"EventData":{"Image":"/bin/w"}}})", true},
        Case{
            "  s: {f: go}\n  d: {Image|endswith: '/w'}\n  condition: s and d\n",
            R"({"f":"go","process":{"executable":"/bin/sh"},"Event":{"EventData":{"Image":"/bin/w"}}})",
            false},
        Case{"  s: {f: go}\n  d: {g|contains: '*a*b'}\n  condition: s and d\n",
             R"({"f":"go","g":"xAyB"})", true},
        Case{"  s: {f: go}\n  d: {g|contains: '*a*b'}\n  condition: s and d\n",
             R"({"f":"go","g":"bxa"})", false},
        // Rules are evaluated only for the hits that can make them true (the rarest part of a
        // conjunction, every part of a disjunction, through negations): each kind of condition
        // still matches exactly when it should.
        Case{"  s: {f: go}\n  n: {g: stop}\n  condition: s and not n\n", R"({"f":"go"})", true},
        Case{"  s: {f: go}\n  n: {g: stop}\n  condition: s and not n\n", R"({"f":"go","g":"stop"})",
             false},
        Case{"  s: {f: go}\n  condition: not (not s)\n", R"({"f":"go"})", true},
        Case{"  s: {f: go}\n  condition: not (not s)\n", R"({"f":"no"})", false},
        Case{"  a: {f: go}\n  b: {g: on}\n  condition: not (a or not b)\n", R"({"g":"on"})", true},
        Case{"  a: {f: go}\n  b: {g: on}\n  condition: not (a or not b)\n",
             R"({"f":"go","g":"on"})", false},
        Case{"  a: {f: go}\n  b: {g: on}\n  condition: not (a or not b)\n", R"({"f":"x"})", false},
        Case{"  short: {f: '0'}\n  long: {g: a-long-and-rare-value}\n  condition: short and long\n",
             R"({"f":"0","g":"a-long-and-rare-value"})", true},
        Case{"  short: {f: '0'}\n  long: {g: a-long-and-rare-value}\n  condition: short and long\n",
             R"({"f":"0"})", false},
        Case{"  s: {f: go}\n  c: {ip|cidr: 10.0.0.0/8}\n  condition: s or c\n",
             R"({"ip":"10.1.2.3"})", true},
        Case{"  s: {f: go}\n  c: {ip|cidr: 10.0.0.0/8}\n  condition: s or c\n",
             R"({"ip":"11.1.2.3"})", false},
        Case{"  s: {f: go}\n  c: {ip|cidr: 10.0.0.0/8}\n  condition: s and not c\n",
             R"({"f":"go","ip":"11.1.2.3"})", true},
        Case{"  s: {f: go}\n  c: {ip|cidr: 10.0.0.0/8}\n  condition: s and not c\n",
             R"({"f":"go","ip":"10.1.2.3"})", false},
        Case{"  s: {f: go}\n  condition: s and not s\n", R"({"f":"go"})", false},
        Case{"  s: {f: go}\n  condition: s or not s\n", R"({"f":"no"})", true},
        // A short literal that is a rule's only trigger stays in the databases.
        Case{"  k: [':']\n  condition: k\n", R"({"message":"a:b"})", true},
        Case{"  k: [':']\n  condition: k\n", R"({"message":"ab"})", false},
        // Found by the differential test (tests/detect/differential_test.cc): `?` is one
        // character, also a UTF-8 one; startswith and endswith together mean contains.
        Case{"  s: {f: 'a?c'}\n  condition: s\n", R"({"f":"a\u00e9c"})", true},
        Case{"  s: {f: 'a??c'}\n  condition: s\n", R"({"f":"a\u00e9c"})", false},
        Case{"  s: {f: 'a?c'}\n  condition: s\n", R"({"f":"a\u65e5c"})", true},
        Case{"  s: {f|startswith|endswith: 'mid'}\n  condition: s\n", R"({"f":"a mid b"})", true},
        Case{"  s: {f|startswith|endswith: 'mid'}\n  condition: s\n", R"({"f":"a mi d"})", false},
        // Sigma's `re` is PCRE: `$` also matches before a newline that ends the value, whether
        // vectorscan matches the pattern alone or RE2 confirms it.
        Case{"  s: {f|re: 'php$'}\n  condition: s\n", R"({"f":"/wp-login.php\n"})", true},
        Case{"  s: {f|re: 'php$'}\n  condition: s\n", R"({"f":"/wp-login.php\nx"})", false},
        Case{"  s: {f|re: '[$]php$'}\n  condition: s\n", R"({"f":"$php\n"})", true}),
    [](const ::testing::TestParamInfo<Case>& info) { return "case" + std::to_string(info.index); });

// One matcher over many events: what a repeated value hits is remembered, but the candidate order
// (an earlier candidate field present in this event) is decided per event.
TEST(RuleSet, RepeatedValuesMatchLikeFreshOnes) {
  CompileOptions options;
  options.apply_routing = false;
  auto compiled = CompileYaml("title: t\ndetection:\n  s: {Image: x}\n  condition: s\n", options);
  ASSERT_TRUE(compiled.rejected.empty());
  input::ParseOptions parse;
  parse.format = input::Format::kJsonLines;
  input::LineParser parser(parse);
  auto matcher = compiled.rules->NewMatcher();
  const std::string alone = R"({"Event":{"EventData":{"Image":"X"}}})";
  const std::string shadowed =
      R"({"process":{"executable":"y"},"Event":{"EventData":{"Image":"X"}}})";
  for (int i = 0; i < 5000; ++i) {
    // Unique values now and then, so that the per-field trial windows see misses too.
    std::string line = i % 3 == 0   ? alone
                       : i % 3 == 1 ? shadowed
                                    : R"({"Image":"u)" + std::to_string(i) + R"("})";
    event::Event event;
    input::Repairs repairs;
    ASSERT_EQ(parser.Parse(line, event, repairs), input::Reject::kNone);
    std::vector<uint32_t> matched;
    matcher->Match(event, matched);
    ASSERT_EQ(!matched.empty(), i % 3 == 0) << "event " << i << ": " << line;
  }
}

// A hit that can only make a rule false (its filter's) does not get the rule evaluated; a hit
// of the part that must hold does.
TEST(RuleSet, FilterHitsDoNotEvaluateRules) {
  CompileOptions options;
  options.apply_routing = false;
  auto compiled = CompileYaml(
      "title: t\ndetection:\n  s: {f: go}\n  filter: {g: stop}\n  condition: s and not filter\n",
      options);
  ASSERT_TRUE(compiled.rejected.empty());
  input::ParseOptions parse;
  parse.format = input::Format::kJsonLines;
  input::LineParser parser(parse);
  auto matcher = compiled.rules->NewMatcher();
  auto match = [&](const std::string& line) {
    event::Event event;
    input::Repairs repairs;
    EXPECT_EQ(parser.Parse(line, event, repairs), input::Reject::kNone);
    std::vector<uint32_t> matched;
    matcher->Match(event, matched);
    return !matched.empty();
  };
  EXPECT_FALSE(match(R"({"g":"stop"})"));
  EXPECT_EQ(matcher->evaluations(), 0u);
  EXPECT_TRUE(match(R"({"f":"go"})"));
  EXPECT_EQ(matcher->evaluations(), 1u);
  EXPECT_FALSE(match(R"({"f":"go","g":"stop"})"));
  EXPECT_EQ(matcher->evaluations(), 2u);
}

TEST(RuleSet, RejectsBadRulesButKeepsOthers) {
  auto compiled = CompileYaml(R"(title: good
id: good
detection:
  s: {f: x}
  condition: s
---
title: bad regex
id: bad-re
detection:
  s: {f|re: '(?<=x)y'}
  condition: s
---
title: bad cidr
id: bad-cidr
detection:
  s: {f|cidr: 300.0.0.0/8}
  condition: s
---
title: placeholder
id: bad-placeholder
detection:
  s: {f|expand: '%nope%'}
  condition: s
)");
  ASSERT_EQ(compiled.rejected.size(), 3u);
  EXPECT_EQ(compiled.rules->rule_count(), 1u);
  std::set<std::string> ids;
  for (const auto& r : compiled.rejected) ids.insert(r.rule_id);
  EXPECT_EQ(ids, (std::set<std::string>{"bad-re", "bad-cidr", "bad-placeholder"}));
  for (const auto& r : compiled.rejected) EXPECT_NE(r.where.find("t.yml:"), std::string::npos);
}

TEST(RuleSet, LogsourceRoutingRestrictsRules) {
  CompileOptions options;
  options.routing.routes.push_back(
      LogSourceRoute{"linux", "", "sshd", {{{"process.name", {"sshd"}}}}});
  auto compiled = CompileYaml(
      "title: t\nlogsource: {product: linux, service: sshd}\ndetection:\n  s: {f: x}\n  condition: "
      "s\n",
      options);
  EXPECT_FALSE(MatchJson(*compiled.rules, R"({"f":"x","process":{"name":"sshd"}})").empty());
  EXPECT_TRUE(MatchJson(*compiled.rules, R"({"f":"x","process":{"name":"cron"}})").empty());
  options.apply_routing = false;
  auto unrouted = CompileYaml(
      "title: t\nlogsource: {product: linux, service: sshd}\ndetection:\n  s: {f: x}\n  condition: "
      "s\n",
      options);
  EXPECT_FALSE(MatchJson(*unrouted.rules, R"({"f":"x","process":{"name":"cron"}})").empty());
}

TEST(RuleSet, FieldMapTranslatesSigmaNames) {
  CompileOptions options;
  options.apply_routing = false;
  auto compiled =
      CompileYaml("title: t\ndetection:\n  s: {src_ip: 1.2.3.4}\n  condition: s\n", options);
  EXPECT_FALSE(MatchJson(*compiled.rules, R"({"source":{"ip":"1.2.3.4"}})").empty());
}

TEST(RuleSet, FiltersExcludeEvents) {
  CompileOptions options;
  options.apply_routing = false;
  auto compiled = CompileYaml(R"(title: t
id: r1
logsource: {product: linux}
detection:
  s: {event.action: login}
  condition: s
---
title: f
logsource: {product: linux}
filter:
  rules: [r1]
  selection: {user.name: backup}
  condition: selection
)",
                              options);
  ASSERT_TRUE(compiled.rejected.empty()) << compiled.rejected[0].ToString();
  EXPECT_FALSE(MatchJson(*compiled.rules, R"({"event":{"action":"login"},"user":{"name":"alice"}})")
                   .empty());
  EXPECT_TRUE(MatchJson(*compiled.rules, R"({"event":{"action":"login"},"user":{"name":"backup"}})")
                  .empty());
}

TEST(FieldMap, ParseErrors) {
  EXPECT_FALSE(FieldMap::Parse("fields: {}\n", "m.yml"));  // names nothing
  auto bad = FieldMap::Parse("fields:\n  a: b\nbogus: 1\n", "m.yml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "m.yml:3:1");
  auto ok = FieldMap::Parse("fields: {a: b}\nprefixes: [x.]\n", "m.yml");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->Resolve("a"), (std::vector<std::string>{"b", "a", "x.a"}));
  EXPECT_EQ(ok->Resolve("c"), (std::vector<std::string>{"c", "x.c"}));
}

// Found by the differential test: a UTF-16BE literal starts with a NUL byte, which vectorscan's
// literal API refused as "empty"; the rule was rejected. (JSON cannot carry NUL bytes: the event
// is built directly.)
TEST(Encodings, Utf16BigEndianValues) {
  auto compiled = CompileYaml(
      "title: t\nid: r1\nlogsource: {product: test}\ndetection:\n  s: {f|utf16be|contains: "
      "'ab'}\n  condition: s\n");
  ASSERT_TRUE(compiled.rejected.empty()) << compiled.rejected[0].ToString();
  event::Event event;
  event.Set("f", std::string("x\0a\0by", 6));
  std::vector<uint32_t> matched;
  compiled.rules->NewMatcher()->Match(event, matched);
  EXPECT_EQ(matched.size(), 1u);
  event.Set("f", std::string("x\0a\0cy", 6));
  matched.clear();
  compiled.rules->NewMatcher()->Match(event, matched);
  EXPECT_TRUE(matched.empty());
}

}  // namespace
}  // namespace bulwark::detect
