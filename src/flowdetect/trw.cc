// Threshold random walk over first contacts (see Settings::Trw).

#include <array>
#include <cmath>

#include "bulwark/core/flat_table.h"
#include "bulwark/core/hash.h"
#include "detectors.h"

namespace bulwark::flowdetect {

namespace {

// One source's walk: the log of its likelihood ratio, the failures counted in it, and the
// destinations (address and port, hashed) it contacted lately: a contact not among them is a
// first contact. 48 bytes.
struct Walk {
  float log_ratio = 0;
  uint16_t failures = 0;
  uint8_t next = 0;  // slot of `recent` to write next
  std::array<uint32_t, 10> recent{};
};

class ThresholdRandomWalk : public Detector {
 public:
  explicit ThresholdRandomWalk(const Settings::Trw& s)
      : failure_step_(std::log((1 - s.theta1) / (1 - s.theta0))),
        success_step_(std::log(s.theta1 / s.theta0)),
        upper_(std::log(s.detection / s.false_positive)),
        lower_(std::log((1 - s.detection) / (1 - s.false_positive))),
        max_sources_(std::max<size_t>(s.max_sources, 1)) {}

  void Observe(const Observation& o, std::vector<Detection>& out) override {
    if (o.outcome == Observation::Outcome::kUnknown) return;
    uint64_t source = AddressKey(o.source);
    auto contact = static_cast<uint32_t>(Mix64(AddressKey(o.destination) + o.destination_port));
    if (contact == 0) contact = 1;
    bool inserted = false;
    if (!walks_.Find(source) && walks_.size() >= max_sources_) {
      walks_.EvictOne(source, [](Walk&) {});
    }
    Walk& walk = walks_.FindOrInsert(source, inserted);
    for (uint32_t seen : walk.recent) {
      if (seen == contact) return;  // not a first contact
    }
    walk.recent[walk.next] = contact;
    walk.next = static_cast<uint8_t>((walk.next + 1) % walk.recent.size());
    bool failed = o.outcome == Observation::Outcome::kFailed;
    walk.log_ratio += static_cast<float>(failed ? failure_step_ : success_step_);
    if (failed) ++walk.failures;
    if (walk.log_ratio >= upper_) {
      out.push_back(Detection{{{"source.ip", o.source.ToString()}}, walk.failures});
      walks_.Erase(source);
    } else if (walk.log_ratio <= lower_) {
      walk.log_ratio = 0;  // benign: the walk starts again
      walk.failures = 0;
    }
  }
  size_t keys() const override { return walks_.size(); }
  size_t memory_bytes() const override { return walks_.memory_bytes(); }

 private:
  const double failure_step_, success_step_, upper_, lower_;
  const size_t max_sources_;
  FlatTable<Walk> walks_;
};

}  // namespace

std::unique_ptr<Detector> MakeThresholdRandomWalk(const Settings& settings) {
  return std::make_unique<ThresholdRandomWalk>(settings.trw);
}

}  // namespace bulwark::flowdetect
