#pragma once
// The bundled example inventory (data/samples/inventory.yml) imported into a store, for tests
// of the spine and the service.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "bulwark/inventory/import.h"
#include "bulwark/store/store.h"
#include "files.h"

namespace bulwark::testing_support {

inline ::testing::AssertionResult ImportSampleInventory(store::Store& store) {
  std::string text = ReadAll(std::string(BULWARK_SOURCE_DIR) + "/data/samples/inventory.yml");
  auto parsed = inventory::ParseInventory(text, "inventory.yml", inventory::FileFormat::kYaml);
  if (!parsed) return ::testing::AssertionFailure() << "the sample inventory does not parse";
  auto imported = inventory::Import(store, std::move(*parsed));
  if (!imported) return ::testing::AssertionFailure() << imported.error().ToString();
  return ::testing::AssertionSuccess();
}

// A store in `dir` holding the sample inventory; null (with the test failed) when it cannot be.
inline std::unique_ptr<store::Store> SampleStore(const std::filesystem::path& dir) {
  auto store = store::OpenSqliteStore(dir.string());
  if (!store) {
    ADD_FAILURE() << store.error().ToString();
    return nullptr;
  }
  auto imported = ImportSampleInventory(**store);
  if (!imported) {
    ADD_FAILURE() << imported.message();
    return nullptr;
  }
  return std::move(*store);
}

}  // namespace bulwark::testing_support
