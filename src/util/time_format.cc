#include "util/time_format.h"

#include <cstdio>
#include <cstring>

namespace mamute::util {
namespace {
constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool Digits(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

int MonthIndex(std::string_view m) {
  for (int i = 0; i < 12; ++i) {
    if (m == kMonths[i]) return i;
  }
  return -1;
}

std::optional<std::time_t> MakeTime(int year, int mon, int day, int h, int mi, int s) {
  if (mon < 0 || mon > 11 || day < 1 || day > 31 || h > 23 || mi > 59 || s > 60 || year < 1970) {
    return std::nullopt;
  }
  tm t{};
  t.tm_year = year - 1900;
  t.tm_mon = mon;
  t.tm_mday = day;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = s;
  return timegm(&t);
}
}  // namespace

std::size_t FormatHttpDate(std::time_t t, char* out) noexcept {
  tm g;
  gmtime_r(&t, &g);
  return static_cast<std::size_t>(std::snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                                kDays[g.tm_wday], g.tm_mday, kMonths[g.tm_mon],
                                                g.tm_year + 1900, g.tm_hour, g.tm_min, g.tm_sec));
}

std::optional<std::time_t> ParseHttpDate(std::string_view s) noexcept {
  int day, year, h, mi, sec;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (s.size() == 29 && s[3] == ',' && s.substr(26) == "GMT") {
    if (!Digits(s, 5, 2, &day) || !Digits(s, 12, 4, &year) || !Digits(s, 17, 2, &h) ||
        !Digits(s, 20, 2, &mi) || !Digits(s, 23, 2, &sec)) {
      return std::nullopt;
    }
    return MakeTime(year, MonthIndex(s.substr(8, 3)), day, h, mi, sec);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (s.size() == 24 && s[3] == ' ') {
    std::string_view d = s.substr(8, 2);
    day = d[0] == ' ' ? 0 : -1;
    if (d[0] == ' ') {
      if (d[1] < '0' || d[1] > '9') return std::nullopt;
      day = d[1] - '0';
    } else if (!Digits(s, 8, 2, &day)) {
      return std::nullopt;
    }
    if (!Digits(s, 11, 2, &h) || !Digits(s, 14, 2, &mi) || !Digits(s, 17, 2, &sec) ||
        !Digits(s, 20, 4, &year)) {
      return std::nullopt;
    }
    return MakeTime(year, MonthIndex(s.substr(4, 3)), day, h, mi, sec);
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
  auto comma = s.find(", ");
  if (comma != std::string_view::npos && s.size() == comma + 24 && s.substr(s.size() - 3) == "GMT") {
    std::size_t p = comma + 2;
    if (!Digits(s, p, 2, &day) || !Digits(s, p + 7, 2, &year) || !Digits(s, p + 10, 2, &h) ||
        !Digits(s, p + 13, 2, &mi) || !Digits(s, p + 16, 2, &sec)) {
      return std::nullopt;
    }
    year += year < 70 ? 2000 : 1900;
    return MakeTime(year, MonthIndex(s.substr(p + 3, 3)), day, h, mi, sec);
  }
  return std::nullopt;
}

std::size_t FormatAmzDate(std::time_t t, char* out) noexcept {
  tm g;
  gmtime_r(&t, &g);
  return static_cast<std::size_t>(std::snprintf(out, 17, "%04d%02d%02dT%02d%02d%02dZ", g.tm_year + 1900,
                                                g.tm_mon + 1, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec));
}

std::optional<std::time_t> ParseAmzDate(std::string_view s) noexcept {
  int year, mon, day, h, mi, sec;
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  if (!Digits(s, 0, 4, &year) || !Digits(s, 4, 2, &mon) || !Digits(s, 6, 2, &day) ||
      !Digits(s, 9, 2, &h) || !Digits(s, 11, 2, &mi) || !Digits(s, 13, 2, &sec)) {
    return std::nullopt;
  }
  return MakeTime(year, mon - 1, day, h, mi, sec);
}

std::size_t FormatIso8601Ms(int64_t unix_ms, char* out) noexcept {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  tm g;
  gmtime_r(&t, &g);
  return static_cast<std::size_t>(std::snprintf(out, 25, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                                                g.tm_year + 1900, g.tm_mon + 1, g.tm_mday, g.tm_hour,
                                                g.tm_min, g.tm_sec, static_cast<int>(unix_ms % 1000)));
}

}  // namespace mamute::util
