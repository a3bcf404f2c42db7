#include "http/response.h"

#include <charconv>

namespace mamute::http {

std::string_view ReasonPhrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
  }
}

void ResponseWriter::StatusLine(int status) {
  char buf[16];
  out_->append("HTTP/1.1 ", 9);
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), status);
  out_->append(buf, static_cast<std::size_t>(p - buf));
  out_->push_back(' ');
  out_->append(ReasonPhrase(status));
  out_->append("\r\n", 2);
}

void ResponseWriter::Header(std::string_view name, std::string_view value) {
  out_->append(name);
  out_->append(": ", 2);
  out_->append(value);
  out_->append("\r\n", 2);
}

void ResponseWriter::Header(std::string_view name, uint64_t value) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  Header(name, std::string_view(buf, static_cast<std::size_t>(p - buf)));
}

void WriteSimpleResponse(std::string* out, int status, std::string_view date, std::string_view request_id,
                         std::string_view content_type, std::string_view body, bool close) {
  ResponseWriter w(out);
  w.StatusLine(status);
  w.Header("Date", date);
  w.Header("Server", "mamute");
  if (!request_id.empty()) w.Header("x-amz-request-id", request_id);
  if (!body.empty()) w.Header("Content-Type", content_type);
  w.Header("Content-Length", static_cast<uint64_t>(body.size()));
  if (close) w.Header("Connection", "close");
  w.EndHead();
  w.Body(body);
}

}  // namespace mamute::http
