// Login off the management loop (docs/management-api.md, "Login"): PBKDF2 (~0.3 s of CPU) runs
// on a small pool of worker threads and its verdict comes back to the management shard as a
// message (core::Shard::Post), so other management requests never wait behind a login; and
// token-bucket rate limits per account and per client IP answer 429 with Retry-After.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/shard.h"
#include "mamute/status.h"
#include "mgmt/crypto.h"

namespace mamute::mgmt {

struct LoginOptions {
  /// Threads that run password hashing. Default: 2 (--login-workers).
  uint32_t workers = 2;
  /// Logins waiting for a worker; beyond it POST /auth/login answers 503 with Retry-After.
  /// Default: 64 (--login-queue).
  uint32_t queue = 64;
  /// Failed logins per account (email): a bucket of `account_burst` tokens refilled at
  /// `account_per_min` per minute; a successful login gives its token back. Defaults: 10, 10.
  uint32_t account_burst = 10;
  uint32_t account_per_min = 10;
  /// Login attempts per client IP, successful or not. Defaults: 60, 60.
  uint32_t ip_burst = 60;
  uint32_t ip_per_min = 60;
};

/// Token buckets keyed by a string (an account or an IP address). Management shard only.
class RateLimiter {
 public:
  RateLimiter(uint32_t burst, uint32_t per_min, std::size_t max_keys = 100000)
      : burst_(burst), per_min_(per_min), max_keys_(max_keys) {}
  /// Takes one token for `key`: 0 when taken, else the milliseconds until one is available.
  int64_t Take(std::string_view key, int64_t now_ms);
  /// Gives back a token Take() took.
  void Refund(std::string_view key, int64_t now_ms);
  /// Forgets keys whose bucket is full again (bounded memory).
  void Prune(int64_t now_ms);
  std::size_t size() const noexcept { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t at_ms = 0;
  };
  void Refill(Bucket* b, int64_t now_ms) const;
  uint32_t burst_;
  uint32_t per_min_;
  std::size_t max_keys_;
  std::unordered_map<std::string, Bucket> buckets_;
};

class PasswordWorkers;

/// One password check. The owner fills `password`, `hash` and `done`; `done(job)` runs on the
/// shard with `ok` set (or `cancelled`: the shard is stopping and the check never ran). The
/// worker wipes `password` once used.
struct PasswordJob : core::Message {
  std::string password;
  PasswordHash hash;
  bool ok = false;
  bool cancelled = false;
  void (*done)(PasswordJob* job) = nullptr;
  PasswordWorkers* pool_ = nullptr;  // set by Submit
};

/// The worker threads. Start() on the shard that receives the verdicts (it also registers a
/// stop hook there: queued jobs are cancelled, running ones finish before the loop exits).
class PasswordWorkers {
 public:
  PasswordWorkers(uint32_t threads, uint32_t queue) : threads_(threads == 0 ? 1 : threads), capacity_(queue) {}
  ~PasswordWorkers();
  PasswordWorkers(const PasswordWorkers&) = delete;
  PasswordWorkers& operator=(const PasswordWorkers&) = delete;

  void Start(core::Shard& shard);
  /// Hands `job` to a worker. ResourceExhausted when the queue is full; the job is the caller's.
  [[nodiscard]] Status Submit(PasswordJob* job);
  /// Jobs queued, running, or whose verdict is on its way back.
  std::size_t outstanding() const noexcept { return outstanding_; }
  /// Joins the threads (after the shard's loop ended).
  void Stop();

 private:
  void Run();
  static void OnVerdict(core::Shard& shard, core::Message* m);
  static void OnStop(void* self);
  static bool Drained(void* self);

  uint32_t threads_;
  std::size_t capacity_;
  core::Shard* shard_ = nullptr;
  std::size_t outstanding_ = 0;  // shard thread only
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PasswordJob*> queue_;  // guarded by mu_
  bool stopping_ = false;           // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace mamute::mgmt
