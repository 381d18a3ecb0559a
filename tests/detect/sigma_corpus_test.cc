// Every rule of the SigmaHQ rule set in ../shared/sigma/rules compiles or is rejected with file,
// rule id and a reason; at least 99 % compile.

#include <gtest/gtest.h>

#include "bulwark/data/builtin_env.h"
#include "bulwark/pipeline/rules_loader.h"

namespace bulwark::pipeline {
namespace {

TEST(SigmaCorpus, EveryRuleCompilesOrIsRejectedWithAReason) {
  std::string path = std::string(BULWARK_SHARED_DIR) + "/sigma/rules";
  auto loaded = LoadRules({path}, detect::CompileOptions{}, bulwark::data::BuiltinEnv::Default());
  size_t compiled = loaded.rules->rule_count();
  size_t rejected = loaded.rejected.size();
  std::printf("SigmaHQ: %zu files, compiled %zu, rejected %zu\n", loaded.files, compiled, rejected);
  for (const auto& r : loaded.rejected) {
    EXPECT_FALSE(r.reason.empty());
    EXPECT_NE(r.where.find(".yml"), std::string::npos) << r.ToString();
  }
  ASSERT_GT(compiled + rejected, 3000u);
  EXPECT_GE(100.0 * compiled / (compiled + rejected), 99.0);
}

}  // namespace
}  // namespace bulwark::pipeline
