// Countermeasure figures (docs/performance.md), as root in a network namespace of its own:
//   1. 10,000 quarantined ports loaded by the nftables enforcer in one transaction, against
//      nft -f loading the same script (the peer);
//   2. a reconcile of 10,000 active countermeasures: time and memory.
// Usage: countermeasure_bench [N]   (default 10000)

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/countermeasure/countermeasures.h"
#include "bulwark/countermeasure/nftables.h"

namespace {

using namespace bulwark;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

long PeakRssKib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  std::string ns = "bwbench" + std::to_string(getpid());
  if (std::system(fmt::format("ip netns add {}", ns).c_str()) != 0) {
    fmt::print(stderr, "needs root and iproute2\n");
    return 2;
  }
  countermeasure::NftablesSettings settings;
  settings.netns = ns;
  settings.flush_conntrack = false;
  settings.forensics = {*model::Prefix::Parse("192.0.2.50")};
  auto enforcer = countermeasure::NftablesEnforcer::Create(settings);
  if (!enforcer) {
    fmt::print(stderr, "{}\n", enforcer.error().ToString());
    return 1;
  }
  std::vector<countermeasure::Enforcement> all(n);
  for (int i = 0; i < n; ++i) {
    auto& e = all[i];
    e.countermeasure.id = i + 1;
    e.countermeasure.state = model::CountermeasureState::kActive;
    e.countermeasure.enforcer = "nftables";
    e.countermeasure.system_id = fmt::format("s-{}", i);
    e.target.ports = {fmt::format("tap{}", i)};
  }
  // 1. One transaction of n entries, five times; and nft -f of the same script.
  std::vector<double> ours, peer;
  std::string script = (*enforcer)->Script(all, 0);
  std::string file = fmt::format("/tmp/bwbench-{}.nft", getpid());
  std::ofstream(file) << script;
  for (int round = 0; round < 5; ++round) {
    auto start = Clock::now();
    auto applied = (*enforcer)->Apply(all, {}, 0);
    ours.push_back(Ms(Clock::now() - start));
    if (!applied) {
      fmt::print(stderr, "{}\n", applied.error().ToString());
      return 1;
    }
    start = Clock::now();
    int status = std::system(fmt::format("ip netns exec {} nft -f {}", ns, file).c_str());
    peer.push_back(Ms(Clock::now() - start));
    if (status != 0) return 1;
  }
  fmt::print(
      "{} quarantined ports in one transaction: bulwark {:.1f} ms (median of 5), nft -f {:.1f} ms; "
      "ratio {:.2f}\n",
      n, Median(ours), Median(peer), Median(peer) / Median(ours));

  // 2. Observe all n (what a reconcile asks the enforcer), then a whole reconcile over a store.
  auto start = Clock::now();
  auto observed = (*enforcer)->Observe(all);
  double observe_ms = Ms(Clock::now() - start);
  size_t present = 0;
  for (const auto& o : observed ? *observed : std::vector<countermeasure::Observation>{}) {
    present += o.presence == countermeasure::Presence::kPresent;
  }
  fmt::print("observe {} countermeasures: {:.1f} ms, {} present\n", n, observe_ms, present);

  std::string dir = fmt::format("/tmp/bwbench-store-{}", getpid());
  auto store = store::OpenSqliteStore(dir);
  if (!store) return 1;
  model::Inventory inventory;
  inventory.customers.push_back({"c", "C", "en", {}, "", ""});
  model::Project project;
  project.id = "p";
  project.customer_id = "c";
  inventory.projects.push_back(project);
  for (int i = 0; i < n; ++i) {
    model::System system;
    system.id = fmt::format("s-{}", i);
    system.project_id = "p";
    inventory.systems.push_back(system);
    model::Interface nic;
    nic.system_id = system.id;
    nic.port = fmt::format("tap{}", i);
    inventory.interfaces.push_back(nic);
  }
  (void)(*store)->WriteInventory(inventory);
  for (auto& e : all) {
    e.countermeasure.customer_id = "c";
    e.countermeasure.targets = countermeasure::TargetJson(e.target);
  }
  (void)(*store)->Transaction([&]() -> Result<void> {
    for (const auto& e : all) {
      if (auto id = (*store)->CreateCountermeasure(e.countermeasure); !id) {
        return tl::unexpected(id.error());
      }
    }
    return {};
  });
  auto index = std::make_shared<const inventory::AttributionIndex>(inventory);
  countermeasure::Countermeasures cms(
      [&](const std::function<Result<void>(store::Store&)>& body) {
        return (*store)->Transaction([&] { return body(**store); });
      },
      [&] { return index; }, {{"nftables", enforcer->get()}}, {}, Env::Default());
  long rss_before = PeakRssKib();
  start = Clock::now();
  auto report = cms.Reconcile();
  double reconcile_ms = Ms(Clock::now() - start);
  if (!report) {
    fmt::print(stderr, "{}\n", report.error().ToString());
    return 1;
  }
  fmt::print(
      "reconcile of {} active countermeasures: {:.0f} ms, {} drifted, peak RSS {} MiB (before {} "
      "MiB)\n",
      report->checked, reconcile_ms, report->drifted, PeakRssKib() / 1024, rss_before / 1024);
  std::system(fmt::format("ip netns del {}", ns).c_str());
  std::filesystem::remove_all(dir);
  std::filesystem::remove(file);
  return 0;
}
