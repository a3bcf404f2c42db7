#include "http/access_log.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "util/log.h"

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

AccessLog::AccessLog(int fd, std::atomic<uint64_t>* dropped, int shard) noexcept
    : fd_(fd), dropped_(dropped), shard_(shard) {
  struct stat st;
  if (::fstat(fd, &st) == 0) {
    socket_ = S_ISSOCK(st.st_mode);
    pipe_ = S_ISFIFO(st.st_mode);
  }
}

void AccessLog::Append(const AccessRecord& r) {
  if (pending() >= kMaxPending) {
    WriteOut();
    if (pending() >= kMaxPending) {  // the reader is far behind: drop this record whole
      Drop(1);
      return;
    }
  }
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
}

void AccessLog::Drop(uint64_t records) noexcept {
  unreported_drops_ += records;
  if (dropped_ != nullptr) dropped_->fetch_add(records, std::memory_order_relaxed);
}

void AccessLog::WriteOut() noexcept {
  while (sent_ < buf_.size()) {
    const char* p = buf_.data() + sent_;
    std::size_t n = buf_.size() - sent_;
    if (pipe_ && n > PIPE_BUF) {
      // Whole lines, at most PIPE_BUF bytes: such a write to a pipe is atomic (all of it or
      // EAGAIN), so the lines of the shards sharing the pipe never interleave, even when the
      // reader is behind. A single line longer than that (a path of control bytes) goes as is.
      std::size_t nl = std::string_view(p, PIPE_BUF).rfind('\n');
      if (nl != std::string_view::npos) n = nl + 1;
    }
    ssize_t w = socket_ ? ::send(fd_, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) : ::write(fd_, p, n);
    if (w >= 0) {
      sent_ += static_cast<std::size_t>(w);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;  // the reader is behind: keep the rest
    // Closed or broken output: drop what is buffered (the line being written counts too).
    Drop(static_cast<uint64_t>(std::count(buf_.begin() + static_cast<std::ptrdiff_t>(sent_), buf_.end(), '\n')));
    sent_ = buf_.size();
  }
  if (sent_ == buf_.size()) {
    buf_.clear();
    sent_ = 0;
  } else if (sent_ >= buf_.size() / 2) {
    buf_.erase(0, sent_);  // keep the unwritten tail (it may start mid-line) at the front
    sent_ = 0;
  }
}

void AccessLog::Flush(int64_t now_sec) noexcept {
  WriteOut();
  // One warning per 10 s at most while records are being dropped.
  if (unreported_drops_ > 0 && now_sec - last_warn_sec_ >= 10) {
    MLOG_WARN("shard %d: access log output is not keeping up (blocked or closed): %llu records dropped",
              shard_, static_cast<unsigned long long>(unreported_drops_));
    unreported_drops_ = 0;
    last_warn_sec_ = now_sec;
  }
}

int AccessLog::OpenNonBlockingOutput(int fd) noexcept {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) return fd;
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  int own = ::open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (own >= 0) return own;
  // No /proc: set the flag on the shared description (a stderr on the same pipe becomes
  // non-blocking too; its log lines may then be lost rather than stall).
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) (void)::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  return fd;
}

}  // namespace mamute::http
