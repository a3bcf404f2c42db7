#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>

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

AccessRecord Record(const std::string& path) {
  AccessRecord r;
  r.service = "s3";
  r.request_id = "0123456789ABCDEF";
  r.method = "GET";
  r.path = path;
  r.route = "s3:get_object";
  r.status = 200;
  return r;
}

std::string DrainPipe(int fd) {
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

// A 4 KiB pipe (it fills at once) with a non-blocking read end p[0]; p[1] is the "stdout" end.
void SmallPipe(int p[2]) {
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  (void)::fcntl(p[1], F_SETPIPE_SZ, 4096);
  ASSERT_EQ(::fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
}

// A stdout pipe nobody reads must not stall the shard: Append/Flush never block, records beyond
// kMaxPending are dropped whole and counted, and what the reader gets is whole lines.
TEST(AccessLog, BlockedPipeDropsWholeRecordsAndNeverBlocks) {
  int p[2];
  ASSERT_NO_FATAL_FAILURE(SmallPipe(p));
  int fd = AccessLog::OpenNonBlockingOutput(p[1]);
  ASSERT_GE(fd, 0);
  EXPECT_NE(fd, p[1]);  // an own open file description: the shared one stays blocking
  EXPECT_EQ(::fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);

  std::atomic<uint64_t> dropped{0};
  AccessLog log(fd, &dropped);
  uint64_t appended = 0;
  while (dropped.load() == 0 && appended < 100000) {
    log.Append(Record("/bucket/key-" + std::to_string(appended)));
    ++appended;
    if (appended % 64 == 0) log.Flush(1);
  }
  ASSERT_GT(dropped.load(), 0u) << "the pipe never filled";
  EXPECT_LE(log.pending(), AccessLog::kMaxPending + 4096);
  for (int i = 0; i < 10; ++i) log.Append(Record("/more"));
  appended += 10;

  // The reader catches up: everything not dropped arrives, as whole lines.
  std::string got;
  for (int i = 0; i < 10000 && (log.pending() > 0 || i == 0); ++i) {
    got += DrainPipe(p[0]);
    log.Flush(2);
  }
  got += DrainPipe(p[0]);
  EXPECT_EQ(log.pending(), 0u);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), '\n');
  uint64_t lines = static_cast<uint64_t>(std::count(got.begin(), got.end(), '\n'));
  EXPECT_EQ(lines + dropped.load(), appended);
  std::size_t start = 0;
  for (std::size_t nl; (nl = got.find('\n', start)) != std::string::npos; start = nl + 1) {
    ASSERT_EQ(got.compare(start, 7, "{\"ts\":0"), 0) << got.substr(start, 80);
    ASSERT_EQ(got[nl - 1], '}');
  }

  // The reader goes away: the buffered records are dropped (EPIPE), not retried forever.
  signal(SIGPIPE, SIG_IGN);
  ::close(p[0]);
  uint64_t before = dropped.load();
  log.Append(Record("/gone"));
  log.Flush(3);
  EXPECT_EQ(dropped.load(), before + 1);
  EXPECT_EQ(log.pending(), 0u);
  ::close(fd);
  ::close(p[1]);
}

// Two shards share one stdout pipe whose reader is slow: their lines never interleave (each
// write is whole lines of at most PIPE_BUF bytes, which a pipe takes atomically or not at all).
TEST(AccessLog, ShardsSharingASlowPipeNeverInterleave) {
  int p[2];
  ASSERT_NO_FATAL_FAILURE(SmallPipe(p));
  int fd = AccessLog::OpenNonBlockingOutput(p[1]);
  AccessLog a(fd), b(fd);
  std::string got;
  for (int i = 0; i < 400; ++i) {
    a.Append(Record("/a/" + std::string(static_cast<std::size_t>(i % 37) * 20, 'a')));
    b.Append(Record("/b/" + std::string(static_cast<std::size_t>(i % 23) * 30, 'b')));
    a.Flush(1);
    b.Flush(1);
    if (i % 7 == 0) {  // the reader takes a little now and then
      char buf[1500];
      ssize_t n = ::read(p[0], buf, sizeof(buf));
      if (n > 0) got.append(buf, static_cast<std::size_t>(n));
    }
  }
  for (int i = 0; i < 1000 && (a.pending() > 0 || b.pending() > 0); ++i) {
    got += DrainPipe(p[0]);
    a.Flush(2);
    b.Flush(2);
  }
  got += DrainPipe(p[0]);
  ASSERT_EQ(std::count(got.begin(), got.end(), '\n'), 800);
  std::size_t start = 0;
  for (std::size_t nl; (nl = got.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = got.substr(start, nl - start);
    ASSERT_EQ(line.rfind("{\"ts\":0,", 0), 0u) << line;
    ASSERT_EQ(std::count(line.begin(), line.end(), '{'), 1) << line;
    ASSERT_EQ(line.back(), '}') << line;
  }
  ::close(fd);
  ::close(p[0]);
  ::close(p[1]);
}

}  // namespace
}  // namespace mamute::http
