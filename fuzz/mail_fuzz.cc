// Mail/MIME: any input is a mail with problems or "not a mail", never a crash; every text part
// comes out as valid UTF-8, and zipped attachments unpack or fail cleanly.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bulwark/core/strings.h"
#include "bulwark/mail/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto message = bulwark::mail::Parse(bytes);
  if (!message) return 0;
  if (!bulwark::IsValidUtf8(message->subject)) __builtin_trap();
  for (const auto& part : message->parts) {
    if (!bulwark::IsValidUtf8(part.text)) __builtin_trap();
    if (part.filename.ends_with(".zip")) (void)bulwark::mail::Unzip(part.data, 1 << 20);
  }
  return 0;
}
