// The flow archive: hourly files by arrival, windows by address and flow time, retention.

#include "bulwark/forensics/flow_archive.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "../support/files.h"

namespace bulwark::forensics {
namespace {

std::string Flow(const std::string& at, const std::string& source, const std::string& dest) {
  return "{\"@timestamp\":\"" + at + "\",\"source.ip\":\"" + source + "\",\"destination.ip\":\"" +
         dest + "\",\"network.bytes\":60}";
}

TEST(FlowArchiveTest, WindowsByAddressAndTimeAndRetention) {
  auto dir = testing_support::TestDataDir("bulwark-flows");
  const TimeNs hour = 3600 * kNsPerSecond;
  TimeNs ten = *ParseTimestamp("2026-12-05T10:15:00Z");
  FlowArchive archive(dir.string(), 24 * hour);
  std::vector<std::string> first = {Flow("2026-12-05T10:14:00Z", "10.0.0.5", "192.0.2.1"),
                                    Flow("2026-12-05T10:14:30Z", "10.0.0.6", "192.0.2.1"),
                                    "not json"};
  std::vector<std::string> second = {Flow("2026-12-05T11:20:00Z", "192.0.2.9", "10.0.0.5")};
  ASSERT_TRUE(archive.Append(first, ten));
  ASSERT_TRUE(archive.Append(second, ten + hour));
  EXPECT_TRUE(std::filesystem::exists(dir / "2026120510.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(dir / "2026120511.jsonl"));
  auto five = *event::IpAddress::Parse("10.0.0.5");
  auto all = archive.Window({five}, ten - hour, ten + 2 * hour);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, first[0] + "\n" + second[0] + "\n");
  auto early = archive.Window({five}, ten - hour, ten);
  EXPECT_EQ(*early, first[0] + "\n");
  EXPECT_TRUE(archive.Window({*event::IpAddress::Parse("10.0.0.7")}, 0, INT64_MAX)->empty());
  // The blast radius: who the address talked to.
  auto peers = archive.Peers({five}, 0, INT64_MAX, 10);
  ASSERT_TRUE(peers);
  ASSERT_EQ(peers->size(), 2u);
  EXPECT_EQ((*peers)[0].address, "192.0.2.1");
  EXPECT_EQ((*peers)[0].flows, 1u);
  // Files whose hour ended more than the retention ago go.
  auto pruned = archive.Prune(ten + 25 * hour);
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, 1u);
  EXPECT_EQ(*archive.Window({five}, 0, INT64_MAX), second[0] + "\n");
  testing_support::RemoveTree(dir);
}

}  // namespace
}  // namespace bulwark::forensics
