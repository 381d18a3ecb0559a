#include "bulwark/config/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace bulwark::config {
namespace {

TEST(Config, TheExampleIsTheDefaults) {
  std::ifstream in(std::string(BULWARK_SOURCE_DIR) + "/data/bulwark.example.yml");
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = Parse(text.str(), "bulwark.example.yml");
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  Config defaults;
  EXPECT_EQ(parsed->data_dir, defaults.data_dir);
  EXPECT_EQ(parsed->listen, defaults.listen);
  EXPECT_EQ(parsed->dedup_window, defaults.dedup_window);
  EXPECT_EQ(parsed->tick, defaults.tick);
  EXPECT_EQ(parsed->rules, defaults.rules);
  EXPECT_EQ(parsed->mail.from, defaults.mail.from);
  EXPECT_EQ(parsed->mail.starttls, defaults.mail.starttls);
  EXPECT_EQ(parsed->max_body_bytes, defaults.max_body_bytes);
}

TEST(Config, ReadsEverySetting) {
  auto parsed = Parse(R"(data_dir: /srv/b
listen: 0.0.0.0:9000
findings: {dedup_window: 2d, min_alert_level: high}
timers: {tick: 5s}
inputs:
  - {path: /var/log/auth.log}
  - {path: /var/log/app.jsonl, format: jsonl}
mail:
  from: abuse@cloud.example
  smtp: {url: "smtp://127.0.0.1:2525", starttls: require, verify_peer: false}
)",
                      "c.yml");
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->data_dir, "/srv/b");
  EXPECT_EQ(parsed->dedup_window, 2 * 86400 * kNsPerSecond);
  EXPECT_EQ(parsed->min_alert_level, "high");
  EXPECT_EQ(parsed->tick, 5 * kNsPerSecond);
  ASSERT_EQ(parsed->inputs.size(), 2u);
  EXPECT_EQ(parsed->inputs[1].format, "jsonl");
  EXPECT_EQ(parsed->mail.smtp_url, "smtp://127.0.0.1:2525");
  EXPECT_EQ(parsed->mail.starttls, "require");
  EXPECT_FALSE(parsed->mail.verify_peer);
}

TEST(Config, ErrorsNameTheirPlace) {
  struct Case {
    const char* yaml;
    const char* where;
    const char* message;
  } cases[] = {
      {"lisen: 1.2.3.4:1\n", "c.yml:1:1", "unknown setting 'lisen'"},
      {"mail:\n  smtp: {starttls: maybe}\n", "c.yml:2:20", "expected one of off, try, require"},
      {"timers: {tick: soon}\n", "c.yml:1:16", "duration"},
      {"inputs: [{format: jsonl}]\n", "c.yml:1:10", "needs a 'path'"},
      {"mail: {digest_hour: 24}\n", "c.yml:1:21", "hour"},
      {"findings: [1]\n", "c.yml:1:11", "must be a mapping"},
      {"data_dir: [unclosed\n", "c.yml:", ""},
  };
  for (const auto& c : cases) {
    auto parsed = Parse(c.yaml, "c.yml");
    ASSERT_FALSE(parsed) << c.yaml;
    EXPECT_NE(parsed.error().where.find(c.where), std::string::npos)
        << c.yaml << " -> " << parsed.error().ToString();
    EXPECT_NE(parsed.error().message.find(c.message), std::string::npos)
        << c.yaml << " -> " << parsed.error().ToString();
  }
}

}  // namespace
}  // namespace bulwark::config
