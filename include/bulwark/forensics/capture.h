#pragma once
// Packet capture of a system at its enforcement point (the bridge or router port it is plugged
// into), with libpcap: a ring of capture files (at most `segments` files of `segment_bytes`; the
// oldest goes when a new one starts) for at most `duration`, so that a capture left running
// never fills the disk. Each closed file is hashed into the evidence vault by the caller.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/core/time.h"

namespace bulwark::forensics {

struct CaptureSettings {
  std::string netns;      // the enforcement point's namespace (empty: this process's)
  std::string interface;  // the port: "vm1p", "tap6f1c2d3e-00"
  std::string filter;     // a BPF filter (pcap-filter(7)); empty: everything
  std::string dir;        // where the files go
  std::string name = "capture";
  uint64_t segment_bytes = 64ull << 20;
  int segments = 4;
  TimeNs duration = 60 * kNsPerSecond;
  int snaplen = 65535;
};

struct CaptureResult {
  std::vector<std::string> files;  // the ring's files, oldest first
  uint64_t packets = 0;            // written
  uint64_t dropped_files = 0;      // overwritten by the ring
  uint64_t kernel_dropped = 0;     // pcap_stats: dropped by the kernel
};

// Captures until `duration` passes or `stop` becomes true. Errors: the interface cannot be
// opened (with libpcap's reason), a bad filter, files that cannot be written.
Result<CaptureResult> Capture(const CaptureSettings& settings,
                              const std::atomic<bool>* stop = nullptr);

// The version of libpcap (for the evidence's tool_version).
std::string PcapVersion();

}  // namespace bulwark::forensics
