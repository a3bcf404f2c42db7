#include "http/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "http/response.h"
#include "http/server.h"
#include "util/encoding.h"
#include "util/log.h"

namespace mamute::http {
namespace {
constexpr std::size_t kMaxOutputBacklog = 1u << 20;  // stop reading requests past this much unsent output
constexpr uint32_t kMaxHeld = 8;                     // provided buffers one connection may hold
constexpr std::string_view k100Continue = "HTTP/1.1 100 Continue\r\n\r\n";

int64_t NowUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}
}  // namespace

Connection::Connection(Server* server, uint32_t slot) noexcept
    : server_(server),
      slot_(slot),
      parser_(this, RequestParser::Limits{server->config().max_header_bytes, server->config().max_uri_bytes}),
      arena_(16 * 1024) {
  in_cap_ = server->config().max_header_bytes;
  timer_.conn = this;
  timer_.fire = &Server::OnTimerFire;
  retry_timer_.conn = this;
  retry_timer_.fire = &Server::OnTimerFire;
  trim_timer_.conn = this;
  trim_timer_.fire = &Server::OnTimerFire;
}

Connection::~Connection() { std::free(in_); }

void Connection::EnsureInput() noexcept {
  if (in_ != nullptr) return;
  in_ = static_cast<char*>(std::malloc(in_cap_));
  if (in_ == nullptr) std::abort();
}

void Connection::ReleaseIdleMemory() noexcept {
  // Only with nothing in progress: no head views into in_, no handler in the arena,
  // no output queued or in the kernel's hands.
  if (in_start_ != in_end_ || handler_ != nullptr || send_inflight_ || !pending_.empty() ||
      inflight_off_ < inflight_.size() || !held_.empty()) {
    return;
  }
  std::free(in_);
  in_ = nullptr;
  in_start_ = in_end_ = 0;
  arena_.Release();
  std::string().swap(pending_);
  std::string().swap(inflight_);
  inflight_off_ = 0;
  std::vector<Held>().swap(held_);
}

void Connection::OnTrimTimer() noexcept {
  if (stage_ == Stage::kIdle) ReleaseIdleMemory();
}

core::Shard& Connection::shard() noexcept { return server_->shard(); }

std::string Connection::PeerIp() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (fd_ < 0 || ::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return {};
  }
  char buf[INET6_ADDRSTRLEN] = {};
  const void* addr = ss.ss_family == AF_INET6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr)
                                              : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&ss)->sin_addr);
  if (::inet_ntop(ss.ss_family, addr, buf, sizeof(buf)) == nullptr) {
    return {};
  }
  return buf;
}

void Connection::Open(int fd, uint32_t gen) noexcept {
  fd_ = fd;
  gen_ = gen;
  stage_ = Stage::kIdle;
  in_start_ = in_end_ = 0;
  pending_.clear();
  inflight_.clear();
  inflight_off_ = 0;
  send_inflight_ = recv_armed_ = close_inflight_ = cancel_sent_ = false;
  recv_paused_ = close_after_send_ = in_pump_ = need_linger_ = expect_body_ = abandon_body_ = false;
  body_paused_ = streaming_ = ext_in_send_ = false;
  ext_ = {};
  ext_off_ = 0;
  ext_cb_ = nullptr;
  first_request_ = true;
  held_.clear();
  handler_ = nullptr;
  handler_owned_ = false;
  responded_ = body_done_ = close_after_ = stopping_ = false;
  parser_.Reset();
  // A new connection gets the header timeout for its first request: a client
  // that connects and sends nothing is a slowloris too.
  SetTimer(Server::kHeaderTimer);
  ArmRecv();
}

void Connection::SetTimer(int kind) noexcept {
  if (timer_kind_ >= 0) server_->timers(timer_kind_).Disarm(&timer_);
  timer_kind_ = kind;
  if (kind >= 0) server_->timers(kind).Arm(&timer_, server_->shard().now_ms());
}

void Connection::NewRequestId() noexcept { server_->NewRequestId(request_id_); }

// ------------------------------------------------------------------ receive

