// Response writing: status line and headers appended to an output buffer in
// one pass, so header + small body leave in one send.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mamute::http {

/// Standard reason phrase ("OK", "Not Found", ...); "Unknown" for others.
std::string_view ReasonPhrase(int status) noexcept;

/// Appends HTTP/1.1 response pieces to a std::string.
class ResponseWriter {
 public:
  explicit ResponseWriter(std::string* out) noexcept : out_(out) {}
  void StatusLine(int status);
  void Header(std::string_view name, std::string_view value);
  void Header(std::string_view name, uint64_t value);
  void EndHead() { out_->append("\r\n", 2); }
  void Body(std::string_view body) { out_->append(body); }

 private:
  std::string* out_;
};

/// Appends a complete canned response (used for parse errors and limits, when
/// no handler exists): status, Date, Server, Content-Type, Content-Length,
/// Connection: close, and a short text body.
void WriteSimpleResponse(std::string* out, int status, std::string_view date, std::string_view request_id,
                         std::string_view content_type, std::string_view body, bool close);

}  // namespace mamute::http
