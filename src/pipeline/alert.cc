#include "bulwark/pipeline/alert.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "bulwark/core/json_writer.h"
#include "bulwark/core/strings.h"

namespace bulwark::pipeline {

std::string_view Alert::Field(std::string_view name) const {
  for (const auto& [key, value] : group) {
    if (key == name) return value;
  }
  if (!event) return {};
  if (auto id = event::FindField(name)) {
    if (auto value = event->Get(*id)) return *value;
  }
  if (name == "event.original") return event->raw();
  return {};
}

void WriteEventJson(const event::Event& event, std::string_view input, uint64_t line,
                    std::string& out) {
  JsonWriter json(out);
  json.BeginObject();
  json.Key("@timestamp");
  json.String(FormatTimestamp(event.timestamp()));
  std::vector<size_t> order(event.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return event.NameAt(a) < event.NameAt(b); });
  for (size_t k = 0; k < order.size();) {
    event::FieldId id = event.IdAt(order[k]);
    size_t end = k;
    while (end < order.size() && event.IdAt(order[end]) == id) ++end;
    if (id == event::fid::kTimestamp) {  // written first, normalised
      k = end;
      continue;
    }
    json.Key(event.NameAt(order[k]));
    if (end - k > 1) json.BeginArray();
    for (size_t j = k; j < end; ++j) {
      std::string_view value = event.ValueAt(order[j]);
      std::optional<int64_t> number;
      if (event::TypeOf(id) == event::FieldType::kInteger) number = ParseInt(value);
      if (number) {
        json.Int(*number);
      } else {
        json.String(value);
      }
    }
    if (end - k > 1) json.EndArray();
    k = end;
  }
  if (!event.raw().empty() && !event.Has(event::fid::kEventOriginal)) {
    json.Key("event.original");
    json.String(event.raw());
  }
  json.Key("log.file.path");
  json.String(input);
  json.Key("log.file.line");
  json.Int(static_cast<int64_t>(line));
  json.EndObject();
}

void WriteAlertJson(const Alert& alert, std::string& out) {
  JsonWriter json(out);
  json.BeginObject();
  json.Key("@timestamp");
  json.String(FormatTimestamp(alert.timestamp));
  json.Key("rule");
  json.BeginObject();
  json.Key("id");
  json.String(alert.rule_id);
  json.Key("title");
  json.String(alert.rule_title);
  json.Key("level");
  json.String(alert.rule_level);
  json.Key("tags");
  json.BeginArray();
  for (const auto& tag : alert.rule_tags) json.String(tag);
  json.EndArray();
  json.Key("type");
  json.String(alert.correlation ? "correlation" : "detection");
  json.EndObject();
  for (const auto& [name, value] : alert.group) {
    json.Key(name);
    json.String(value);
  }
  if (alert.correlation) {
    json.Key("count");
    json.Int(alert.count);
  }
  if (alert.suppressed > 0) {
    json.Key("suppressed");
    json.Int(static_cast<int64_t>(alert.suppressed));
  }
  if (alert.event) {
    json.Key("events");
    json.BeginArray();
    thread_local std::string event_json;
    event_json.clear();
    WriteEventJson(*alert.event, alert.input, alert.line, event_json);
    json.Raw(event_json);
    json.EndArray();
  }
  json.EndObject();
}

}  // namespace bulwark::pipeline
