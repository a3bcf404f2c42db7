// Hex and base64 encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mamute::util {

/// Lowercase hex of n bytes into out (2n chars, not NUL-terminated).
void HexEncode(const void* data, std::size_t n, char* out) noexcept;
std::string HexEncode(const void* data, std::size_t n);
/// Decodes hex (either case). nullopt on odd length or a non-hex char.
std::optional<std::string> HexDecode(std::string_view hex);

std::string Base64Encode(const void* data, std::size_t n);
/// Standard alphabet with padding; nullopt on invalid input.
std::optional<std::string> Base64Decode(std::string_view in);
/// URL-safe alphabet, no padding (JWT, continuation tokens).
std::string Base64UrlEncode(const void* data, std::size_t n);
std::optional<std::string> Base64UrlDecode(std::string_view in);

}  // namespace mamute::util
