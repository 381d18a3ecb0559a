// Per-line cost of parsing, decoding and matching with the built-in rules.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "bulwark/data/builtin_env.h"
#include "bulwark/decode/decoder.h"
#include "bulwark/input/parser.h"
#include "bulwark/pipeline/rules_loader.h"

namespace {

constexpr const char* kLines[] = {
    "Nov 26 10:00:01 bastion sshd[4242]: Failed password for invalid user admin from 203.0.113.9 "
    "port 40000 ssh2",
    "Nov 26 10:00:02 bastion sshd[4243]: Accepted publickey for deploy from 10.20.1.2 port 2950 "
    "ssh2: ED25519 SHA256:x",
    "Nov 26 10:00:03 bastion sshd[4244]: pam_unix(sshd:session): session opened for user "
    "deploy(uid=1001) by (uid=0)",
    "Nov 26 10:00:04 bastion CRON[1]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 "
    "1 1)",
};

void BM_Parse(benchmark::State& state) {
  bulwark::input::ParseOptions options;
  options.year = 2026;
  bulwark::input::LineParser parser(options);
  bulwark::event::Event event;
  bulwark::input::Repairs repairs;
  size_t i = 0;
  for (auto _ : state) {
    parser.Parse(kLines[i++ % 4], event, repairs);
    benchmark::DoNotOptimize(event);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Parse);

void BM_ParseDecodeMatch(benchmark::State& state) {
  auto decoders = bulwark::decode::DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
  if (!decoders) std::abort();
  auto scratch = (*decoders)->NewScratch();
  auto rules = bulwark::pipeline::LoadRules({"builtin"}, bulwark::detect::CompileOptions{},
                                            bulwark::data::BuiltinEnv::Default());
  auto matcher = rules.rules->NewMatcher();
  bulwark::input::ParseOptions options;
  options.year = 2026;
  bulwark::input::LineParser parser(options);
  bulwark::event::Event event;
  bulwark::input::Repairs repairs;
  std::vector<uint32_t> matched;
  size_t i = 0;
  for (auto _ : state) {
    parser.Parse(kLines[i++ % 4], event, repairs);
    (*decoders)->Decode(event, *scratch);
    matched.clear();
    matcher->Match(event, matched);
    benchmark::DoNotOptimize(matched);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseDecodeMatch);

}  // namespace

BENCHMARK_MAIN();
