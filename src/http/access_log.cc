#include "http/access_log.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace mamute::http {

void AppendJsonEscaped(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      // Escape bytes, not code points: keys may be invalid UTF-8.
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

void AccessLog::Append(const AccessRecord& r) {
  char buf[256];
  int n = std::snprintf(buf, sizeof(buf), "{\"ts\":%lld,\"service\":\"%.*s\",\"shard\":%d,\"request_id\":\"%.*s\",\"method\":\"%.*s\",\"path\":\"",
                        static_cast<long long>(r.unix_sec), static_cast<int>(r.service.size()), r.service.data(), r.shard,
                        static_cast<int>(r.request_id.size()), r.request_id.data(), static_cast<int>(r.method.size()),
                        r.method.data());
  buf_.append(buf, static_cast<std::size_t>(n));
  AppendJsonEscaped(&buf_, r.path.substr(0, 1024));
  n = std::snprintf(buf, sizeof(buf), "\",\"route\":\"%.*s\",\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,\"latency_us\":%lld}\n",
                    static_cast<int>(r.route.size()), r.route.data(), r.status,
                    static_cast<unsigned long long>(r.bytes_in), static_cast<unsigned long long>(r.bytes_out),
                    static_cast<long long>(r.latency_us));
  buf_.append(buf, static_cast<std::size_t>(n));
  if (buf_.size() > (1u << 20)) Flush();
}

void AccessLog::Flush() noexcept {
  std::size_t off = 0;
  while (off < buf_.size()) {
    ssize_t w = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      break;  // stdout closed or full: drop the log rather than stall the shard
    }
    off += static_cast<std::size_t>(w);
  }
  buf_.clear();
}

}  // namespace mamute::http
