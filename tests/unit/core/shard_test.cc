#include "core/shard.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <thread>

namespace mamute::core {
namespace {

struct CountMsg : Message {
  std::atomic<int>* counter = nullptr;
  Shard* reply_to = nullptr;
};

void OnCount(Shard& target, Message* m) {
  auto* cm = static_cast<CountMsg*>(m);
  cm->counter->fetch_add(1);
  if (cm->reply_to != nullptr) {
    // Bounce back to the sender: exercises shard→shard delivery both ways.
    Shard* back = cm->reply_to;
    cm->reply_to = nullptr;
    (void)target;
    back->Post(cm);
    return;
  }
  delete cm;
}

void StartPings(Shard& from, Shard& to, std::atomic<int>* counter, int n) {
  for (int i = 0; i < n; ++i) {
    auto* p = new CountMsg;
    p->fn = &OnCount;
    p->counter = counter;
    p->reply_to = &from;
    to.Post(p);
  }
}

struct Kick : Message {
  Shard* other = nullptr;
  std::atomic<int>* counter = nullptr;
  int n = 0;
};

void OnKick(Shard& self, Message* m) {
  auto* k = static_cast<Kick*>(m);
  StartPings(self, *k->other, k->counter, k->n);
  delete k;
}

Status NoSetup(Shard&) { return Status::Ok(); }

void RoundTrip(bool force_fallback) {
  if (force_fallback) setenv("MAMUTE_TEST_NO_MSG_RING", "1", 1);
  ShardConfig ca, cb;
  ca.id = 0;
  cb.id = 1;
  ca.recv_buffers = cb.recv_buffers = 0;
  ca.ring_entries = cb.ring_entries = 64;
  Shard a(ca), b(cb);
  std::promise<Status> ra, rb;
  a.Start(NoSetup, [&](Status s) { ra.set_value(std::move(s)); });
  b.Start(NoSetup, [&](Status s) { rb.set_value(std::move(s)); });
  Status sa = ra.get_future().get();
  Status sb = rb.get_future().get();
  if (force_fallback) unsetenv("MAMUTE_TEST_NO_MSG_RING");
  ASSERT_TRUE(sa.ok()) << sa.ToString();
  ASSERT_TRUE(sb.ok()) << sb.ToString();

  std::atomic<int> counter{0};
  constexpr int kN = 2000;  // more than the ring has entries: exercises SQ-full submits
  auto* k = new Kick;
  k->fn = &OnKick;
  k->other = &b;
  k->counter = &counter;
  k->n = kN;
  a.Post(k);  // from a non-shard thread: the mailbox path
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (counter.load() < 2 * kN && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(counter.load(), 2 * kN);
  a.RequestStop(0);
  b.RequestStop(0);
  a.Join();
  b.Join();
  if (!force_fallback) {
    EXPECT_EQ(a.stats().msg_ring_fallbacks.load() + b.stats().msg_ring_fallbacks.load(), 0u);
  } else {
    EXPECT_GE(a.stats().msg_ring_fallbacks.load() + b.stats().msg_ring_fallbacks.load(), uint64_t{kN});
  }
}

TEST(Shard, MessagesBothWaysThroughMsgRing) { RoundTrip(false); }
TEST(Shard, MessagesBothWaysThroughEventfdFallback) { RoundTrip(true); }

TEST(Shard, StopsPromptlyWhenIdle) {
  ShardConfig c;
  c.recv_buffers = 0;
  c.ring_entries = 32;
  Shard s(c);
  std::promise<Status> r;
  s.Start(NoSetup, [&](Status st) { r.set_value(std::move(st)); });
  ASSERT_TRUE(r.get_future().get().ok());
  auto t0 = std::chrono::steady_clock::now();
  s.RequestStop(5000);
  s.Join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

}  // namespace
}  // namespace mamute::core
