#pragma once
// Waiting for a running service's incidents, for tests of `serve`.

#include <chrono>
#include <string>
#include <thread>

#include "bulwark/store/store.h"

namespace bulwark::testing_support {

// The number of incidents of `customer` in the store of `data_dir`, polled every 100 ms up to
// `polls` times until there are some; 0 when there are none by then.
inline size_t AwaitIncidentsOf(const std::string& data_dir, const std::string& customer,
                               int polls = 50) {
  auto store = store::OpenSqliteStore(data_dir, store::OpenMode::kReadOnly);
  if (!store) return 0;
  store::IncidentFilter filter;
  filter.customer_id = customer;
  for (int i = 0; i < polls; ++i) {
    auto list = (*store)->ListIncidents(filter);
    if (list && !list->empty()) return list->size();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 0;
}

}  // namespace bulwark::testing_support
