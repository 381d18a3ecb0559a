#include "bulwark/forensics/capture.h"

#include <fmt/format.h>
#include <pcap/pcap.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <filesystem>

#include "bulwark/core/netns.h"

namespace bulwark::forensics {

namespace {

struct Ring {
  const CaptureSettings* settings;
  pcap_t* handle = nullptr;
  pcap_dumper_t* dumper = nullptr;
  CaptureResult result;
  int next = 1;
  std::string error;

  Result<void> OpenNext() {
    if (dumper) pcap_dump_close(dumper);
    std::string path = fmt::format("{}/{}-{}.pcap", settings->dir, settings->name, next++);
    dumper = pcap_dump_open(handle, path.c_str());
    if (!dumper) return Fail(fmt::format("{}: {}", path, pcap_geterr(handle)));
    result.files.push_back(path);
    while (result.files.size() > static_cast<size_t>(std::max(settings->segments, 1))) {
      std::error_code ignored;
      std::filesystem::remove(result.files.front(), ignored);
      result.files.erase(result.files.begin());
      ++result.dropped_files;
    }
    return {};
  }

  static void OnPacket(u_char* user, const pcap_pkthdr* header, const u_char* bytes) {
    auto* ring = reinterpret_cast<Ring*>(user);
    if (!ring->error.empty()) return;
    if (static_cast<uint64_t>(pcap_dump_ftell64(ring->dumper)) + header->caplen + 16 >
            ring->settings->segment_bytes &&
        ring->result.packets > 0) {
      if (auto opened = ring->OpenNext(); !opened) {
        ring->error = opened.error().message;
        return;
      }
    }
    pcap_dump(reinterpret_cast<u_char*>(ring->dumper), header, bytes);
    ++ring->result.packets;
  }
};

}  // namespace

std::string PcapVersion() {
  return pcap_lib_version();
}

Result<CaptureResult> Capture(const CaptureSettings& settings, const std::atomic<bool>* stop) {
  std::error_code error;
  std::filesystem::create_directories(settings.dir, error);
  if (error) return Fail(fmt::format("{}: {}", settings.dir, error.message()));
  return InNetworkNamespace<CaptureResult>(settings.netns, [&]() -> Result<CaptureResult> {
    char message[PCAP_ERRBUF_SIZE] = {0};
    Ring ring;
    ring.settings = &settings;
    ring.handle = pcap_create(settings.interface.c_str(), message);
    if (!ring.handle) return Fail(fmt::format("capture on {}: {}", settings.interface, message));
    pcap_set_snaplen(ring.handle, settings.snaplen);
    pcap_set_promisc(ring.handle, 1);
    pcap_set_timeout(ring.handle, 100);
    pcap_set_immediate_mode(ring.handle, 1);
    auto fail = [&](const std::string& what) {
      std::string reason = what + ": " + pcap_geterr(ring.handle);
      if (ring.dumper) pcap_dump_close(ring.dumper);
      pcap_close(ring.handle);
      return Fail(fmt::format("capture on {}: {}", settings.interface, reason));
    };
    if (pcap_activate(ring.handle) < 0) return fail("cannot be opened");
    if (!settings.filter.empty()) {
      bpf_program program;
      if (pcap_compile(ring.handle, &program, settings.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) !=
          0) {
        return fail("filter '" + settings.filter + "'");
      }
      int set = pcap_setfilter(ring.handle, &program);
      pcap_freecode(&program);
      if (set != 0) return fail("filter");
    }
    if (auto opened = ring.OpenNext(); !opened) {
      pcap_close(ring.handle);
      return tl::unexpected(opened.error());
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(settings.duration);
    // Non-blocking reads after a poll of at most 100 ms, so that the caps and `stop` are
    // checked even when the port is silent.
    if (pcap_setnonblock(ring.handle, 1, message) != 0) return fail("non-blocking mode");
    pollfd waiting{pcap_get_selectable_fd(ring.handle), POLLIN, 0};
    while (std::chrono::steady_clock::now() < deadline && !(stop && *stop) && ring.error.empty()) {
      if (poll(&waiting, 1, 100) < 0 && errno != EINTR) return fail("poll");
      if (pcap_dispatch(ring.handle, -1, Ring::OnPacket, reinterpret_cast<u_char*>(&ring)) < 0) {
        return fail("reading");
      }
    }
    pcap_stat stats{};
    if (pcap_stats(ring.handle, &stats) == 0) ring.result.kernel_dropped = stats.ps_drop;
    pcap_dump_close(ring.dumper);
    pcap_close(ring.handle);
    if (!ring.error.empty()) return Fail(ring.error);
    return ring.result;
  });
}

}  // namespace bulwark::forensics
