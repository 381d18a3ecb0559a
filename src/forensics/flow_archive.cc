#include "bulwark/forensics/flow_archive.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

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

Result<void> FlowArchive::Scan(
    const std::vector<event::IpAddress>& addresses, TimeNs from, TimeNs until,
    const std::function<void(const std::string& line, const std::string& peer)>& each) const {
  std::vector<fs::path> files;
  std::error_code error;
  if (fs::exists(dir_, error)) {
    for (const auto& entry : fs::directory_iterator(dir_, error)) {
      auto hour = HourOf(entry.path());
      if (hour && *hour + kHour > from && *hour <= until) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  simdjson::dom::parser parser;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Fail(fmt::format("{}: cannot be read", file.string()));
    std::string line;
    while (std::getline(in, line)) {
      simdjson::dom::element record;
      if (parser.parse(line).get(record) != simdjson::SUCCESS) continue;
      std::string_view ends[2];
      bool ours[2] = {false, false};
      int side = 0;
      for (const char* key : {"source.ip", "destination.ip"}) {
        if (record[key].get(ends[side]) == simdjson::SUCCESS) {
          auto address = event::IpAddress::Parse(ends[side]);
          ours[side] =
              address && std::find(addresses.begin(), addresses.end(), *address) != addresses.end();
        }
        ++side;
      }
      if (!ours[0] && !ours[1]) continue;
      std::string_view stamp;
      if (record["@timestamp"].get(stamp) != simdjson::SUCCESS) continue;
      auto at = ParseTimestamp(stamp);
      if (!at || *at < from || *at > until) continue;
      each(line, std::string(ours[0] ? ends[1] : ends[0]));
    }
  }
  return {};
}

Result<std::string> FlowArchive::Window(const std::vector<event::IpAddress>& addresses, TimeNs from,
                                        TimeNs until) const {
  std::string out;
  auto scanned = Scan(addresses, from, until,
                      [&](const std::string& line, const std::string&) { out += line + "\n"; });
  if (!scanned) return tl::unexpected(scanned.error());
  return out;
}

Result<std::vector<FlowArchive::Peer>> FlowArchive::Peers(
    const std::vector<event::IpAddress>& addresses, TimeNs from, TimeNs until, size_t limit) const {
  std::map<std::string, uint64_t> counts;
  auto scanned = Scan(addresses, from, until,
                      [&](const std::string&, const std::string& peer) { ++counts[peer]; });
  if (!scanned) return tl::unexpected(scanned.error());
  std::vector<Peer> peers;
  for (const auto& [address, flows] : counts) peers.push_back({address, flows});
  std::stable_sort(peers.begin(), peers.end(),
                   [](const Peer& a, const Peer& b) { return a.flows > b.flows; });
  if (peers.size() > limit) peers.resize(limit);
  return peers;
}

}  // namespace bulwark::forensics
