#include "bulwark/event/event.h"

#include <charconv>

#include "bulwark/core/strings.h"

namespace bulwark::event {

void Event::Clear() {
  ClearFields();
  raw_.clear();
}

void Event::ClearFields() {
  storage_.clear();
  entries_.clear();
  present_ = {};
  raw_referenced_ = false;
  timestamp_ = 0;
  has_timestamp_ = false;
}

void Event::SetRaw(std::string_view raw) {
  if (raw_referenced_) {  // the fields keep their values: copy them out of the old line
    for (Entry& entry : entries_) {
      if (!(entry.offset & kInRaw)) continue;
      std::string_view value = View(entry);
      entry.offset = static_cast<uint32_t>(storage_.size());
      storage_.append(value);
    }
    raw_referenced_ = false;
  }
  raw_.assign(raw);
}

bool Event::Add(FieldId id, std::string_view value) {
  return Store(id, value, false);
}

namespace {

// "192.0.2.1": four decimal octets from 0 to 255 without leading zeros, which is both a valid
// address and the text IpAddress::ToString writes for it.
bool IsCanonicalDottedQuad(std::string_view text) {
  int dots = 0, digits = 0, octet = 0;
  char first = 0;
  for (char c : text) {
    if (c == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = 0;
      octet = 0;
    } else if (c >= '0' && c <= '9') {
      if (digits == 0) first = c;
      if (++digits > 1 && first == '0') return false;
      octet = octet * 10 + (c - '0');
      if (octet > 255) return false;
    } else {
      return false;
    }
  }
  return dots == 3 && digits > 0;
}

}  // namespace

bool Event::Store(FieldId id, std::string_view value, bool replace) {
  if (id == kInvalidField) return false;
  // A plain dotted quad is its own canonical text; everything else is parsed and rewritten.
  if (TypeOf(id) == FieldType::kIp && !IsCanonicalDottedQuad(value)) [[unlikely]] {
    auto ip = IpAddress::Parse(value);
    if (!ip) return false;
    std::string canonical = ip->ToString();
    Put(id, canonical, replace);
    return true;
  }
  Put(id, value, replace);
  return true;
}

void Event::PutAny(FieldId id, std::string_view value, bool replace) {
  uint32_t offset;
  if (InRaw(value) && !value.empty()) {
    offset = static_cast<uint32_t>(value.data() - raw_.data()) | kInRaw;
    raw_referenced_ = true;
  } else {
    offset = static_cast<uint32_t>(storage_.size());
    storage_.append(value);
  }
  if (replace && MaybePresent(id)) {
    for (Entry& entry : entries_) {
      if (entry.id == id) {
        entry.offset = offset;
        entry.length = static_cast<uint32_t>(value.size());
        return;
      }
    }
  }
  Append(Entry{id, offset, static_cast<uint32_t>(value.size())});
}

bool Event::AddSameAs(FieldId id, FieldId same_as) {
  const Entry* source = Find(same_as);
  if (id == kInvalidField || source == nullptr) return false;
  Append(Entry{id, source->offset, source->length});
  return true;
}

void Event::SetInt(FieldId id, int64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  Set(id, std::string_view(buffer, static_cast<size_t>(end - buffer)));
}

std::string_view Event::RenderTimestamp() const {
  timestamp_text_ = FormatTimestamp(timestamp_);
  return timestamp_text_;
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
