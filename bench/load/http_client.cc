// See http_client.h.
#include "http_client.h"

#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace mamute::load {
namespace {

constexpr std::size_t kBufSize = 256 * 1024;
constexpr std::size_t kMaxKeptBody = 8 << 20;  // listing pages, error documents

bool IEquals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

std::string_view Trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string Errno(const char* what, int e) { return std::string(what) + ": " + std::strerror(e); }

}  // namespace

bool ParseUrl(std::string_view url, Url* out, std::string* err) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    *err = "not an http:// URL: " + std::string(url);
    return false;
  }
  url.remove_prefix(kScheme.size());
  std::size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? "/" : url.substr(slash);
  out->port = 80;
  std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    std::string_view p = authority.substr(colon + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), out->port);
    if (ec != std::errc() || end != p.data() + p.size() || out->port == 0) {
      *err = "bad port in URL";
      return false;
    }
    out->host = authority.substr(0, colon);
  } else {
    out->host = authority;
  }
  if (out->host.size() > 2 && out->host.front() == '[' && out->host.back() == ']') {
    out->host = out->host.substr(1, out->host.size() - 2);
  }
  if (out->host.empty()) {
    *err = "no host in URL";
    return false;
  }
  out->host_header = std::string(authority);
  std::size_t q = rest.find('?');
  out->path = rest.substr(0, q);
  out->query = q == std::string_view::npos ? "" : rest.substr(q + 1);
  return true;
}

bool ResolveEndpoint(const Url& url, Endpoint* out, std::string* err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(url.port);
  if (int rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    *err = "resolve " + url.host + ": " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
  out->addr_len = res->ai_addrlen;
  out->host_header = url.host_header;
  freeaddrinfo(res);
  return true;
}

HttpConnection::HttpConnection(const Endpoint* ep) : ep_(ep), buf_(kBufSize, '\0') {}

HttpConnection::~HttpConnection() { Close(); }

void HttpConnection::Close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  pos_ = len_ = 0;
}

bool HttpConnection::Connect(std::string* err) {
  fd_ = ::socket(ep_->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    *err = Errno("socket", errno);
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&ep_->addr), ep_->addr_len) != 0) {
    *err = Errno("connect", errno);
    Close();
    return false;
  }
  return true;
}

bool HttpConnection::RoundTrip(std::string_view head, std::string_view body, bool head_request,
                               bool keep_body, Response* resp, std::string* err) {
  for (int attempt = 0;; ++attempt) {
    const bool reused = fd_ >= 0;
    if (!reused && !Connect(err)) {
      return false;
    }
    got_bytes_ = false;
    if (SendAll(head, body, err) && ReadResponse(head_request, keep_body, resp, err)) {
      return true;
    }
    Close();
    // A kept-alive connection the server closed meanwhile: retry once on a new one.
    if (!reused || got_bytes_ || attempt > 0) {
      return false;
    }
  }
}

