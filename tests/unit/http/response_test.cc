#include <gtest/gtest.h>

#include "http/access_log.h"
#include "http/date_cache.h"
#include "http/response.h"

namespace mamute::http {
namespace {

TEST(ResponseWriter, StatusHeadersBody) {
  std::string out;
  ResponseWriter w(&out);
  w.StatusLine(404);
  w.Header("Content-Length", uint64_t{2});
  w.Header("X-A", "b");
  w.EndHead();
  w.Body("hi");
  EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhi");
}

TEST(ResponseWriter, SimpleResponseCloses) {
  std::string out;
  WriteSimpleResponse(&out, 431, "DATE", "RID", "text/plain", "too big\n", true);
  EXPECT_EQ(out,
            "HTTP/1.1 431 Request Header Fields Too Large\r\nDate: DATE\r\nServer: mamute\r\n"
            "x-amz-request-id: RID\r\nContent-Type: text/plain\r\nContent-Length: 8\r\nConnection: close\r\n\r\n"
            "too big\n");
}

TEST(DateCache, FormatsOncePerSecond) {
  DateCache c;
  std::string_view a = c.Get(784111777);
  EXPECT_EQ(a, "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(c.Get(784111778), "Sun, 06 Nov 1994 08:49:38 GMT");
}

TEST(AccessLog, JsonEscaping) {
  std::string out;
  AppendJsonEscaped(&out, std::string_view("a\"b\\c\n\x01\xff", 8));
  EXPECT_EQ(out, "a\\\"b\\\\c\\u000a\\u0001\\u00ff");
}

}  // namespace
}  // namespace mamute::http
