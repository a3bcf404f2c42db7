// Access log: one JSON line per request, buffered per shard and written with
// one write(2) per loop iteration (end-of-batch hook), never per request.
// The query string is not logged: presigned URLs carry credentials in it.
#pragma once

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
  explicit AccessLog(int fd) noexcept : fd_(fd) {}
  void Append(const AccessRecord& r);
  void Flush() noexcept;

 private:
  int fd_;
  std::string buf_;
};

/// Appends s as the inside of a JSON string (quotes, backslashes, control and non-ASCII bytes escaped).
void AppendJsonEscaped(std::string* out, std::string_view s);

}  // namespace mamute::http
