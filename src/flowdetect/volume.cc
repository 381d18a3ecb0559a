// Volumes against a moving baseline: floods toward or from an address, exfiltration (see
// Settings::Volume).

#include <algorithm>
#include <cmath>

#include "bulwark/core/flat_table.h"
#include "bulwark/core/hash.h"
#include "detectors.h"

namespace bulwark::flowdetect {

namespace {

// One address: the counts of its current time bucket and the baselines (moving averages of
// earlier buckets' counts that raised no alert). 48 bytes.
struct Volume {
  int64_t bucket = 0;  // index of the current bucket
  float base_packets = 0, base_bytes = 0, base_flows = 0;
  uint32_t history = 0;  // buckets folded into the baselines
  uint64_t packets = 0, bytes = 0;
  uint32_t flows = 0;
  bool fired = false;  // in the current bucket
};

class VolumeDetector : public Detector {
 public:
  enum class Side { kSource, kDestination };
  VolumeDetector(const Settings::Volume& s, Side side) : s_(s), side_(side) {}

  void Observe(const Observation& o, std::vector<Detection>& out) override {
    const event::IpAddress& address = side_ == Side::kSource ? o.source : o.destination;
    uint64_t key = AddressKey(address);
    const int64_t width = std::max<int64_t>(s_.bucket / kNsPerSecond, 1);
    const int64_t bucket = o.time / kNsPerSecond / width;
    if (!volumes_.Find(key) && volumes_.size() >= s_.max_addresses) {
      volumes_.EvictOne(key, [](Volume&) {});
    }
    bool inserted = false;
    Volume& v = volumes_.FindOrInsert(key, inserted);
    if (inserted) v.bucket = bucket;
    if (bucket > v.bucket) Close(v, bucket);
    v.packets += o.packets;
    v.bytes += o.bytes;
    v.flows += 1;
    if (v.fired) return;
    // Each metric against the larger of its floor and `factor` times its baseline.
    const double seconds = static_cast<double>(width);
    struct Metric {
      double count, floor_per_second, baseline;
    } metrics[] = {
        {static_cast<double>(v.packets), s_.min_packets_per_second, v.base_packets},
        {static_cast<double>(v.bytes), s_.min_bytes_per_second, v.base_bytes},
        {static_cast<double>(v.flows), s_.min_flows_per_second, v.base_flows},
    };
    for (const Metric& m : metrics) {
      if (m.floor_per_second <= 0) continue;  // metric not used
      double threshold = std::max(m.floor_per_second * seconds, s_.factor * m.baseline);
      if (m.count < threshold) continue;
      v.fired = true;
      std::string side = side_ == Side::kSource ? "source.ip" : "destination.ip";
      out.push_back(Detection{{{side, address.ToString()}}, static_cast<int64_t>(m.count)});
      return;
    }
  }
  size_t keys() const override { return volumes_.size(); }
  size_t memory_bytes() const override { return volumes_.memory_bytes(); }

 private:
  // Folds the finished bucket into the baselines, unless it raised an alert against a baseline
  // (a flood does not become normal; without a baseline yet, the first bucket is the baseline,
  // so that an address busy from the start alerts once, not every bucket), decays them over
  // the empty buckets since, and starts bucket `bucket`.
  void Close(Volume& v, int64_t bucket) {
    auto fold = [&](float& base, double count) {
      base = v.history == 0 ? static_cast<float>(count)
                            : static_cast<float>(s_.smoothing * count + (1 - s_.smoothing) * base);
    };
    if (!v.fired || v.history == 0) {
      fold(v.base_packets, static_cast<double>(v.packets));
      fold(v.base_bytes, static_cast<double>(v.bytes));
      fold(v.base_flows, v.flows);
      ++v.history;
    }
    int64_t empty = std::min<int64_t>(bucket - v.bucket - 1, 1000);
    if (empty > 0 && v.history > 0) {
      auto decay = static_cast<float>(std::pow(1 - s_.smoothing, static_cast<double>(empty)));
      v.base_packets *= decay;
      v.base_bytes *= decay;
      v.base_flows *= decay;
    }
    v.bucket = bucket;
    v.packets = v.bytes = 0;
    v.flows = 0;
    v.fired = false;
  }

  const Settings::Volume s_;
  const Side side_;
  FlatTable<Volume> volumes_;
};

}  // namespace

std::unique_ptr<Detector> MakeFloodToward(const Settings& settings) {
  return std::make_unique<VolumeDetector>(settings.flood_toward,
                                          VolumeDetector::Side::kDestination);
}
std::unique_ptr<Detector> MakeFloodFrom(const Settings& settings) {
  return std::make_unique<VolumeDetector>(settings.flood_from, VolumeDetector::Side::kSource);
}
std::unique_ptr<Detector> MakeExfiltration(const Settings& settings) {
  return std::make_unique<VolumeDetector>(settings.exfiltration, VolumeDetector::Side::kSource);
}

}  // namespace bulwark::flowdetect
