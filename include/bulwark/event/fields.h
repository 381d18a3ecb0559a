#pragma once
// Field names are interned into small integer ids so that events and compiled rules agree on them
// cheaply. Names follow the Elastic Common Schema. The registry is process-wide and thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::event {

using FieldId = uint16_t;
inline constexpr FieldId kInvalidField = 0xFFFF;

// How a field's text is interpreted.
enum class FieldType : uint8_t { kString, kInteger, kIp, kTimestamp };

// Well-known fields, registered first and in this order, so their ids are constants.
namespace fid {
enum : FieldId {
  kTimestamp = 0,  // @timestamp
  kMessage,
  kHostName,
  kHostHostname,
  kProcessName,
  kProcessPid,
  kSourceIp,
  kSourcePort,
  kSourceAddress,
  kSourceDomain,
  kDestinationIp,
  kDestinationPort,
  kUserName,
  kEventAction,
  kEventOutcome,
  kEventCategory,
  kNetworkTransport,
  kLogSyslogPriority,
  kLogSyslogFacilityCode,
  kLogSyslogSeverityCode,
  kLogSyslogAppname,
  kLogSyslogProcid,
  kLogSyslogMsgid,
  kLogSyslogVersion,
  kLogSyslogHostname,
  kEventOriginal,
  kCount  // number of well-known fields
};
}  // namespace fid

// Returns the id of `name`, registering it when new. Returns kInvalidField once the registry is
// full (65,534 names): the caller drops the field and counts it.
FieldId InternField(std::string_view name);
// The id of `name` if registered.
std::optional<FieldId> FindField(std::string_view name);
// The name of a registered id.
std::string_view FieldName(FieldId id);

// The names of the well-known fields in id order and their types, as constants.
namespace field_detail {
inline constexpr std::string_view kWellKnown[] = {
    "@timestamp",
    "message",
    "host.name",
    "host.hostname",
    "process.name",
    "process.pid",
    "source.ip",
    "source.port",
    "source.address",
    "source.domain",
    "destination.ip",
    "destination.port",
    "user.name",
    "event.action",
    "event.outcome",
    "event.category",
    "network.transport",
    "log.syslog.priority",
    "log.syslog.facility.code",
    "log.syslog.severity.code",
    "log.syslog.appname",
    "log.syslog.procid",
    "log.syslog.msgid",
    "log.syslog.version",
    "log.syslog.hostname",
    "event.original",
};
static_assert(sizeof(kWellKnown) / sizeof(kWellKnown[0]) == fid::kCount);

constexpr FieldType DeriveType(std::string_view name) {
  if (name == "@timestamp") return FieldType::kTimestamp;
  if (name.ends_with(".ip")) return FieldType::kIp;
  if (name.ends_with(".port") || name.ends_with(".pid") || name.ends_with(".bytes") ||
      name.ends_with("status_code") || name.ends_with(".code")) {
    return FieldType::kInteger;
  }
  return FieldType::kString;
}

inline constexpr auto kWellKnownTypes = [] {
  std::array<FieldType, fid::kCount> types{};
  for (size_t i = 0; i < types.size(); ++i) types[i] = DeriveType(kWellKnown[i]);
  return types;
}();
}  // namespace field_detail

// The type of any field id, looked up in the registry (TypeOf() is the cheap way to ask).
FieldType TypeOfInterned(FieldId id);
// The type of a field, derived from its name (ECS: *.ip, *.port, *.pid, *.bytes, *status_code ...).
// Well-known fields are answered without a lookup (and before the registry exists).
inline FieldType TypeOf(FieldId id) {
  return id < fid::kCount ? field_detail::kWellKnownTypes[id] : TypeOfInterned(id);
}

}  // namespace bulwark::event
