// Shard: one thread pinned to one core, owning one io_uring ring, a timer
// facility and the objects that live on it. Other threads talk to a shard only
// by message (IORING_OP_MSG_RING, or an eventfd mailbox where the kernel lacks it).
//
// Loop, in order (one iteration):
//   1. update the cached clocks (monotonic ms, and the wall-clock second);
//   2. reap every available completion and dispatch it by Op (errors are
//      dispatched to the same handler, which checks cqe->res first);
//   3. run deferred tasks queued by the handlers (continuations);
//   4. every tick (100 ms), expire timers;
//   5. run the end-of-batch hooks (access-log flush; batched work);
//   6. exit if stopping and nothing is left in flight;
//   7. submit all queued SQEs and wait for at least one completion: one syscall.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "core/ring.h"
#include "mamute/result.h"

namespace mamute::core {

class Shard;

/// A cross-shard message. The sender allocates it; `fn` runs on the target
/// shard's thread and owns the message from then on (typically deletes it).
struct Message {
  void (*fn)(Shard& target, Message* self) = nullptr;
  Message* next_ = nullptr;   // mailbox link
  Shard* target_ = nullptr;   // set by Post: where a failed MSG_RING falls back to
};

/// An intrusive timer in a TimerList.
struct Timer {
  int64_t deadline_ms = 0;
  Timer* prev = nullptr;
  Timer* next = nullptr;
  bool armed = false;
  void (*fire)(Timer* self) = nullptr;
};

/// Timers of one fixed duration, kept in arming order — which is deadline order —
/// so arming, disarming and expiring are all O(1) per timer.
class TimerList {
 public:
  explicit TimerList(uint32_t duration_ms) noexcept : duration_ms_(duration_ms) {}
  void Arm(Timer* t, int64_t now_ms) noexcept;
  void Disarm(Timer* t) noexcept;
  /// Fires (and disarms) every timer whose deadline is <= now. Returns how many.
  std::size_t Expire(int64_t now_ms) noexcept;
  uint32_t duration_ms() const noexcept { return duration_ms_; }
  bool empty() const noexcept { return head_ == nullptr; }

 private:
  uint32_t duration_ms_;
  Timer* head_ = nullptr;
  Timer* tail_ = nullptr;
};

using CompletionFn = void (*)(void* ctx, io_uring_cqe* cqe);

struct ShardConfig {
  int id = 0;
  int cpu = -1;            ///< -1: not pinned
  unsigned ring_entries = 4096;
  uint32_t recv_buffers = 1024;     ///< 0: no provided-buffer ring
  uint32_t recv_buffer_size = 32768;
  const char* name = "shard";
};

class Shard {
 public:
  explicit Shard(ShardConfig config) noexcept;
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  /// Creates the ring and buffers. Must run on the shard's own thread.
  Status Init();
  /// Runs the loop on the calling thread until Stop() completes.
  void Run();

  /// Starts a thread that pins itself, calls Init(), then `setup(shard)` (register
  /// handlers, open listeners), then Run(). `ready` receives Init's + setup's status.
  void Start(std::function<Status(Shard&)> setup, std::function<void(Status)> ready);
  void Join();

  // ---- on the shard's thread ----
  Ring& ring() noexcept { return ring_; }
  int id() const noexcept { return config_.id; }
  int64_t now_ms() const noexcept { return now_ms_; }
  int64_t wall_sec() const noexcept { return wall_sec_; }
  /// The shard running on this thread, or null.
  static Shard* Current() noexcept;

  void SetHandler(Op op, CompletionFn fn, void* ctx) noexcept;
  void AddTimerList(TimerList* list) noexcept;
  void AddBatchHook(void (*fn)(void*), void* ctx);
  void Defer(void (*fn)(void*), void* ctx);
  /// Something (a server) that must finish before the loop exits on stop.
  void AddStopHook(void (*on_stop)(void*), bool (*drained)(void*), void* ctx);

  // ---- from any thread ----
  /// Delivers `m` to this shard. From a shard thread with MSG_RING: through the
  /// sender's ring; otherwise through the lock-free mailbox and the eventfd.
  void Post(Message* m) noexcept;
  /// Asks the shard to stop: stop hooks run, the loop exits when all report
  /// drained or `deadline_ms` (from now) passes.
  void RequestStop(uint32_t deadline_ms) noexcept;

  struct Stats {
    std::atomic<uint64_t> loops{0};
    std::atomic<uint64_t> completions{0};
    std::atomic<uint64_t> messages{0};
    std::atomic<uint64_t> msg_ring_fallbacks{0};
  };
  const Stats& stats() const noexcept { return stats_; }

 private:
  void UpdateClock() noexcept;
  void Dispatch(io_uring_cqe* cqe) noexcept;
  void ArmTick() noexcept;
  void ArmWakeup() noexcept;
  void DrainMailbox() noexcept;
  void PushMailbox(Message* m) noexcept;
  void BeginStop(uint32_t deadline_ms) noexcept;
  static void StopMessageFn(Shard& s, Message* m);

  ShardConfig config_;
  Ring ring_;
  std::thread thread_;
  int64_t now_ms_ = 0;
  int64_t wall_sec_ = 0;
  int64_t next_tick_ms_ = 0;

  struct HandlerEntry {
    CompletionFn fn = nullptr;
    void* ctx = nullptr;
  };
  HandlerEntry handlers_[256];
  std::vector<TimerList*> timer_lists_;
  struct Hook {
    void (*fn)(void*);
    void* ctx;
  };
  std::vector<Hook> batch_hooks_;
  std::vector<Hook> deferred_;
  std::vector<Hook> deferred_run_;
  struct StopHook {
    void (*on_stop)(void*);
    bool (*drained)(void*);
    void* ctx;
  };
  std::vector<StopHook> stop_hooks_;

  int event_fd_ = -1;
  uint64_t event_buf_ = 0;
  std::atomic<Message*> mailbox_{nullptr};
  bool stopping_ = false;
  int64_t stop_deadline_ms_ = 0;
  Stats stats_;
};

}  // namespace mamute::core
