// Flow exporters on live traffic: softflowd (IPFIX with absolute milliseconds, -A milli),
// pmacctd's nfprobe (IPFIX) and its sfprobe (sFlow, every packet sampled) watch the veth end of
// a network namespace this test creates; the test sends TCP connection attempts and UDP
// datagrams into the namespace, receives the export on its side of the veth, decodes it, and
// compares every record with nfdump's collector's decoding of the same datagrams (nfcapd,
// sfcapd).
// No packet leaves the veth pair. Needs root (network namespaces), as CI has.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/flow/flow.h"
#include "nfdump.h"

namespace bulwark::flow {
namespace {

// A namespace with one veth pair: 10.213.N.1 on this side, 10.213.N.2 inside, N from the
// process id (tests running at once get their own networks).
class VethNamespace {
 public:
  VethNamespace()
      : name_("bwflow-" + std::to_string(getpid())),
        outside_("bwf" + std::to_string(getpid() % 100000) + "a"),
        inside_("bwf" + std::to_string(getpid() % 100000) + "b"),
        net_("10.213." + std::to_string(100 + getpid() % 150) + ".") {
    ok_ = Run("ip netns add " + name_) &&
          Run("ip link add " + outside_ + " type veth peer name " + inside_) &&
          Run("ip link set " + inside_ + " netns " + name_) &&
          Run("ip addr add " + net_ + "1/24 dev " + outside_) &&
          Run("ip link set " + outside_ + " up") &&
          Run(Inside("ip addr add " + net_ + "2/24 dev " + inside_)) &&
          Run(Inside("ip link set " + inside_ + " up")) && Run(Inside("ip link set lo up"));
  }
  ~VethNamespace() {
    Run("ip link del " + outside_ + " 2>/dev/null");
    Run("ip netns del " + name_);
  }
  bool ok() const { return ok_; }
  const std::string& inside() const { return inside_; }
  std::string here() const { return net_ + "1"; }   // this side's address
  std::string there() const { return net_ + "2"; }  // the namespace's
  std::string Inside(const std::string& command) const {
    return "ip netns exec " + name_ + " " + command;
  }
  std::vector<std::string> InsideArgv(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"/usr/sbin/ip", "netns", "exec", name_});
    return argv;
  }
  static bool Run(const std::string& command) { return std::system(command.c_str()) == 0; }

 private:
  std::string name_, outside_, inside_, net_;
  bool ok_ = false;
};

