#pragma once
// One STACKIT server of one customer, for tests of the cloud enforcer and collectors against
// Prism: the project is the IaaS document's examples', the server a fixed UUID.

#include "bulwark/model/inventory.h"

namespace bulwark::testing_support {

inline constexpr const char* kStackitProject = "54066bf4-1aff-4f7b-9f83-fb23c348fee3";
inline constexpr const char* kStackitServer = "8f1d1f6a-3c2b-4f0e-9d7a-2b6c5e4d3a21";

// Customer c-acme, its project kStackitProject, and system kStackitServer in it.
inline model::Inventory StackitServerInventory() {
  model::Inventory inventory;
  model::Customer customer;
  customer.id = "c-acme";
  inventory.customers.push_back(customer);
  model::Project project;
  project.id = kStackitProject;
  project.customer_id = "c-acme";
  inventory.projects.push_back(project);
  model::System system;
  system.id = kStackitServer;
  system.project_id = kStackitProject;
  inventory.systems.push_back(system);
  return inventory;
}

}  // namespace bulwark::testing_support
