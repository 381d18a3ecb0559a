#pragma once
// The inventory of a lab (tests/support/lab.h): one customer with a security contact, one
// project, and a system per entry, each with one interface on a switch port and one address.

#include <string>
#include <vector>

#include "bulwark/model/inventory.h"

namespace bulwark::testing_support {

struct LabSystem {
  std::string id;
  std::string port;     // the switch port ("vm1p")
  std::string address;  // the address it holds
  bool protected_system = false;
};

inline model::Inventory LabInventory(const std::string& customer,
                                     const std::vector<LabSystem>& systems) {
  model::Inventory inventory;
  model::Customer owner;
  owner.id = customer;
  owner.name = customer;
  owner.contacts = {{"security@" + customer + ".example", "security"}};
  inventory.customers.push_back(owner);
  model::Project project;
  project.id = "p-" + customer;
  project.customer_id = customer;
  inventory.projects.push_back(project);
  for (const auto& s : systems) {
    model::System system;
    system.id = s.id;
    system.project_id = project.id;
    system.name = s.id;
    system.protected_system = s.protected_system;
    inventory.systems.push_back(system);
    model::Interface nic;
    nic.system_id = s.id;
    nic.port = s.port;
    nic.mac = "fa:16:3e:00:00:0" + std::to_string(inventory.systems.size());
    inventory.interfaces.push_back(nic);
    model::Assignment held;
    held.system_id = s.id;
    held.interface_key = s.port;
    held.prefix = *model::Prefix::Parse(s.address);
    inventory.assignments.push_back(held);
  }
  return inventory;
}

}  // namespace bulwark::testing_support
