#pragma once
// The detectors of the registry (registry.cc), made from their settings.

#include "bulwark/flowdetect/detector.h"

namespace bulwark::flowdetect {

std::unique_ptr<Detector> MakeThresholdRandomWalk(const Settings& settings);
std::unique_ptr<Detector> MakeBeaconing(const Settings& settings);
std::unique_ptr<Detector> MakeFloodToward(const Settings& settings);
std::unique_ptr<Detector> MakeFloodFrom(const Settings& settings);
std::unique_ptr<Detector> MakeExfiltration(const Settings& settings);
std::unique_ptr<Detector> MakeSpoofing(std::shared_ptr<const AddressBook> book);

}  // namespace bulwark::flowdetect
