#include "bulwark/detect/address_list.h"

#include <fmt/format.h>

#include "bulwark/core/strings.h"
#include "bulwark/event/ip.h"

namespace bulwark::detect {

namespace {

// The value of a JSON member `"key": "value"` on a line (address lists' JSON is flat).
std::string_view JsonMember(std::string_view line, std::string_view key) {
  std::string quoted = fmt::format("\"{}\"", key);
  size_t at = line.find(quoted);
  if (at == std::string_view::npos) return {};
  size_t open = line.find('"', line.find(':', at + quoted.size()));
  if (open == std::string_view::npos) return {};
  size_t close = line.find('"', open + 1);
  if (close == std::string_view::npos) return {};
  return line.substr(open + 1, close - open - 1);
}

// The first field of the line that is an address or network.
std::string_view FirstNetwork(std::string_view line) {
  size_t at = 0;
  while (at < line.size()) {
    size_t end = line.find_first_of(" \t,;\"'", at);
    if (end == std::string_view::npos) end = line.size();
    std::string_view field = line.substr(at, end - at);
    if (!field.empty() && event::Cidr::Parse(field)) return field;
    at = end + 1;
  }
  return {};
}

}  // namespace

AddressList ReadAddressList(std::string_view text, const std::string& name) {
  AddressList list;
  size_t number = 0;
  bool first = true;  // the first line that is no comment: a CSV header may stand there
  for (size_t at = 0; at <= text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(at, end - at));
    at = end + 1;
    ++number;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    std::string_view network;
    if (line[0] == '{') {
      network = JsonMember(line, "cidr");
      if (network.empty()) network = JsonMember(line, "ip_address");
      if (network.empty() && line.find("\"type\"") != std::string_view::npos) continue;  // meta
    } else {
      network = FirstNetwork(line.substr(0, line.find('#')));
    }
    bool header = first;
    first = false;
    if (network.empty() || !event::Cidr::Parse(network)) {
      if (header) continue;
      list.problems.push_back(
          Error{"no address or network on this line", fmt::format("{}:{}", name, number)});
      continue;
    }
    list.networks.emplace_back(network);
  }
  return list;
}

Result<std::vector<Error>> AddAddressLists(const std::map<std::string, std::string>& files,
                                           FieldMap& map, const Env& env) {
  std::vector<Error> problems;
  for (const auto& [name, path] : files) {
    auto text = env.ReadFile(path);
    if (!text) return Fail(fmt::format("address list {}: {}", name, text.error().message), path);
    AddressList list = ReadAddressList(*text, path);
    if (list.networks.empty()) {
      return Fail(fmt::format("address list {} holds no address", name), path);
    }
    problems.insert(problems.end(), list.problems.begin(), list.problems.end());
    map.placeholders[name] = std::move(list.networks);
  }
  for (const char* name : kBuiltinAddressLists) map.placeholders.try_emplace(name);
  return problems;
}

}  // namespace bulwark::detect
