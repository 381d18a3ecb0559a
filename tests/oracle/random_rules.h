#pragma once
// Seeded random Sigma rules and events for differential tests (the matcher against SigmaOracle)
// and for the differential fuzz target. The same seed gives the same rules and events on every
// machine: the generator uses its own arithmetic, not <random>'s distributions.

#include <cstdint>
#include <string>
#include <vector>

#include "bulwark/detect/ruleset.h"
#include "bulwark/event/event.h"

namespace bulwark::oracle {

// splitmix64: small, fast, and the same everywhere. Given bytes (a fuzzer's input), it draws from
// them first, so that the fuzzer steers every choice; then it goes on with splitmix64.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  Random(const uint8_t* data, size_t size) : state_(size), data_(data), left_(size) {}
  uint64_t Next();
  size_t Below(size_t bound) { return bound == 0 ? 0 : static_cast<size_t>(Next() % bound); }
  bool Chance(unsigned percent) { return Below(100) < percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Below(items.size())];
  }

 private:
  uint64_t state_;
  const uint8_t* data_ = nullptr;
  size_t left_ = 0;
};

// Field names, values and the field map the generated rules and events share.
struct Vocabulary {
  // The field map rules are compiled with: a few mapped names (one with two targets), a prefix,
  // placeholders; logsource routing off.
  static detect::CompileOptions Options();
  // The same with routing on: routes for the generated rules' logsources (one with
  // alternatives, field names resolved through the field map).
  static detect::CompileOptions RoutedOptions();
};

// One field of a generated event; several entries of one name make a multi-valued field.
struct EventField {
  std::string name;
  std::string value;
};

struct GeneratedEvent {
  std::vector<EventField> fields;
  std::string raw;  // the raw line (JSON of the fields when `json` is set)
  TimeNs timestamp = 0;
};

class CaseGenerator {
 public:
  explicit CaseGenerator(uint64_t seed) : random_(seed) {}
  explicit CaseGenerator(Random random) : random_(random) {}
  // `count` rules (YAML documents, ids r0001...), with a filter now and then. Remembers their
  // values, so that events can be built to hit them.
  std::string Rules(size_t count);
  // An event built from the remembered values: some fields carry a value near one of a rule's
  // (changed in case, cut, embedded in filler of lengths 0-4,096), others are noise. With
  // `json_safe`, no NUL bytes (the JSON reader replaces them).
  GeneratedEvent Event(bool json_safe);
  // The event as a JSON line (multi-valued fields as arrays).
  static std::string ToJson(const GeneratedEvent& event);
  // The event as an event::Event, as a reader would have built it.
  static void Fill(const GeneratedEvent& generated, event::Event& event);

  Random& random() { return random_; }

 private:
  std::string Value(bool for_event);
  std::string Filler(size_t length);
  size_t Length();
  std::string Item(std::string& field_out);
  Random random_;
  std::vector<std::string> atoms_;  // literal parts of the generated rules' values
  size_t next_rule_ = 1;
};

}  // namespace bulwark::oracle
