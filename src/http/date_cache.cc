#include "http/date_cache.h"

#include "util/time_format.h"

namespace mamute::http {

std::string_view DateCache::Get(std::time_t now) noexcept {
  if (now != sec_) {
    len_ = util::FormatHttpDate(now, buf_);
    sec_ = now;
  }
  return {buf_, len_};
}

}  // namespace mamute::http