void Connection::ArmRecv() noexcept {
  if (recv_armed_ || fd_ < 0 || stage_ == Stage::kClosing || held_.size() >= kMaxHeld) return;
  core::Ring& ring = server_->shard().ring();
  io_uring_sqe* sqe = ring.Sqe();
  if (ring.features().recv_multishot) {
    io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
  } else {
    io_uring_prep_recv(sqe, fd_, nullptr, ring.buf_size(), 0);
  }
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = ring.buf_group();
  io_uring_sqe_set_data64(sqe, core::Handle::Make(core::Op::kRecv, slot_, gen_));
  recv_armed_ = true;
  recv_paused_ = false;
}

void Connection::PauseRecv() noexcept {
  if (!recv_armed_ || recv_paused_) return;
  io_uring_sqe* sqe = server_->shard().ring().Sqe();
  io_uring_prep_cancel64(sqe, core::Handle::Make(core::Op::kRecv, slot_, gen_), 0);
  io_uring_sqe_set_data64(sqe, core::Handle::Make(core::Op::kCancel, 0, 0));
  recv_paused_ = true;
}

bool Connection::OutputBacklogFull() const noexcept {
  return pending_.size() + inflight_.size() >= kMaxOutputBacklog;
}

void Connection::ArmWriteStall() noexcept {
  // Between requests, stopped at the output backlog because the client does not read its
  // responses: no header/body/idle timer applies, so bound the stall like any other write
  // (--body-timeout-ms, re-armed on each send's progress). Without it a client that pipelines
  // and never reads would hold its backlog and its held receive buffers forever.
  if (stage_ == Stage::kIdle && OutputBacklogFull() && timer_kind_ != Server::kBodyTimer) {
    SetTimer(Server::kBodyTimer);
  }
}

bool Connection::CanProcess() const noexcept {
  if (stage_ == Stage::kClosing) return false;
  if (stage_ == Stage::kLinger) return true;  // discards
  if (body_paused_ && stage_ == Stage::kReadBody) return false;
  return !OutputBacklogFull();
}

void Connection::OnRecv(io_uring_cqe* cqe) noexcept {
  if ((cqe->flags & IORING_CQE_F_MORE) == 0) recv_armed_ = false;
  const int res = cqe->res;
  core::Ring& ring = server_->shard().ring();
  if (res > 0) {
    const auto bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    const char* data = reinterpret_cast<const char*>(ring.BufAddr(bid));
    server_->metrics().bytes_in.fetch_add(static_cast<uint64_t>(res), std::memory_order_relaxed);
    bytes_in_ += static_cast<uint64_t>(res);
    if (stage_ == Stage::kClosing || stage_ == Stage::kLinger || close_after_send_) {
      ring.RecycleBuf(bid);  // closing after the response: the rest of the input is discarded
    } else if (held_.size() > 0 || !CanProcess()) {
      held_.push_back(Held{bid, static_cast<uint32_t>(res), 0});
      if (held_.size() >= kMaxHeld) PauseRecv();
      ArmWriteStall();
    } else {
      std::size_t took = Process(data, static_cast<std::size_t>(res));
      if (took < static_cast<std::size_t>(res) && stage_ != Stage::kClosing) {
        held_.push_back(Held{bid, static_cast<uint32_t>(res), static_cast<uint32_t>(took)});
      } else {
        ring.RecycleBuf(bid);
      }
    }
  } else if (res == 0) {
    // Peer closed its side. A request in progress is aborted.
    if (stage_ != Stage::kClosing) StartClose();
  } else if (res == -ENOBUFS) {
    // The shard ran out of provided buffers: retry shortly instead of spinning.
    if (stage_ != Stage::kClosing) server_->timers(Server::kRetryTimer).Arm(&retry_timer_, server_->shard().now_ms());
  } else if (res == -ECANCELED) {
    // Backpressure pause or close.
  } else if (stage_ != Stage::kClosing) {
    StartClose();
  }
  if (stage_ == Stage::kClosing) {
    MaybeFinishClose();
    return;
  }
  // Re-arm whenever fewer than kMaxHeld buffers are held — also after the -ECANCELED of a
  // PauseRecv whose held input was drained (ResumeBody) before the cancel completed: nothing
  // else would re-arm then, and the body would stall until its timeout (408).
  if (!recv_armed_ && res != -ENOBUFS && held_.size() < kMaxHeld) ArmRecv();
  FlushOut();
}

