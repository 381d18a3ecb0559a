#pragma once
// API access: bearer tokens with a role, stored only as hashes. Plain value types.

#include <optional>
#include <string>

#include "bulwark/core/time.h"

namespace bulwark::model {

// analyst: reads everything, takes in findings, moves incidents and comments; responder: the
// same (countermeasures will be theirs); admin: everything; customer: only its own customer's
// incidents and inventory, and may report a fix (-> verifying) and comment.
enum class Role { kAnalyst, kResponder, kAdmin, kCustomer };
const char* RoleName(Role role);  // "analyst", "responder", "admin", "customer"
std::optional<Role> ParseRole(std::string_view name);

struct Token {
  std::string id;    // public part, shown in lists and the audit log ("token:<id>")
  std::string hash;  // hex SHA-256 of the secret part
  Role role = Role::kAnalyst;
  std::string customer_id;  // customer tokens only
  std::string description;
  TimeNs created_at = 0;
  bool revoked = false;
};

}  // namespace bulwark::model
