// Server: an HTTP/1.1 server on one shard: a listening socket (SO_REUSEPORT,
// multishot accept), a pool of connections (multishot recv into the shard's
// provided buffers, batched sends), timers, metrics and the access log.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/shard.h"
#include "http/access_log.h"
#include "http/date_cache.h"
#include "http/metrics.h"
#include "http/router.h"
#include "mamute/result.h"

namespace mamute::http {

class Connection;

struct ServerConfig {
  std::string listen = "127.0.0.1:9000";
  uint32_t max_connections = 16384;  ///< for this shard
  uint32_t header_timeout_ms = 10000;
  uint32_t idle_timeout_ms = 60000;
  uint32_t body_timeout_ms = 30000;
  uint32_t min_body_rate = 1024;              ///< bytes/s a body averages per window; 0: off
  uint32_t min_body_rate_window_ms = 20000;
  uint32_t linger_ms = 2000;
  uint32_t max_header_bytes = 16384;
  uint32_t max_uri_bytes = 8192;
  bool access_log = true;
  int access_log_fd = 1;  ///< stdout; main passes AccessLog::OpenNonBlockingOutput(1)
};

class Server {
 public:
  enum TimerKind { kIdleTimer = 0, kHeaderTimer, kBodyTimer, kLingerTimer, kRetryTimer, kTrimTimer, kTimerKinds };
  /// An idle keep-alive connection frees its head buffer and arena after this long.
  static constexpr uint32_t kTrimDelayMs = 1000;

  Server(core::Shard* shard, Service* service, ServerConfig config) noexcept;
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Opens the listener and registers handlers with the shard (on its thread).
  Status Start();

  core::Shard& shard() noexcept { return *shard_; }
  Service& service() noexcept { return *service_; }
  const ServerConfig& config() const noexcept { return config_; }
  ServerMetrics& metrics() noexcept { return *metrics_; }
  std::string_view Date() noexcept { return date_.Get(shard_->wall_sec()); }
  AccessLog* access_log() noexcept { return config_.access_log ? &access_log_ : nullptr; }
  core::TimerList& timers(int kind) noexcept { return *timer_lists_[kind]; }
  uint64_t NextRequestSeq() noexcept { return ++request_seq_; }
  /// 16 upper-case hex digits, unique per shard (seeded randomly at start).
  void NewRequestId(char out[16]) noexcept;
  bool stopping() const noexcept { return stopping_; }
  uint16_t port() const noexcept { return port_; }

  // Called by connections.
  void Release(Connection* c) noexcept;
  int open_connections() const noexcept { return open_; }

 private:
  static void OnAcceptCqe(void* ctx, io_uring_cqe* cqe);
  static void OnConnCqe(void* ctx, io_uring_cqe* cqe);
  static void OnTimerFire(core::Timer* t);
  static void OnBatchEnd(void* ctx);
  static void OnStop(void* ctx);
  static bool Drained(void* ctx);
  void ArmAccept() noexcept;
  void Accept(int fd) noexcept;

  core::Shard* shard_;
  Service* service_;
  ServerConfig config_;
  std::unique_ptr<ServerMetrics> metrics_;
  DateCache date_;
  AccessLog access_log_;
  std::unique_ptr<core::TimerList> timer_lists_[kTimerKinds];
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  bool accept_armed_ = false;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<uint32_t> free_;
  int open_ = 0;
  uint64_t request_seq_ = 0;
  uint64_t id_seed_ = 0;

  friend class Connection;
};

}  // namespace mamute::http
