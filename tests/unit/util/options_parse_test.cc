#include "util/options_parse.h"

#include <gtest/gtest.h>

namespace mamute::util {
namespace {

struct HpCase {
  const char* in;
  bool ok;
  const char* host;
  uint16_t port;
};

TEST(HostPort, Table) {
  const HpCase cases[] = {
      {"127.0.0.1:9000", true, "127.0.0.1", 9000}, {"[::1]:9001", true, "::1", 9001},
      {":80", true, "0.0.0.0", 80},                {"localhost:1", true, "localhost", 1},
      {"127.0.0.1", false, "", 0},                 {"127.0.0.1:65536", false, "", 0},
      {"::1:9000", false, "", 0},                  {"[::1]9000", false, "", 0},
      {"host:abc", false, "", 0},
  };
  for (const auto& c : cases) {
    auto hp = ParseHostPort(c.in);
    ASSERT_EQ(hp.has_value(), c.ok) << c.in;
    if (c.ok) {
      EXPECT_EQ(hp->host, c.host);
      EXPECT_EQ(hp->port, c.port);
    }
  }
}

TEST(Numbers, U64AndBool) {
  EXPECT_EQ(ParseU64("0"), 0u);
  EXPECT_EQ(ParseU64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseU64("18446744073709551616").has_value());
  EXPECT_FALSE(ParseU64("-1").has_value());
  EXPECT_FALSE(ParseU64("12x").has_value());
  EXPECT_FALSE(ParseU64("").has_value());
  EXPECT_EQ(ParseBool("on"), true);
  EXPECT_EQ(ParseBool("0"), false);
  EXPECT_FALSE(ParseBool("maybe").has_value());
}

}  // namespace
}  // namespace mamute::util