bool HttpConnection::SendAll(std::string_view head, std::string_view body, std::string* err) {
  iovec iov[2] = {{const_cast<char*>(head.data()), head.size()},
                  {const_cast<char*>(body.data()), body.size()}};
  int first = 0;
  const int count = body.empty() ? 1 : 2;
  while (first < count) {
    msghdr msg{};
    msg.msg_iov = iov + first;
    msg.msg_iovlen = count - first;
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      *err = Errno("send", errno);
      return false;
    }
    auto left = static_cast<std::size_t>(n);
    while (first < count && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (first < count) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return true;
}

bool HttpConnection::Fill(std::string* err) {
  if (pos_ == len_) {
    pos_ = len_ = 0;
  } else if (len_ == buf_.size()) {
    if (pos_ == 0) {
      *err = "response line or header too long";
      return false;
    }
    std::memmove(buf_.data(), buf_.data() + pos_, len_ - pos_);
    len_ -= pos_;
    pos_ = 0;
  }
  for (;;) {
    ssize_t n = ::recv(fd_, buf_.data() + len_, buf_.size() - len_, 0);
    if (n > 0) {
      len_ += static_cast<std::size_t>(n);
      got_bytes_ = true;
      return true;
    }
    if (n == 0) {
      *err = "connection closed by peer";
      return false;
    }
    if (errno != EINTR) {
      *err = Errno("recv", errno);
      return false;
    }
  }
}

bool HttpConnection::ReadLine(std::string_view* line, std::string* err) {
  std::size_t scanned = pos_;
  for (;;) {
    const char* start = buf_.data() + pos_;
    const void* nl = std::memchr(buf_.data() + scanned, '\n', len_ - scanned);
    if (nl != nullptr) {
      const char* end = static_cast<const char*>(nl);
      *line = std::string_view(start, end - start);
      if (!line->empty() && line->back() == '\r') {
        line->remove_suffix(1);
      }
      pos_ = end + 1 - buf_.data();
      return true;
    }
    std::size_t have = len_ - pos_;
    if (!Fill(err)) {
      return false;
    }
    scanned = pos_ + have;  // Fill may have moved the unread bytes to the front
  }
}

bool HttpConnection::ReadBody(uint64_t n, bool keep, Response* resp, std::string* err) {
  while (n > 0) {
    if (pos_ == len_ && !Fill(err)) {
      return false;
    }
    auto take = static_cast<std::size_t>(std::min<uint64_t>(n, len_ - pos_));
    if (keep && resp->body.size() + take <= kMaxKeptBody) {
      resp->body.append(buf_.data() + pos_, take);
    }
    pos_ += take;
    n -= take;
    resp->body_bytes += take;
  }
  return true;
}

bool HttpConnection::ReadResponse(bool head_request, bool keep_body, Response* resp,
                                  std::string* err) {
  resp->status = 0;
  resp->body_bytes = 0;
  resp->body.clear();
  resp->etag.clear();
  std::string_view line;
  if (!ReadLine(&line, err)) {
    return false;
  }
  // "HTTP/1.1 200 OK"
  if (!line.starts_with("HTTP/1.") || line.size() < 12) {
    *err = "bad status line";
    return false;
  }
  std::from_chars(line.data() + 9, line.data() + 12, resp->status);
  bool close = line.starts_with("HTTP/1.0");
  bool chunked = false;
  int64_t content_length = -1;
  for (;;) {
    if (!ReadLine(&line, err)) {
      return false;
    }
    if (line.empty()) {
      break;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      *err = "bad header line";
      return false;
    }
    std::string_view name = line.substr(0, colon), value = Trim(line.substr(colon + 1));
    if (IEquals(name, "content-length")) {
      std::from_chars(value.data(), value.data() + value.size(), content_length);
    } else if (IEquals(name, "transfer-encoding")) {
      chunked = IEquals(value, "chunked");
    } else if (IEquals(name, "connection")) {
      close = IEquals(value, "close");
    } else if (IEquals(name, "etag")) {
      resp->etag = value;
    }
  }
  keep_body = keep_body || resp->status >= 300;
  const bool no_body = head_request || resp->status == 204 || resp->status == 304 ||
                       (resp->status >= 100 && resp->status < 200);
  if (no_body) {
    // nothing to read
  } else if (chunked) {
    for (;;) {
      if (!ReadLine(&line, err)) {
        return false;
      }
      uint64_t size = 0;
      auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
      if (ec != std::errc()) {
        *err = "bad chunk size";
        return false;
      }
      if (size == 0) {
        do {  // trailers up to the empty line
          if (!ReadLine(&line, err)) {
            return false;
          }
        } while (!line.empty());
        break;
      }
      if (!ReadBody(size, keep_body, resp, err) || !ReadLine(&line, err)) {
        return false;
      }
    }
  } else if (content_length >= 0) {
    if (!ReadBody(static_cast<uint64_t>(content_length), keep_body, resp, err)) {
      return false;
    }
  } else {
    *err = "response without Content-Length";  // read-until-close is not supported
    return false;
  }
  if (close) {
    Close();
  }
  return true;
}

}  // namespace mamute::load
