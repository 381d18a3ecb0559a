#pragma once
// The detectors of the registry (registry.cc), made from their settings.

#include "bulwark/core/hash.h"
#include "bulwark/flowdetect/detector.h"

namespace bulwark::flowdetect {

// A 64-bit key for an address in a detector's table, mixed with `seed` (to combine keys).
inline uint64_t AddressKey(const event::IpAddress& address, uint64_t seed = 0) {
  const auto& b = address.bytes();
  uint64_t high = 0, low = 0;
  for (int i = 0; i < 8; ++i) high = high << 8 | b[i];
  for (int i = 8; i < 16; ++i) low = low << 8 | b[i];
  return Mix64(seed ^ Mix64(high ^ Mix64(low)));
}

std::unique_ptr<Detector> MakeThresholdRandomWalk(const Settings& settings);
std::unique_ptr<Detector> MakeBeaconing(const Settings& settings);
std::unique_ptr<Detector> MakeFloodToward(const Settings& settings);
std::unique_ptr<Detector> MakeFloodFrom(const Settings& settings);
std::unique_ptr<Detector> MakeExfiltration(const Settings& settings);
std::unique_ptr<Detector> MakeSpoofing(std::shared_ptr<const AddressBook> book);

}  // namespace bulwark::flowdetect
