// The composition root's loaders: what every command and serve take from the configuration.

#include "bulwark/spine/settings.h"

#include <gtest/gtest.h>

#include "../support/memory_env.h"
#include "bulwark/data/builtin_env.h"

namespace bulwark::spine {
namespace {

using testing_support::MemoryEnv;

TEST(Settings, DefaultsWithoutFiles) {
  MemoryEnv env;
  auto settings = LoadSettings(config::Config{}, env);
  ASSERT_TRUE(settings.has_value()) << settings.error().ToString();
  EXPECT_EQ(settings->notifier.from, config::Config{}.mail.from);
  EXPECT_TRUE(settings->notifier.webhooks.empty());
}

TEST(Settings, FilesNamedByTheConfigurationThroughTheEnv) {
  MemoryEnv base;
  base.files.emplace("/etc/bulwark/hook.secret", std::string("s3cret\n"));
  data::BuiltinEnv env(base);
  config::Config config;
  config.policy = "builtin:samples/policy.yml";
  config.mail.from = "abuse@cloud.example";
  config.webhooks.push_back({"c-globex", "https://hooks.example/x", "/etc/bulwark/hook.secret"});
  auto settings = LoadSettings(config, env);
  ASSERT_TRUE(settings.has_value()) << settings.error().ToString();
  EXPECT_EQ(settings->notifier.from, "abuse@cloud.example");
  ASSERT_EQ(settings->notifier.webhooks.size(), 1u);
  EXPECT_EQ(settings->notifier.webhooks[0].secret, "s3cret");
}

TEST(Settings, ErrorsNameTheFile) {
  MemoryEnv env;
  config::Config missing;
  missing.policy = "/etc/bulwark/policy.yml";
  auto failed = LoadSettings(missing, env);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().where, "/etc/bulwark/policy.yml");
  env.files.emplace("/etc/bulwark/kev.json", std::string("{not json"));
  config::Config kev;
  kev.kev = "/etc/bulwark/kev.json";
  auto bad_kev = LoadSettings(kev, env);
  ASSERT_FALSE(bad_kev.has_value());
  EXPECT_EQ(bad_kev.error().where, "/etc/bulwark/kev.json");
  config::Config hook;
  hook.webhooks.push_back({"c", "https://x", "/nowhere"});
  EXPECT_FALSE(LoadSettings(hook, env).has_value());
}

TEST(Settings, MailerFromTheConfigurationOrTheCommandLine) {
  MemoryEnv env;
  config::Config::Mail mail;
  EXPECT_TRUE(NewMailer(mail, env).has_value());  // printing
  mail.smtp_url = "smtp://127.0.0.1:2525";
  mail.password_file = "/etc/bulwark/smtp.password";
  auto no_password = NewMailer(mail, env);
  ASSERT_FALSE(no_password.has_value());
  EXPECT_EQ(no_password.error().where, "/etc/bulwark/smtp.password");
  // A printing target on the command line does not need the SMTP password.
  mail.smtp_url.clear();
  EXPECT_TRUE(NewMailer(mail, env, "", "/tmp/mails.txt").has_value());
}

}  // namespace
}  // namespace bulwark::spine