void Connection::OnRetryTimer() noexcept {
  if (stage_ != Stage::kClosing && !recv_armed_) ArmRecv();
}

std::size_t Connection::Process(const char* data, std::size_t len) noexcept {
  // One buffer may hold the end of a head and the start of its body (or several
  // pipelined requests): keep going while each step makes progress.
  std::size_t took = 0;
  while (took < len && stage_ != Stage::kClosing && !close_after_send_ &&
         !(body_paused_ && stage_ == Stage::kReadBody)) {
    std::size_t t = ProcessOnce(data + took, len - took);
    if (t == 0) break;
    took += t;
  }
  if (close_after_send_ || stage_ == Stage::kClosing) return len;  // closing: the rest is discarded
  return took;
}

std::size_t Connection::ProcessOnce(const char* data, std::size_t len) noexcept {
  if (stage_ == Stage::kReadBody && in_start_ == in_end_) {
    // Body bytes go to the handler straight from the provided buffer.
    in_pump_ = true;
    RequestParser::Outcome out = parser_.Execute(data, len);
    in_pump_ = false;
    if (out.state == RequestParser::State::kError) {
      FailParse();
      return len;
    }
    if (abandon_body_) {
      if (!streaming_) FinishRequest();  // answered before the body ended: close after the response
      return len;
    }
    std::size_t took = out.consumed;
    if (out.state == RequestParser::State::kPaused) {
      // Message complete inside this buffer; what follows is the next request.
      if (responded_ && !streaming_) FinishRequest();
      std::size_t rest = len - took;
      std::size_t room = in_cap_ - in_end_;
      std::size_t n = rest < room ? rest : room;
      if (n > 0) {
        EnsureInput();
        std::memcpy(in_ + in_end_, data + took, n);
        in_end_ += n;
      }
      took += n;
      Pump();
    }
    return took;
  }
  CompactInput();
  std::size_t room = in_cap_ - in_end_;
  std::size_t n = len < room ? len : room;
  if (n > 0) {
    EnsureInput();
    std::memcpy(in_ + in_end_, data, n);
    in_end_ += n;
  }
  Pump();
  return n;
}

void Connection::CompactInput() noexcept {
  // Only between requests: during a request the head's views point into in_.
  if (stage_ != Stage::kIdle || handler_ != nullptr || in_start_ == 0) return;
  std::memmove(in_, in_ + in_start_, in_end_ - in_start_);
  in_end_ -= in_start_;
  in_start_ = 0;
}

void Connection::Pump() noexcept {
  in_pump_ = true;
  while (in_start_ < in_end_ && (stage_ == Stage::kIdle || stage_ == Stage::kReadHead || stage_ == Stage::kReadBody) &&
         !OutputBacklogFull()) {
    if (stage_ == Stage::kIdle) {
      CompactInput();
      server_->timers(Server::kTrimTimer).Disarm(&trim_timer_);
      stage_ = Stage::kReadHead;
      if (!first_request_) SetTimer(Server::kHeaderTimer);
      start_ms_ = server_->shard().now_ms();
      start_us_ = NowUs();
      bytes_in_ = in_end_ - in_start_;
      bytes_out_ = 0;
    }
    RequestParser::Outcome out = parser_.Execute(in_ + in_start_, in_end_ - in_start_);
    in_start_ += out.consumed;
    if (out.state == RequestParser::State::kError) {
      in_pump_ = false;
      FailParse();
      return;
    }
    if (abandon_body_) {
      in_start_ = in_end_;
      if (!streaming_) FinishRequest();  // answered before the body ended: close after the response
      break;
    }
    if (out.state == RequestParser::State::kOk) break;  // need more bytes
    // Paused at message end.
    if (responded_ && !streaming_) FinishRequest();
  }
  // In kReadBody with in_ consumed, the body continues from the provided buffers;
  // the head views stay valid because nothing is written over in_ until the request ends.
  in_pump_ = false;
  ArmWriteStall();
  // The head did not complete and the buffer is full: too large.
  if (stage_ == Stage::kReadHead && parser_.in_head() && in_start_ == in_end_ && in_end_ >= in_cap_) {
    parser_.head().header_count = 0;
    FailParse();
  }
}

// ------------------------------------------------------------------ parser sink