// Connection attempts to 30 closed ports of `target` (answered with resets) and 5 UDP
// datagrams to port 5353: a small scan, on the wire of the veth. Then 4 MiB of UDP to port 9:
// softflowd reads packets a ring block at a time, and a block is handed over only when full, so
// without the burst the scan would sit in the ring (softflowd "misses" low-rate traffic).
void SendTraffic(const std::string& target) {
  for (int port = 1000; port < 1030; ++port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, target.c_str(), &to.sin_addr);
    (void)connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
    close(fd);
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(5353);
  inet_pton(AF_INET, target.c_str(), &to.sin_addr);
  for (int i = 0; i < 5; ++i)
    sendto(fd, "probe", 5, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  to.sin_port = htons(9);
  std::string bulk(1400, 'x');
  for (int i = 0; i < 3000; ++i) {
    sendto(fd, bulk.data(), bulk.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  close(fd);
}

// A record as nfdump prints it. ICMP's type and code: nfcapd prints them as NetFlow carries
// them (type * 256 + code in the destination port); sfcapd splits them into the two ports for
// ICMP and does not read them for ICMPv6 (0 0), where Bulwark does.
std::string Key(const FlowRecord& r, bool sflow) {
  uint16_t source_port = r.source_port, destination_port = r.destination_port;
  if (sflow && r.protocol == 1) {
    source_port = r.destination_port >> 8;
    destination_port = r.destination_port & 0xff;
  } else if (sflow && r.protocol == 58) {
    source_port = destination_port = 0;
  }
  return r.source.ToString() + " " + r.destination.ToString() + " " + std::to_string(source_port) +
         " " + std::to_string(destination_port) + " " + NfdumpProtocol(r.protocol) + " " +
         std::to_string(r.packets) + " " + std::to_string(r.bytes);
}

std::string Key(const std::vector<std::string>& c) {
  return c[3] + " " + c[4] + " " + c[5] + " " + c[6] + " " + c[7] + " " + c[11] + " " + c[12];
}

class LiveExport : public ::testing::TestWithParam<std::string> {};

TEST_P(LiveExport, RecordsOfRealTrafficAgreeWithNfcapd) {
  ASSERT_EQ(geteuid(), 0u) << "network namespaces need root";
  const std::string producer = GetParam();
  auto dir = testing_support::TestDataDir("bulwark-live-export");
  std::filesystem::create_directories(dir);
  VethNamespace ns;
  ASSERT_TRUE(ns.ok()) << "could not create the namespace";
  UdpSink sink(ns.here().c_str());
  std::string collector = ns.here() + ":" + std::to_string(sink.port);
  std::vector<std::string> argv;
  std::string control = (dir / "softflowd.ctl").string();
  if (producer == "softflowd") {
    argv = {"/usr/sbin/softflowd",
            "-d",
            "-i",
            ns.inside(),
            "-v",
            "10",
            "-A",
            "milli",
            "-n",
            collector,
            "-c",
            control};
  } else if (producer == "pmacctd-sfprobe") {
    std::ofstream(dir / "pmacctd.conf") << "daemonize: false\n"
                                        << "pcap_interface: " << ns.inside() << "\n"
                                        << "plugins: sfprobe\n"
                                        << "sfprobe_receiver: " << collector << "\n"
                                        << "sfprobe_agentip: " << ns.there() << "\n"
                                        << "sampling_rate: 1\n"
                                        // Not its own export: every sampled packet is a
                                        // datagram, which would be sampled in turn.
                                        << "pcap_filter: not udp port " << sink.port << "\n";
    argv = {"/usr/sbin/pmacctd", "-f", (dir / "pmacctd.conf").string()};
  } else {
    std::ofstream(dir / "pmacctd.conf") << "daemonize: false\n"
                                        << "pcap_interface: " << ns.inside() << "\n"
                                        << "plugins: nfprobe\n"
                                        << "nfprobe_receiver: " << collector << "\n"
                                        << "nfprobe_version: 10\n"
                                        << "nfprobe_timeouts: tcp=2:tcp.rst=1:udp=2:maxlife=2\n";
    argv = {"/usr/sbin/pmacctd", "-f", (dir / "pmacctd.conf").string()};
  }
  testing_support::ChildProcess exporter(ns.InsideArgv(argv), (dir / "exporter.log").string());
  std::this_thread::sleep_for(std::chrono::seconds(2));  // capturing
  TimeNs sent = Env::Default().Now();
  SendTraffic(ns.there());
  std::this_thread::sleep_for(std::chrono::seconds(1));
  if (producer == "softflowd") {
    ASSERT_TRUE(VethNamespace::Run(
        ns.Inside("/usr/sbin/softflowctl -c " + control + " expire-all > /dev/null")));
  }
  std::vector<std::string> datagrams = sink.Collect(producer == "pmacctd" ? 8000 : 3000);
  exporter.Stop();
  ASSERT_FALSE(datagrams.empty()) << testing_support::ReadAll(dir / "exporter.log");

  std::vector<std::string> ours;
  std::set<uint16_t> scanned;
  ExportDecoder decoder;
  for (const std::string& d : datagrams) {
    auto decoded = decoder.Decode(d, *event::IpAddress::Parse(ns.there()), Env::Default().Now(),
                                  [&](const FlowRecord& r) {
                                    ours.push_back(Key(r, producer == "pmacctd-sfprobe"));
                                    if (r.source.ToString() == ns.here() && r.protocol == 6 &&
                                        r.destination_port >= 1000 && r.destination_port < 1030) {
                                      scanned.insert(r.destination_port);
                                      // Absolute times: within seconds of the sending.
                                      EXPECT_LT(std::llabs(r.start - sent), 30 * kNsPerSecond);
                                    }
                                  });
    ASSERT_TRUE(decoded) << decoded.error().ToString();
  }
  EXPECT_EQ(scanned.size(), 30u) << producer;  // every probed port is a flow
  std::vector<std::string> theirs;
  const char* reference = producer == "pmacctd-sfprobe" ? "/usr/bin/sfcapd" : "/usr/bin/nfcapd";
  for (const auto& row : CollectorCsv(reference, dir, datagrams)) {
    theirs.push_back(Key(row));
  }
  std::sort(ours.begin(), ours.end());
  std::sort(theirs.begin(), theirs.end());
  std::vector<std::string> only_ours, only_theirs;
  std::set_difference(ours.begin(), ours.end(), theirs.begin(), theirs.end(),
                      std::back_inserter(only_ours));
  std::set_difference(theirs.begin(), theirs.end(), ours.begin(), ours.end(),
                      std::back_inserter(only_theirs));
  EXPECT_EQ(only_ours, std::vector<std::string>{}) << producer << ": only Bulwark's";
  EXPECT_EQ(only_theirs, std::vector<std::string>{}) << producer << ": only nfdump's";
  EXPECT_GE(ours.size(), 36u);  // the 30 probes, their resets, the UDP flow (or its packets)
  testing_support::RemoveTree(dir);
}

INSTANTIATE_TEST_SUITE_P(Exporters, LiveExport,
                         ::testing::Values("softflowd", "pmacctd", "pmacctd-sfprobe"));

}  // namespace
}  // namespace bulwark::flow
