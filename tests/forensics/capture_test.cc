// Packet capture at the enforcement point: libpcap on a bridge port of the lab, real pings, the
// ring's caps; the files read back with libpcap.

#include "bulwark/forensics/capture.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <thread>

#include "../support/files.h"
#include "../support/lab.h"

namespace bulwark::forensics {
namespace {

using testing_support::Lab;

// ICMP echo requests in a capture file.
int EchoRequests(const std::string& path) {
  char error[PCAP_ERRBUF_SIZE];
  pcap_t* file = pcap_open_offline(path.c_str(), error);
  if (!file) return -1;
  bpf_program program;
  pcap_compile(file, &program, "icmp[icmptype] == icmp-echo", 1, PCAP_NETMASK_UNKNOWN);
  pcap_setfilter(file, &program);
  pcap_freecode(&program);
  int count = 0;
  pcap_pkthdr* header;
  const u_char* data;
  while (pcap_next_ex(file, &header, &data) == 1) ++count;
  pcap_close(file);
  return count;
}

// Settings for a capture of vm1's port for two seconds into `dir`.
CaptureSettings Vm1Port(const Lab& lab, const std::filesystem::path& dir) {
  CaptureSettings settings;
  settings.netns = lab.Namespace("sw");
  settings.interface = "vm1p";
  settings.dir = dir.string();
  settings.duration = 2 * kNsPerSecond;
  return settings;
}

// Captures with `settings` while vm1 runs `command` (started once the capture is open).
Result<CaptureResult> CaptureWhile(const Lab& lab, const CaptureSettings& settings,
                                   const std::string& command) {
  Result<CaptureResult> captured = Fail("not run");
  std::thread capture([&] { captured = Capture(settings); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Lab::Sh(lab.In("vm1", command) + " >/dev/null 2>&1");
  capture.join();
  return captured;
}

TEST(CaptureTest, CapturesTheSystemsPortInTheSwitch) {
  Lab lab({{"vm1", "10.77.0.11"}, {"inet", "10.77.0.100"}});
  ASSERT_TRUE(lab.ok());
  auto dir = testing_support::TestDataDir("bulwark-capture");
  auto captured = CaptureWhile(lab, Vm1Port(lab, dir), "ping -n -q -c5 -i0.2 10.77.0.100");
  ASSERT_TRUE(captured) << captured.error().ToString();
  ASSERT_EQ(captured->files.size(), 1u);
  EXPECT_EQ(EchoRequests(captured->files[0]), 5);
  testing_support::RemoveTree(dir);
}

TEST(CaptureTest, TheRingKeepsItsCaps) {
  Lab lab({{"vm1", "10.77.0.11"}, {"inet", "10.77.0.100"}});
  ASSERT_TRUE(lab.ok());
  auto dir = testing_support::TestDataDir("bulwark-capture");
  CaptureSettings settings = Vm1Port(lab, dir);
  settings.segment_bytes = 1000;
  settings.segments = 2;
  settings.filter = "icmp";
  auto captured = CaptureWhile(lab, settings, "ping -n -q -c40 -i0.02 10.77.0.100");
  ASSERT_TRUE(captured) << captured.error().ToString();
  EXPECT_EQ(captured->files.size(), 2u);
  EXPECT_GT(captured->dropped_files, 0u);
  EXPECT_EQ(captured->packets, 80u);  // requests and replies
  for (const auto& file : captured->files) {
    EXPECT_LE(std::filesystem::file_size(file), 1000u + 200u) << file;
  }
  // A port that does not exist and a filter that does not parse are refused with the reason.
  settings.interface = "nosuchport";
  EXPECT_FALSE(Capture(settings));
  settings.interface = "vm1p";
  settings.filter = "icmp and and";
  auto bad = Capture(settings);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("filter"), std::string::npos);
  testing_support::RemoveTree(dir);
}

}  // namespace
}  // namespace bulwark::forensics
