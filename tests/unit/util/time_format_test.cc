#include "util/time_format.h"

#include <gtest/gtest.h>

namespace mamute::util {
namespace {

TEST(HttpDate, FormatAndParse) {
  char buf[32];
  std::size_t n = FormatHttpDate(784111777, buf);
  EXPECT_EQ(std::string_view(buf, n), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), 784111777);
}

TEST(HttpDate, RejectsMalformed) {
  const char* bad[] = {"", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Foo 1994 08:49:37 GMT",
                       "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "garbage"};
  for (const char* b : bad) EXPECT_FALSE(ParseHttpDate(b).has_value()) << b;
}

TEST(AmzDate, FormatAndParse) {
  char buf[20];
  std::size_t n = FormatAmzDate(1369353600, buf);
  EXPECT_EQ(std::string_view(buf, n), "20130524T000000Z");
  EXPECT_EQ(ParseAmzDate("20130524T000000Z"), 1369353600);
  EXPECT_FALSE(ParseAmzDate("20130524T000000").has_value());
  EXPECT_FALSE(ParseAmzDate("2013-05-24T00:00:00Z").has_value());
  EXPECT_FALSE(ParseAmzDate("20131324T000000Z").has_value());
}

TEST(Iso8601Ms, Format) {
  char buf[32];
  std::size_t n = FormatIso8601Ms(int64_t{1369353600} * 1000 + 7, buf);
  EXPECT_EQ(std::string_view(buf, n), "2013-05-24T00:00:00.007Z");
}

}  // namespace
}  // namespace mamute::util
