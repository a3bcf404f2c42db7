// RequestHead: a parsed request line and header block. Every view points into
// the connection's receive buffer and is valid until the request completes.
#pragma once

#include <cstdint>
#include <string_view>

namespace mamute::http {

struct Header {
  std::string_view name;   ///< as sent (any case)
  std::string_view value;  ///< as sent, leading/trailing whitespace trimmed by the parser
};

enum class Method : uint8_t { kGet, kHead, kPut, kPost, kDelete, kOptions, kOther };

inline constexpr uint32_t kMaxHeaders = 128;

struct RequestHead {
  Method method = Method::kOther;
  std::string_view method_name;
  std::string_view target;  ///< raw request-target
  std::string_view path;    ///< target up to '?', still percent-encoded
  std::string_view query;   ///< after '?', raw ("" when none)
  uint8_t version_minor = 1;
  Header headers[kMaxHeaders];
  uint32_t header_count = 0;

  bool has_content_length = false;
  uint64_t content_length = 0;
  bool chunked = false;          ///< Transfer-Encoding: chunked
  bool keep_alive = true;
  bool expect_continue = false;  ///< Expect: 100-continue

  /// First header with this name, compared case-insensitively. "" when absent.
  std::string_view Find(std::string_view name) const noexcept;
  bool Has(std::string_view name) const noexcept;
  /// Whether the request carries a body (Content-Length > 0 or chunked).
  bool HasBody() const noexcept { return chunked || (has_content_length && content_length > 0); }
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) noexcept;
Method ParseMethod(std::string_view m) noexcept;

}  // namespace mamute::http
