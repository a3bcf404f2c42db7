// Login rate limits (mgmt/login.h): token buckets per key.
#include "mgmt/login.h"

#include <gtest/gtest.h>

namespace mamute::mgmt {
namespace {

TEST(RateLimiter, BurstThenRefillAtTheRate) {
  RateLimiter r(3, 60);  // one token a second
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.Take("a", 1000), 0) << i;
  EXPECT_EQ(r.Take("a", 1000), 1000);  // the next token in 1 s
  EXPECT_EQ(r.Take("a", 1500), 500);
  EXPECT_EQ(r.Take("a", 2000), 0);
  EXPECT_EQ(r.Take("a", 2000), 1000);
  // Keys are independent.
  EXPECT_EQ(r.Take("b", 2000), 0);
  // A long pause refills to the burst, no further.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.Take("a", 100000), 0) << i;
  EXPECT_GT(r.Take("a", 100000), 0);
}

TEST(RateLimiter, RefundGivesTheTokenBack) {
  RateLimiter r(1, 1);
  EXPECT_EQ(r.Take("a", 0), 0);
  EXPECT_EQ(r.Take("a", 0), 60000);
  r.Refund("a", 0);
  EXPECT_EQ(r.Take("a", 0), 0);
  r.Refund("a", 0);
  r.Refund("a", 0);  // never above the burst
  EXPECT_EQ(r.Take("a", 0), 0);
  EXPECT_GT(r.Take("a", 0), 0);
  r.Refund("unknown", 0);  // nothing to give back to
}

TEST(RateLimiter, MemoryIsBounded) {
  RateLimiter r(2, 60, /*max_keys=*/3);
  EXPECT_EQ(r.Take("a", 0), 0);
  EXPECT_EQ(r.Take("b", 0), 0);
  EXPECT_EQ(r.Take("c", 0), 0);
  // Full of keys that are all still draining: a new key is refused rather than tracked.
  EXPECT_GT(r.Take("d", 0), 0);
  EXPECT_EQ(r.size(), 3u);
  // Once their buckets refill they are forgotten, and new keys fit again.
  r.Prune(10000);
  EXPECT_EQ(r.size(), 0u);
  EXPECT_EQ(r.Take("d", 10000), 0);
}

}  // namespace
}  // namespace mamute::mgmt
