// The connection state machine on a live shard, driven by a real socket.
#include "http/connection.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "core/shard.h"
#include "http/server.h"

namespace mamute::http {
namespace {

constexpr std::size_t kMaxHeld = 8;  // connection.cc: buffers held before recv is paused

// PUT: pauses the body at its first piece (as a PUT whose disk is busy) and counts the bytes.
struct PausingHandler final : Handler {
  std::atomic<Connection*>* paused;
  uint64_t len = 0;
  bool paused_once = false;
  explicit PausingHandler(std::atomic<Connection*>* p) : paused(p) {}
  void OnHead(Exchange&) override {}
  void OnBody(Exchange& ex, std::string_view piece) override {
    len += piece.size();
    if (!paused_once) {
      paused_once = true;
      ex.PauseBody();
      paused->store(static_cast<Connection*>(&ex));
    }
  }
  void OnBodyEnd(Exchange& ex) override {
    std::string body = std::to_string(len);
    char* p = static_cast<char*>(ex.arena().Allocate(body.size(), 1));
    body.copy(p, body.size());
    ex.Respond(200, nullptr, 0, std::string_view(p, body.size()));
  }
};

struct PausingService final : Service {
  std::atomic<Connection*> paused{nullptr};
  Route Dispatch(Exchange& ex) override {
    return Route{MakeHandler<PausingHandler>(ex, &paused), 1, true};
  }
  const std::string_view* route_names(std::size_t* count) const noexcept override {
    static const std::string_view kNames[] = {"unmatched", "put"};
    *count = 2;
    return kNames;
  }
  std::string_view name() const noexcept override { return "test"; }
};

// The end-of-iteration hook: resumes the paused body in the very loop iteration in which the
// connection reached kMaxHeld held buffers — i.e. after PauseRecv queued its cancel and before
// that cancel was submitted, let alone completed.
struct Resumer {
  PausingService* svc;
  std::atomic<bool> resumed{false};
  static void Hook(void* ctx) {
    auto* self = static_cast<Resumer*>(ctx);
    Connection* c = self->svc->paused.load();
    if (c != nullptr && !self->resumed.load() && c->held_buffers() >= kMaxHeld) {
      self->resumed.store(true);
      c->ResumeBody();
    }
  }
};

// Regression test for 9583f29: a body resumed between PauseRecv's cancel and its -ECANCELED
// completion must re-arm recv when that completion arrives. Before the fix, OnRecv skipped the
// re-arm while recv_paused_ was set, nothing else re-armed it, and the upload stalled until its
// body timeout (the 408s of concurrent PUTs).
TEST(ConnectionTest, ResumeBetweenPauseRecvAndItsCancelRearmsRecv) {
  core::ShardConfig sc;
  sc.ring_entries = 256;
  sc.recv_buffers = 64;
  sc.recv_buffer_size = 4096;
  core::Shard shard(sc);
  PausingService svc;
  Resumer resumer{&svc};
  ServerConfig cfg;
  cfg.listen = "127.0.0.1:0";
  cfg.body_timeout_ms = 20000;  // far beyond the test's wait: a stall shows as no answer
  cfg.access_log = false;
  std::unique_ptr<Server> server;
  std::promise<Status> ready;
  shard.Start(
      [&](core::Shard& s) -> Status {
        server = std::make_unique<Server>(&s, &svc, cfg);
        MAMUTE_RETURN_IF_ERROR(server->Start());
        s.AddBatchHook(&Resumer::Hook, &resumer);  // after the server's own hook
        return Status::Ok();
      },
      [&](Status st) { ready.set_value(std::move(st)); });
  Status st = ready.get_future().get();
  ASSERT_TRUE(st.ok()) << st.ToString();

  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  // The body goes in separate small segments, each its own recv completion (and held buffer
  // once the handler paused), until well past kMaxHeld.
  constexpr int kPieces = 40;  // even coalesced 4 to a 4 KiB buffer, more than kMaxHeld
  constexpr std::size_t kPiece = 1000;
  const std::string head = "PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                           std::to_string(kPieces * kPiece) + "\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  const std::string piece(kPiece, 'b');
  for (int i = 0; i < kPieces; ++i) {
    ASSERT_EQ(::send(fd, piece.data(), piece.size(), 0), static_cast<ssize_t>(piece.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(resumer.resumed.load()) << "the body was never paused at " << kMaxHeld << " held buffers";

  // The whole body must be read and answered, long before the body timeout.
  std::string got;
  pollfd p{fd, POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (got.find("\r\n\r\n") == std::string::npos || !got.ends_with("40000")) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << "no answer within 3 s (recv never re-armed?): " << got;
  EXPECT_NE(got.find("\r\n\r\n40000"), std::string::npos) << got;

  shard.RequestStop(1000);
  shard.Join();
  server.reset();
}

}  // namespace
}  // namespace mamute::http
