// Time formats used by HTTP and S3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string_view>

namespace mamute::util {

/// RFC 7231 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (29 chars). out needs 30 bytes.
std::size_t FormatHttpDate(std::time_t t, char* out) noexcept;
/// Parses IMF-fixdate (and the obsolete RFC 850 / asctime forms, as RFC 7231 asks).
std::optional<std::time_t> ParseHttpDate(std::string_view s) noexcept;
/// ISO 8601 basic, "20130524T000000Z" (16 chars). out needs 17 bytes.
std::size_t FormatAmzDate(std::time_t t, char* out) noexcept;
std::optional<std::time_t> ParseAmzDate(std::string_view s) noexcept;
/// ISO 8601 with milliseconds, "2013-05-24T00:00:00.000Z" (24 chars), as S3 XML uses. out needs 25 bytes.
std::size_t FormatIso8601Ms(int64_t unix_ms, char* out) noexcept;

}  // namespace mamute::util
