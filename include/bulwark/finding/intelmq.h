#pragma once
// Findings in IntelMQ's harmonized format: JSON objects with flat dotted keys ("source.ip",
// "classification.type", "time.source", ...; nested objects are flattened the same way). The
// mapping is documented in docs/findings.md; docs/finding.schema.json is the JSON Schema.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "bulwark/core/result.h"
#include "bulwark/input/json_flatten.h"
#include "bulwark/model/finding.h"

namespace bulwark::finding {

// Reads one harmonized event. Required: feed.name, classification.type (or a taxonomy and an
// identifier), time.source, source.ip. classification.taxonomy is derived from the type when
// absent and must fit it when present (RSIT). time.observation defaults to `received`. CVE ids
// are collected from classification.identifier and any key naming a CVE. Errors name the key and
// the reason ("time.source: '2026-13-01' is not an RFC 3339 time").
Result<model::Finding> ParseHarmonized(std::string_view json, TimeNs received,
                                       input::JsonFlattener& flattener);

// Harmonized keys and their values, as a parsed event holds them.
using HarmonizedFields = std::map<std::string, std::string, std::less<>>;

// The same checks as ParseHarmonized, on keys already read (from a CSV row, say).
Result<model::Finding> FromHarmonizedFields(HarmonizedFields fields, TimeNs received);

// What a customer may see of a finding about their system. A detection on logs the provider
// collected (feed "bulwark-detect") comes from the attacked party's logs, so its raw lines and
// the attacked host, user and address stay out: the attack is told by its rule, time, count and
// the customer's own address and port. Findings of other feeds (a third party's report about the
// customer's system) are unchanged.
model::Finding CustomerView(model::Finding finding);

// The finding as one harmonized JSON object (keys sorted), as ParseHarmonized reads it back.
std::string ToHarmonizedJson(const model::Finding& finding);

// The RSIT taxonomy of an IntelMQ classification.type ("vulnerable-system" -> "vulnerable").
std::optional<std::string_view> TaxonomyOfType(std::string_view type);

}  // namespace bulwark::finding
