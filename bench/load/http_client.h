// mamute-load's HTTP/1.1 client: one blocking keep-alive connection per worker
// thread (the generator runs one thread per connection, like warp's goroutines).
// Content-Length and chunked responses; a request on a reused connection that
// fails before any response byte is retried once on a fresh connection.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace mamute::load {

/// "http://host:port/path?query" split; port defaults to 80.
struct Url {
  std::string host;         ///< without port
  uint16_t port = 80;
  std::string host_header;  ///< "host:port" as the Host header (port omitted when 80)
  std::string path;         ///< "/..." (percent-encoded as given)
  std::string query;        ///< after '?', may be empty
};
bool ParseUrl(std::string_view url, Url* out, std::string* err);

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string host_header;
};
bool ResolveEndpoint(const Url& url, Endpoint* out, std::string* err);

struct Response {
  int status = 0;
  uint64_t body_bytes = 0;  ///< received (after de-chunking)
  std::string body;         ///< kept when asked for, or when status >= 300 (up to 1 MiB)
  std::string etag;
};

class HttpConnection {
 public:
  explicit HttpConnection(const Endpoint* ep);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  /// Sends `head` (the request line and headers, ending in an empty line) then
  /// `body`; reads the whole response. `head_request`: the response has no body.
  /// False with `err` on a network or protocol failure (the connection is closed).
  bool RoundTrip(std::string_view head, std::string_view body, bool head_request, bool keep_body,
                 Response* resp, std::string* err);

 private:
  bool Connect(std::string* err);
  void Close();
  bool SendAll(std::string_view head, std::string_view body, std::string* err);
  bool ReadResponse(bool head_request, bool keep_body, Response* resp, std::string* err);
  bool Fill(std::string* err);  // reads more bytes into buf_
  bool ReadLine(std::string_view* line, std::string* err);
  bool ReadBody(uint64_t n, bool keep, Response* resp, std::string* err);

  const Endpoint* ep_;
  int fd_ = -1;
  bool got_bytes_ = false;  // this response has received at least one byte
  std::string buf_;         // receive buffer; [pos_, len_) unread
  std::size_t pos_ = 0;
  std::size_t len_ = 0;
};

}  // namespace mamute::load