bool Connection::OnHead(RequestHead& head) {
  (void)head;
  first_request_ = false;
  arena_.Reset();
  NewRequestId();
  responded_ = false;
  body_done_ = false;
  expect_body_ = parser_.head().HasBody();
  abandon_body_ = false;
  body_paused_ = false;
  streaming_ = false;
  close_after_ = false;
  extra_headers_ = nullptr;
  extra_header_count_ = 0;
  status_ = 0;
  Route r = server_->service().Dispatch(*this);
  handler_ = r.handler;
  handler_owned_ = r.arena_owned;
  route_id_ = r.route_id;
  stage_ = Stage::kReadBody;
  SetTimer(parser_.head().HasBody() ? Server::kBodyTimer : -1);
  body_too_slow_ = false;
  StartRateWindow();
  // Expect: 100-continue on a request without a body (Content-Length: 0). RFC 9110 lets a server
  // omit the 100 here, but botocore (1.29, Debian 12's boto3) keeps the status line of a final
  // answer that came instead of the 100 for every later response on that connection, parses the
  // next response's status line as a header and then waits for the connection to close (its read
  // timeout, 60 s) on the next PUT with a body. So the 100 goes ahead of whatever answer follows,
  // in the same write (no extra send).
  if (parser_.head().expect_continue && !parser_.head().HasBody() && parser_.head().version_minor >= 1) {
    pending_.append(k100Continue);
  }
  handler_->OnHead(*this);
  if (parser_.head().expect_continue && parser_.head().HasBody() && !responded_ && parser_.head().version_minor >= 1) {
    pending_.append(k100Continue);
    FlushOut();
  }
  return true;
}

void Connection::StartRateWindow() noexcept {
  rate_window_start_ms_ = server_->shard().now_ms();
  rate_window_bytes_ = 0;
}

void Connection::OnBody(const char* data, std::size_t len) {
  // A trickled body (slowloris) re-arms the stall timer with every byte, so the rate is checked
  // too, once per --min-body-rate-window-ms, on the bytes that arrive. Too slow: the stall timer
  // is no longer re-armed, so it fires (408, close) at most --body-timeout-ms later — from the
  // loop, not from inside the parser's callback — unless the body ends first (then it is served).
  const ServerConfig& cfg = server_->config();
  rate_window_bytes_ += len;
  if (cfg.min_body_rate != 0 && !body_too_slow_ && !responded_ && stage_ == Stage::kReadBody) {
    const int64_t elapsed = server_->shard().now_ms() - rate_window_start_ms_;
    if (elapsed >= int64_t{cfg.min_body_rate_window_ms}) {
      if (rate_window_bytes_ * 1000 < uint64_t{cfg.min_body_rate} * static_cast<uint64_t>(elapsed)) {
        body_too_slow_ = true;
        if (timer_kind_ != Server::kBodyTimer && !body_paused_) SetTimer(Server::kBodyTimer);
      } else {
        StartRateWindow();
      }
    }
  }
  // Progress re-arms the stall timer (not for a body already found too slow).
  if (timer_kind_ == Server::kBodyTimer && !body_too_slow_) SetTimer(Server::kBodyTimer);
  if (!responded_ && handler_ != nullptr) handler_->OnBody(*this, std::string_view(data, len));
}

void Connection::OnMessageComplete() {
  body_done_ = true;
  if (!responded_ && handler_ != nullptr) handler_->OnBodyEnd(*this);
  if (!responded_) {
    stage_ = Stage::kHandle;
    SetTimer(-1);
  }
}

// ------------------------------------------------------------------ respond

void Connection::Respond(int status, const OutHeader* headers, std::size_t header_count, std::string_view body,
                         int64_t head_length) {
  if (responded_ || stage_ == Stage::kClosing) return;
  responded_ = true;
  status_ = status;
  const RequestHead& h = parser_.head();
  if (expect_body_ && !body_done_) {
    need_linger_ = true;
    abandon_body_ = true;
    // The handler answered before reading the whole body: the rest of it cannot
    // be told apart from the next request without reading it, so we close.
    close_after_ = true;
    server_->metrics().unconsumed_body_closes.fetch_add(1, std::memory_order_relaxed);
  }
  std::size_t before = pending_.size();
  bool no_body = h.method == Method::kHead || status == 204 || status == 304;
  uint64_t length = head_length >= 0 && h.method == Method::kHead ? static_cast<uint64_t>(head_length)
                                                                  : static_cast<uint64_t>(body.size());
  WriteHead(status, headers, header_count, length, status != 204 && status != 304);
  if (!no_body) pending_.append(body);
  bytes_out_ += pending_.size() - before;
  LogAndCount();
  if (!in_pump_) Kick();
}

