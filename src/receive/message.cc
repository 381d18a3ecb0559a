#include "bulwark/receive/message.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace bulwark::receive {

namespace {
constexpr size_t kHeader = 16 + 8 + 2;  // sender, arrival time, name length
}  // namespace

std::string EncodeQueued(const QueuedMessage& message) {
  std::string out;
  std::string_view name = std::string_view(message.sender_name).substr(0, UINT16_MAX);
  out.reserve(kHeader + name.size() + message.text.size());
  const auto& bytes = message.sender.bytes();
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  out.append(reinterpret_cast<const char*>(&message.received), sizeof message.received);
  auto length = static_cast<uint16_t>(name.size());
  out.append(reinterpret_cast<const char*>(&length), sizeof length);
  out.append(name);
  out.append(message.text);
  return out;
}

Result<QueuedMessage> DecodeQueued(std::string_view record) {
  if (record.size() < kHeader) return Fail("a queued message shorter than its header");
  QueuedMessage message;
  std::array<uint8_t, 16> bytes;
  std::memcpy(bytes.data(), record.data(), 16);
  message.sender = event::IpAddress::FromBytes(bytes);
  std::memcpy(&message.received, record.data() + 16, sizeof message.received);
  uint16_t length = 0;
  std::memcpy(&length, record.data() + 24, sizeof length);
  if (record.size() < kHeader + length) return Fail("a queued message shorter than its name");
  message.sender_name = std::string(record.substr(kHeader, length));
  message.text = std::string(record.substr(kHeader + length));
  return message;
}

}  // namespace bulwark::receive
