#include "http/parser.h"

#include <algorithm>
#include <cstring>

namespace mamute::http {
namespace {
RequestParser* Self(llhttp_t* p) { return static_cast<RequestParser*>(p->data); }

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool LooksLikeMethodToken(const char* data, std::size_t len) {
  std::size_t i = 0;
  while (i < len && i < 32 && data[i] >= 'A' && data[i] <= 'Z') ++i;
  // All upper-case letters so far (perhaps followed by the space): a method token.
  return i > 0 && (i == len || data[i] == ' ');
}
}  // namespace

int StatusForError(ParseError e) noexcept {
  switch (e) {
    case ParseError::kNone: return 200;
    case ParseError::kBadRequest: return 400;
    case ParseError::kHeaderTooLarge: return 431;
    case ParseError::kUriTooLong: return 414;
    case ParseError::kNotImplemented: return 501;
    case ParseError::kVersionNotSupported: return 505;
  }
  return 400;
}

RequestParser::RequestParser(Sink* sink, Limits limits) noexcept : sink_(sink), limits_(limits) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &OnMessageBeginCb;
  settings_.on_url = &OnUrlCb;
  settings_.on_header_field = &OnHeaderFieldCb;
  settings_.on_header_value = &OnHeaderValueCb;
  settings_.on_header_value_complete = &OnHeaderValueCompleteCb;
  settings_.on_headers_complete = &OnHeadersCompleteCb;
  settings_.on_body = &OnBodyCb;
  settings_.on_message_complete = &OnMessageCompleteCb;
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
}

void RequestParser::Reset() noexcept {
  llhttp_reset(&parser_);
  parser_.data = this;
  error_ = ParseError::kNone;
  reason_ = "";
  first_len_ = 0;
  capturing_ = true;
}

void RequestParser::Resume() noexcept { llhttp_resume(&parser_); }

int RequestParser::Fail(ParseError e, const char* reason) noexcept {
  error_ = e;
  reason_ = reason;
  return HPE_USER;
}

void RequestParser::Extend(std::string_view& v, const char* at, std::size_t len) noexcept {
  if (v.data() == nullptr || v.empty()) {
    v = std::string_view(at, len);
  } else if (v.data() + v.size() == at) {
    v = std::string_view(v.data(), v.size() + len);
  } else {
    // Not contiguous: the caller broke the feeding protocol. Keep the newest piece;
    // the connection never does this (the head lives in one buffer).
    v = std::string_view(at, len);
  }
}

int RequestParser::CountHead(std::size_t len) noexcept {
  head_bytes_ += len;
  if (head_bytes_ > limits_.max_header_bytes) return Fail(ParseError::kHeaderTooLarge, "request header block too large");
  return 0;
}

int RequestParser::OnMessageBeginCb(llhttp_t* p) {
  RequestParser* s = Self(p);
  s->head_.method = Method::kOther;
  s->head_.method_name = {};
  s->head_.target = {};
  s->head_.path = {};
  s->head_.query = {};
  s->head_.header_count = 0;
  s->head_.has_content_length = false;
  s->head_.content_length = 0;
  s->head_.chunked = false;
  s->head_.keep_alive = true;
  s->head_.expect_continue = false;
  s->head_bytes_ = 0;
  s->in_head_ = true;
  s->message_done_ = false;
  s->field_open_ = false;
  s->te_seen_ = false;
  s->cl_count_ = 0;
  return 0;
}

int RequestParser::OnUrlCb(llhttp_t* p, const char* at, std::size_t len) {
  RequestParser* s = Self(p);
  s->capturing_ = false;  // the method is behind us
  Extend(s->head_.target, at, len);
  if (s->head_.target.size() > s->limits_.max_uri_bytes) return s->Fail(ParseError::kUriTooLong, "request URI too long");
  return s->CountHead(len);
}