void Connection::WriteHead(int status, const OutHeader* headers, std::size_t header_count, uint64_t content_length,
                           bool has_body_length) {
  const RequestHead& h = parser_.head();
  bool close = close_after_ || !h.keep_alive || stopping_ || server_->stopping();
  ResponseWriter w(&pending_);
  w.StatusLine(status);
  w.Header("Date", server_->Date());
  w.Header("Server", "mamute");
  w.Header("x-amz-request-id", request_id());
  for (std::size_t i = 0; i < header_count; ++i) w.Header(headers[i].name, headers[i].value);
  for (std::size_t i = 0; i < extra_header_count_; ++i) w.Header(extra_headers_[i].name, extra_headers_[i].value);
  if (has_body_length) w.Header("Content-Length", content_length);
  if (close) {
    w.Header("Connection", "close");
  } else if (h.version_minor == 0) {
    w.Header("Connection", "keep-alive");
  }
  w.EndHead();
  if (close) close_after_ = true;
}

void Connection::BeginStream(int status, const OutHeader* headers, std::size_t header_count,
                             uint64_t content_length) {
  if (responded_ || stage_ == Stage::kClosing) return;
  responded_ = true;
  streaming_ = true;
  status_ = status;
  if (expect_body_ && !body_done_) {
    need_linger_ = true;
    abandon_body_ = true;
    close_after_ = true;
  }
  std::size_t before = pending_.size();
  WriteHead(status, headers, header_count, content_length, true);
  bytes_out_ += pending_.size() - before;
  if (!in_pump_) FlushOut();
}

void Connection::StreamChunk(std::string_view data, void (*on_sent)(void* ctx), void* ctx) {
  if (stage_ == Stage::kClosing || !streaming_) return;
  ext_ = data;
  ext_off_ = 0;
  ext_cb_ = on_sent;
  ext_ctx_ = ctx;
  bytes_out_ += data.size();
  FlushOut();
}

void Connection::EndStream() {
  if (!streaming_) return;
  streaming_ = false;
  LogAndCount();
  if (!in_pump_) Kick();
}

void Connection::AbortStream() noexcept {
  streaming_ = false;
  ext_ = {};
  ext_cb_ = nullptr;
  LogAndCount();
  StartClose();
}

// The body timeout measures the client's silence: while the handler holds the body back
// (its writer is busy: a slow disk, a loaded machine), the client cannot send, so the timer
// stops, and starts again in full on resume.
void Connection::PauseBody() noexcept {
  body_paused_ = true;
  if (timer_kind_ == Server::kBodyTimer && stage_ == Stage::kReadBody) SetTimer(-1);
}

void Connection::ResumeBody() noexcept {
  if (!body_paused_) return;
  body_paused_ = false;
  if (stage_ == Stage::kReadBody && !body_done_ && !responded_ && timer_kind_ == -1) SetTimer(Server::kBodyTimer);
  body_too_slow_ = false;  // the server held the body back: the client gets a fresh window
  StartRateWindow();
  if (in_pump_) return;  // the running Process/Pump continues by itself
  DrainHeld();
  Pump();
  FlushOut();
  if (!recv_armed_ && stage_ != Stage::kClosing && held_.size() < kMaxHeld) ArmRecv();
}

void Connection::Kick() noexcept {
  // An async response: continue with the connection as Pump would have.
  if (responded_ && !streaming_ && (body_done_ || abandon_body_)) FinishRequest();
  DrainHeld();
  Pump();
  FlushOut();
  if (!recv_armed_ && !recv_paused_ && stage_ != Stage::kClosing && held_.size() < kMaxHeld) ArmRecv();
}

