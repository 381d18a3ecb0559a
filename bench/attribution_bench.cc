// Address-at-time lookups against an index of 1,000,000 address records: the attribution step of
// every finding. Goal (issue 3): at least 1,000,000 lookups/s. Run: build/bench/attribution_bench
#include <benchmark/benchmark.h>

#include <memory>
#include <random>

#include "bulwark/inventory/attribution.h"

namespace {

using bulwark::kNsPerSecond;
using bulwark::TimeNs;
namespace model = bulwark::model;

constexpr size_t kRecords = 1'000'000;
constexpr TimeNs kYear = 365LL * 86400 * kNsPerSecond;
const TimeNs kStart = 1'767'225'600LL * kNsPerSecond;  // 2026-01-01

// "s12" and so on (built with append: GCC 12 warns falsely about string concatenation here).
std::string Id(char kind, uint64_t number) {
  std::string id(1, kind);
  id.append(std::to_string(number));
  return id;
}

// 10,000 customers with 50,000 systems; 400,000 IPv4 addresses each held by two systems one after
// the other (800,000 records), 150,000 IPv6 addresses, 50,000 IPv4 /28 prefixes.
std::shared_ptr<bulwark::inventory::AttributionIndex> BuildIndex() {
  model::Inventory inv;
  for (int c = 0; c < 10'000; ++c) {
    inv.customers.push_back({Id('c', c), "Customer", "en", {}, "", ""});
    inv.projects.push_back({Id('p', c), Id('c', c), "p", {}, ""});
  }
  for (int s = 0; s < 50'000; ++s) {
    inv.systems.push_back({Id('s', s), Id('p', s % 10'000), "s", {}, true, false, ""});
    inv.interfaces.push_back(
        {Id('s', s), "", "if", model::kBeginningOfTime, model::kEndOfTime, "", {}});
  }
  auto claim = [&](const bulwark::event::IpAddress& ip, int length, int system, TimeNs from,
                   TimeNs until) {
    model::Assignment a;
    a.system_id = Id('s', system);
    a.interface_key = "if";
    a.prefix = model::Prefix{ip, length};
    a.from = from;
    a.until = until;
    inv.assignments.push_back(std::move(a));
  };
  for (uint32_t i = 0; i < 400'000; ++i) {
    auto ip = bulwark::event::IpAddress::V4(0x0A000000u + i);  // 10.0.0.0/8
    claim(ip, 32, static_cast<int>(i % 50'000), kStart, kStart + kYear / 2);
    claim(ip, 32, static_cast<int>((i + 7) % 50'000), kStart + kYear / 2, model::kEndOfTime);
  }
  for (uint32_t i = 0; i < 150'000; ++i) {
    std::array<uint8_t, 16> bytes{0x20, 0x01, 0x0d, 0xb8};
    bytes[12] = static_cast<uint8_t>(i >> 24);
    bytes[13] = static_cast<uint8_t>(i >> 16);
    bytes[14] = static_cast<uint8_t>(i >> 8);
    bytes[15] = static_cast<uint8_t>(i);
    claim(bulwark::event::IpAddress::FromBytes(bytes), 128, static_cast<int>(i % 50'000), kStart,
          model::kEndOfTime);
  }
  for (uint32_t i = 0; i < 50'000; ++i) {
    claim(bulwark::event::IpAddress::V4(0xC6000000u + i * 16), 28, static_cast<int>(i), kStart,
          model::kEndOfTime);  // 198.0.0.0/8 in /28s
  }
  return std::make_shared<bulwark::inventory::AttributionIndex>(std::move(inv));
}

void BM_LookupAddressAtTime(benchmark::State& state) {
  static auto index = BuildIndex();
  if (index->size() != kRecords) state.SkipWithError("index does not hold 1,000,000 records");
  std::mt19937_64 random(42);
  std::vector<std::pair<bulwark::event::IpAddress, TimeNs>> queries;
  for (int i = 0; i < 65'536; ++i) {
    uint64_t r = random();
    TimeNs at = kStart + static_cast<TimeNs>(r % static_cast<uint64_t>(kYear));
    switch (r % 4) {
      case 0:
      case 1:
        queries.emplace_back(bulwark::event::IpAddress::V4(0x0A000000u + (r >> 8) % 400'000), at);
        break;
      case 2:
        queries.emplace_back(bulwark::event::IpAddress::V4(0xC6000000u + (r >> 8) % 800'000), at);
        break;
      default:
        queries.emplace_back(bulwark::event::IpAddress::V4(0x0B000000u + (r >> 8) % 1000), at);
        break;  // nobody's
    }
  }
  size_t i = 0, held = 0;
  for (auto _ : state) {
    const auto& [ip, at] = queries[i++ & 65'535];
    auto found = index->Lookup(ip, at);
    held += found.has_value();
    benchmark::DoNotOptimize(found);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["held"] = static_cast<double>(held) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_LookupAddressAtTime);

}  // namespace

BENCHMARK_MAIN();
