// The HTTP Date header value, formatted once per second per shard.
#pragma once

#include <ctime>
#include <string_view>

namespace mamute::http {

class DateCache {
 public:
  /// The IMF-fixdate for second `now`; reformats only when the second changed.
  std::string_view Get(std::time_t now) noexcept;

 private:
  std::time_t sec_ = -1;
  char buf_[32] = {};
  std::size_t len_ = 0;
};

}  // namespace mamute::http
