// Answers of services, as the scanner reads them: every probe's patterns and every check's
// pattern run on any bytes without a crash; a named service always has a classification, and a
// CPE name always has the CPE 2.3 prefix.
#include <re2/re2.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bulwark/scan/scanner.h"
#include "bulwark/scan/service_db.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using bulwark::scan::ServiceDb;
  std::string_view answer(reinterpret_cast<const char*>(data), size);
  const ServiceDb& db = ServiceDb::Builtin();
  for (const auto& probe : db.probes()) {
    auto identity = ServiceDb::Identify(probe, answer);
    if (!identity) continue;
    if (identity->service.empty() || !db.ServiceClassification(identity->service)) {
      __builtin_trap();
    }
    if (!identity->cpe.empty() && !identity->cpe.starts_with("cpe:2.3:")) __builtin_trap();
  }
  for (const auto& check : db.checks()) {
    if (RE2::PartialMatch(re2::StringPiece(answer.data(), answer.size()), *check.pattern)) {
      ServiceDb::Expand(*check.pattern, answer, check.version);
    }
  }
  std::string printable = bulwark::scan::Printable(answer);
  for (char c : printable) {
    if (static_cast<unsigned char>(c) >= 0x7f) __builtin_trap();  // always plain ASCII
  }
  return 0;
}
