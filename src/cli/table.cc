// The one table of the bulwark binary's commands.

#include "command.h"
#include "commands.h"

namespace bulwark::cli {

const std::vector<GroupSpec>& Groups() {
  static const std::vector<GroupSpec> groups = {
      {"rules", "Check and test Sigma rules"},
      {"inventory", "Customers, systems and their addresses over time"},
      {"inventory sync", "Read the inventory from a cloud's API"},
      {"findings", "Findings: import, the unattributed queue"},
      {"incidents", "Incidents: list, show, move, deadlines"},
      {"audit", "The audit log"},
      {"countermeasures",
       "Quarantines, port blocks and rate limits: propose, approve, apply, lift"},
      {"evidence", "Forensics: the evidence vault, its chain of custody, captures and exports"},
      {"reports", "Third-party abuse reports"},
      {"notify", "Customer notifications"},
      {"flows", "Flow records from routers, switches and probes (NetFlow, IPFIX, sFlow)"},
      {"tokens", "API bearer tokens"},
  };
  return groups;
}

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> commands = {
      {"", "version", "Print the version and the vectorscan scan path this processor gets",
       SetupVersion},
      {"", "replay", "Run log files through decoders and rules; print alerts", SetupReplay},
      {"", "demo",
       "The whole loop on bundled examples: logs -> alerts -> findings -> incidents -> mails",
       SetupDemo},
      {"rules", "check", "Compile rules; print each rejection", SetupRulesCheck},
      {"rules", "test", "Run the *.tests.yml cases beside rules", SetupRulesTest},
      {"inventory", "import",
       "Import customers, projects, systems, interfaces and addresses (YAML, JSON, CSV)",
       SetupInventoryImport},
      {"inventory", "who", "Print (JSON) who held an address or MAC address at an instant",
       SetupInventoryWho},
      {"inventory sync", "stackit",
       "Projects, servers, NICs and public IPs from STACKIT (config section stackit)",
       SetupInventorySyncStackit},
      {"findings", "import",
       "Take in findings (IntelMQ harmonized JSON lines): attribute, group, assess",
       SetupFindingsImport},
      {"findings", "unattributed",
       "Print (JSON lines) findings about addresses nobody held at the time",
       SetupFindingsUnattributed},
      {"incidents", "list", "Print incidents as JSON lines", SetupIncidentsList},
      {"incidents", "show", "Print one incident with findings and history", SetupIncidentsShow},
      {"incidents", "transition", "Move an incident to a new state", SetupIncidentsTransition},
      {"incidents", "tick",
       "Move incidents whose patch deadline passed to verifying (serve does this itself)",
       SetupIncidentsTick},
      {"audit", "verify", "Check the audit log's hash chain", SetupAuditVerify},
      {"countermeasures", "propose",
       "Propose a countermeasure for an incident or a system (--apply: at once)",
       SetupCountermeasuresPropose},
      {"countermeasures", "approve", "Approve a proposed countermeasure",
       SetupCountermeasuresApprove},
      {"countermeasures", "reject", "Reject a proposed countermeasure", SetupCountermeasuresReject},
      {"countermeasures", "apply", "Apply an approved countermeasure", SetupCountermeasuresApply},
      {"countermeasures", "lift", "Lift a countermeasure (restores what it changed)",
       SetupCountermeasuresLift},
      {"countermeasures", "list", "Print countermeasures as JSON lines", SetupCountermeasuresList},
      {"countermeasures", "show", "Print one countermeasure with its blast radius",
       SetupCountermeasuresShow},
      {"countermeasures", "reconcile",
       "Finish what a restart interrupted, lift expired ones, find and repair drift (serve does "
       "this itself)",
       SetupCountermeasuresReconcile},
      {"evidence", "collect", "Store an incident's findings and audit trail as evidence",
       SetupEvidenceCollect},
      {"evidence", "capture", "Capture a system's packets at its port into the vault",
       SetupEvidenceCapture},
      {"evidence", "cloud",
       "Take a server's console log and a snapshot of its boot volume through the STACKIT API",
       SetupEvidenceCloud},
      {"evidence", "add", "Store a file as evidence (disk image, memory dump, ...)",
       SetupEvidenceAdd},
      {"evidence", "list", "Print the evidence items (JSON lines)", SetupEvidenceList},
      {"evidence", "custody", "Print the chain of custody (JSON lines)", SetupEvidenceCustody},
      {"evidence", "verify", "Check every item's hash and the chain of custody",
       SetupEvidenceVerify},
      {"evidence", "hold", "Put an incident's evidence on legal hold", SetupEvidenceHold},
      {"evidence", "release", "Release a legal hold", SetupEvidenceRelease},
      {"evidence", "export",
       "A bundle for the customer or law enforcement: evidence, custody, timeline, manifest",
       SetupEvidenceExport},
      {"reports", "import",
       "Take in abuse reports: Shadowserver CSV, CERT-Bund, X-ARF, XARF JSON, ARF mails, mapped "
       "CSV",
       SetupReportsImport},
      {"reports", "fetch",
       "One round over the configured report sources (IMAP mailbox, Shadowserver API)",
       SetupReportsFetch},
      {"notify", "send", "Deliver the due messages of the outbox (serve does this itself)",
       SetupNotifySend},
      {"flows", "replay",
       "Decode the export datagrams of packet captures; print the flow records (JSON lines)",
       SetupFlowsReplay},
      {"", "serve", "Run the service: REST API, timers, mail (SIGHUP reloads, SIGTERM drains)",
       SetupServe},
      {"tokens", "create", "Create a token and print it (once)", SetupTokensCreate},
      {"tokens", "list", "Print the tokens (JSON lines, no secrets)", SetupTokensList},
      {"tokens", "revoke", "Revoke a token by its id", SetupTokensRevoke},
  };
  return commands;
}

}  // namespace bulwark::cli
