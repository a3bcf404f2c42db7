#include "auth/ct_equal.h"

#include <gtest/gtest.h>

#include <string>

namespace mamute::auth {
namespace {

struct Case {
  const char* a;
  const char* b;
  bool equal;
};

TEST(CtEqual, Table) {
  const Case cases[] = {
      {"", "", true},
      {"a", "a", true},
      {"a", "b", false},
      {"abc", "abd", false},
      {"abc", "ab", false},
      {"", "x", false},
      {"0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef", true},
      {"0123456789abcdef0123456789abcdef", "1123456789abcdef0123456789abcdef", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CtEqual(c.a, c.b), c.equal) << c.a << " vs " << c.b;
  }
}

TEST(CtEqual, EmbeddedNul) {
  std::string a("ab\0c", 4), b("ab\0d", 4);
  EXPECT_FALSE(CtEqual(a, b));
  EXPECT_TRUE(CtEqual(a, a));
}

}  // namespace
}  // namespace mamute::auth
