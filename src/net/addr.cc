#include "net/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/options_parse.h"

namespace mamute::net {

Result<SockAddr> ResolveListen(const std::string& host_port) {
  auto hp = util::ParseHostPort(host_port);
  if (!hp) return Err(Status::InvalidArgument("bad listen address '" + host_port + "' (want host:port)"));
  std::string host = hp->host == "localhost" ? "127.0.0.1" : hp->host;
  SockAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(hp->port);
    a.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(hp->port);
    a.len = sizeof(sockaddr_in6);
  } else {
    return Err(Status::InvalidArgument("listen host must be a numeric address or localhost: " + host_port));
  }
  return a;
}

std::string FormatAddr(const sockaddr* sa, socklen_t len) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf));
    return std::string(buf) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  return buf;
}

Result<int> ListenTcp(const SockAddr& addr, int backlog) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(Status::IoError(errno, "socket"));
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
    int e = errno;
    ::close(fd);
    return Err(Status::IoError(e, "setsockopt on listener"));
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr.storage), addr.len) != 0) {
    int e = errno;
    ::close(fd);
    return Err(Status::IoError(e, "bind " + FormatAddr(reinterpret_cast<const sockaddr*>(&addr.storage), addr.len)));
  }
  if (::listen(fd, backlog) != 0) {
    int e = errno;
    ::close(fd);
    return Err(Status::IoError(e, "listen"));
  }
  return fd;
}

}  // namespace mamute::net
