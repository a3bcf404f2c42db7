#include <gtest/gtest.h>

#include <vector>

#include "core/shard.h"

namespace mamute::core {
namespace {

struct TestTimer : Timer {
  int id = 0;
  std::vector<int>* fired = nullptr;
};

void Fire(Timer* t) {
  auto* tt = static_cast<TestTimer*>(t);
  tt->fired->push_back(tt->id);
}

TEST(TimerList, FiresInDeadlineOrderAndOnlyWhenDue) {
  TimerList list(100);
  std::vector<int> fired;
  TestTimer t[4];
  for (int i = 0; i < 4; ++i) {
    t[i].id = i;
    t[i].fired = &fired;
    t[i].fire = &Fire;
  }
  list.Arm(&t[0], 0);
  list.Arm(&t[1], 10);
  list.Arm(&t[2], 20);
  list.Arm(&t[3], 30);
  EXPECT_EQ(list.Expire(99), 0u);
  EXPECT_EQ(list.Expire(110), 2u);
  EXPECT_EQ(fired, (std::vector<int>{0, 1}));
  // Re-arming moves a timer to the back with a new deadline.
  list.Arm(&t[2], 50);
  EXPECT_EQ(list.Expire(140), 1u);
  EXPECT_EQ(fired.back(), 3);
  list.Disarm(&t[2]);
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.Expire(1000), 0u);
}

TEST(TimerList, DisarmMiddleAndDoubleDisarm) {
  TimerList list(5);
  std::vector<int> fired;
  TestTimer t[3];
  for (int i = 0; i < 3; ++i) {
    t[i].id = i;
    t[i].fired = &fired;
    t[i].fire = &Fire;
    list.Arm(&t[i], i);
  }
  list.Disarm(&t[1]);
  list.Disarm(&t[1]);
  EXPECT_EQ(list.Expire(100), 2u);
  EXPECT_EQ(fired, (std::vector<int>{0, 2}));
}

}  // namespace
}  // namespace mamute::core
