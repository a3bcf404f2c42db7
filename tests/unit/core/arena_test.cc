#include "core/arena.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace mamute::core {
namespace {

TEST(Arena, AlignmentAndLargeAllocations) {
  Arena a(256);
  for (std::size_t align : {1u, 2u, 8u, 16u, 64u}) {
    void* p = a.Allocate(3, align);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u) << align;
  }
  // Larger than a block: gets its own block.
  auto* big = static_cast<char*>(a.Allocate(10000));
  std::memset(big, 7, 10000);
  std::string_view c = a.Copy("hello");
  EXPECT_EQ(c, "hello");
  a.Reset();
  EXPECT_EQ(a.bytes_used(), 0u);
  EXPECT_EQ(a.Copy("again"), "again");
}

TEST(Arena, ReleaseFreesEverythingAndStaysUsable) {
  Arena a(256);
  a.Allocate(100);
  a.Allocate(1000);  // a second block
  a.Release();
  EXPECT_EQ(a.bytes_used(), 0u);
  a.Release();  // twice is harmless
  EXPECT_EQ(a.Copy("after release"), "after release");
  a.Reset();
  EXPECT_EQ(a.Copy("reset"), "reset");
}

}  // namespace
}  // namespace mamute::core
