#include "http/server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "http/connection.h"
#include "http/response.h"
#include "net/addr.h"
#include "util/encoding.h"
#include "util/log.h"

namespace mamute::http {


Server::Server(core::Shard* shard, Service* service, ServerConfig config) noexcept
    : shard_(shard), service_(service), config_(std::move(config)), metrics_(std::make_unique<ServerMetrics>()),
      access_log_(config_.access_log_fd, &metrics_->access_log_dropped, shard->id()) {
  const uint32_t durations[kTimerKinds] = {config_.idle_timeout_ms, config_.header_timeout_ms,
                                           config_.body_timeout_ms, config_.linger_ms, 20, kTrimDelayMs};
  for (int i = 0; i < kTimerKinds; ++i) timer_lists_[i] = std::make_unique<core::TimerList>(durations[i]);
  metrics_->service = std::string(service_->name());
  metrics_->shard = shard_->id();
  metrics_->route_names = service_->route_names(&metrics_->route_count);
  metrics_->shard_ptr = shard_;
  std::random_device rd;
  id_seed_ = (uint64_t{rd()} << 32) ^ rd() ^ (uint64_t(shard_->id()) << 56);
}

Server::~Server() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (auto& c : conns_) {
    if (c->open()) {
      // The loop has ended: nothing is in flight any more that we wait for.
    }
  }
}

Status Server::Start() {
  auto addr = net::ResolveListen(config_.listen);
  if (!addr) return addr.error();
  auto fd = net::ListenTcp(*addr, 4096);
  if (!fd) return fd.error();
  listen_fd_ = *fd;
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    port_ = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  }
  shard_->SetHandler(core::Op::kAccept, &Server::OnAcceptCqe, this);
  shard_->SetHandler(core::Op::kRecv, &Server::OnConnCqe, this);
  shard_->SetHandler(core::Op::kSend, &Server::OnConnCqe, this);
  shard_->SetHandler(core::Op::kClose, &Server::OnConnCqe, this);
  for (auto& l : timer_lists_) shard_->AddTimerList(l.get());
  shard_->AddBatchHook(&Server::OnBatchEnd, this);
  shard_->AddStopHook(&Server::OnStop, &Server::Drained, this);
  ArmAccept();
  return Status::Ok();
}

void Server::ArmAccept() noexcept {
  if (stopping_ || listen_fd_ < 0) return;
  io_uring_sqe* sqe = shard_->ring().Sqe();
  if (shard_->ring().features().accept_multishot) {
    io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  } else {
    io_uring_prep_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  }
  io_uring_sqe_set_data64(sqe, core::Handle::Make(core::Op::kAccept, 0, 0));
  accept_armed_ = true;
}

void Server::OnAcceptCqe(void* ctx, io_uring_cqe* cqe) {
  auto* s = static_cast<Server*>(ctx);
  if ((cqe->flags & IORING_CQE_F_MORE) == 0) s->accept_armed_ = false;
  if (cqe->res >= 0) {
    if (s->stopping_) {
      ::close(cqe->res);
    } else {
      s->Accept(cqe->res);
    }
  } else if (cqe->res != -ECANCELED) {
    MLOG_WARN("shard %d: accept failed: %d", s->shard_->id(), cqe->res);
  }
  if (!s->accept_armed_) {
    if (!s->stopping_) {
      s->ArmAccept();
    } else if (s->listen_fd_ >= 0) {
      ::close(s->listen_fd_);  // refuse new connections from now on
      s->listen_fd_ = -1;
    }
  }
}

void Server::Accept(int fd) noexcept {
  metrics_->accepted.fetch_add(1, std::memory_order_relaxed);
  if (static_cast<uint32_t>(open_) >= config_.max_connections) {
    // Refuse deliberately: one best-effort write of a canned 503, then close.
    metrics_->rejected_max_connections.fetch_add(1, std::memory_order_relaxed);
    metrics_->Count(0, 503);
    char rid[16];
    NewRequestId(rid);
    std::string busy;
    WriteSimpleResponse(&busy, 503, Date(), std::string_view(rid, 16), "text/plain", "too many connections\n", true);
    ssize_t w = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    ::close(fd);
    return;
  }
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(conns_.size());
    conns_.push_back(std::make_unique<Connection>(this, slot));
  }
  ++open_;
  metrics_->open_connections.fetch_add(1, std::memory_order_relaxed);
  Connection* c = conns_[slot].get();
  c->Open(fd, (c->gen() + 1) & 0xffffff);
}

void Server::NewRequestId(char out[16]) noexcept {
  // 16 hex digits: the shard's random seed mixed with a counter (AWS ids are upper-case hex).
  uint64_t v = id_seed_ ^ (NextRequestSeq() * 0x9E3779B97F4A7C15ull);
  util::HexEncode(&v, sizeof(v), out);
  for (int i = 0; i < 16; ++i) {
    if (out[i] >= 'a' && out[i] <= 'f') out[i] = static_cast<char>(out[i] - 32);
  }
}

void Server::Release(Connection* c) noexcept {
  --open_;
  metrics_->open_connections.fetch_sub(1, std::memory_order_relaxed);
  free_.push_back(c->slot());
}

void Server::OnConnCqe(void* ctx, io_uring_cqe* cqe) {
  auto* s = static_cast<Server*>(ctx);
  uint64_t ud = cqe->user_data;
  uint32_t slot = core::Handle::SlotOf(ud);
  Connection* c = slot < s->conns_.size() ? s->conns_[slot].get() : nullptr;
  core::Op op = core::Handle::OpOf(ud);
  if (c == nullptr || c->gen() != core::Handle::GenOf(ud) || (!c->open() && op != core::Op::kClose)) {
    // Stale completion for a reused slot: give back a buffer it may carry.
    if (op == core::Op::kRecv && (cqe->flags & IORING_CQE_F_BUFFER) != 0) {
      s->shard_->ring().RecycleBuf(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
    }
    return;
  }
  switch (op) {
    case core::Op::kRecv: c->OnRecv(cqe); break;
    case core::Op::kSend: c->OnSend(cqe); break;
    case core::Op::kClose: c->OnClosed(); break;
    default: break;
  }
}

void Server::OnTimerFire(core::Timer* t) {
  auto* ct = static_cast<Connection::ConnTimer*>(t);
  if (t == &ct->conn->retry_timer_) {
    ct->conn->OnRetryTimer();
  } else if (t == &ct->conn->trim_timer_) {
    ct->conn->OnTrimTimer();
  } else {
    ct->conn->OnTimer();
  }
}

void Server::OnBatchEnd(void* ctx) {
  auto* s = static_cast<Server*>(ctx);
  if (s->config_.access_log) s->access_log_.Flush(s->shard_->wall_sec());
}

void Server::OnStop(void* ctx) {
  auto* s = static_cast<Server*>(ctx);
  s->stopping_ = true;
  if (s->accept_armed_) {
    io_uring_sqe* sqe = s->shard_->ring().Sqe();
    io_uring_prep_cancel64(sqe, core::Handle::Make(core::Op::kAccept, 0, 0), 0);
    io_uring_sqe_set_data64(sqe, core::Handle::Make(core::Op::kCancel, 0, 0));
  }
  for (auto& c : s->conns_) {
    if (c->open()) c->OnServerStop();
  }
}

bool Server::Drained(void* ctx) {
  auto* s = static_cast<Server*>(ctx);
  return s->open_ == 0 && !s->accept_armed_;
}

}  // namespace mamute::http
