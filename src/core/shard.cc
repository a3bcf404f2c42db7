#include "core/shard.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "core/cpu.h"
#include "util/log.h"

namespace mamute::core {
namespace {
thread_local Shard* t_current = nullptr;
constexpr int64_t kTickMs = 100;

int64_t MonotonicMs() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

struct StopMessage : Message {
  uint32_t deadline_ms = 0;
};
}  // namespace

// ---------------------------------------------------------------- TimerList

void TimerList::Arm(Timer* t, int64_t now_ms) noexcept {
  if (t->armed) Disarm(t);
  t->deadline_ms = now_ms + duration_ms_;
  t->next = nullptr;
  t->prev = tail_;
  if (tail_ != nullptr) {
    tail_->next = t;
  } else {
    head_ = t;
  }
  tail_ = t;
  t->armed = true;
}

void TimerList::Disarm(Timer* t) noexcept {
  if (!t->armed) return;
  if (t->prev != nullptr) {
    t->prev->next = t->next;
  } else {
    head_ = t->next;
  }
  if (t->next != nullptr) {
    t->next->prev = t->prev;
  } else {
    tail_ = t->prev;
  }
  t->prev = t->next = nullptr;
  t->armed = false;
}

std::size_t TimerList::Expire(int64_t now_ms) noexcept {
  std::size_t n = 0;
  while (head_ != nullptr && head_->deadline_ms <= now_ms) {
    Timer* t = head_;
    Disarm(t);
    ++n;
    t->fire(t);  // may re-arm t or others
  }
  return n;
}

// ---------------------------------------------------------------- Shard

Shard::Shard(ShardConfig config) noexcept : config_(config) {}

Shard::~Shard() {
  Join();
  if (event_fd_ >= 0) ::close(event_fd_);
  // Messages still in the mailbox are owned by us now.
  Message* m = mailbox_.exchange(nullptr);
  while (m != nullptr) {
    Message* n = m->next_;
    delete m;
    m = n;
  }
}

Shard* Shard::Current() noexcept { return t_current; }

Status Shard::Init() {
  t_current = this;
  if (config_.cpu >= 0) {
    Status st = PinThisThread(config_.cpu);
    if (!st.ok()) MLOG_WARN("%s %d: cannot pin to cpu %d: %s", config_.name, config_.id, config_.cpu, st.ToString().c_str());
  }
  MAMUTE_RETURN_IF_ERROR(ring_.Init(config_.ring_entries));
  if (config_.recv_buffers != 0) {
    MAMUTE_RETURN_IF_ERROR(ring_.InitBufRing(config_.recv_buffers, config_.recv_buffer_size));
  }
  event_fd_ = eventfd(0, EFD_CLOEXEC);
  if (event_fd_ < 0) return Status::IoError(errno, "eventfd");
  UpdateClock();
  ArmWakeup();
  ArmTick();
  return Status::Ok();
}

void Shard::Start(std::function<Status(Shard&)> setup, std::function<void(Status)> ready) {
  thread_ = std::thread([this, setup = std::move(setup), ready = std::move(ready)]() {
    Status st = Init();
    if (st.ok() && setup) st = setup(*this);
    bool ok = st.ok();
    ready(std::move(st));
    if (ok) Run();
  });
}

void Shard::Join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::SetHandler(Op op, CompletionFn fn, void* ctx) noexcept {
  handlers_[static_cast<uint8_t>(op)] = HandlerEntry{fn, ctx};
}

void Shard::AddTimerList(TimerList* list) noexcept { timer_lists_.push_back(list); }
void Shard::AddBatchHook(void (*fn)(void*), void* ctx) { batch_hooks_.push_back(Hook{fn, ctx}); }
void Shard::Defer(void (*fn)(void*), void* ctx) { deferred_.push_back(Hook{fn, ctx}); }
void Shard::AddStopHook(void (*on_stop)(void*), bool (*drained)(void*), void* ctx) {
  stop_hooks_.push_back(StopHook{on_stop, drained, ctx});
}

void Shard::UpdateClock() noexcept {
  now_ms_ = MonotonicMs();
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  wall_sec_ = ts.tv_sec;
}

void Shard::ArmTick() noexcept {
  static __kernel_timespec ts{0, kTickMs * 1000000};
  io_uring_sqe* sqe = ring_.Sqe();
  io_uring_prep_timeout(sqe, &ts, 0, 0);
  io_uring_sqe_set_data64(sqe, Handle::Make(Op::kTick, 0, 0));
  next_tick_ms_ = now_ms_ + kTickMs;
}

void Shard::ArmWakeup() noexcept {
  io_uring_sqe* sqe = ring_.Sqe();
  io_uring_prep_read(sqe, event_fd_, &event_buf_, sizeof(event_buf_), 0);
  io_uring_sqe_set_data64(sqe, Handle::Make(Op::kWakeup, 0, 0));
}

void Shard::PushMailbox(Message* m) noexcept {
  Message* head = mailbox_.load(std::memory_order_relaxed);
  do {
    m->next_ = head;
  } while (!mailbox_.compare_exchange_weak(head, m, std::memory_order_release, std::memory_order_relaxed));
  if (head == nullptr) {
    // First message since the last drain: wake the shard. Later pushers see a
    // non-empty list and know a wake-up is already pending.
    uint64_t one = 1;
    ssize_t w = ::write(event_fd_, &one, sizeof(one));
    (void)w;
  }
}

void Shard::DrainMailbox() noexcept {
  Message* m = mailbox_.exchange(nullptr, std::memory_order_acquire);
  // The stack is LIFO: reverse it so messages run in the order they were posted.
  Message* rev = nullptr;
  while (m != nullptr) {
    Message* n = m->next_;
    m->next_ = rev;
    rev = m;
    m = n;
  }
  while (rev != nullptr) {
    Message* n = rev->next_;
    stats_.messages.fetch_add(1, std::memory_order_relaxed);
    rev->fn(*this, rev);
    rev = n;
  }
}

void Shard::Post(Message* m) noexcept {
  m->target_ = this;
  Shard* self = t_current;
  if (self != nullptr && self != this && self->ring_.features().msg_ring) {
    io_uring_sqe* sqe = self->ring_.Sqe();
    io_uring_prep_msg_ring(sqe, ring_.fd(), 0, Handle::MakePtr(Op::kMsg, m), 0);
    io_uring_sqe_set_data64(sqe, Handle::MakePtr(Op::kMsgSent, m));
    return;
  }
  if (self != nullptr && self != this) self->stats_.msg_ring_fallbacks.fetch_add(1, std::memory_order_relaxed);
  PushMailbox(m);
}

void Shard::StopMessageFn(Shard& s, Message* m) {
  auto* sm = static_cast<StopMessage*>(m);
  uint32_t deadline = sm->deadline_ms;
  delete sm;
  s.BeginStop(deadline);
}

void Shard::RequestStop(uint32_t deadline_ms) noexcept {
  auto* m = new StopMessage;
  m->fn = &Shard::StopMessageFn;
  m->deadline_ms = deadline_ms;
  Post(m);
}

void Shard::BeginStop(uint32_t deadline_ms) noexcept {
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ms_ = now_ms_ + deadline_ms;
  for (const auto& h : stop_hooks_) h.on_stop(h.ctx);
}

void Shard::Dispatch(io_uring_cqe* cqe) noexcept {
  uint64_t ud = cqe->user_data;
  Op op = Handle::OpOf(ud);
  switch (op) {
    case Op::kTick:
      ArmTick();
      return;
    case Op::kWakeup:
      DrainMailbox();
      ArmWakeup();
      return;
    case Op::kMsg: {
      auto* m = static_cast<Message*>(Handle::PtrOf(ud));
      stats_.messages.fetch_add(1, std::memory_order_relaxed);
      m->fn(*this, m);
      return;
    }
    case Op::kMsgSent:
      if (cqe->res < 0) {
        // The target's CQ was full (or the opcode failed): the message was not
        // delivered, so hand it over through the target's mailbox instead.
        auto* m = static_cast<Message*>(Handle::PtrOf(ud));
        stats_.msg_ring_fallbacks.fetch_add(1, std::memory_order_relaxed);
        m->target_->PushMailbox(m);
      }
      return;
    case Op::kCancel:
    case Op::kNone:
      return;
    default:
      break;
  }
  const HandlerEntry& h = handlers_[static_cast<uint8_t>(op)];
  if (h.fn != nullptr) {
    h.fn(h.ctx, cqe);
  } else {
    MLOG_WARN("shard %d: completion for op %d without a handler", config_.id, static_cast<int>(op));
  }
}

void Shard::Run() {
  io_uring* r = ring_.raw();
  for (;;) {
    UpdateClock();
    // 2. Reap and dispatch every completion that is ready.
    unsigned head;
    unsigned n = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(r, head, cqe) {
      Dispatch(cqe);
      ++n;
    }
    if (n != 0) {
      io_uring_cq_advance(r, n);
      stats_.completions.fetch_add(n, std::memory_order_relaxed);
    }
    // 3. Continuations queued by handlers.
    while (!deferred_.empty()) {
      deferred_run_.swap(deferred_);
      for (const auto& d : deferred_run_) d.fn(d.ctx);
      deferred_run_.clear();
    }
    // 4. Timers: checking each list's head is O(1), so it runs every iteration; the
    // tick SQE only guarantees the loop wakes at least every 100 ms.
    for (TimerList* l : timer_lists_) l->Expire(now_ms_);
    // 5. End-of-batch hooks.
    for (const auto& h : batch_hooks_) h.fn(h.ctx);
    stats_.loops.fetch_add(1, std::memory_order_relaxed);
    // 6. Exit when stopping and drained (or past the deadline).
    if (stopping_) {
      bool drained = true;
      for (const auto& h : stop_hooks_) drained = drained && h.drained(h.ctx);
      if (drained || now_ms_ >= stop_deadline_ms_) break;
    }
    // 7. One syscall: submit what the handlers queued, wait for the next completion — unless
    // a batch hook (or a timer) deferred a continuation: then only submit, and run it on the
    // next turn rather than after whatever completion comes next (up to the 100 ms tick).
    int rc = ring_.SubmitAndWait(deferred_.empty() ? 1 : 0);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY && rc != -ETIME) {
      MLOG_ERROR("shard %d: io_uring_submit_and_wait: %d", config_.id, rc);
    }
  }
  ring_.Submit();
  t_current = nullptr;
}

}  // namespace mamute::core
