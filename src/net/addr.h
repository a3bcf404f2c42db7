// Socket addresses and listening sockets.
#pragma once

#include <sys/socket.h>

#include <string>

#include "mamute/result.h"

namespace mamute::net {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family() const noexcept { return storage.ss_family; }
};

/// Resolves "host:port" (numeric IPv4/IPv6 or localhost).
Result<SockAddr> ResolveListen(const std::string& host_port);
/// "127.0.0.1:9000" / "[::1]:9000".
std::string FormatAddr(const sockaddr* sa, socklen_t len);

/// A non-blocking listening TCP socket with SO_REUSEADDR, SO_REUSEPORT (one per
/// shard on the same address: the kernel spreads connections) and TCP_NODELAY
/// (inherited by accepted sockets, so small responses never wait for Nagle).
Result<int> ListenTcp(const SockAddr& addr, int backlog);

}  // namespace mamute::net
