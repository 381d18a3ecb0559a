// bulwark flows replay

#include <fmt/format.h>

#include <cstdio>
#include <map>

#include "bulwark/flow/flow.h"
#include "commands.h"

namespace bulwark::cli {

namespace {
struct FlowsReplayOptions {
  std::vector<std::string> captures;
  std::string output;
};
}  // namespace

Handler SetupFlowsReplay(CLI::App& command) {
  auto o = std::make_shared<FlowsReplayOptions>();
  command
      .add_option("captures", o->captures,
                  "Packet captures (pcap) of export datagrams, or nfcapd's flow files")
      ->required()
      ->type_name("FILE.pcap|nfcapd-file");
  command.add_option("--output,-o", o->output, "Write the records (JSON lines) here")
      ->type_name("FILE");
  return [o]() -> Outcome {
    std::FILE* out = stdout;
    if (!o->output.empty() && o->output != "-") {
      out = std::fopen(o->output.c_str(), "w");
      if (!out) return RuntimeError(fmt::format("cannot write {}", o->output));
    }
    size_t datagrams = 0;
    size_t records = 0;
    std::map<std::string, size_t> rejected;  // by reason
    bool clean = true;
    size_t counter_records = 0;
    flow::ExportDecoder decoder;
    decoder.set_counters_handler([&](const flow::InterfaceCounters& c) {
      fmt::print(out, "{}\n", flow::InterfaceCountersJson(c));
      ++counter_records;
    });
    for (const std::string& capture : o->captures) {
      if (flow::IsNfdumpFile(capture)) {  // nfcapd's file: records, no datagrams
        auto read = flow::ForEachNfdumpRecord(capture, [&](const flow::FlowRecord& r) {
          fmt::print(out, "{}\n", flow::FlowRecordJson(r));
          ++records;
        });
        if (!read) {
          fmt::print(stderr, "bulwark: {}\n", read.error().ToString());
          clean = false;
        }
        continue;
      }
      auto read = flow::ForEachUdpDatagram(capture, [&](const flow::Datagram& d) {
        ++datagrams;
        auto decoded = decoder.Decode(d.payload, d.source, d.time, [&](const flow::FlowRecord& r) {
          fmt::print(out, "{}\n", flow::FlowRecordJson(r));
          ++records;
        });
        if (!decoded) ++rejected[decoded.error().message];
      });
      if (!read) {
        fmt::print(stderr, "bulwark: {}\n", read.error().ToString());
        clean = false;
      }
    }
    if (out != stdout) std::fclose(out);
    fmt::print(stderr, "datagrams {}, records {}, interface counters {}, datagrams rejected {}\n",
               datagrams, records, counter_records, [&] {
                 size_t total = 0;
                 for (const auto& [reason, count] : rejected) total += count;
                 return total;
               }());
    for (const auto& [reason, count] : rejected) fmt::print(stderr, "  {:>6}  {}\n", count, reason);
    const auto& counters = decoder.counters();
    if (counters.unknown_template_sets > 0) {
      fmt::print(stderr, "data sets skipped for want of their template: {}\n",
                 counters.unknown_template_sets);
    }
    if (counters.refused_templates > 0) {
      fmt::print(stderr, "templates refused (over the bounds): {}\n", counters.refused_templates);
    }
    return clean && rejected.empty() ? kExitOk : kExitFindings;
  };
}

}  // namespace bulwark::cli
