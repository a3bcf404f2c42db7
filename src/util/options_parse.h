// Parsing helpers for options: numbers, booleans, host:port.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mamute::util {

std::optional<uint64_t> ParseU64(std::string_view s) noexcept;
/// true/false, 1/0, yes/no, on/off.
std::optional<bool> ParseBool(std::string_view s) noexcept;

struct HostPort {
  std::string host;  ///< IPv4 dotted quad, IPv6 without brackets, or "localhost"
  uint16_t port = 0;
};
/// "127.0.0.1:9000", "[::1]:9000", ":9000" (all interfaces), "localhost:9000".
std::optional<HostPort> ParseHostPort(std::string_view s);

}  // namespace mamute::util
