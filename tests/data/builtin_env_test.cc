// The builtin: overlay: embedded files by builtin: paths, everything else from the Env below.

#include "bulwark/data/builtin_env.h"

#include <gtest/gtest.h>

#include "../support/memory_env.h"

namespace bulwark::data {
namespace {

using testing_support::MemoryEnv;

TEST(BuiltinEnv, EmbeddedFilesByBuiltinPaths) {
  MemoryEnv base;
  BuiltinEnv env(base);
  auto policy = env.ReadFile("builtin:samples/policy.yml");
  ASSERT_TRUE(policy.has_value()) << policy.error().ToString();
  EXPECT_FALSE(policy->empty());
  auto missing = env.ReadFile("builtin:samples/nothing.yml");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().where, "builtin:samples/nothing.yml");
  auto maps = env.ListFiles("builtin:field-maps", {".yml"});
  ASSERT_TRUE(maps.has_value());
  EXPECT_EQ(*maps, (std::vector<std::string>{"builtin:field-maps/windows-evtx.yml",
                                             "builtin:field-maps/winlogbeat.yml"}));
  auto one = env.ListFiles("builtin:field-maps/winlogbeat.yml", {".yml"});
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->size(), 1u);
  EXPECT_FALSE(env.ListFiles("builtin:no-such-folder", {".yml"}).has_value());
  EXPECT_FALSE(env.ListFiles("builtin:field-maps", {".json"}).has_value());
}

TEST(BuiltinEnv, OtherPathsAndTheClockGoToTheEnvBelow) {
  MemoryEnv base;
  base.files.emplace("/etc/bulwark/policy.yml", std::string(1, 'x'));
  BuiltinEnv env(base);
  EXPECT_EQ(env.ReadFile("/etc/bulwark/policy.yml").value_or(""), "x");
  EXPECT_FALSE(env.ReadFile("/etc/other.yml").has_value());
  EXPECT_EQ(env.Now(), base.now);
  EXPECT_TRUE(env.ListFiles("/etc/bulwark/policy.yml", {}).has_value());
}

}  // namespace
}  // namespace bulwark::data
