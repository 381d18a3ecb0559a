#include "bulwark/detect/correlation.h"

#include <gtest/gtest.h>

#include "bulwark/sigma/rule.h"

namespace bulwark::detect {
namespace {

uint64_t Key(const std::string& value) {
  std::string_view values[] = {value};
  return HashGroup(values);
}

constexpr TimeNs kSecond = kNsPerSecond;
constexpr TimeNs kStart = 1'800'000'000 * kSecond;

std::shared_ptr<const RuleSet> Compile(const std::string& yaml) {
  auto parsed = sigma::ParseRuleFile(yaml, "c.yml");
  std::vector<sigma::Rejection> rejected = parsed.rejections;
  CompileOptions options;
  options.apply_routing = false;
  auto rules = RuleSet::Compile(std::move(parsed.documents), options, rejected);
  EXPECT_TRUE(rejected.empty()) << rejected[0].ToString();
  return rules;
}

const char* kBase = R"(title: fail
id: base
name: fail
detection:
  s: {event.outcome: failure}
  condition: s
---
title: ok
id: ok
name: ok
detection:
  s: {event.outcome: success}
  condition: s
)";

TEST(Correlation, EventCountFiresAtThresholdWithinTimespan) {
  auto rules = Compile(std::string(kBase) + R"(---
title: brute
id: brute
name: brute
correlation: {type: event_count, rules: [fail], group-by: [source.ip], timespan: 80s, condition: {gte: 5}}
)");
  CorrelationEngine engine(rules, 1000);
  uint64_t key = Key("1.2.3.4");
  // Four events spread over a long time never fire.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(engine.Feed(0, 0, kStart + i * 1000 * kSecond, key, 0), 0);
  // Five within the window fire with the count; the state resets after firing.
  int64_t fired = 0;
  for (int i = 0; i < 5; ++i)
    fired = engine.Feed(0, 0, kStart + 10000 * kSecond + i * kSecond, key, 0);
  EXPECT_EQ(fired, 5);
  EXPECT_EQ(engine.Feed(0, 0, kStart + 10006 * kSecond, key, 0), 0);
  // Other groups are independent.
  EXPECT_EQ(engine.Feed(0, 0, kStart, Key("5.6.7.8"), 0), 0);
  EXPECT_FALSE(rules->rule(0).generates);  // referenced by a correlation without generate
}

TEST(Correlation, ValueCountCountsDistinctValues) {
  auto rules = Compile(std::string(kBase) + R"(---
title: spray
id: spray
correlation: {type: value_count, rules: [fail], group-by: [source.ip], timespan: 10m, condition: {field: user.name, gte: 3}}
)");
  CorrelationEngine engine(rules, 1000);
  uint64_t key = Key("1.2.3.4");
  EXPECT_EQ(engine.Feed(0, 0, kStart, key, HashValue("alice")), 0);
  EXPECT_EQ(engine.Feed(0, 0, kStart + kSecond, key, HashValue("alice")), 0);
  EXPECT_EQ(engine.Feed(0, 0, kStart + 2 * kSecond, key, HashValue("bob")), 0);
  EXPECT_EQ(engine.Feed(0, 0, kStart + 3 * kSecond, key, HashValue("carol")), 3);
  // Values older than the timespan no longer count.
  uint64_t other = Key("9.9.9.9");
  EXPECT_EQ(engine.Feed(0, 0, kStart, other, HashValue("a")), 0);
  EXPECT_EQ(engine.Feed(0, 0, kStart + 1000 * kSecond, other, HashValue("b")), 0);
  EXPECT_EQ(engine.Feed(0, 0, kStart + 2000 * kSecond, other, HashValue("c")), 0);
}

// Found by the differential test: a value seen long ago was still counted once another value had
// been seen since, and an event older than its group's window counted against newer ones.
TEST(Correlation, ValueCountForgetsExpiredValuesAndOldEvents) {
  auto rules = Compile(std::string(kBase) + R"(---
title: spray
id: spray
correlation: {type: value_count, rules: [fail], group-by: [source.ip], timespan: 60s,
              condition: {gte: 3, field: user.name}}
)");
  CorrelationEngine engine(rules, 1000);
  uint64_t key = Key("1.2.3.4");
  EXPECT_EQ(engine.Feed(0, 0, kStart, key, HashValue("a")), 0);
  EXPECT_EQ(engine.Feed(0, 0, kStart + 1 * kSecond, key, HashValue("b")), 0);
  // Ten minutes later: a and b have expired; a again and c make two, not three.
  EXPECT_EQ(engine.Feed(0, 0, kStart + 600 * kSecond, key, HashValue("a")), 0);
  EXPECT_EQ(engine.Feed(0, 0, kStart + 601 * kSecond, key, HashValue("c")), 0);
  // An event from before the window (a second input file) does not count.
  EXPECT_EQ(engine.Feed(0, 0, kStart + 2 * kSecond, key, HashValue("d")), 0);
  EXPECT_EQ(engine.Feed(0, 0, kStart + 602 * kSecond, key, HashValue("e")), 3);
}

TEST(Correlation, TemporalOrderedNeedsTheOrder) {
  auto rules = Compile(std::string(kBase) + R"(---
title: fail then ok
id: seq
correlation: {type: temporal_ordered, rules: [fail, ok], group-by: [source.ip], timespan: 5m}
)");
  CorrelationEngine engine(rules, 1000);
  uint64_t key = Key("1.2.3.4");
  EXPECT_EQ(engine.Feed(0, 1, kStart, key, 0), 0);                // success first: nothing
  EXPECT_EQ(engine.Feed(0, 0, kStart + kSecond, key, 0), 0);      // failure
  EXPECT_EQ(engine.Feed(0, 1, kStart + 2 * kSecond, key, 0), 2);  // then success: fires
  EXPECT_EQ(engine.Feed(0, 0, kStart + 10 * kSecond, key, 0), 0);
  EXPECT_EQ(engine.Feed(0, 1, kStart + 1000 * kSecond, key, 0), 0);  // too late
}

TEST(Correlation, TemporalAnyOrder) {
  auto rules = Compile(std::string(kBase) + R"(---
title: both
id: both
correlation: {type: temporal, rules: [fail, ok], group-by: [source.ip], timespan: 5m}
)");
  CorrelationEngine engine(rules, 1000);
  uint64_t key = Key("1.2.3.4");
  EXPECT_EQ(engine.Feed(0, 1, kStart, key, 0), 0);
  EXPECT_EQ(engine.Feed(0, 0, kStart + kSecond, key, 0), 2);
}

TEST(Correlation, KeysAreBoundedWithEvictionCounted) {
  auto rules = Compile(std::string(kBase) + R"(---
title: brute
id: brute
correlation: {type: event_count, rules: [fail], group-by: [source.ip], timespan: 1h, condition: {gte: 5}}
)");
  CorrelationEngine engine(rules, 100);
  for (int i = 0; i < 1000; ++i) {
    engine.Feed(0, 0, kStart + i * kSecond, Key(std::to_string(i)), 0);
  }
  auto stats = engine.stats();
  EXPECT_LE(stats.keys, 100u);
  EXPECT_GE(stats.evictions, 900u);
}

TEST(Correlation, ExpiredKeysAreDroppedBeforeEvicting) {
  auto rules = Compile(std::string(kBase) + R"(---
title: brute
id: brute
correlation: {type: event_count, rules: [fail], group-by: [source.ip], timespan: 10s, condition: {gte: 5}}
)");
  CorrelationEngine engine(rules, 100);
  for (int i = 0; i < 1000; ++i) {
    engine.Feed(0, 0, kStart + i * 60 * kSecond, Key(std::to_string(i)), 0);
  }
  EXPECT_EQ(engine.stats().evictions, 0u);
}

TEST(Correlation, AliasesResolveGroupFieldsPerRule) {
  auto parsed = sigma::ParseRuleFile(R"(title: scan
id: scan
name: scan
detection:
  s: {event.action: scan}
  condition: s
---
title: login
id: login
name: login
detection:
  s: {event.action: login}
  condition: s
---
title: scanned host logs in to the scanner
id: chain
correlation:
  type: temporal_ordered
  rules: [scan, login]
  group-by: [pair]
  aliases:
    pair: {scan: destination.ip, login: source.ip}
  timespan: 1h
)",
                                     "a.yml");
  std::vector<sigma::Rejection> rejected = parsed.rejections;
  auto rules = RuleSet::Compile(std::move(parsed.documents), CompileOptions{}, rejected);
  ASSERT_TRUE(rejected.empty()) << rejected[0].ToString();
  const auto& corr = rules->correlations()[0];
  ASSERT_EQ(corr.group_fields.size(), 2u);
  EXPECT_EQ(event::FieldName(corr.group_fields[0][0][0]), "destination.ip");
  EXPECT_EQ(event::FieldName(corr.group_fields[1][0][0]), "source.ip");
}

