#include "bulwark/pipeline/replay.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>

#include "bulwark/data/builtin_env.h"
#include "bulwark/pipeline/rules_loader.h"

namespace bulwark::pipeline {
namespace {

struct ReplayRun {
  ReplaySummary summary;
  std::string output;
};

ReplayRun ReplayText(const std::string& text, unsigned threads, size_t batch_lines = 64) {
  auto loaded =
      LoadRules({"builtin"}, detect::CompileOptions{}, bulwark::data::BuiltinEnv::Default());
  auto decoders = decode::DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
  EXPECT_TRUE(decoders);
  ReplayOptions options;
  options.memory_inputs.emplace_back("mem", text);
  options.threads = threads;
  options.batch_lines = batch_lines;
  options.parse.year = 2026;
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  auto summary = Replay(options, loaded.rules, *decoders, out);
  std::fclose(out);
  ReplayRun run{summary ? *summary : ReplaySummary{}, std::string(buffer, size)};
  std::free(buffer);
  EXPECT_TRUE(summary);
  return run;
}

std::string AttackLog() {
  std::string text;
  char line[256];
  for (int i = 0; i < 3000; ++i) {
    int attacker = i % 7;
    std::snprintf(line, sizeof(line),
                  "Nov 26 %02d:%02d:%02d web1 sshd[%d]: Failed password for root from 203.0.113.%d "
                  "port %d ssh2\n",
                  10 + i / 3600, i / 60 % 60, i % 60, 1000 + i, attacker, 1024 + i);
    text += line;
    if (i % 5 == 0)
      text +=
          "Nov 26 10:00:00 web1 CRON[1]: pam_unix(cron:session): session closed for user root\n";
  }
  return text;
}

TEST(Replay, SameAlertsForAnyThreadCountAndBatchSize) {
  std::string text = AttackLog();
  ReplayRun one = ReplayText(text, 1, 4096);
  ReplayRun two = ReplayText(text, 2, 37);
  ReplayRun four = ReplayText(text, 4, 64);
  EXPECT_FALSE(one.output.empty());
  EXPECT_EQ(one.output, two.output);
  EXPECT_EQ(one.output, four.output);
  EXPECT_EQ(one.summary.alerts_total, two.summary.alerts_total);
  EXPECT_EQ(one.summary.lines, 3600u);
}

TEST(Replay, BadLinesAreCountedAndTheRestGoesOn) {
  std::string text = "{\"broken\n\n" + AttackLog().substr(0, 2000) + std::string("\xff\xfe\n", 3);
  ReplayRun run = ReplayText(text, 2);
  EXPECT_EQ(run.summary.rejected["invalid JSON"], 1u);
  EXPECT_EQ(run.summary.rejected["empty line"], 1u);
  EXPECT_EQ(run.summary.invalid_utf8, 1u);
  EXPECT_GT(run.summary.decoded, 10u);
}

TEST(Replay, UnreadableInputIsReportedNotFatal) {
  auto loaded =
      LoadRules({"builtin"}, detect::CompileOptions{}, bulwark::data::BuiltinEnv::Default());
  auto decoders = decode::DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
  ReplayOptions options;
  options.inputs = {"/nonexistent/a.log"};
  options.env = &Env::Default();
  options.memory_inputs.emplace_back("mem", AttackLog());
  std::FILE* out = std::fopen("/dev/null", "w");
  auto summary = Replay(options, loaded.rules, *decoders, out);
  std::fclose(out);
  ASSERT_TRUE(summary);
  ASSERT_EQ(summary->input_errors.size(), 1u);
  EXPECT_NE(summary->input_errors[0].find("/nonexistent/a.log"), std::string::npos);
  EXPECT_EQ(summary->lines, 3600u);
}

TEST(Replay, SuppressionCountsWhatItHoldsBack) {
  ReplayRun run = ReplayText(AttackLog(), 1);
  uint64_t suppressed = 0;
  for (const auto& [rule, count] : run.summary.suppressed) suppressed += count;
  EXPECT_GT(suppressed, 0u);
  EXPECT_NE(run.output.find("\"suppressed\":"), std::string::npos);
}

// Lines received over the network carry their sender (log.source.address), the name its TLS
// certificate proved and, when the inventory knows it, the system whose log they are (host.id,
// host.ip); lines of files do not.
TEST(StreamDetector, ReceivedLinesCarryTheirSenderAndSystem) {
  auto loaded =
      LoadRules({"builtin"}, detect::CompileOptions{}, bulwark::data::BuiltinEnv::Default());
  auto decoders = decode::DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
  ASSERT_TRUE(decoders);
  struct Events : AlertSink {
    void Take(const Alert& alert) override {
      fields.push_back({std::string(alert.Field("log.source.address")),
                        std::string(alert.Field("host.id")), std::string(alert.Field("host.ip")),
                        std::string(alert.Field("tls.client.x509.subject.common_name"))});
    }
    std::vector<std::array<std::string, 4>> fields;
  } sink;
  ReplayOptions options;
  options.parse.year = 2026;
  options.suppress_window = 0;
  StreamDetector detector(options, loaded.rules, *decoders, {"file", "receiver:tcp"}, &sink);
  // A web shell request: one alert per line.
  std::string line =
      R"(203.0.113.9 - - [26/Nov/2026:10:00:00 +0000] "GET /uploads/c99.php?cmd=id HTTP/1.1" 200 512 "-" "curl/8.0")";
  std::vector<std::string> lines = {line, line};
  std::vector<LineOrigin> origins = {{"10.0.0.5", "", "vm-shop"}, {"10.0.0.6", "fw1.example", ""}};
  detector.Process(1, lines, 1, origins);
  detector.Process(0, {line}, 1);
  // The same rules fire for each of the three lines, in order.
  ASSERT_FALSE(sink.fields.empty());
  ASSERT_EQ(sink.fields.size() % 3, 0u);
  size_t per_line = sink.fields.size() / 3;
  for (size_t i = 0; i < per_line; ++i) {
    EXPECT_EQ(sink.fields[i], (std::array<std::string, 4>{"10.0.0.5", "vm-shop", "10.0.0.5", ""}));
    EXPECT_EQ(sink.fields[per_line + i],
              (std::array<std::string, 4>{"10.0.0.6", "", "", "fw1.example"}));
    EXPECT_EQ(sink.fields[2 * per_line + i], (std::array<std::string, 4>{"", "", "", ""}));
  }
}

// A network device's events (a flow record, a firewall's log) name the device as their observer
// (observer.ip, observer.name: its system), not as their host.
TEST(StreamDetector, NetworkDevicesAreObserversNotHosts) {
  detect::CompileOptions compile;
  compile.field_map.placeholders["feodo_c2"] = {"198.51.100.66"};
  auto loaded = LoadRules({"builtin"}, compile, bulwark::data::BuiltinEnv::Default());
  ASSERT_TRUE(loaded.rejected.empty());
  auto decoders = decode::DecoderSet::Load({}, bulwark::data::BuiltinEnv::Default());
  ASSERT_TRUE(decoders);
  struct Fields : AlertSink {
    void Take(const Alert& alert) override {
      if (alert.rule_id != "acaaf9b8-7a8f-49a6-91cf-cd034bc39d7c") return;  // feodo_c2_connection
      seen.push_back({std::string(alert.Field("observer.ip")),
                      std::string(alert.Field("observer.name")),
                      std::string(alert.Field("host.id")), std::string(alert.Field("host.ip"))});
    }
    std::vector<std::array<std::string, 4>> seen;
  } sink;
  ReplayOptions options;
  options.suppress_window = 0;
  options.input_formats = {input::Format::kJsonLines};
  StreamDetector detector(options, loaded.rules, *decoders, {"receiver:flows"}, &sink);
  std::string flow =
      R"({"@timestamp":"2026-11-26T10:00:00Z","event.kind":"event","event.category":"network",)"
      R"("event.module":"netflow","source.ip":"192.0.2.7","destination.ip":"198.51.100.66",)"
      R"("destination.port":443,"observer.ip":"10.0.0.1"})";
  std::string without_observer = flow.substr(0, flow.find(R"(,"observer.ip")")) + "}";
  std::vector<LineOrigin> origins = {{"10.0.0.254", "", "router-1"},
                                     {"10.0.0.254", "", "router-1"}};
  detector.Process(0, {flow, without_observer}, 1, origins);
  ASSERT_EQ(sink.seen.size(), 2u);
  // The exporter's own observer.ip stays; the sender's system is the observer's name.
  EXPECT_EQ(sink.seen[0], (std::array<std::string, 4>{"10.0.0.1", "router-1", "", ""}));
  EXPECT_EQ(sink.seen[1], (std::array<std::string, 4>{"10.0.0.254", "router-1", "", ""}));
}

}  // namespace
}  // namespace bulwark::pipeline
