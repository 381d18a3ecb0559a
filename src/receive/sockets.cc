#include "sockets.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "bulwark/core/strings.h"

namespace bulwark::receive {

Result<int> OpenListeningSocket(const std::string& listen, int type) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Fail("expected HOST:PORT or [IPV6]:PORT", listen);
  auto port = ParseInt(listen.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) return Fail("bad port", listen);
  std::string host = listen.substr(0, colon);
  sockaddr_storage address{};
  socklen_t length = 0;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto& v6 = reinterpret_cast<sockaddr_in6&>(address);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<uint16_t>(*port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &v6.sin6_addr) != 1) {
      return Fail("not an IPv6 address", listen);
    }
    length = sizeof v6;
  } else {
    auto& v4 = reinterpret_cast<sockaddr_in&>(address);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<uint16_t>(*port));
    if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) != 1) {
      return Fail("not an IPv4 address (IPv6 goes in brackets)", listen);
    }
    length = sizeof v4;
  }
  int fd = socket(address.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Fail(std::strerror(errno), listen);
  int on = 1;
  if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      (type == SOCK_STREAM && ::listen(fd, 1024) != 0)) {
    std::string reason = std::strerror(errno);
    ::close(fd);
    return Fail("cannot listen: " + reason, listen);
  }
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
}

event::IpAddress PeerAddress(const sockaddr_storage& peer) {
  if (peer.ss_family == AF_INET) {
    return event::IpAddress::V4(ntohl(reinterpret_cast<const sockaddr_in&>(peer).sin_addr.s_addr));
  }
  std::array<uint8_t, 16> bytes{};
  std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr, 16);
  return event::IpAddress::FromBytes(bytes);
}

}  // namespace bulwark::receive
