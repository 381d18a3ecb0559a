#include "bulwark/event/fields.h"

#include <array>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

namespace bulwark::event {

namespace {

// Field types by id, readable without touching the registry (hot path of Event::Set). Written
// once per id before the id is handed out; relaxed atomics make the unsynchronised reads benign.
std::atomic<uint8_t> g_types[kInvalidField];

class Registry {
 public:
  Registry() {
    for (std::string_view name : field_detail::kWellKnown) Add(name);
  }

  FieldId Intern(std::string_view name) {
    {
      std::shared_lock lock(mutex_);
      if (auto it = ids_.find(name); it != ids_.end()) return it->second;
    }
    std::unique_lock lock(mutex_);
    if (auto it = ids_.find(name); it != ids_.end()) return it->second;
    if (names_.size() >= kInvalidField) return kInvalidField;
    return Add(name);
  }

  std::optional<FieldId> Find(std::string_view name) {
    std::shared_lock lock(mutex_);
    if (auto it = ids_.find(name); it != ids_.end()) return it->second;
    return std::nullopt;
  }

  // Lock-free: entries below `published_` never change once written.
  std::string_view Name(FieldId id) const {
    return id < published_.load(std::memory_order_acquire) ? std::string_view(*by_id_[id])
                                                           : std::string_view("?");
  }

 private:
  FieldId Add(std::string_view name) {
    auto id = static_cast<FieldId>(names_.size());
    names_.emplace_back(name);  // std::deque keeps element addresses stable
    by_id_[id] = &names_.back();
    g_types[id].store(static_cast<uint8_t>(field_detail::DeriveType(name)),
                      std::memory_order_relaxed);
    ids_.emplace(std::string_view(names_.back()), id);
    published_.store(id + 1u, std::memory_order_release);
    return id;
  }

  std::shared_mutex mutex_;  // guards names_ and ids_ for writers and name lookups
  std::deque<std::string> names_;
  std::unordered_map<std::string_view, FieldId> ids_;
  std::unique_ptr<const std::string*[]> by_id_ =
      std::make_unique<const std::string*[]>(kInvalidField);
  std::atomic<uint32_t> published_{0};
};

Registry& TheRegistry() {
  static Registry registry;
  return registry;
}

}  // namespace

FieldId InternField(std::string_view name) {
  return TheRegistry().Intern(name);
}
std::optional<FieldId> FindField(std::string_view name) {
  return TheRegistry().Find(name);
}
std::string_view FieldName(FieldId id) {
  return TheRegistry().Name(id);
}
FieldType TypeOfInterned(FieldId id) {
  if (id < fid::kCount) return field_detail::kWellKnownTypes[id];
  if (id >= kInvalidField) return FieldType::kString;
  return static_cast<FieldType>(g_types[id].load(std::memory_order_relaxed));
}

}  // namespace bulwark::event
