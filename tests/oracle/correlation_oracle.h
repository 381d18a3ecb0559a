#pragma once
// The reference for Sigma correlations, used only by tests: every event of every group is kept
// in a plain list and each decision is recomputed from that list, as docs/rules.md states the
// semantics. Compared call by call with detect::CorrelationEngine, whose bounded hash tables,
// saturating buckets and folded value hashes it does not have.
//
// Time is counted in whole seconds from 86,400 s before the first event fed (as the engine
// counts). A group's window ends at its newest event; an event older than the window does not
// count and changes nothing. event_count counts in buckets of ceil(timespan / 8) s: an event
// counts while its bucket is one of the last 8 of its group (never before the group's first
// bucket); a bucket counts at most 255. value_count counts the distinct values seen within the
// timespan, temporal the inputs seen within the timespan, temporal_ordered the same once the last
// step arrives, a step only counting after the step before was seen within the timespan. When the
// condition holds the correlation fires with that count and the group starts again empty.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bulwark/core/time.h"
#include "bulwark/sigma/rule.h"

namespace bulwark::oracle {

class CorrelationOracle {
 public:
  // One entry per correlation, in the engine's order; `inputs` = number of referenced rules.
  void Add(const sigma::Correlation& spec, size_t inputs);

  // An event for input `position` of correlation `correlation` in group `key` with the
  // value_count field's value `value`. Returns the count that made it fire, or 0.
  int64_t Feed(size_t correlation, size_t position, TimeNs timestamp, const std::string& key,
               const std::string& value);

 private:
  struct Event {
    uint32_t second;
    size_t position;
    std::string value;
  };
  struct Group {
    std::vector<Event> events;  // since the group started
    int64_t first_bucket = -1;  // event_count: the bucket of the event that started it
  };
  struct Entry {
    sigma::Correlation spec;
    size_t inputs = 0;
    std::map<std::string, Group> groups;
  };
  uint32_t Second(TimeNs timestamp);
  std::vector<Entry> entries_;
  bool have_epoch_ = false;
  TimeNs epoch_ = 0;
};

}  // namespace bulwark::oracle
