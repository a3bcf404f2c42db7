#include "util/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <ctime>

namespace mamute::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kOff: return "off";
  }
  return "?";
}
}  // namespace

void SetLevel(Level level) noexcept { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }
Level GetLevel() noexcept { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }

bool ParseLevel(std::string_view s, Level* out) noexcept {
  static constexpr struct { std::string_view name; Level level; } kLevels[] = {
      {"debug", Level::kDebug}, {"info", Level::kInfo}, {"warn", Level::kWarn},
      {"error", Level::kError}, {"off", Level::kOff}};
  for (const auto& l : kLevels) {
    if (l.name == s) {
      *out = l.level;
      return true;
    }
  }
  return false;
}

void Write(Level level, const char* fmt, ...) noexcept {
  char buf[2048];
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  int n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ", t.tm_year + 1900,
                        t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000,
                        LevelName(level));
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
  va_end(ap);
  size_t len = static_cast<size_t>(n) + (m < 0 ? 0 : std::min<size_t>(m, sizeof(buf) - n - 2));
  buf[len++] = '\n';
  // One write per record so lines from different threads do not interleave.
  ssize_t w = ::write(STDERR_FILENO, buf, len);
  (void)w;
}

}  // namespace mamute::log
