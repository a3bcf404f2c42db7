// The plug-in surface of the HTTP server: a Service routes each request to a
// Handler; the Handler reads the body (pushed to it) and answers through the
// Exchange, synchronously or later (after async work on the same shard).
//
// Request stages (Connection::Stage): kReadHead → kDispatch (Service::Route,
// Handler::OnHead) → kReadBody (Handler::OnBody…, OnBodyEnd) → kRespond (the
// handler calls Exchange::Respond*) → kWrite → back to kReadHead on keep-alive.
#pragma once

#include <cstdint>
#include <new>
#include <string>
#include <string_view>

#include "core/arena.h"
#include "http/request.h"

namespace mamute::core {
class Shard;
}

namespace mamute::http {

class Exchange;

class Handler {
 public:
  virtual ~Handler() = default;
  /// The head is complete. The handler may respond now (then an unread body
  /// closes the connection after the response) or wait for the body.
  virtual void OnHead(Exchange& ex) = 0;
  /// A piece of the body (de-chunked), valid only during the call.
  virtual void OnBody(Exchange& ex, std::string_view piece) {
    (void)ex;
    (void)piece;
  }
  /// The whole body was received.
  virtual void OnBodyEnd(Exchange& ex) { (void)ex; }
  /// The connection is going away before the handler responded (peer closed,
  /// timeout, shutdown deadline): release anything pending. No Respond after this.
  virtual void OnAbort(Exchange& ex) { (void)ex; }
};

/// One header of a response; views must stay valid until Respond returns.
struct OutHeader {
  std::string_view name;
  std::string_view value;
};

/// The request being served and the way to answer it. Lives in the connection.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const RequestHead& head() const noexcept = 0;
  virtual core::Arena& arena() noexcept = 0;
  virtual core::Shard& shard() noexcept = 0;
  virtual std::string_view request_id() const noexcept = 0;
  /// Whether a response was already given.
  virtual bool responded() const noexcept = 0;
  /// Complete response: status, extra headers, body. Content-Length, Date,
  /// Server, x-amz-request-id and Connection are added by the server. For HEAD
  /// the body is not sent but its length is announced unless `head_length` ≥ 0.
  virtual void Respond(int status, const OutHeader* headers, std::size_t header_count, std::string_view body,
                       int64_t head_length = -1) = 0;
  /// Ask for the connection to close after this response.
  virtual void CloseAfterResponse() noexcept = 0;
  /// Headers added to whichever response this request gets (Respond or BeginStream, errors
  /// included), after the handler's own: the S3 CORS headers. The array and its views must stay
  /// valid until the request completes (allocate them in arena()). Replaces an earlier call.
  virtual void SetExtraHeaders(const OutHeader* headers, std::size_t count) noexcept {
    (void)headers;
    (void)count;
  }
  /// The client's IP address as text ("" when unknown). A getpeername(2) syscall: cold paths
  /// only (login rate limiting).
  virtual std::string PeerIp() const { return {}; }

  // ---- Streaming responses (large bodies): BeginStream, then StreamChunk as data is
  // ready (one chunk outstanding at a time), then EndStream. The chunk is sent straight
  // from the caller's buffer (no copy): it must stay valid until `on_sent` runs.
  virtual void BeginStream(int status, const OutHeader* headers, std::size_t header_count,
                           uint64_t content_length) = 0;
  virtual void StreamChunk(std::string_view data, void (*on_sent)(void* ctx), void* ctx) = 0;
  virtual void EndStream() = 0;
  /// The response cannot be completed (e.g. stored data failed its integrity check):
  /// the connection is closed mid-body so the client sees a truncated response, never
  /// bad data presented as good.
  virtual void AbortStream() noexcept = 0;

  // ---- Body backpressure: a handler that cannot take more body bytes pauses the
  // body; pieces already being delivered still arrive (at most one receive buffer),
  // then the connection holds further input until ResumeBody().
  virtual void PauseBody() noexcept = 0;
  virtual void ResumeBody() noexcept = 0;
};

struct Route {
  Handler* handler = nullptr;  ///< never null
  uint16_t route_id = 0;       ///< index into Service::route_names(); 0 is "unmatched" in every service
  bool arena_owned = false;    ///< placement-new'ed in ex.arena(): the server runs its destructor
};

/// Placement-new a handler in the request arena.
template <typename H, typename... Args>
H* MakeHandler(Exchange& ex, Args&&... args) {
  void* p = ex.arena().Allocate(sizeof(H), alignof(H));
  return new (p) H(static_cast<Args&&>(args)...);
}

class Service {
 public:
  virtual ~Service() = default;
  virtual Route Dispatch(Exchange& ex) = 0;
  /// Route names, indexed by route_id (at most kMaxRoutes).
  virtual const std::string_view* route_names(std::size_t* count) const noexcept = 0;
  /// "s3" or "mgmt": a label for metrics.
  virtual std::string_view name() const noexcept = 0;
};

inline constexpr std::size_t kMaxRoutes = 64;

}  // namespace mamute::http
