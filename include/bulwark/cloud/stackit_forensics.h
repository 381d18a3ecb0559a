#pragma once
// Forensic collection through the STACKIT IaaS v2 API: the server's console log, and a snapshot
// of its boot volume (the disk stays in the cloud; the evidence is the snapshot's record, whose
// hash fixes its id, volume and time). Thread-safe.

#include <string>
#include <vector>

#include "bulwark/cloud/stackit_enforcer.h"
#include "bulwark/core/result.h"

namespace bulwark::cloud {

struct CloudEvidence {
  std::string name;     // a file name for the vault
  std::string kind;     // "console", "snapshot"
  std::string method;   // how it was taken
  std::string content;  // the log's text, or the snapshot's JSON record
};

// The console log (the last `lines` lines; 0: all the API gives). Errors: the API's.
Result<CloudEvidence> StackitConsoleLog(const StackitEnforcerSettings& settings,
                                        const std::string& project, const std::string& server,
                                        int lines = 0);
// Snapshots the server's boot volume (`name` for the snapshot) and waits until it is AVAILABLE
// (settings.operation_timeout). Errors: no boot volume, the API's, ERROR, the timeout.
Result<CloudEvidence> StackitSnapshot(const StackitEnforcerSettings& settings,
                                      const std::string& project, const std::string& server,
                                      const std::string& name);

// One step of volatile-data collection with Run Command's RunShellScript template.
struct VolatileStep {
  std::string name;    // "network", "processes", ...
  std::string script;  // the shell script run on the server
};
// RFC 3227's order of volatility for what a shell can read (section 2.1): network state (routes,
// neighbours, connections), then processes, then logged-in users, then kernel modules and
// temporary files.
const std::vector<VolatileStep>& VolatileOrder();

// Runs `script` on the server with Run Command (template RunShellScript) at `run_command_url`
// and waits until it completed (or failed) within settings.operation_timeout. Call it only with
// the customer's recorded agreement (the caller checks: Vault::HasAgreement). Errors: the API's,
// the timeout.
Result<CloudEvidence> StackitRunCommand(const StackitEnforcerSettings& settings,
                                        const std::string& run_command_url,
                                        const std::string& project, const std::string& server,
                                        const VolatileStep& step);

}  // namespace bulwark::cloud
