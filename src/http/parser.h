// RequestParser: llhttp behind a small pure interface (no ring, no sockets),
// so it is unit-tested and fuzzed alone.
//
// Feeding protocol: the request head must be fed from ONE contiguous buffer
// that keeps earlier bytes in place (the connection appends to its receive
// buffer), so header views can span several Execute calls. Body bytes may be
// fed from anywhere (provided receive buffers): OnBody gets views into them.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>

#include "http/request.h"

namespace mamute::http {

/// Why a request was rejected by the parser; each maps to a status and a close.
enum class ParseError : uint8_t {
  kNone = 0,
  kBadRequest,        ///< 400: malformed syntax, smuggling patterns, bad chunk framing, obs-fold
  kHeaderTooLarge,    ///< 431: head over the limit, or too many headers
  kUriTooLong,        ///< 414
  kNotImplemented,    ///< 501: a method we do not serve, or an unknown Transfer-Encoding
  kVersionNotSupported,  ///< 505
};
int StatusForError(ParseError e) noexcept;

class RequestParser {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    /// The head is complete. Return false to pause parsing (the caller resumes later).
    virtual bool OnHead(RequestHead& head) = 0;
    /// A piece of the (de-chunked) body: a view into the bytes being fed, valid
    /// while the caller keeps that buffer. Backpressure is the caller's: it stops
    /// feeding buffers while the sink is busy.
    virtual void OnBody(const char* data, std::size_t len) = 0;
    /// The message is complete (pauses the parser: one request at a time).
    virtual void OnMessageComplete() = 0;
  };

  struct Limits {
    uint32_t max_header_bytes = 16384;
    uint32_t max_uri_bytes = 8192;
  };

  enum class State : uint8_t { kOk, kPaused, kError };
  struct Outcome {
    State state = State::kOk;
    std::size_t consumed = 0;  ///< bytes of the input used (all when kOk)
  };

  RequestParser(Sink* sink, Limits limits) noexcept;
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  /// Parses bytes. kPaused: the sink paused (after OnHead, or at message end); call Resume() and feed the unconsumed rest. kError: see error().
  Outcome Execute(const char* data, std::size_t len) noexcept;
  void Resume() noexcept;
  /// Starts a fresh request (after a completed one).
  void Reset() noexcept;

  ParseError error() const noexcept { return error_; }
  const char* error_reason() const noexcept { return reason_; }
  bool in_head() const noexcept { return in_head_; }
  bool message_done() const noexcept { return message_done_; }
  RequestHead& head() noexcept { return head_; }
  const RequestHead& head() const noexcept { return head_; }
  /// Bytes of the head seen so far (request line + headers).
  std::size_t head_bytes() const noexcept { return head_bytes_; }

 private:
  static int OnMessageBeginCb(llhttp_t* p);
  static int OnUrlCb(llhttp_t* p, const char* at, std::size_t len);
  static int OnMethodCb(llhttp_t* p, const char* at, std::size_t len);
  static int OnHeaderFieldCb(llhttp_t* p, const char* at, std::size_t len);
  static int OnHeaderValueCb(llhttp_t* p, const char* at, std::size_t len);
  static int OnHeaderValueCompleteCb(llhttp_t* p);
  static int OnHeadersCompleteCb(llhttp_t* p);
  static int OnBodyCb(llhttp_t* p, const char* at, std::size_t len);
  static int OnMessageCompleteCb(llhttp_t* p);
  static void Extend(std::string_view& v, const char* at, std::size_t len) noexcept;
  int Fail(ParseError e, const char* reason) noexcept;
  int CountHead(std::size_t len) noexcept;

  llhttp_t parser_;
  llhttp_settings_t settings_;
  Sink* sink_;
  Limits limits_;
  RequestHead head_;
  ParseError error_ = ParseError::kNone;
  const char* reason_ = "";
  std::size_t head_bytes_ = 0;
  bool in_head_ = true;
  bool message_done_ = false;
  bool field_open_ = false;   // last callback was a header-field piece
  bool te_seen_ = false;
  uint32_t cl_count_ = 0;
  char first_[32];
  std::size_t first_len_ = 0;
  bool capturing_ = true;  // between messages: keep the request line's first bytes
};

}  // namespace mamute::http
