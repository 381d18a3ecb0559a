#include "bulwark/forensics/flow_archive.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace bulwark::forensics {

namespace fs = std::filesystem;

namespace {

constexpr TimeNs kHour = 3600 * kNsPerSecond;

std::string HourName(TimeNs at) {
  CivilTime c = FromUnixNs(at - at % kHour);
  return fmt::format("{:04d}{:02d}{:02d}{:02d}.jsonl", c.year, c.month, c.day, c.hour);
}

// The start of the hour a file holds; nullopt for other files.
std::optional<TimeNs> HourOf(const fs::path& file) {
  std::string name = file.filename().string();
  if (name.size() != 16 || !name.ends_with(".jsonl")) return std::nullopt;
  auto digits = [&](size_t at, size_t n) { return std::stoi(name.substr(at, n)); };
  if (!std::all_of(name.begin(), name.begin() + 10, ::isdigit)) return std::nullopt;
  return ToUnixNsChecked(
      CivilTime{digits(0, 4), digits(4, 2), digits(6, 2), digits(8, 2), 0, 0, 0});
}

}  // namespace

Result<void> FlowArchive::Append(std::span<const std::string> lines, TimeNs received) {
  if (lines.empty()) return {};
  std::lock_guard lock(mutex_);
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error) return Fail(fmt::format("{}: {}", dir_, error.message()));
  fs::path file = fs::path(dir_) / HourName(received);
  std::ofstream out(file, std::ios::app | std::ios::binary);
  for (const auto& line : lines) out << line << '\n';
  if (!out) return Fail(fmt::format("{}: cannot be written", file.string()));
  return {};
}

Result<size_t> FlowArchive::Prune(TimeNs now) {
  std::lock_guard lock(mutex_);
  size_t removed = 0;
  std::error_code error;
  if (!fs::exists(dir_, error)) return removed;
  for (const auto& entry : fs::directory_iterator(dir_, error)) {
    auto hour = HourOf(entry.path());
    if (hour && *hour + kHour + retention_ <= now && fs::remove(entry.path(), error)) ++removed;
  }
  return removed;
}

Result<std::string> FlowArchive::Window(const std::vector<event::IpAddress>& addresses, TimeNs from,
                                        TimeNs until) const {
  std::vector<fs::path> files;
  std::error_code error;
  if (fs::exists(dir_, error)) {
    for (const auto& entry : fs::directory_iterator(dir_, error)) {
      auto hour = HourOf(entry.path());
      if (hour && *hour + kHour > from && *hour <= until) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::string out;
  simdjson::dom::parser parser;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Fail(fmt::format("{}: cannot be read", file.string()));
    std::string line;
    while (std::getline(in, line)) {
      simdjson::dom::element record;
      if (parser.parse(line).get(record) != simdjson::SUCCESS) continue;
      bool ours = false;
      for (const char* key : {"source.ip", "destination.ip"}) {
        std::string_view text;
        if (record[key].get(text) != simdjson::SUCCESS) continue;
        auto address = event::IpAddress::Parse(text);
        if (address && std::find(addresses.begin(), addresses.end(), *address) != addresses.end()) {
          ours = true;
        }
      }
      std::string_view stamp;
      if (ours && record["@timestamp"].get(stamp) == simdjson::SUCCESS) {
        auto at = ParseTimestamp(stamp);
        ours = at && *at >= from && *at <= until;
      }
      if (ours) out += line + "\n";
    }
  }
  return out;
}

}  // namespace bulwark::forensics
