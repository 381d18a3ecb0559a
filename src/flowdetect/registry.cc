#include "detectors.h"

namespace bulwark::flowdetect {

namespace {

detect::RuleInfo Rule(std::string id, std::string title, std::string name, std::string level,
                      std::vector<std::string> tags) {
  detect::RuleInfo info;
  info.id = std::move(id);
  info.title = std::move(title);
  info.name = std::move(name);
  info.level = std::move(level);
  info.status = "stable";
  info.where = "builtin:flowdetect";
  info.tags = std::move(tags);
  return info;
}

// A maker that needs no address book.
auto Ignoring(std::unique_ptr<Detector> (*make)(const Settings&)) {
  return [make](const Settings& settings, std::shared_ptr<const AddressBook>) {
    return make(settings);
  };
}

}  // namespace

const std::vector<DetectorSpec>& Registry() {
  // The source is the affected system: a customer address scanning or beaconing is a customer
  // system that is compromised (docs/rules.md, "Who is affected").
  static const std::vector<DetectorSpec> kRegistry = {
      {"trw_scan",
       Rule("db8ed751-5c65-43c0-9fec-6b9b57e1c2f7", "Scanner (sequential hypothesis test, flows)",
            "flow_trw_scanner", "medium",
            {"attack.reconnaissance", "attack.t1595", "attack.discovery", "attack.t1046",
             "bulwark.affected.source"}),
       "flow_record", Ignoring(MakeThresholdRandomWalk)},
      {"beaconing",
       Rule("209f7a88-0a4e-4879-a1d2-0d317148e5ea",
            "Beaconing: connections at a regular interval (flows)", "flow_beaconing", "medium",
            {"attack.command-and-control", "attack.t1071", "attack.t1029",
             "bulwark.affected.source"}),
       "flow_record", Ignoring(MakeBeaconing)},
      {"flood_toward",
       Rule("5fd157a4-c79b-4091-ba60-0a30dfde4c5a",
            "Flood toward an address: volume far above its baseline (flows)", "flow_flood_toward",
            "high", {"attack.impact", "attack.t1498", "bulwark.affected.destination"}),
       "flow_record", Ignoring(MakeFloodToward)},
      {"flood_from",
       Rule("c69f158b-f85b-4d57-b15d-1a94253d5f44",
            "Flood from an address: volume far above its baseline (flows)", "flow_flood_from",
            "high", {"attack.impact", "attack.t1498", "bulwark.affected.source"}),
       "flow_record", Ignoring(MakeFloodFrom)},
      {"exfiltration",
       Rule("b5b09ed5-77b0-4167-9d1b-b112116c290a",
            "Exfiltration: bytes sent far above the system's baseline (flows)", "flow_exfiltration",
            "medium", {"attack.exfiltration", "attack.t1048", "bulwark.affected.source"}),
       "flow_record", Ignoring(MakeExfiltration)},
      {"spoofing",
       Rule("33524758-e35a-4c0c-b8f4-6483aedc9d88",
            "Spoofing: traffic or ARP from an address the sending system does not hold",
            "address_spoofing", "high",
            {"attack.collection", "attack.credential-access", "attack.t1557.002",
             "attack.defense-evasion", "bulwark.affected.host"}),
       "mac_address_seen",
       [](const Settings&, std::shared_ptr<const AddressBook> book) {
         return book ? MakeSpoofing(std::move(book)) : nullptr;
       }},
  };
  return kRegistry;
}

std::vector<detect::DetectorRule> DetectorRules() {
  std::vector<detect::DetectorRule> rules;
  for (const DetectorSpec& spec : Registry()) rules.push_back({spec.rule, spec.input_rule});
  return rules;
}

}  // namespace bulwark::flowdetect
