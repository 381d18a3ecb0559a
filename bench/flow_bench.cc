// Flow export decoding on one core: softflowd's NetFlow v9 and IPFIX datagrams and pmacctd's
// IPFIX datagrams (../shared/perimeter), decoded over and over by one ExportDecoder, records/s.
// Goal (issue 13): at least 5,000,000 IPFIX/NetFlow v9 records/s on one core.
// Run: build/bench/flow_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bulwark/flow/flow.h"

namespace {

struct Capture {
  std::vector<std::string> datagrams;
  bulwark::event::IpAddress exporter;
};

Capture Load(const char* name) {
  Capture capture;
  std::string path = std::string(BULWARK_SHARED_DIR) + "/perimeter/" + name;
  auto read = bulwark::flow::ForEachUdpDatagram(path, [&](const bulwark::flow::Datagram& d) {
    capture.datagrams.emplace_back(d.payload);
    capture.exporter = d.source;
  });
  if (!read) capture.datagrams.clear();
  return capture;
}

void Decode(benchmark::State& state, const char* name) {
  Capture capture = Load(name);
  if (capture.datagrams.empty()) {
    state.SkipWithError("capture not readable");
    return;
  }
  bulwark::flow::ExportDecoder decoder;
  uint64_t records = 0;
  uint64_t sink = 0;
  for (auto _ : state) {
    for (const std::string& datagram : capture.datagrams) {
      auto decoded = decoder.Decode(datagram, capture.exporter, 0,
                                    [&](const bulwark::flow::FlowRecord& r) { sink += r.bytes; });
      if (decoded) records += *decoded;
    }
  }
  benchmark::DoNotOptimize(sink);
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
}

void NetflowV9(benchmark::State& state) {
  Decode(state, "softflowd-nfv9.pcap");
}
void IpfixSoftflowd(benchmark::State& state) {
  Decode(state, "softflowd-ipfix.pcap");
}
void IpfixPmacctd(benchmark::State& state) {
  Decode(state, "pmacctd-nfprobe-ipfix.pcap");
}
void NetflowV5(benchmark::State& state) {
  Decode(state, "softflowd-nfv5.pcap");
}

BENCHMARK(NetflowV9);
BENCHMARK(IpfixSoftflowd);
BENCHMARK(IpfixPmacctd);
BENCHMARK(NetflowV5);

}  // namespace

BENCHMARK_MAIN();
