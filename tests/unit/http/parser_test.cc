// Table-driven tests of the HTTP request parser, including every malformed
// case the server must reject (request-smuggling defences among them).
#include "http/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mamute::http {
namespace {

/// Collects what the parser reports; feeds the way the connection does.
class Collector : public RequestParser::Sink {
 public:
  bool OnHead(RequestHead& head) override {
    heads.push_back(head);
    return true;
  }
  void OnBody(const char* data, std::size_t len) override { body.append(data, len); }
  void OnMessageComplete() override { ++complete; }

  std::vector<RequestHead> heads;
  std::string body;
  int complete = 0;
};

struct Result {
  int status = 0;  // 0: parsed fine
  int complete = 0;
  std::string body;
  std::vector<RequestHead> heads;
};

/// Parses all of `in`, resuming after each message; head bytes stay in `in`.
Result ParseAll(const std::string& in, std::size_t step = 0) {
  Collector c;
  RequestParser p(&c, RequestParser::Limits{16384, 8192});
  Result r;
  std::size_t pos = 0;
  std::size_t end = step == 0 ? in.size() : std::min(in.size(), step);
  while (pos < in.size()) {
    RequestParser::Outcome o = p.Execute(in.data() + pos, end - pos);
    if (o.state == RequestParser::State::kError) {
      r.status = StatusForError(p.error());
      break;
    }
    pos += o.consumed;
    if (o.state == RequestParser::State::kPaused) {
      p.Resume();
      continue;
    }
    if (end == in.size()) break;
    end = std::min(in.size(), end + (step == 0 ? in.size() : step));
  }
  r.complete = c.complete;
  r.body = c.body;
  r.heads = c.heads;
  return r;
}

struct BadCase {
  const char* name;
  std::string request;
  int status;
};

class Malformed : public ::testing::TestWithParam<BadCase> {};

TEST_P(Malformed, IsRejected) {
  const BadCase& c = GetParam();
  Result r = ParseAll(c.request);
  EXPECT_EQ(r.status, c.status) << c.name;
  EXPECT_EQ(r.complete, 0) << c.name;
  // Fed one byte at a time, the verdict is the same.
  Result r1 = ParseAll(c.request, 1);
  EXPECT_EQ(r1.status, c.status) << c.name << " (byte by byte)";
}

const BadCase kBadCases[] = {
    {"cl_and_te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
    {"te_and_cl", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
    {"duplicate_cl_same", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400},
    {"duplicate_cl_diff", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
    {"cl_not_number", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\nhello", 400},
    {"cl_negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
    {"cl_list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nh", 400},
    {"bad_chunk_size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400},
    {"chunk_no_crlf", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX0\r\n\r\n", 400},
    // RFC 7230 §3.3.3: a request whose final coding is not chunked → 400.
    {"te_gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
    {"te_chunked_gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
    {"te_gzip_chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
    {"te_twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
    {"obs_fold", "GET / HTTP/1.1\r\nHost: a\r\nX-Long: a\r\n  continued\r\n\r\n", 400},
    {"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
    {"bare_lf_in_header", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400},
    {"unknown_method", "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501},
    {"webdav_method", "PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n", 501},
    {"garbage", "\x01\x02\x03 / HTTP/1.1\r\n\r\n", 400},
    {"http2_version", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
    {"bad_version", "GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400},
    {"absolute_form_target", "GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"asterisk_target", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"uri_too_long", "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
    {"header_too_large", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(17000, 'b') + "\r\n\r\n", 431},
    {"too_many_headers",
     [] {
       std::string s = "GET / HTTP/1.1\r\n";
       for (int i = 0; i < 200; ++i) s += "X-H" + std::to_string(i) + ": v\r\n";
       return s + "\r\n";
     }(),
     431},
    {"nul_in_header", std::string("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n", 28), 400},
};

INSTANTIATE_TEST_SUITE_P(Table, Malformed, ::testing::ValuesIn(kBadCases),
                         [](const ::testing::TestParamInfo<BadCase>& i) { return std::string(i.param.name); });

TEST(Parser, SimpleGet) {
  // The head's views point into the input, which must outlive them.
  const std::string req = "GET /bucket/key%20x?list-type=2&prefix=a HTTP/1.1\r\nHost: h\r\nX-Amz-Date:  v  \r\n\r\n";
  Result r = ParseAll(req);
  ASSERT_EQ(r.status, 0);
  ASSERT_EQ(r.complete, 1);
  const RequestHead& h = r.heads[0];
  EXPECT_EQ(h.method, Method::kGet);
  EXPECT_EQ(h.path, "/bucket/key%20x");
  EXPECT_EQ(h.query, "list-type=2&prefix=a");
  EXPECT_EQ(h.Find("host"), "h");
  EXPECT_EQ(h.Find("x-amz-date"), "v");
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.HasBody());
}

TEST(Parser, KeepAliveRules) {
  EXPECT_FALSE(ParseAll("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").heads[0].keep_alive);
  EXPECT_FALSE(ParseAll("GET / HTTP/1.0\r\n\r\n").heads[0].keep_alive);
  EXPECT_TRUE(ParseAll("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").heads[0].keep_alive);
}

TEST(Parser, ContentLengthBody) {
  Result r = ParseAll("PUT /b/k HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello");
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(r.complete, 1);
  EXPECT_EQ(r.body, "hello");
  EXPECT_TRUE(r.heads[0].expect_continue);
  EXPECT_EQ(r.heads[0].content_length, 5u);
}

TEST(Parser, ChunkedBodyWithExtensionsAndTrailers) {
  std::string req =
      "PUT /b/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
  for (std::size_t step : {0u, 1u, 3u, 7u}) {
    Result r = ParseAll(req, step);
    ASSERT_EQ(r.status, 0) << step;
    EXPECT_EQ(r.complete, 1) << step;
    EXPECT_EQ(r.body, "hello world") << step;
    EXPECT_TRUE(r.heads[0].chunked);
  }
}

TEST(Parser, PipelinedRequestsInOrder) {
  std::string req =
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "PUT /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
      "DELETE /3 HTTP/1.1\r\nHost: a\r\n\r\n";
  Result r = ParseAll(req);
  ASSERT_EQ(r.status, 0);
  ASSERT_EQ(r.complete, 3);
  EXPECT_EQ(r.heads[0].path, "/1");
  EXPECT_EQ(r.heads[1].path, "/2");
  EXPECT_EQ(r.heads[2].path, "/3");
  EXPECT_EQ(r.heads[2].method, Method::kDelete);
  EXPECT_EQ(r.body, "abc");
}

TEST(Parser, ByteByByteHeadKeepsContiguousViews) {
  std::string req = "GET /some/long/path?x=y HTTP/1.1\r\nHost: example\r\nX-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\n\r\n";
  Result r = ParseAll(req, 1);
  ASSERT_EQ(r.status, 0);
  ASSERT_EQ(r.complete, 1);
  EXPECT_EQ(r.heads[0].target, "/some/long/path?x=y");
  EXPECT_EQ(r.heads[0].Find("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  EXPECT_EQ(r.heads[0].Find("host"), "example");
}

TEST(Parser, MethodsServed) {
  const char* methods[] = {"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"};
  for (const char* m : methods) {
    Result r = ParseAll(std::string(m) + " / HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(r.status, 0) << m;
    EXPECT_EQ(r.heads.size(), 1u) << m;
  }
}

}  // namespace
}  // namespace mamute::http
