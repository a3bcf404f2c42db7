// Connection: the per-socket HTTP/1.1 state machine of a shard's server.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/shard.h"
#include "http/parser.h"
#include "http/router.h"

namespace mamute::http {

class Server;

class Connection final : public Exchange, private RequestParser::Sink {
 public:
  /// Named request stages; each transition is one function below.
  enum class Stage : uint8_t {
    kIdle,       ///< keep-alive, waiting for the first byte of a request (idle timer)
    kReadHead,   ///< receiving the request head (header timer, not re-armed: slowloris)
    kReadBody,   ///< body being pushed to the handler (body timer, re-armed on progress)
    kHandle,     ///< body done, handler working (async) — no read timer
    kWrite,      ///< response queued; waiting for it to be sent before the next request
    kLinger,     ///< closing after an error: write side shut, draining input briefly
    kClosing,    ///< cancel/close in flight
  };

  Connection(Server* server, uint32_t slot) noexcept;
  ~Connection() override;

  void Open(int fd, uint32_t gen) noexcept;
  uint32_t slot() const noexcept { return slot_; }
  uint32_t gen() const noexcept { return gen_; }
  bool open() const noexcept { return fd_ >= 0; }
  Stage stage() const noexcept { return stage_; }
  /// Receive buffers held back (backpressure); recv is paused at 8 (tests).
  std::size_t held_buffers() const noexcept { return held_.size(); }

  // Completions routed by the server (generation already checked).
  void OnRecv(io_uring_cqe* cqe) noexcept;
  void OnSend(io_uring_cqe* cqe) noexcept;
  void OnClosed() noexcept;
  void OnTimer() noexcept;
  /// Server shutdown: idle connections close now, busy ones after their response.
  void OnServerStop() noexcept;

  // Exchange
  const RequestHead& head() const noexcept override { return parser_.head(); }
  core::Arena& arena() noexcept override { return arena_; }
  core::Shard& shard() noexcept override;
  std::string_view request_id() const noexcept override { return {request_id_, 16}; }
  bool responded() const noexcept override { return responded_; }
  void Respond(int status, const OutHeader* headers, std::size_t header_count, std::string_view body,
               int64_t head_length) override;
  void CloseAfterResponse() noexcept override { close_after_ = true; }
  void SetExtraHeaders(const OutHeader* headers, std::size_t count) noexcept override {
    extra_headers_ = headers;
    extra_header_count_ = count;
  }
  std::string PeerIp() const override;
  void BeginStream(int status, const OutHeader* headers, std::size_t header_count,
                   uint64_t content_length) override;
  void StreamChunk(std::string_view data, void (*on_sent)(void* ctx), void* ctx) override;
  void EndStream() override;
  void AbortStream() noexcept override;
  void PauseBody() noexcept override;
  void ResumeBody() noexcept override;

  /// A timer that knows its connection (the server's timer lists fire these).
  struct ConnTimer : core::Timer {
    Connection* conn = nullptr;
  };
  ConnTimer timer_;        // the stage's timeout (idle / header / body / linger)
  ConnTimer retry_timer_;  // re-arming recv after the shard ran out of buffers
  ConnTimer trim_timer_;   // an idle keep-alive connection gives its buffers back
  void OnRetryTimer() noexcept;
  void OnTrimTimer() noexcept;

 private:
  // RequestParser::Sink
  bool OnHead(RequestHead& head) override;
  void OnBody(const char* data, std::size_t len) override;
  void OnMessageComplete() override;

