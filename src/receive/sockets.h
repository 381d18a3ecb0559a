#pragma once
// Socket helpers the receivers share (internal to the receive module).

#include <sys/socket.h>

#include <string>

#include "bulwark/core/result.h"
#include "bulwark/event/ip.h"

namespace bulwark::receive {

// Opens a socket of `type` (SOCK_DGRAM, SOCK_STREAM) bound to `listen` ("HOST:PORT" with an IPv4
// address, or "[IPV6]:PORT"; port 0 picks one), listening when it is a stream socket, non-blocking
// and close-on-exec. Errors: a bad address, a port in use (with `listen` as where).
Result<int> OpenListeningSocket(const std::string& listen, int type);

// The port a bound socket got.
int BoundPort(int fd);

// The address of a peer (IPv4-mapped IPv6 as IPv4).
event::IpAddress PeerAddress(const sockaddr_storage& peer);

}  // namespace bulwark::receive
