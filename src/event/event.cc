#include "bulwark/event/event.h"

#include <charconv>

#include "bulwark/core/strings.h"

namespace bulwark::event {

void Event::Clear() {
  storage_.clear();
  entries_.clear();
  present_ = {};
  raw_.clear();
  timestamp_ = 0;
  has_timestamp_ = false;
}

const Event::Entry* Event::Find(FieldId id) const {
  if (!MaybePresent(id)) return nullptr;
  for (const Entry& entry : entries_) {
    if (entry.id == id) return &entry;
  }
  return nullptr;
}

bool Event::Set(FieldId id, std::string_view value) {
  return Store(id, value, true);
}

bool Event::Add(FieldId id, std::string_view value) {
  return Store(id, value, false);
}

namespace {

// "192.0.2.1": four decimal octets without leading zeros (what IpAddress::ToString writes).
bool IsCanonicalDottedQuad(std::string_view text) {
  int dots = 0, digits = 0;
  char first = 0;
  for (char c : text) {
    if (c == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = 0;
    } else if (c >= '0' && c <= '9') {
      if (digits == 0) first = c;
      if (++digits > 1 && first == '0') return false;
      if (digits > 3) return false;
    } else {
      return false;
    }
  }
  return dots == 3 && digits > 0;
}

}  // namespace

bool Event::Store(FieldId id, std::string_view value, bool replace) {
  if (id == kInvalidField) return false;
  std::string canonical;
  if (TypeOf(id) == FieldType::kIp) {
    auto ip = IpAddress::Parse(value);
    if (!ip) return false;
    // A plain dotted quad is its own canonical text; everything else is rewritten.
    if (!ip->is_v4() || !IsCanonicalDottedQuad(value)) {
      canonical = ip->ToString();
      value = canonical;
    }
  }
  auto offset = static_cast<uint32_t>(storage_.size());
  storage_.append(value);
  if (replace && MaybePresent(id)) {
    for (Entry& entry : entries_) {
      if (entry.id == id) {
        entry.offset = offset;
        entry.length = static_cast<uint32_t>(value.size());
        return true;
      }
    }
  }
  entries_.push_back(Entry{id, offset, static_cast<uint32_t>(value.size())});
  if (id < kPresenceBits) present_[id >> 6] |= uint64_t{1} << (id & 63);
  return true;
}

void Event::SetInt(FieldId id, int64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  Set(id, std::string_view(buffer, static_cast<size_t>(end - buffer)));
}

std::optional<std::string_view> Event::Get(FieldId id) const {
  const Entry* entry = Find(id);
  if (!entry) {
    if (id != fid::kTimestamp || !has_timestamp_) return std::nullopt;
    timestamp_text_ = FormatTimestamp(timestamp_);
    return std::string_view(timestamp_text_);
  }
  return std::string_view(storage_).substr(entry->offset, entry->length);
}

std::optional<int64_t> Event::GetInt(FieldId id) const {
  auto text = Get(id);
  if (!text) return std::nullopt;
  return ParseInt(*text);
}

std::optional<IpAddress> Event::GetIp(FieldId id) const {
  auto text = Get(id);
  if (!text) return std::nullopt;
  return IpAddress::Parse(*text);
}

}  // namespace bulwark::event
