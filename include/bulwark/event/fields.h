#pragma once
// Field names are interned into small integer ids so that events and compiled rules agree on them
// cheaply. Names follow the Elastic Common Schema. The registry is process-wide and thread-safe.

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
// The type of a field, derived from its name (ECS: *.ip, *.port, *.pid, *.bytes, *status_code ...).
FieldType TypeOf(FieldId id);

}  // namespace bulwark::event