TEST(RuleSetSlot, KeepsTheOldSetWhenTheNewOneHasErrors) {
  auto first = Compile(kBase);
  RuleSetSlot slot(first);
  auto parsed =
      sigma::ParseRuleFile("title: x\ndetection:\n  s: {a|nope: 1}\n  condition: s\n", "x.yml");
  std::vector<sigma::Rejection> rejected = parsed.rejections;
  auto broken = RuleSet::Compile(std::move(parsed.documents), CompileOptions{}, rejected);
  EXPECT_FALSE(slot.Swap(broken, rejected));
  EXPECT_EQ(slot.Get(), first);
  auto second = Compile(kBase);
  EXPECT_TRUE(slot.Swap(second, {}));
  EXPECT_EQ(slot.Get(), second);
}

TEST(Correlation, ChainedAndUnknownReferences) {
  auto parsed = sigma::ParseRuleFile(std::string(kBase) + R"(---
title: brute
id: brute
name: brute
correlation: {type: event_count, rules: [fail], group-by: [source.ip], timespan: 1h, condition: {gte: 3}}
---
title: brute then ok
id: chain
correlation: {type: temporal_ordered, rules: [brute, ok], group-by: [source.ip], timespan: 1h}
---
title: dangling
id: dangling
correlation: {type: event_count, rules: [nope], group-by: [source.ip], timespan: 1h, condition: {gte: 3}}
)",
                                     "c.yml");
  std::vector<sigma::Rejection> rejected;
  CompileOptions options;
  auto rules = RuleSet::Compile(std::move(parsed.documents), options, rejected);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].rule_id, "dangling");
  ASSERT_EQ(rules->correlations().size(), 2u);
  const auto& chain = rules->correlations()[1];
  EXPECT_EQ(chain.inputs[0], rules->correlations()[0].rule_index);
  EXPECT_EQ(rules->consumers(rules->correlations()[0].rule_index).size(), 1u);
}

}  // namespace
}  // namespace bulwark::detect
