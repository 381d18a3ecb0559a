#pragma once
// Log lines of attacks, for tests that feed the detection core.

#include <string>

namespace bulwark::testing_support {

// `tries` failed sshd logins for invalid users from `address` on host web1, one second apart
// (syslog lines, each ending in a newline): the built-in pack's brute force.
inline std::string SshBruteForce(const std::string& address, int tries) {
  std::string text;
  for (int i = 0; i < tries; ++i) {
    text += "Nov 26 10:00:" + std::to_string(10 + i) + " web1 sshd[" + std::to_string(100 + i) +
            "]: Failed password for invalid user admin" + std::to_string(i) + " from " + address +
            " port " + std::to_string(40000 + i) + " ssh2\n";
  }
  return text;
}

}  // namespace bulwark::testing_support
