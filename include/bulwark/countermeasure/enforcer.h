#pragma once
// Enforcers put countermeasures in place and take them away: nftables at a bridge or router the
// provider runs, the cloud's API. Each is a component registered by name and chosen by the
// configuration (countermeasures.enforcers). The controller (Countermeasures) decides what is to
// be in place; an enforcer only makes it so and tells what is there.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/core/time.h"
#include "bulwark/model/countermeasure.h"

namespace bulwark::countermeasure {

// What a countermeasure is put on, resolved from the inventory when it is applied.
struct Target {
  // Enforcement keys of the system's interfaces: the switch or bridge port, or the cloud's NIC
  // id (model::Interface::port). Never an address: a system can add itself another one.
  std::vector<std::string> ports;
  std::vector<std::string> macs;       // for the preview and the evidence
  std::vector<std::string> addresses;  // held now: conntrack flushing, preview, mails
  std::string server_id;               // the cloud's server id (stackit: the system id)
  std::string project_id;

  bool operator==(const Target&) const = default;
};

// One countermeasure with its target: the unit enforcers work on.
struct Enforcement {
  model::Countermeasure countermeasure;
  Target target;
};

enum class Presence {
  kAbsent,   // nothing of it is in place
  kPartial,  // some of it (the detail says what is missing)
  kPresent,  // all of it
};
const char* PresenceName(Presence presence);  // "absent", "partial", "present"

struct Observation {
  Presence presence = Presence::kAbsent;
  std::string detail;  // what is missing or different; empty when present
};

class Enforcer {
 public:
  virtual ~Enforcer() = default;
  virtual std::string_view name() const = 0;
  virtual bool Supports(model::CountermeasureKind kind) const = 0;

  // What is there now that applying `enforcement` will change (JSON), merged with what its
  // countermeasure recorded already; "" when nothing needs restoring (nftables). The controller
  // stores it durably before Apply is called, so that a failure or a crash in the middle of an
  // apply can still be rolled back to exactly what was there.
  virtual Result<std::string> Record(const Enforcement&) { return std::string(); }

  // Puts every enforcement of `batch` in place while keeping those of `others` (every other
  // countermeasure of this enforcer that is to stay in place), in one transaction where the
  // enforcer has them (nftables: all or nothing). Idempotent: what is in place already counts as
  // done. Returns, per enforcement of `batch`, the JSON record of what was there before (Lift
  // restores it; "" when there is nothing to restore); an enforcement whose countermeasure has a
  // record already gets it back with what is new added (a NIC that appeared since), never with
  // what the countermeasure itself put there. Errors name the enforcement and the
  // enforcer's reason; nothing of a failed nftables batch is in place.
  virtual Result<std::vector<std::string>> Apply(std::span<const Enforcement> batch,
                                                 std::span<const Enforcement> others,
                                                 TimeNs now) = 0;
  // Takes every enforcement of `batch` away (restoring what its countermeasure recorded) while
  // keeping `others`. What is not there counts as done.
  virtual Result<void> Lift(std::span<const Enforcement> batch, std::span<const Enforcement> others,
                            TimeNs now) = 0;
  // What of each enforcement is in place now.
  virtual Result<std::vector<Observation>> Observe(std::span<const Enforcement> batch) = 0;
};

}  // namespace bulwark::countermeasure
