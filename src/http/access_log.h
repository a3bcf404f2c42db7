// Access log: one JSON line per request, buffered per shard and written with
// one write(2) per loop iteration (end-of-batch hook), never per request.
// The query string is not logged: presigned URLs carry credentials in it.
// The write never blocks the shard: a pipe or terminal is written through a
// non-blocking descriptor (OpenNonBlockingOutput); what the reader cannot take
// stays buffered up to kMaxPending bytes, after which whole records are dropped
// and counted (never half a line).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace mamute::http {

struct AccessRecord {
  std::string_view service;
  int shard = 0;
  std::string_view request_id;
  std::string_view method;
  std::string_view path;
  std::string_view route;
  int status = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  int64_t latency_us = 0;
  int64_t unix_sec = 0;
};

class AccessLog {
 public:
  /// Records buffered beyond this many bytes (the reader is behind) are dropped.
  static constexpr std::size_t kMaxPending = 1u << 20;

  /// `dropped` (may be null) counts the records dropped; `shard` names the shard in warnings.
  AccessLog(int fd, std::atomic<uint64_t>* dropped = nullptr, int shard = 0) noexcept;
  void Append(const AccessRecord& r);
  /// Writes what the fd takes now without blocking; `now_sec` paces the drop warning.
  void Flush(int64_t now_sec = 0) noexcept;
  std::size_t pending() const noexcept { return buf_.size() - sent_; }

  /// A descriptor for the log output `fd` whose writes never block: for a pipe or terminal, a
  /// new open file description of it (/proc/self/fd) with O_NONBLOCK, so the flag does not
  /// leak to other holders of the same pipe; failing that, `fd` itself is set O_NONBLOCK.
  /// A socket is returned as it is (AccessLog sends to it with MSG_DONTWAIT), and so is a
  /// regular file (writes to it do not wait on a reader). Cold path: call once at start-up.
  static int OpenNonBlockingOutput(int fd) noexcept;

 private:
  void Drop(uint64_t records) noexcept;
  void WriteOut() noexcept;

  int fd_;
  bool socket_ = false;  // send(MSG_DONTWAIT) rather than write(2)
  bool pipe_ = false;    // written in whole lines of at most PIPE_BUF bytes (atomic)
  std::atomic<uint64_t>* dropped_;
  int shard_;
  std::string buf_;
  std::size_t sent_ = 0;          // bytes of buf_ already written (a partial write)
  uint64_t unreported_drops_ = 0;  // dropped since the last warning
  int64_t last_warn_sec_ = INT64_MIN / 2;
};

/// Appends s as the inside of a JSON string (quotes, backslashes, control and non-ASCII bytes escaped).
void AppendJsonEscaped(std::string* out, std::string_view s);

}  // namespace mamute::http
