// Shadowserver CSV reports: any input is read or rejected row by row, never a crash; every row is
// either a finding or a rejection. The schema is a small one of the published format.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bulwark/abuse/shadowserver.h"

namespace {
constexpr std::string_view kSchema = R"({
 "scan_redis": {
  "feed_name": "Open-Redis", "file_name": "scan_redis",
  "constant_fields": {"classification.taxonomy": "vulnerable",
                      "classification.type": "vulnerable-system",
                      "classification.identifier": "open-redis"},
  "required_fields": [["time.source", "timestamp", "add_UTC_to_timestamp"],
                      ["source.ip", "ip", "validate_ip"], ["source.port", "port", "convert_int"]],
  "optional_fields": [["severity", "severity", "validate_to_none"], ["extra.", "tag", "validate_to_none"],
                      ["product.vulnerabilities", "tag", "extract_cve_from_tag"],
                      ["source.asn", "asn", "invalidate_zero"], ["extra.", "up", "convert_bool"],
                      ["destination.url", "url", "convert_http_host_and_url", true],
                      ["extra.", "seen", "convert_date"], ["extra.", "ratio", "convert_float"]]
 }})";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto schema = bulwark::abuse::ShadowserverSchema::Parse(kSchema);
  if (!schema) __builtin_trap();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto report =
      bulwark::abuse::ParseShadowserverCsv(text, *schema->Find("scan_redis"), "fuzz.csv", 0);
  if (report && report->findings.size() + report->rejected.size() != report->rows) {
    __builtin_trap();
  }
  return 0;
}