int RequestParser::OnHeaderFieldCb(llhttp_t* p, const char* at, std::size_t len) {
  RequestParser* s = Self(p);
  if (!s->field_open_) {
    if (s->head_.header_count >= kMaxHeaders) return s->Fail(ParseError::kHeaderTooLarge, "too many headers");
    s->head_.headers[s->head_.header_count++] = Header{};
    s->field_open_ = true;
  }
  Extend(s->head_.headers[s->head_.header_count - 1].name, at, len);
  return s->CountHead(len + 4);
}

int RequestParser::OnHeaderValueCb(llhttp_t* p, const char* at, std::size_t len) {
  RequestParser* s = Self(p);
  if (s->head_.header_count == 0) return s->Fail(ParseError::kBadRequest, "header value without a name");
  std::string_view& v = s->head_.headers[s->head_.header_count - 1].value;
  if (!s->field_open_ && !v.empty() && v.data() + v.size() != at) {
    // The value resumed somewhere else: llhttp skipped a line break, i.e. obs-fold.
    return s->Fail(ParseError::kBadRequest, "obsolete line folding in a header");
  }
  s->field_open_ = false;
  Extend(v, at, len);
  return s->CountHead(len);
}

int RequestParser::OnHeaderValueCompleteCb(llhttp_t* p) {
  RequestParser* s = Self(p);
  s->field_open_ = false;
  if (s->head_.header_count == 0) return 0;
  Header& h = s->head_.headers[s->head_.header_count - 1];
  // obs-fold (a value continued on the next line) is rejected, as RFC 7230 §3.2.4
  // allows: folded values are a classic request-smuggling vector.
  if (h.value.find_first_of("\r\n") != std::string_view::npos) {
    return s->Fail(ParseError::kBadRequest, "obsolete line folding in a header");
  }
  h.value = Trim(h.value);
  if (EqualsIgnoreCase(h.name, "content-length")) {
    ++s->cl_count_;
  } else if (EqualsIgnoreCase(h.name, "transfer-encoding")) {
    if (s->te_seen_) return s->Fail(ParseError::kBadRequest, "duplicate Transfer-Encoding");
    s->te_seen_ = true;
    if (!EqualsIgnoreCase(h.value, "chunked")) {
      // RFC 7230 §3.3.3: chunked must be the final coding of a request (else 400);
      // other codings before it are ones we do not implement (501).
      std::string_view v = h.value;
      auto comma = v.rfind(',');
      std::string_view last = Trim(comma == std::string_view::npos ? v : v.substr(comma + 1));
      if (!EqualsIgnoreCase(last, "chunked")) {
        return s->Fail(ParseError::kBadRequest, "chunked must be the final transfer coding");
      }
      return s->Fail(ParseError::kNotImplemented, "only Transfer-Encoding: chunked is supported");
    }
  } else if (EqualsIgnoreCase(h.name, "expect")) {
    if (EqualsIgnoreCase(h.value, "100-continue")) s->head_.expect_continue = true;
  }
  if (h.name.empty()) return s->Fail(ParseError::kBadRequest, "empty header name");
  if (h.name.find_first_of(" \t") != std::string_view::npos) {
    return s->Fail(ParseError::kBadRequest, "whitespace in a header name");  // RFC 7230 §3.2.4
  }
  return 0;
}

