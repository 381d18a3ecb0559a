#pragma once
// The normalized event: the raw line plus typed fields named after the Elastic Common Schema.
// An Event is reused across lines (Clear()) to avoid allocation. Not thread-safe; one per thread.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/time.h"
#include "bulwark/event/fields.h"
#include "bulwark/event/ip.h"

namespace bulwark::event {

class Event {
 public:
  struct Entry {
    FieldId id;
    uint32_t offset;  // into the event's storage, or into raw() when kInRaw is set
    uint32_t length;
  };
  static constexpr uint32_t kInRaw = uint32_t{1} << 31;

  void Clear();
  // Removes every field and the timestamp; keeps raw().
  void ClearFields();

  // Sets (or replaces) a field. Text of kIp fields is parsed and stored canonically; returns false
  // (and sets nothing) when an IP field's text is not an address or the id is invalid. A value
  // that lies within raw() is not copied: the field refers to those bytes of the raw line.
  bool Set(FieldId id, std::string_view value) {
    if (id == kInvalidField || TypeOf(id) == FieldType::kIp) return Store(id, value, true);
    Put(id, value, true);
    return true;
  }
  bool Set(std::string_view name, std::string_view value) { return Set(InternField(name), value); }
  // Adds one more value to a field (multi-valued fields, e.g. JSON arrays); same checks as Set.
  bool Add(FieldId id, std::string_view value);
  bool Add(std::string_view name, std::string_view value) { return Add(InternField(name), value); }
  void SetInt(FieldId id, int64_t value);
  // Adds field `id` with the text of field `same_as` (which must have been set), without
  // storing the text again: for fields that are one value under two names (host.name and
  // host.hostname of a syslog header). False when `same_as` is absent or `id` is invalid.
  bool AddSameAs(FieldId id, FieldId same_as);
  // The text of a field, if present. @timestamp is rendered from timestamp() on demand when it
  // was not set as a field.
  std::optional<std::string_view> Get(FieldId id) const {
    if (const Entry* entry = Find(id)) return View(*entry);
    if (id == fid::kTimestamp && has_timestamp_) return RenderTimestamp();
    return std::nullopt;
  }
  bool Has(FieldId id) const {
    return Find(id) != nullptr || (id == fid::kTimestamp && has_timestamp_);
  }
  std::optional<int64_t> GetInt(FieldId id) const;
  std::optional<IpAddress> GetIp(FieldId id) const;
  // Present fields in insertion order; views are valid until the next mutation.
  size_t size() const { return entries_.size(); }
  std::string_view NameAt(size_t i) const { return FieldName(entries_[i].id); }
  FieldId IdAt(size_t i) const { return entries_[i].id; }
  std::string_view ValueAt(size_t i) const { return View(entries_[i]); }

  // Event time. Get(fid::kTimestamp) renders it as RFC 3339 when asked; it is not stored as a
  // field (so the stored fields are what the input carried or decoders extracted).
  TimeNs timestamp() const { return timestamp_; }
  void SetTimestamp(TimeNs ns) {
    timestamp_ = ns;
    has_timestamp_ = true;
  }

  // The raw input line the event came from (ECS event.original). Views of it stay valid while
  // fields are set, until the next SetRaw() or Clear(): a parser sets fields from views of raw()
  // and they are stored without a copy.
  std::string_view raw() const { return raw_; }
  // Replaces the raw line; fields set from the old one keep their values.
  void SetRaw(std::string_view raw);
  // True when `value` lies within raw(), so that it stays valid while fields are set.
  bool InRaw(std::string_view value) const {
    auto begin = reinterpret_cast<uintptr_t>(raw_.data());
    auto at = reinterpret_cast<uintptr_t>(value.data());
    return at >= begin && at + value.size() <= begin + raw_.size();
  }

 private:
  const Entry* Find(FieldId id) const {
    if (!MaybePresent(id)) return nullptr;
    for (const Entry& entry : entries_) {
      if (entry.id == id) return &entry;
    }
    return nullptr;
  }
  std::string_view View(const Entry& entry) const {
    const char* base = (entry.offset & kInRaw) ? raw_.data() : storage_.data();
    return std::string_view(base + (entry.offset & ~kInRaw), entry.length);
  }
  std::string_view RenderTimestamp() const;
  bool Store(FieldId id, std::string_view value, bool replace);
  // Points the entry of `id` (the first entry of `id` when `replace`, else a new one) at `value`:
  // at its bytes in raw() when it lies there, else at a copy appended to the storage. No checks.
  void Put(FieldId id, std::string_view value, bool replace) {
    // The common case inline: a new field whose text lies in the raw line.
    if (!value.empty() && InRaw(value) && !(replace && MaybePresent(id)) &&
        entries_.size() < entries_.capacity()) {
      Append(Entry{id, static_cast<uint32_t>(value.data() - raw_.data()) | kInRaw,
                   static_cast<uint32_t>(value.size())});
      raw_referenced_ = true;
      return;
    }
    PutAny(id, value, replace);
  }
  void PutAny(FieldId id, std::string_view value, bool replace);
  // Adds an entry and marks its field present.
  void Append(Entry entry) {
    entries_.push_back(entry);
    if (entry.id < kPresenceBits) present_[entry.id >> 6] |= uint64_t{1} << (entry.id & 63);
  }
  // One bit per field id below kPresenceBits (the well-known fields and the first interned ones):
  // a clear bit means the field is absent, so most lookups of absent fields and most first
  // stores skip the scan of the entries. Ids above it are always scanned.
  static constexpr FieldId kPresenceBits = 256;
  bool MaybePresent(FieldId id) const {
    return id >= kPresenceBits || ((present_[id >> 6] >> (id & 63)) & 1) != 0;
  }
  std::string storage_;
  std::vector<Entry> entries_;
  std::array<uint64_t, kPresenceBits / 64> present_{};
  std::string raw_;
  bool raw_referenced_ = false;  // some entry refers to raw_
  TimeNs timestamp_ = 0;
  bool has_timestamp_ = false;
  mutable std::string timestamp_text_;
};

}  // namespace bulwark::event
