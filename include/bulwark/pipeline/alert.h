#pragma once
// A detection alert inside the process: which rule fired, when, about what (its group-by or
// identity fields) and on which event. Alerts travel typed through an AlertSink; they become JSON
// only at the edge (WriteAlertJson: the JSON lines of `bulwark replay`, docs/rules.md).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "bulwark/core/time.h"
#include "bulwark/event/event.h"

namespace bulwark::pipeline {

struct Alert {
  TimeNs timestamp = 0;
  std::string_view rule_id, rule_title, rule_level;  // the Sigma rule's id, title and level
  std::span<const std::string> rule_tags;
  bool correlation = false;  // a correlation rule (then `count` is set)
  // A correlation's group-by fields, or a detection's identity (suppress_by) fields present in
  // its event: (name, value), in order.
  std::span<const std::pair<std::string_view, std::string_view>> group;
  int64_t count = 0;        // correlation: the events counted
  uint64_t suppressed = 0;  // alerts of this rule and group held back since the last one
  // The event that raised it, its input's name and line; event is null when events are left
  // out (ReplayOptions::include_events).
  const event::Event* event = nullptr;
  std::string_view input;
  uint64_t line = 0;

  // The value of `name` in the group, else in the event; empty when neither has it.
  std::string_view Field(std::string_view name) const;
};

// Receives the alerts of a run. The views of an Alert are valid during Take only. Called from
// one thread at a time.
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void Take(const Alert& alert) = 0;
  // The alerts of one batch of lines have all been taken.
  virtual void Flush() {}
};

// Appends `alert` as one JSON object (no newline).
void WriteAlertJson(const Alert& alert, std::string& out);

// Appends an event as the JSON object of an alert's "events" list: @timestamp first, fields by
// name (repeated ones as arrays, integers as numbers), then "log.file.path" and
// "log.file.line".
void WriteEventJson(const event::Event& event, std::string_view input, uint64_t line,
                    std::string& out);

}  // namespace bulwark::pipeline