  void ArmRecv() noexcept;
  void PauseRecv() noexcept;
  bool CanProcess() const noexcept;
  bool OutputBacklogFull() const noexcept;
  void ArmWriteStall() noexcept;   // the client stopped reading between requests
  std::size_t Process(const char* data, std::size_t len) noexcept;  // bytes taken
  std::size_t ProcessOnce(const char* data, std::size_t len) noexcept;
  void DrainHeld() noexcept;
  void Kick() noexcept;             // continue after an async response
  void WriteHead(int status, const OutHeader* headers, std::size_t header_count, uint64_t content_length,
                 bool has_body_length);
  void Pump() noexcept;             // parse buffered bytes while the stage allows
  void CompactInput() noexcept;
  void EnsureInput() noexcept;      // the head buffer is allocated on the first byte
  void ReleaseIdleMemory() noexcept;
  void FinishRequest() noexcept;    // response queued + body done → next request
  void FailParse() noexcept;        // answer a parse error and close
  void RespondTimeoutAndClose(std::string_view body) noexcept;  // 408, then linger and close
  void CutBody(std::string_view body) noexcept;  // abort the handler, then 408 and close
  void StartRateWindow() noexcept;
  void FlushOut() noexcept;
  void StartClose() noexcept;       // cancel everything, then close the fd
  void MaybeFinishClose() noexcept;
  void Linger() noexcept;
  void SetTimer(int kind) noexcept;
  void NewRequestId() noexcept;
  void LogAndCount(bool count = true) noexcept;

  Server* server_;
  uint32_t slot_;
  uint32_t gen_ = 0;
  int fd_ = -1;
  Stage stage_ = Stage::kIdle;
  RequestParser parser_;
  core::Arena arena_;

  // Input: the head (and pipelined bytes) live here; body bytes are fed from
  // the provided buffers directly. Allocated on the first byte of a request and
  // freed when the connection has been idle for the trim delay (or closes), so
  // 10,000 idle connections do not hold 10,000 head buffers.
  char* in_ = nullptr;
  std::size_t in_cap_ = 0;
  std::size_t in_start_ = 0;
  std::size_t in_end_ = 0;

  // Output: `pending_` collects responses; `inflight_` is what the kernel is sending.
  std::string pending_;
  std::string inflight_;
  std::size_t inflight_off_ = 0;
  bool send_inflight_ = false;
  bool recv_armed_ = false;
  bool close_inflight_ = false;
  bool cancel_sent_ = false;
  bool recv_paused_ = false;     // recv cancelled for backpressure
  bool close_after_send_ = false;
  bool in_pump_ = false;
  bool need_linger_ = false;   // the peer may still be sending: drain before closing
  bool expect_body_ = false;   // the current request has a body
  bool abandon_body_ = false;  // answered before the body ended: stop reading it, close after
  bool body_paused_ = false;   // the handler asked for no more body for now
  bool streaming_ = false;     // BeginStream ... EndStream
  const OutHeader* extra_headers_ = nullptr;  // SetExtraHeaders (in the request arena)
  std::size_t extra_header_count_ = 0;
  // The external chunk of a streaming response, sent after inflight_ (sendmsg with two iovecs).
  std::string_view ext_;
  std::size_t ext_off_ = 0;
  void (*ext_cb_)(void*) = nullptr;
  void* ext_ctx_ = nullptr;
  bool ext_in_send_ = false;
  msghdr msg_{};
  iovec iov_[2]{};
  bool first_request_ = true;

  // Receive buffers not yet processed (backpressure), in arrival order.
  struct Held {
    uint16_t bid;
    uint32_t len;
    uint32_t off;
  };
  // Past kMaxHeld the recv is cancelled, but completions already on their way still
  // arrive: the list grows a little beyond it rather than overflow.
  std::vector<Held> held_;

  // The current request.
  Handler* handler_ = nullptr;
  bool handler_owned_ = false;
  uint16_t route_id_ = 0;
  bool responded_ = false;
  bool body_done_ = false;
  bool close_after_ = false;
  bool stopping_ = false;
  int status_ = 0;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  int64_t start_ms_ = 0;
  int64_t start_us_ = 0;
  char request_id_[16];
  int timer_kind_ = -1;
  // --min-body-rate: body bytes since the current window began (at the head, and again at each
  // ResumeBody, so time the server holds the body back is not counted).
  int64_t rate_window_start_ms_ = 0;
  uint64_t rate_window_bytes_ = 0;
  bool body_too_slow_ = false;  // below the rate: the stall timer is not re-armed (408 when it fires)
};

}  // namespace mamute::http
