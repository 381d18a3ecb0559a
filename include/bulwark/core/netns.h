#pragma once
// Running code inside a network namespace: on a thread of its own that enters it, so that the
// sockets the code opens (netlink for nftables and conntrack, packet sockets for a capture)
// belong to it, while the caller's thread stays where it is. Thread-safe.

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "bulwark/core/result.h"

namespace bulwark {

// The path of a namespace given by name (under /run/netns, as `ip netns` makes them) or path.
inline std::string NetnsPath(const std::string& netns) {
  return netns.find('/') == std::string::npos ? "/run/netns/" + netns : netns;
}

// Runs `body` (returning Result<T>) in `netns`; in this thread when `netns` is empty. Errors: the
// namespace cannot be opened or entered, or `body`'s.
template <typename T, typename F>
Result<T> InNetworkNamespace(const std::string& netns, F&& body) {
  if (netns.empty()) return body();
  std::string path = NetnsPath(netns);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(fmt::format("network namespace {}: {}", path, std::strerror(errno)));
  Result<T> result = Fail("not run");
  std::thread worker([&] {
    if (setns(fd, CLONE_NEWNET) != 0) {
      result = Fail(fmt::format("entering network namespace {}: {}", path, std::strerror(errno)));
      return;
    }
    result = body();
  });
  worker.join();
  close(fd);
  return result;
}

}  // namespace bulwark
