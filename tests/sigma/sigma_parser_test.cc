#include <gtest/gtest.h>

#include "bulwark/core/time.h"
#include "bulwark/sigma/rule.h"

namespace bulwark::sigma {
namespace {

ParsedFile Parse(const std::string& yaml) {
  return ParseRuleFile(yaml, "r.yml");
}

TEST(Parser, DetectionRuleWithAllParts) {
  auto parsed = Parse(R"(title: t
id: 11111111-1111-1111-1111-111111111111
status: test
level: high
tags: [attack.t1110]
logsource: {product: linux, service: sshd}
detection:
  selection:
    field|contains|all: [a, b]
    other: 5
  keywords: [foo, bar]
  condition: selection and not keywords
)");
  ASSERT_TRUE(parsed.rejections.empty()) << parsed.rejections[0].ToString();
  ASSERT_EQ(parsed.documents.size(), 1u);
  const Rule& rule = std::get<Rule>(parsed.documents[0]);
  EXPECT_EQ(rule.level, "high");
  EXPECT_EQ(rule.logsource.service, "sshd");
  const auto& item = rule.detection.at("selection").alternatives[0][0];
  EXPECT_EQ(item.field, "field");
  EXPECT_EQ(item.modifiers, (std::vector<Modifier>{Modifier::kContains, Modifier::kAll}));
  EXPECT_EQ(rule.detection.at("selection").alternatives[0][1].values[0].kind, Value::Kind::kNumber);
  EXPECT_TRUE(rule.detection.at("keywords").alternatives[0][0].field.empty());
}

TEST(Parser, RejectionsCarryLocationIdAndReason) {
  auto unknown = Parse(
      "title: t\nid: abc\nlogsource: {}\ndetection:\n  sel:\n    f|bogus: x\n  condition: sel\n");
  ASSERT_EQ(unknown.rejections.size(), 1u);
  EXPECT_EQ(unknown.rejections[0].where, "r.yml:6:5");
  EXPECT_EQ(unknown.rejections[0].rule_id, "abc");
  EXPECT_NE(unknown.rejections[0].reason.find("unknown modifier 'bogus'"), std::string::npos);

  auto bad_yaml = Parse("title: t\ndetection: [\n");
  ASSERT_EQ(bad_yaml.rejections.size(), 1u);
  EXPECT_NE(bad_yaml.rejections[0].where.find("r.yml:"), std::string::npos);

  auto missing = Parse("title: t\nid: x\ndetection:\n  sel: {a: b}\n  condition: sel and other\n");
  ASSERT_EQ(missing.rejections.size(), 1u);
  EXPECT_NE(missing.rejections[0].reason.find("'other'"), std::string::npos);

  auto aggregation = Parse("title: t\ndetection:\n  sel: {a: b}\n  condition: sel | count() > 5\n");
  ASSERT_EQ(aggregation.rejections.size(), 1u);
  EXPECT_NE(aggregation.rejections[0].reason.find("correlation"), std::string::npos);

  auto re_flag = Parse("title: t\ndetection:\n  sel: {a|i: b}\n  condition: sel\n");
  ASSERT_EQ(re_flag.rejections.size(), 1u);
}

TEST(Parser, AliasesCannotInflateARule) {
  // 400 aliased maps of 300 values each: more values than one rule may have.
  std::string values = "[";
  for (int k = 0; k < 300; ++k) values += std::string(k ? "," : "") + "v" + std::to_string(k);
  values += "]";
  std::string yaml = "title: big\nm: &m {f: " + values + "}\ndetection:\n  sel: [";
  for (int i = 0; i < 400; ++i) yaml += std::string(i ? "," : "") + "*m";
  yaml += "]\n  condition: sel\n";
  auto parsed = Parse(yaml);
  ASSERT_EQ(parsed.rejections.size(), 1u);
  EXPECT_NE(parsed.rejections[0].reason.find("too large"), std::string::npos)
      << parsed.rejections[0].reason;
}

TEST(Parser, MalformedInputThatLoopedYamlLoadAllEnds) {
  auto parsed = Parse(" !00. ,t\n: 1\n.0. t\n: 1\n");  // found by fuzzing
  EXPECT_TRUE(parsed.documents.empty());
  EXPECT_EQ(parsed.rejections.size(), 1u);
}

TEST(Parser, LocationsCountFromTheStartOfTheFile) {
  auto parsed = Parse(
      "title: a\ndetection:\n  s: {x: 1}\n  condition: s\n---\ntitle: b\ndetection:\n  s: {x|nope: "
      "1}\n  condition: s\n");
  ASSERT_EQ(parsed.rejections.size(), 1u);
  EXPECT_EQ(parsed.rejections[0].where, "r.yml:8:7");
}

TEST(Parser, MultiDocumentKeepsGoodDocuments) {
  auto parsed = Parse(
      "title: a\ndetection:\n  s: {x: 1}\n  condition: s\n---\ntitle: b\ndetection:\n  s: {x|nope: "
      "1}\n  condition: s\n");
  EXPECT_EQ(parsed.documents.size(), 1u);
  EXPECT_EQ(parsed.rejections.size(), 1u);
}

TEST(Parser, Correlation) {
  auto parsed = Parse(R"(title: c
id: c1
correlation:
  type: value_count
  rules: [base]
  group-by: [source.ip]
  timespan: 10m
  condition: {field: user.name, gte: 5}
  generate: true
)");
  ASSERT_TRUE(parsed.rejections.empty()) << parsed.rejections[0].ToString();
  const auto& corr = std::get<Correlation>(parsed.documents[0]);
  EXPECT_EQ(corr.type, CorrelationType::kValueCount);
  EXPECT_EQ(corr.timespan_ns, 600 * kNsPerSecond);
  EXPECT_EQ(corr.condition.field, "user.name");
  EXPECT_TRUE(corr.condition.Holds(5));
  EXPECT_FALSE(corr.condition.Holds(4));
  EXPECT_TRUE(corr.generate);

  auto bad = Parse(
      "title: c\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5y\n  condition: "
      "{gte: 1}\n");
  ASSERT_EQ(bad.rejections.size(), 1u);
  EXPECT_NE(bad.rejections[0].reason.find("timespan"), std::string::npos);
  auto no_field = Parse(
      "title: c\ncorrelation:\n  type: value_count\n  rules: [a]\n  timespan: 5m\n  condition: "
      "{gte: 1}\n");
  ASSERT_EQ(no_field.rejections.size(), 1u);
}

TEST(Parser, Filter) {
  auto parsed = Parse(
      "title: f\nlogsource: {product: linux}\nfilter:\n  rules: [r1]\n  selection: {user.name: "
      "admin}\n  condition: selection\n");
  ASSERT_TRUE(parsed.rejections.empty()) << parsed.rejections[0].ToString();
  const auto& filter = std::get<Filter>(parsed.documents[0]);
  EXPECT_EQ(filter.rules, std::vector<std::string>{"r1"});
  EXPECT_EQ(filter.conditions.size(), 1u);
}

struct ConditionCase {
  const char* text;
  bool ok;
};

TEST(Condition, Grammar) {
  std::map<std::string, SearchIdentifier> detection;
  for (const char* name : {"sel1", "sel2", "filter_a", "filter_b", "kw"}) detection[name] = {};
  const ConditionCase cases[] = {
      {"sel1", true},
      {"sel1 and not filter_a", true},
      {"(sel1 or sel2) and not 1 of filter_*", true},
      {"all of sel* and not all of filter*", true},
      {"1 of them", true},
      {"not not sel1", true},
      {"sel1 and", false},
      {"sel1 or or sel2", false},
      {"(sel1", false},
      {"1 of nothing*", false},
      {"sel3", false},
  };
  for (const auto& c : cases) {
    auto node = ParseCondition(c.text, detection);
    EXPECT_EQ(static_cast<bool>(node), c.ok) << c.text;
  }
  auto precedence = ParseCondition("sel1 or sel2 and kw", detection);
  ASSERT_TRUE(precedence);
  EXPECT_EQ((*precedence)->kind, ConditionNode::Kind::kOr);  // and binds tighter than or
  auto one_of = ParseCondition("1 of filter_*", detection);
  EXPECT_EQ((*one_of)->children.size(), 2u);
}

TEST(Corpus, SpecificationTestsParse) {
  // Every rule in the specification's own examples is accepted or rejected with a reason.
  auto parsed = Parse(R"(title: Example
id: 929a690e-bef0-4204-a928-ef5e620d6fcc
logsource: {product: windows, category: process_creation}
detection:
  selection:
    CommandLine|windash|contains: ' -s '
    Image|endswith: ['\whoami.exe', '\net.exe']
  condition: selection
)");
  EXPECT_TRUE(parsed.rejections.empty());
}

}  // namespace
}  // namespace bulwark::sigma
