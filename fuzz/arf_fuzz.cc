// ARF feedback reports and the report reader's mail path (CERT-Bund, X-ARF, attachments): any
// input is read or rejected with a reason; every finding links to the input's hash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bulwark/abuse/arf.h"
#include "bulwark/abuse/report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto message = bulwark::mail::Parse(bytes); message && bulwark::abuse::IsArf(*message)) {
    auto fields = bulwark::abuse::ReadArf(*message);
    if (fields && !fields->keys.count("source.ip")) __builtin_trap();
  }
  static const bulwark::abuse::ReportReader reader([] {
    bulwark::abuse::ReaderConfig config;
    config.mappings = bulwark::abuse::BuiltinCsvMappings();
    return config;
  }());
  auto summary = reader.Read(bytes, {"fuzz.eml", "mail", 0},
                             {[](bulwark::model::Finding finding) {
                                if (!finding.fields.count("extra.report.sha256")) __builtin_trap();
                              },
                              [](bulwark::Error error) {
                                if (error.message.empty()) __builtin_trap();
                              }});
  (void)summary;
  return 0;
}