void Connection::LogAndCount(bool count) noexcept {
  if (count) server_->metrics().Count(route_id_, status_);
  if (AccessLog* log = server_->access_log()) {
    std::size_t n = 0;
    const std::string_view* names = server_->service().route_names(&n);
    AccessRecord r;
    r.service = server_->service().name();
    r.shard = server_->shard().id();
    r.request_id = request_id();
    r.method = parser_.head().method_name;
    r.path = parser_.head().path;
    r.route = route_id_ < n ? names[route_id_] : std::string_view("?");
    r.status = status_;
    r.bytes_in = bytes_in_;
    r.bytes_out = bytes_out_;
    r.latency_us = NowUs() - start_us_;
    r.unix_sec = server_->shard().wall_sec();
    log->Append(r);
  }
}

void Connection::FinishRequest() noexcept {
  if (handler_ != nullptr && handler_owned_) handler_->~Handler();
  handler_ = nullptr;
  handler_owned_ = false;
  if (close_after_) {
    // No more requests on this connection; close once the output is sent.
    close_after_send_ = true;
    stage_ = Stage::kWrite;
    SetTimer(Server::kBodyTimer);  // write stall bound
    return;
  }
  stage_ = Stage::kIdle;
  responded_ = false;
  body_done_ = false;
  parser_.Resume();
  if (in_start_ == in_end_) {
    in_start_ = in_end_ = 0;
    SetTimer(Server::kIdleTimer);
    // Not released now: a busy keep-alive connection would malloc per request.
    server_->timers(Server::kTrimTimer).Arm(&trim_timer_, server_->shard().now_ms());
    if (stopping_ || server_->stopping()) {
      close_after_send_ = true;
      stage_ = Stage::kWrite;
    }
  }
}

void Connection::FailParse() noexcept {
  ParseError e = parser_.error();
  if (e == ParseError::kNone) e = ParseError::kHeaderTooLarge;
  int status = StatusForError(e);
  server_->metrics().parse_errors.fetch_add(1, std::memory_order_relaxed);
  server_->metrics().Count(0, status);
  MLOG_DEBUG("shard %d: HTTP parse error %d: %s", server_->shard().id(), status, parser_.error_reason());
  if (handler_ != nullptr && !responded_) {
    handler_->OnAbort(*this);
    server_->metrics().aborted_requests.fetch_add(1, std::memory_order_relaxed);
  }
  if (handler_ != nullptr && handler_owned_) handler_->~Handler();
  handler_ = nullptr;
  if (!responded_) {
    NewRequestId();
    status_ = status;
    route_id_ = 0;
    LogAndCount(/*count=*/false);
    std::string_view reason = parser_.error_reason();
    std::string body(reason);
    body += '\n';
    WriteSimpleResponse(&pending_, status, server_->Date(), request_id(), "text/plain", body, true);
  }
  responded_ = true;
  close_after_ = true;
  close_after_send_ = true;
  need_linger_ = true;
  stage_ = Stage::kWrite;
  in_start_ = in_end_ = 0;
  SetTimer(Server::kBodyTimer);
  FlushOut();
}

// ------------------------------------------------------------------ send

void Connection::FlushOut() noexcept {
  if (send_inflight_ || fd_ < 0 || stage_ == Stage::kClosing) return;
  if (inflight_off_ >= inflight_.size()) {
    inflight_.clear();
    inflight_off_ = 0;
    // Owned bytes (a head, small bodies) precede a streamed chunk that has not started
    // leaving; a chunk already part-sent is finished first. (A sent chunk clears ext_cb_.)
    if (!pending_.empty() && (ext_cb_ == nullptr || ext_off_ == 0)) inflight_.swap(pending_);
  }
  const std::size_t own = inflight_.size() - inflight_off_;
  const std::size_t ext = ext_cb_ != nullptr ? ext_.size() - ext_off_ : 0;
  if (own == 0 && ext == 0) {
    if (ext_cb_ != nullptr) {
      // An empty chunk: report it sent right away.
      auto cb = ext_cb_;
      ext_cb_ = nullptr;
      cb(ext_ctx_);
      return;
    }
    if (close_after_send_) Linger();
    return;
  }
  io_uring_sqe* sqe = server_->shard().ring().Sqe();
  if (ext == 0) {
    io_uring_prep_send(sqe, fd_, inflight_.data() + inflight_off_, own, MSG_NOSIGNAL);
    ext_in_send_ = false;
  } else {
    // Head (if any) and the chunk in one sendmsg, straight from the reader's buffer.
    int n = 0;
    if (own != 0) iov_[n++] = iovec{inflight_.data() + inflight_off_, own};
    iov_[n++] = iovec{const_cast<char*>(ext_.data()) + ext_off_, ext};
    msg_ = msghdr{};
    msg_.msg_iov = iov_;
    msg_.msg_iovlen = static_cast<std::size_t>(n);
    io_uring_prep_sendmsg(sqe, fd_, &msg_, MSG_NOSIGNAL);
    ext_in_send_ = true;
  }
  io_uring_sqe_set_data64(sqe, core::Handle::Make(core::Op::kSend, slot_, gen_));
  send_inflight_ = true;
}