int RequestParser::OnHeadersCompleteCb(llhttp_t* p) {
  RequestParser* s = Self(p);
  RequestHead& h = s->head_;
  if (p->http_major != 1 || p->http_minor > 1) {
    return s->Fail(ParseError::kVersionNotSupported, "HTTP version not supported");
  }
  // Smuggling defences beyond llhttp's own (which rejects CL+TE and bad CL syntax).
  if (s->cl_count_ > 1) return s->Fail(ParseError::kBadRequest, "duplicate Content-Length");
  if (s->cl_count_ > 0 && s->te_seen_) {
    return s->Fail(ParseError::kBadRequest, "both Content-Length and Transfer-Encoding");
  }
  h.version_minor = static_cast<uint8_t>(p->http_minor);
  h.method_name = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  h.method = ParseMethod(h.method_name);
  if (h.method == Method::kOther) return s->Fail(ParseError::kNotImplemented, "method not implemented");
  if (h.target.empty() || h.target[0] != '/') {
    return s->Fail(ParseError::kBadRequest, "request target must be an absolute path");
  }
  auto q = h.target.find('?');
  if (q == std::string_view::npos) {
    h.path = h.target;
    h.query = {};
  } else {
    h.path = h.target.substr(0, q);
    h.query = h.target.substr(q + 1);
  }
  h.chunked = (p->flags & F_CHUNKED) != 0;
  h.has_content_length = (p->flags & F_CONTENT_LENGTH) != 0;
  h.content_length = h.has_content_length ? p->content_length : 0;
  h.keep_alive = llhttp_should_keep_alive(p) != 0;
  s->in_head_ = false;
  if (!s->sink_->OnHead(h)) return HPE_PAUSED;
  return 0;
}

int RequestParser::OnBodyCb(llhttp_t* p, const char* at, std::size_t len) {
  Self(p)->sink_->OnBody(at, len);
  return 0;
}

int RequestParser::OnMessageCompleteCb(llhttp_t* p) {
  RequestParser* s = Self(p);
  s->message_done_ = true;
  s->first_len_ = 0;
  s->capturing_ = true;
  s->sink_->OnMessageComplete();
  return HPE_PAUSED;  // one request at a time: the connection resumes when it is done
}

RequestParser::Outcome RequestParser::Execute(const char* data, std::size_t len) noexcept {
  Outcome out;
  // Keep the first bytes of a message's request line, so an unknown method can be
  // told apart from garbage even when the line arrives a byte at a time.
  if (capturing_ && first_len_ < sizeof(first_)) {
    std::size_t n = std::min(len, sizeof(first_) - first_len_);
    std::memcpy(first_ + first_len_, data, n);
    first_len_ += n;
  }
  llhttp_errno_t rc = llhttp_execute(&parser_, data, len);
  if (rc == HPE_OK) {
    out.consumed = len;
    return out;
  }
  if (rc == HPE_PAUSED) {
    out.state = State::kPaused;
    const char* pos = llhttp_get_error_pos(&parser_);
    out.consumed = pos != nullptr ? static_cast<std::size_t>(pos - data) : len;
    return out;
  }
  out.state = State::kError;
  // A callback's Fail() set error_; llhttp reports it as HPE_USER or, from
  // on_headers_complete, as HPE_CB_HEADERS_COMPLETE.
  if (error_ != ParseError::kNone) return out;
  switch (rc) {
    case HPE_INVALID_METHOD:
      error_ = LooksLikeMethodToken(first_, first_len_) ? ParseError::kNotImplemented : ParseError::kBadRequest;
      reason_ = "invalid or unsupported method";
      break;
    case HPE_UNEXPECTED_CONTENT_LENGTH:
      error_ = ParseError::kBadRequest;
      reason_ = "conflicting Content-Length / Transfer-Encoding";
      break;
    case HPE_INVALID_CONTENT_LENGTH:
      error_ = ParseError::kBadRequest;
      reason_ = "invalid Content-Length";
      break;
    case HPE_INVALID_TRANSFER_ENCODING:
      error_ = ParseError::kBadRequest;
      reason_ = "invalid Transfer-Encoding";
      break;
    case HPE_INVALID_CHUNK_SIZE:
      error_ = ParseError::kBadRequest;
      reason_ = "invalid chunk size";
      break;
    case HPE_INVALID_VERSION:
      error_ = ParseError::kBadRequest;
      reason_ = "invalid HTTP version";
      break;
    default:
      error_ = ParseError::kBadRequest;
      reason_ = llhttp_errno_name(rc);
      break;
  }
  return out;
}

}  // namespace mamute::http
