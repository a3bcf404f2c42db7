// Logging: leveled, one line per record, written to stderr. Never log secrets:
// wrap sensitive values in Redacted<T>, which prints "<redacted>".
#pragma once

#include <cstdio>
#include <string_view>

namespace mamute::log {

enum class Level : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

void SetLevel(Level level) noexcept;
Level GetLevel() noexcept;
/// Parses "debug", "info", "warn", "error", "off". False on anything else.
bool ParseLevel(std::string_view s, Level* out) noexcept;
inline bool Enabled(Level l) noexcept { return static_cast<int>(l) >= static_cast<int>(GetLevel()); }

/// printf-style record; the timestamp and level are prefixed.
void Write(Level level, const char* fmt, ...) noexcept __attribute__((format(printf, 2, 3)));

/// A value that must never appear in logs.
template <typename T>
struct Redacted {
  const T& value;
  static constexpr const char* kText = "<redacted>";
};

}  // namespace mamute::log

#define MLOG_DEBUG(...) \
  do { if (::mamute::log::Enabled(::mamute::log::Level::kDebug)) ::mamute::log::Write(::mamute::log::Level::kDebug, __VA_ARGS__); } while (0)
#define MLOG_INFO(...) \
  do { if (::mamute::log::Enabled(::mamute::log::Level::kInfo)) ::mamute::log::Write(::mamute::log::Level::kInfo, __VA_ARGS__); } while (0)
#define MLOG_WARN(...) \
  do { if (::mamute::log::Enabled(::mamute::log::Level::kWarn)) ::mamute::log::Write(::mamute::log::Level::kWarn, __VA_ARGS__); } while (0)
#define MLOG_ERROR(...) \
  do { if (::mamute::log::Enabled(::mamute::log::Level::kError)) ::mamute::log::Write(::mamute::log::Level::kError, __VA_ARGS__); } while (0)
