#include "mgmt/login.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace mamute::mgmt {

// ---------------------------------------------------------------- RateLimiter

void RateLimiter::Refill(Bucket* b, int64_t now_ms) const {
  if (now_ms > b->at_ms) {
    b->tokens = std::min<double>(burst_, b->tokens + static_cast<double>(now_ms - b->at_ms) * per_min_ / 60000.0);
    b->at_ms = now_ms;
  }
}

int64_t RateLimiter::Take(std::string_view key, int64_t now_ms) {
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      Prune(now_ms);
    }
    if (buckets_.size() >= max_keys_) {
      return 60000;  // a flood of distinct keys: refuse new ones until some buckets refill
    }
    it = buckets_.emplace(std::string(key), Bucket{static_cast<double>(burst_), now_ms}).first;
  }
  Bucket& b = it->second;
  Refill(&b, now_ms);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  if (per_min_ == 0) {
    return 60000;
  }
  return static_cast<int64_t>(std::ceil((1.0 - b.tokens) * 60000.0 / per_min_));
}

void RateLimiter::Refund(std::string_view key, int64_t now_ms) {
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    return;
  }
  Refill(&it->second, now_ms);
  it->second.tokens = std::min<double>(burst_, it->second.tokens + 1.0);
}

void RateLimiter::Prune(int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Refill(&it->second, now_ms);
    it = it->second.tokens >= burst_ ? buckets_.erase(it) : std::next(it);
  }
}

// ---------------------------------------------------------------- PasswordWorkers

PasswordWorkers::~PasswordWorkers() { Stop(); }

void PasswordWorkers::Start(core::Shard& shard) {
  shard_ = &shard;
  shard.AddStopHook(&PasswordWorkers::OnStop, &PasswordWorkers::Drained, this);
  for (uint32_t i = 0; i < threads_; ++i) {
    workers_.emplace_back([this] { Run(); });
  }
}

Status PasswordWorkers::Submit(PasswordJob* job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return Status::Cancelled("the management API is stopping");
    }
    if (queue_.size() >= capacity_) {
      return Status::ResourceExhausted("login queue full");
    }
    job->pool_ = this;
    queue_.push_back(job);
  }
  ++outstanding_;
  cv_.notify_one();
  return Status::Ok();
}

void PasswordWorkers::Run() {
  for (;;) {
    PasswordJob* job = nullptr;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping, nothing left
      }
      job = queue_.front();
      queue_.pop_front();
    }
    job->ok = VerifyPassword(job->password, job->hash);
    OPENSSL_cleanse(job->password.data(), job->password.size());
    job->password.clear();
    job->fn = &PasswordWorkers::OnVerdict;
    shard_->Post(job);
  }
}

void PasswordWorkers::OnVerdict(core::Shard& shard, core::Message* m) {
  (void)shard;
  auto* job = static_cast<PasswordJob*>(m);
  --job->pool_->outstanding_;  // the pool outlives the shard's loop (stop hook: Drained)
  job->done(job);
}

void PasswordWorkers::OnStop(void* p) {
  auto* self = static_cast<PasswordWorkers*>(p);
  std::deque<PasswordJob*> cancelled;
  {
    std::lock_guard lock(self->mu_);
    self->stopping_ = true;
    cancelled.swap(self->queue_);
  }
  self->cv_.notify_all();
  for (PasswordJob* job : cancelled) {
    OPENSSL_cleanse(job->password.data(), job->password.size());
    job->cancelled = true;
    --self->outstanding_;
    job->done(job);
  }
}

bool PasswordWorkers::Drained(void* p) { return static_cast<PasswordWorkers*>(p)->outstanding_ == 0; }

void PasswordWorkers::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) {
    t.join();
  }
  workers_.clear();
}

}  // namespace mamute::mgmt