void Connection::OnSend(io_uring_cqe* cqe) noexcept {
  send_inflight_ = false;
  if (cqe->res < 0) {
    if (stage_ != Stage::kClosing) StartClose();
    MaybeFinishClose();
    return;
  }
  server_->metrics().bytes_out.fetch_add(static_cast<uint64_t>(cqe->res), std::memory_order_relaxed);
  std::size_t sent = static_cast<std::size_t>(cqe->res);
  std::size_t own = std::min(sent, inflight_.size() - inflight_off_);
  inflight_off_ += own;
  sent -= own;
  if (ext_in_send_ && ext_cb_ != nullptr) {
    ext_off_ += sent;
    if (ext_off_ >= ext_.size() && stage_ != Stage::kClosing) {
      // The chunk is on the wire: its buffer may be reused.
      auto cb = ext_cb_;
      ext_cb_ = nullptr;
      ext_ = {};
      ext_off_ = 0;
      cb(ext_ctx_);
    }
  }
  ext_in_send_ = false;
  if (stage_ == Stage::kClosing) {
    MaybeFinishClose();
    return;
  }
  if (timer_kind_ == Server::kBodyTimer && (stage_ == Stage::kWrite || stage_ == Stage::kIdle || streaming_)) {
    SetTimer(Server::kBodyTimer);  // progress: the write-stall bound starts again
  }
  FlushOut();
  // Output drained below the backlog limit: resume held input.
  if (held_.size() > 0 || in_start_ < in_end_) {
    DrainHeld();
    Pump();
    FlushOut();
  }
  if (stage_ == Stage::kIdle && timer_kind_ == Server::kBodyTimer && !OutputBacklogFull() && in_start_ == in_end_ &&
      held_.empty()) {
    // The backlog drained and no request is waiting: an idle keep-alive connection again.
    SetTimer(Server::kIdleTimer);
    server_->timers(Server::kTrimTimer).Arm(&trim_timer_, server_->shard().now_ms());
  }
  if (!recv_armed_ && !recv_paused_ && stage_ != Stage::kClosing && held_.size() < kMaxHeld) ArmRecv();
  else if (recv_paused_ && held_.size() == 0 && !recv_armed_ && stage_ != Stage::kClosing) ArmRecv();
}

void Connection::DrainHeld() noexcept {
  core::Ring& ring = server_->shard().ring();
  while (held_.size() > 0 && CanProcess() && stage_ != Stage::kClosing) {
    Held& h = held_[0];
    const char* data = reinterpret_cast<const char*>(ring.BufAddr(h.bid)) + h.off;
    std::size_t took = stage_ == Stage::kLinger ? h.len - h.off : Process(data, h.len - h.off);
    if (stage_ == Stage::kClosing) break;
    h.off += static_cast<uint32_t>(took);
    if (h.off < h.len) break;
    ring.RecycleBuf(h.bid);
    held_.erase(held_.begin());
  }
}

// ------------------------------------------------------------------ close

void Connection::Linger() noexcept {
  // Everything is sent. If the peer may still be sending (an unread body, a parse
  // error), shut our side and drain its input briefly, so the close does not
  // turn into a reset that destroys the response before the client reads it.
  if (stage_ == Stage::kLinger || stage_ == Stage::kClosing) return;
  if (!need_linger_) {
    StartClose();
    return;
  }
  stage_ = Stage::kLinger;
  ::shutdown(fd_, SHUT_WR);
  SetTimer(Server::kLingerTimer);
  if (!recv_armed_) ArmRecv();
}

