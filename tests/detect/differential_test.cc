// Differential tests: the optimised matcher (RuleSet/Matcher, with and without its value cache,
// and the replay pipeline at 1 and 2 threads) against the reference evaluator SigmaOracle, and
// the CorrelationEngine against CorrelationOracle, over seeded random rules and events. A
// disagreement prints the rule and the event, so that it can be turned into a unit test.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <re2/re2.h>

#include <cstdio>
#include <set>
#include <sstream>

#include "bulwark/data/builtin_env.h"
#include "bulwark/detect/correlation.h"
#include "bulwark/input/parser.h"
#include "bulwark/pipeline/replay.h"
#include "bulwark/sigma/rule.h"
#include "correlation_oracle.h"
#include "random_rules.h"
#include "sigma_oracle.h"

namespace bulwark::oracle {
namespace {

constexpr int kSeeds = 60;
constexpr int kRulesPerSeed = 40;
constexpr int kEventsPerSeed = 250;

// The YAML document of rule `id` in `yaml` (for messages).
std::string DocumentOf(const std::string& yaml, const std::string& id) {
  std::stringstream stream(yaml);
  std::string line, document, found;
  while (std::getline(stream, line)) {
    if (line == "---") {
      if (document.find("\nid: " + id + "\n") != std::string::npos) found += document;
      document.clear();
      continue;
    }
    document += line + "\n";
  }
  return found;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

struct RuleCase {
  std::string yaml;
  std::vector<sigma::Document> oracle_documents;
  std::shared_ptr<const detect::RuleSet> rules;
  std::vector<sigma::Rejection> rejected;
  std::set<std::string> compiled;  // ids of compiled detection rules
};

RuleCase Build(CaseGenerator& generator, size_t count, const detect::CompileOptions& options) {
  RuleCase setup;
  setup.yaml = generator.Rules(count);
  auto for_oracle = sigma::ParseRuleFile(setup.yaml, "random.yml");
  auto for_engine = sigma::ParseRuleFile(setup.yaml, "random.yml");
  setup.oracle_documents = std::move(for_oracle.documents);
  setup.rejected = for_engine.rejections;
  setup.rules = detect::RuleSet::Compile(std::move(for_engine.documents), options, setup.rejected);
  for (size_t i = 0; i < setup.rules->rule_count(); ++i) {
    if (!setup.rules->rule(i).is_correlation) setup.compiled.insert(setup.rules->rule(i).id);
  }
  return setup;
}

std::vector<std::string> Expected(const SigmaOracle& oracle, const RuleCase& setup,
                                  const event::Event& event) {
  std::vector<std::string> out;
  for (const std::string& id : oracle.Match(event)) {
    if (setup.compiled.count(id)) out.push_back(id);
  }
  return out;
}

std::vector<std::string> Ids(const detect::RuleSet& rules, const std::vector<uint32_t>& matched) {
  std::vector<std::string> out;
  for (uint32_t index : matched) out.push_back(rules.rule(index).id);
  return out;
}

// Reports the first disagreements in detail; counts all.
struct Disagreements {
  size_t count = 0;
  void Report(const std::string& what, const RuleCase& setup, const std::string& event,
              const std::vector<std::string>& engine, const std::vector<std::string>& expected) {
    if (++count > 5) return;
    std::set<std::string> differing;
    for (const auto& id : engine) differing.insert(id);
    for (const auto& id : expected) {
      if (!differing.erase(id)) differing.insert(id);
    }
    std::string documents;
    for (const auto& id : differing) documents += DocumentOf(setup.yaml, id);
    ADD_FAILURE() << what << ": engine [" << Join(engine) << "], oracle [" << Join(expected)
                  << "]\nevent: " << event << "\nrules:\n"
                  << documents;
  }
};

TEST(Differential, RejectionsAgreeWithTheOracle) {
  size_t invalid = 0;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    CaseGenerator generator(seed);
    auto options = Vocabulary::Options();
    RuleCase setup = Build(generator, kRulesPerSeed, options);
    SigmaOracle oracle(setup.oracle_documents, options);
    std::set<std::string> rejected;
    for (const auto& rejection : setup.rejected) rejected.insert(rejection.rule_id);
    for (const auto& [id, reason] : oracle.invalid()) {
      ++invalid;
      EXPECT_TRUE(rejected.count(id)) << "seed " << seed << ": the oracle finds " << id
                                      << " invalid (" << reason << ") but it compiled\n"
                                      << DocumentOf(setup.yaml, id);
    }
    for (const auto& rejection : setup.rejected) {
      if (rejection.rule_id.starts_with("f")) continue;  // filter documents
      EXPECT_TRUE(oracle.invalid().count(rejection.rule_id))
          << "seed " << seed << ": rejected, but valid for the oracle: " << rejection.ToString()
          << "\n"
          << DocumentOf(setup.yaml, rejection.rule_id);
    }
  }
  std::printf("%zu of %d random rules invalid (rejected by both)\n", invalid,
              kSeeds * kRulesPerSeed);
}

TEST(Differential, MatcherAgreesWithTheOracle) {
  Disagreements disagreements;
  size_t events = 0, matches = 0;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    CaseGenerator generator(seed);
    // Every third seed with logsource routing (route alternatives, route fields through the
    // field map).
    auto options = seed % 3 == 0 ? Vocabulary::RoutedOptions() : Vocabulary::Options();
    RuleCase setup = Build(generator, kRulesPerSeed, options);
    SigmaOracle oracle(setup.oracle_documents, options);
    auto cached = setup.rules->NewMatcher();
    auto uncached = setup.rules->NewMatcher(detect::MatcherOptions{.value_cache = false});
    event::Event event;
    for (int e = 0; e < kEventsPerSeed; ++e) {
      GeneratedEvent generated = generator.Event(/*json_safe=*/false);
      CaseGenerator::Fill(generated, event);
      std::vector<std::string> expected = Expected(oracle, setup, event);
      // Repeats warm the cache: a value is recorded on its second miss and served afterwards.
      size_t repeats = 1 + generator.random().Below(4);
      for (size_t r = 0; r < repeats; ++r) {
        ++events;
        matches += expected.size();
        for (auto* matcher : {cached.get(), uncached.get()}) {
          std::vector<uint32_t> matched;
          matcher->Match(event, matched);
          std::vector<std::string> ids = Ids(*setup.rules, matched);
          if (ids != expected) {
            disagreements.Report(fmt::format("seed {} event {} repeat {} ({})", seed, e, r,
                                             matcher == cached.get() ? "value cache" : "no cache"),
                                 setup, generated.raw, ids, expected);
          }
        }
      }
    }
  }
  std::printf("%zu events, %zu rule matches, %zu disagreements\n", events, matches,
              disagreements.count);
  EXPECT_EQ(disagreements.count, 0u);
  EXPECT_GT(matches, events / 10) << "the generator should hit rules often";
}

// The whole replay pipeline (JSON reader, decoders, the message scan shared by decoders and
// rules, batches, workers, the in-order sequencer) at 1 and 2 threads, on JSON lines.
TEST(Differential, ReplayAgreesWithTheOracleAtOneAndTwoThreads) {
  auto decoders = decode::DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
  ASSERT_TRUE(decoders.has_value());
  Disagreements disagreements;
  size_t lines_total = 0;
  for (int seed = 1; seed <= kSeeds / 6; ++seed) {
    CaseGenerator generator(1000 + seed);
    auto options = Vocabulary::Options();
    RuleCase setup = Build(generator, kRulesPerSeed, options);
    SigmaOracle oracle(setup.oracle_documents, options);
    std::string input;
    std::vector<std::string> lines;
    for (int e = 0; e < 4 * kEventsPerSeed; ++e) {
      GeneratedEvent generated = generator.Event(/*json_safe=*/true);
      size_t repeats = 1 + generator.random().Below(3);
      for (size_t r = 0; r < repeats; ++r) {
        lines.push_back(generated.raw);
        input += generated.raw + "\n";
      }
    }
    lines_total += lines.size();
    // What the oracle sees: each line read and decoded as the pipeline does.
    input::ParseOptions parse;
    parse.format = input::Format::kJsonLines;
    input::LineParser parser(parse);
    auto scratch = (*decoders)->NewScratch();
    std::vector<std::vector<std::string>> expected(lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      event::Event event;
      input::Repairs repairs;
      if (parser.Parse(lines[i], event, repairs) != input::Reject::kNone) continue;
      (*decoders)->Decode(event, *scratch);
      expected[i] = Expected(oracle, setup, event);
    }
    for (unsigned threads : {1u, 2u}) {
      pipeline::ReplayOptions replay;
      replay.memory_inputs = {{"random.jsonl", input}};
      replay.parse = parse;
      replay.threads = threads;
      replay.batch_lines = 64;  // several batches per worker
      replay.suppress_window = 0;
      char* buffer = nullptr;
      size_t size = 0;
      std::FILE* out = open_memstream(&buffer, &size);
      auto summary = pipeline::Replay(replay, setup.rules, *decoders, out);
      std::fclose(out);
      std::string alerts(buffer, size);
      std::free(buffer);
      ASSERT_TRUE(summary.has_value());
      std::vector<std::vector<std::string>> got(lines.size());
      std::stringstream stream(alerts);
      std::string alert;
      static const RE2 kRule(R"re("rule":\{"id":"([^"]+)")re");
      static const RE2 kLine(R"re("log\.file\.line":(\d+))re");
      while (std::getline(stream, alert)) {
        std::string id;
        size_t line = 0;
        ASSERT_TRUE(RE2::PartialMatch(alert, kRule, &id)) << alert;
        ASSERT_TRUE(RE2::PartialMatch(alert, kLine, &line)) << alert;
        ASSERT_GE(line, 1u);
        ASSERT_LE(line, lines.size());
        got[line - 1].push_back(id);
      }
      for (size_t i = 0; i < lines.size(); ++i) {
        std::sort(got[i].begin(), got[i].end());
        std::vector<std::string> want = expected[i];
        std::sort(want.begin(), want.end());
        if (got[i] != want) {
          disagreements.Report(
              fmt::format("seed {} line {} ({} threads)", 1000 + seed, i + 1, threads), setup,
              lines[i], got[i], want);
        }
      }
    }
  }
  std::printf("%zu lines, %zu disagreements\n", lines_total, disagreements.count);
  EXPECT_EQ(disagreements.count, 0u);
}

// CorrelationEngine::Feed and CorrelationOracle::Feed, call by call, over random streams.
TEST(Differential, CorrelationsAgreeWithTheOracle) {
  size_t feeds = 0, fired = 0, mismatches = 0;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    Random random(5000 + seed);
    static const std::vector<std::string> kTypes = {"event_count", "value_count", "temporal",
                                                    "temporal_ordered"};
    static const std::vector<std::string> kSpans = {"1s", "5s", "7s", "30s", "1m", "5m", "1h"};
    std::string yaml;
    for (int b = 1; b <= 3; ++b) {
      yaml += fmt::format(
          "title: b{0}\nid: b{0}\nname: b{0}\nlogsource: {{product: test}}\ndetection:\n  s: "
          "{{f: x}}\n  condition: s\n---\n",
          b);
    }
    size_t correlations = 1 + random.Below(4);
    for (size_t c = 0; c < correlations; ++c) {
      std::string type = random.Pick(kTypes);
      size_t inputs = type == "event_count" || type == "value_count" ? 1 + random.Below(2)
                                                                     : 2 + random.Below(2);
      std::string rules;
      for (size_t i = 0; i < inputs; ++i) rules += fmt::format("{}b{}", i ? ", " : "", i + 1);
      std::string condition;
      int64_t threshold = type.starts_with("temporal") ? 1 + random.Below(inputs)
                          : random.Chance(5)           ? 256 + random.Below(200)
                                                       : 1 + random.Below(12);
      condition = fmt::format("{}: {}", random.Chance(50) ? "gte" : "gt",
                              random.Chance(50) ? threshold : std::max<int64_t>(threshold - 1, 0));
      if (random.Chance(20)) condition += fmt::format(", lte: {}", threshold + random.Below(5));
      if (type == "value_count") condition += ", field: v";
      yaml += fmt::format(
          "title: c{0}\nid: c{0}\ncorrelation:\n  type: {1}\n  rules: [{2}]\n  group-by: [k]\n"
          "  timespan: {3}\n  condition: {{{4}}}\n---\n",
          c, type, rules, random.Pick(kSpans), condition);
    }
    auto parsed = sigma::ParseRuleFile(yaml, "corr.yml");
    std::vector<sigma::Rejection> rejected = parsed.rejections;
    auto set =
        detect::RuleSet::Compile(std::move(parsed.documents), Vocabulary::Options(), rejected);
    ASSERT_EQ(set->correlations().size() + rejected.size(), correlations + 0) << "seed " << seed;
    if (set->correlations().empty()) continue;
    detect::CorrelationEngine engine(set, 1'000'000);
    CorrelationOracle oracle;
    for (const auto& correlation : set->correlations()) {
      oracle.Add(correlation.spec, correlation.inputs.size());
    }
    TimeNs now = (1767225600 + static_cast<int64_t>(random.Below(86400))) * kNsPerSecond;
    std::string trace;
    for (int step = 0; step < 3000; ++step) {
      size_t c = random.Below(set->correlations().size());
      const auto& correlation = set->correlations()[c];
      int64_t span_ns = std::max<int64_t>(correlation.spec.timespan_ns, kNsPerSecond);
      switch (random.Below(10)) {
        case 0:
          now += span_ns + static_cast<int64_t>(random.Below(static_cast<size_t>(span_ns)));
          break;
        case 1:
          now -= static_cast<int64_t>(random.Below(static_cast<size_t>(span_ns / 2 + 1)));
          break;
        case 2:
          break;  // a burst at one instant
        default:
          now += static_cast<int64_t>(random.Below(static_cast<size_t>(span_ns / 6 + 1)));
          break;
      }
      size_t position = random.Below(correlation.inputs.size());
      std::string key = fmt::format("k{}", random.Below(4));
      std::string value = fmt::format("v{}", random.Below(6));
      std::string_view key_view = key;
      int64_t got = engine.Feed(static_cast<uint32_t>(c), static_cast<uint32_t>(position), now,
                                detect::HashGroup({&key_view, 1}), detect::HashValue(value));
      int64_t want = oracle.Feed(c, position, now, key, value);
      ++feeds;
      fired += want != 0;
      trace += fmt::format("{} c{} p{} {} {} -> engine {} oracle {}\n", FormatTimestamp(now), c,
                           position, key, value, got, want);
      if (got != want) {
        if (++mismatches <= 3) {
          ADD_FAILURE() << "seed " << seed << " step " << step << ": engine " << got << ", oracle "
                        << want << "\n"
                        << yaml << "\nlast feeds:\n"
                        << trace.substr(trace.size() > 3000 ? trace.size() - 3000 : 0);
        }
        break;  // the states differ from here on
      }
    }
  }
  std::printf("%zu feeds, %zu fired, %zu mismatching streams\n", feeds, fired, mismatches);
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(fired, feeds / 50);
}

}  // namespace
}  // namespace bulwark::oracle
