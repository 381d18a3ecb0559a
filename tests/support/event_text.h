#pragma once
// An event as one line of text (time, then every field in order) for tests and fuzz targets
// that compare two events for equality.

#include <string>

#include "bulwark/event/event.h"

namespace bulwark::testing_support {

inline std::string EventText(const event::Event& event) {
  std::string text = std::to_string(event.timestamp());
  for (size_t i = 0; i < event.size(); ++i) {
    text.append("|").append(event.NameAt(i)).append("=").append(event.ValueAt(i));
  }
  return text;
}

}  // namespace bulwark::testing_support