void Connection::OnServerStop() noexcept {
  stopping_ = true;
  if (stage_ == Stage::kIdle && in_start_ == in_end_ && !send_inflight_ && pending_.empty()) {
    StartClose();
  }
}

void Connection::RespondTimeoutAndClose(std::string_view body) noexcept {
  WriteSimpleResponse(&pending_, 408, server_->Date(), request_id(), "text/plain", body, true);
  status_ = 408;
  LogAndCount(/*count=*/true);
  close_after_send_ = true;
  need_linger_ = true;
  stage_ = Stage::kWrite;
  SetTimer(Server::kLingerTimer);
  FlushOut();
}

void Connection::CutBody(std::string_view body) noexcept {
  if (handler_ != nullptr) {
    handler_->OnAbort(*this);
    server_->metrics().aborted_requests.fetch_add(1, std::memory_order_relaxed);
    if (handler_owned_) handler_->~Handler();
    handler_ = nullptr;
  }
  responded_ = true;
  RespondTimeoutAndClose(body);
}

void Connection::OnTimer() noexcept {
  int kind = timer_kind_;
  timer_kind_ = -1;
  switch (kind) {
    case Server::kIdleTimer:
      server_->metrics().idle_timeouts.fetch_add(1, std::memory_order_relaxed);
      StartClose();
      return;
    case Server::kHeaderTimer:
      server_->metrics().header_timeouts.fetch_add(1, std::memory_order_relaxed);
      if (stage_ == Stage::kReadHead) {
        // A partial head: answer 408 so a real (slow) client learns why.
        NewRequestId();
        route_id_ = 0;
        RespondTimeoutAndClose("request header timeout\n");
        return;
      }
      StartClose();
      return;
    case Server::kBodyTimer:
      if (stage_ == Stage::kReadBody && !responded_) {
        if (body_too_slow_) {
          server_->metrics().body_rate_cuts.fetch_add(1, std::memory_order_relaxed);
          CutBody("request body too slow\n");
        } else {
          server_->metrics().body_timeouts.fetch_add(1, std::memory_order_relaxed);
          CutBody("request body timeout\n");
        }
        return;
      }
      server_->metrics().write_timeouts.fetch_add(1, std::memory_order_relaxed);
      StartClose();
      return;
    case Server::kLingerTimer:
    default:
      StartClose();
      return;
  }
}

void Connection::StartClose() noexcept {
  if (stage_ == Stage::kClosing) return;
  stage_ = Stage::kClosing;
  SetTimer(-1);
  server_->timers(Server::kRetryTimer).Disarm(&retry_timer_);
  server_->timers(Server::kTrimTimer).Disarm(&trim_timer_);
  if (handler_ != nullptr) {
    if (!responded_) {
      handler_->OnAbort(*this);
      server_->metrics().aborted_requests.fetch_add(1, std::memory_order_relaxed);
    }
    if (handler_owned_) handler_->~Handler();
    handler_ = nullptr;
  }
  if ((recv_armed_ || send_inflight_) && !cancel_sent_) {
    io_uring_sqe* sqe = server_->shard().ring().Sqe();
    io_uring_prep_cancel_fd(sqe, fd_, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, core::Handle::Make(core::Op::kCancel, 0, 0));
    cancel_sent_ = true;
  }
  MaybeFinishClose();
}

void Connection::MaybeFinishClose() noexcept {
  if (stage_ != Stage::kClosing || recv_armed_ || send_inflight_ || close_inflight_ || fd_ < 0) return;
  io_uring_sqe* sqe = server_->shard().ring().Sqe();
  io_uring_prep_close(sqe, fd_);
  io_uring_sqe_set_data64(sqe, core::Handle::Make(core::Op::kClose, slot_, gen_));
  close_inflight_ = true;
}

void Connection::OnClosed() noexcept {
  core::Ring& ring = server_->shard().ring();
  for (const Held& h : held_) ring.RecycleBuf(h.bid);
  held_.clear();
  fd_ = -1;
  close_inflight_ = false;
  pending_.clear();
  inflight_.clear();
  in_start_ = in_end_ = 0;
  // A closed slot waits in the free list holding nothing.
  ReleaseIdleMemory();
  server_->Release(this);
}

}  // namespace mamute::http
