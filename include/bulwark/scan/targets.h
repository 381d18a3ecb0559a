#pragma once
// What `bulwark scan` is asked to probe: addresses from "ADDR" or "CIDR", ports from a list.
// Pure functions; thread-safe.

#include <string_view>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/core/time.h"
#include "bulwark/event/ip.h"
#include "bulwark/inventory/attribution.h"
#include "bulwark/model/inventory.h"

namespace bulwark::scan {

// Ports from "22,80,8000-8010", "top" (the 100 ports Bulwark scans by default: remote access,
// mail, web, databases, caches, container and cluster APIs), "all" (1-65535), or a mix
// ("top,9999"), or "none" (no port). Sorted, without repeats. Errors name the part that is no
// port or range.
Result<std::vector<int>> ParsePorts(std::string_view spec);

// Every address of a prefix, network and broadcast addresses included (a cloud's /32 and /128
// are the usual case). Errors: more than `max` addresses.
Result<std::vector<event::IpAddress>> AddressesOf(const model::Prefix& prefix, size_t max);

// ADDR or CIDR (host bits zero) to addresses. Errors: neither, or more than `max` addresses.
Result<std::vector<event::IpAddress>> ExpandTarget(std::string_view spec, size_t max);

// A target of `bulwark scan` and of serve's schedules: ADDR, CIDR, a system id (the addresses it
// holds at `at`), or "customer:ID" (the addresses its internet-facing systems hold at `at`).
// Errors: none of these, a customer or system holding nothing, more than `max` addresses.
Result<std::vector<event::IpAddress>> ResolveTarget(const std::string& target,
                                                    const inventory::AttributionIndex& index,
                                                    TimeNs at, size_t max = size_t{1} << 20);

}  // namespace bulwark::scan
