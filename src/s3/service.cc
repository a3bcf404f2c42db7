#include "s3/service.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "core/shard.h"
#include "s3/browser.h"
#include "s3/errors.h"
#include "s3/post_policy.h"
#include "s3/handler.h"

namespace mamute::s3 {
namespace {

enum RouteId : uint16_t {
  kUnmatched = 0,
  kS3,
  kTestBytes,
  kTestEcho,
  kTestSleep,
  kS3Preflight,
  kS3PostObject,
  kRouteCount
};
constexpr std::string_view kRouteNames[kRouteCount] = {"unmatched",  "s3",           "test:bytes", "test:echo",
                                                       "test:sleep", "s3:preflight", "s3:post"};

uint64_t QueryU64(std::string_view query, std::string_view name, uint64_t def) {
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = query.find('&', pos);
    std::string_view kv = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (kv.size() > name.size() && kv.substr(0, name.size()) == name && kv[name.size()] == '=') {
      uint64_t v = def;
      std::string_view num = kv.substr(name.size() + 1);
      std::from_chars(num.data(), num.data() + num.size(), v);
      return v;
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return def;
}

/// GET /_test/bytes?n=N: N bytes of 'x' (the trivial route of the HTTP benchmark).
class BytesHandler final : public http::Handler {
 public:
  void OnHead(http::Exchange& ex) override { (void)ex; }
  void OnBodyEnd(http::Exchange& ex) override {
    uint64_t n = std::min<uint64_t>(QueryU64(ex.head().query, "n", 0), 64u << 20);
    char* p = static_cast<char*>(ex.arena().Allocate(n + 1, 1));
    std::fill(p, p + n, 'x');
    const http::OutHeader headers[] = {{"Content-Type", "application/octet-stream"}};
    ex.Respond(200, headers, 1, std::string_view(p, n));
  }
};

/// PUT|POST /_test/echo: streams the body (any size, bounded memory) and answers
/// "<length> <fnv1a64 hex>\n", so tests check chunked and large bodies exactly.
/// ?pause_ms=N holds the body back for N ms after its first piece, as a PUT whose disk is
/// slow does (server-side backpressure must not count as the client's silence).
class EchoHandler final : public http::Handler {
 public:
  explicit EchoHandler(S3Service* svc) : svc_(svc) {}
  void OnHead(http::Exchange& ex) override { pause_ms_ = std::min<uint64_t>(QueryU64(ex.head().query, "pause_ms", 0), 60000); }
  void OnAbort(http::Exchange& ex) override { svc_->RemoveSleeper(&ex); }
  void OnBody(http::Exchange& ex, std::string_view piece) override {
    if (pause_ms_ != 0) {
      ex.PauseBody();
      svc_->AddSleeper(&ex, ex.shard().now_ms() + static_cast<int64_t>(pause_ms_), /*resume_body=*/true);
      pause_ms_ = 0;
    }
    for (unsigned char c : piece) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ull;
    }
    len_ += piece.size();
  }
  void OnBodyEnd(http::Exchange& ex) override {
    char buf[64];
    int n = std::snprintf(buf, sizeof(buf), "%llu %016llx\n", static_cast<unsigned long long>(len_),
                          static_cast<unsigned long long>(hash_));
    const http::OutHeader headers[] = {{"Content-Type", "text/plain"}};
    ex.Respond(200, headers, 1, std::string_view(buf, static_cast<std::size_t>(n)));
  }

 private:
  S3Service* svc_;
  uint64_t pause_ms_ = 0;
  uint64_t len_ = 0;
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

/// GET /_test/sleep?ms=N: answers after N ms (asynchronously, from the shard's loop).
class SleepHandler final : public http::Handler {
 public:
  explicit SleepHandler(S3Service* svc) : svc_(svc) {}
  void OnHead(http::Exchange& ex) override { (void)ex; }
  void OnBodyEnd(http::Exchange& ex) override {
    uint64_t ms = std::min<uint64_t>(QueryU64(ex.head().query, "ms", 100), 60000);
    svc_->AddSleeper(&ex, ex.shard().now_ms() + static_cast<int64_t>(ms));
  }
  void OnAbort(http::Exchange& ex) override { svc_->RemoveSleeper(&ex); }

 private:
  S3Service* svc_;
};

}  // namespace

S3Service::S3Service(ServiceConfig config, store::NodeStore* node, UnsealFn unseal)
    : config_(config), node_(node), creds_(node, std::move(unseal)), cors_(node), keys_(1024) {}

S3Service::~S3Service() = default;

auth::SigV4Context* S3Service::AcquireContext() {
  if (ctx_pool_.empty()) return new auth::SigV4Context();
  auth::SigV4Context* c = ctx_pool_.back().release();
  ctx_pool_.pop_back();
  return c;
}

void S3Service::ReleaseContext(auth::SigV4Context* ctx) {
  if (ctx_pool_.size() < 4096) {
    ctx_pool_.emplace_back(ctx);
  } else {
    delete ctx;
  }
}

void S3Service::UnqueueVerify(S3Handler* h) {
  pending_.erase(std::remove(pending_.begin(), pending_.end(), h), pending_.end());
  std::replace(running_.begin(), running_.end(), h, static_cast<S3Handler*>(nullptr));
}

void S3Service::RunVerifyBatch() {
  // Every bodyless request whose head completed in this completion batch is
  // verified here in one multi-buffer pass. Continuing a request may complete the
  // next pipelined head on that connection, queueing more: loop until none is left.
  std::vector<auth::SigV4Context*> ctxs;
  std::vector<const auth::HmacSha256Key*> keys;
  std::vector<auth::SigV4Status> out;
  while (!pending_.empty()) {
    running_.swap(pending_);
    pending_.clear();
    const std::size_t n = running_.size();
    ctxs.resize(n);
    keys.resize(n);
    out.assign(n, auth::SigV4Status{});
    for (std::size_t i = 0; i < n; ++i) {
      ctxs[i] = running_[i]->context();
      keys[i] = running_[i]->signing_key();
    }
    auth::VerifyBatch(ctxs.data(), keys.data(), out.data(), n);
    batched_ += n;
    for (std::size_t i = 0; i < n; ++i) {
      // A handler aborted meanwhile was replaced by null (UnqueueVerify).
      if (running_[i] != nullptr) running_[i]->OnVerified(out[i]);
    }
    running_.clear();
  }
}

void S3Service::Attach(core::Shard& shard, store::ObjectIo* io) {
  shard_ = &shard;
  io_ = io;
  shard.AddBatchHook(&S3Service::OnBatch, this);
  if (shard.id() == 0) StartExpirySweep();
}

void S3Service::RemoveSleeper(http::Exchange* ex) {
  sleepers_.erase(std::remove_if(sleepers_.begin(), sleepers_.end(), [ex](const Sleeper& s) { return s.ex == ex; }),
                  sleepers_.end());
}

void S3Service::OnBatch(void* ctx) {
  auto* self = static_cast<S3Service*>(ctx);
  if (!self->pending_.empty()) self->RunVerifyBatch();
  if (self->sleepers_.empty()) return;
  int64_t now = self->shard_->now_ms();
  // Collect first: responding may start the next request on that connection.
  std::vector<Sleeper> due;
  for (auto it = self->sleepers_.begin(); it != self->sleepers_.end();) {
    if (it->deadline_ms <= now) {
      due.push_back(*it);
      it = self->sleepers_.erase(it);
    } else {
      ++it;
    }
  }
  for (const Sleeper& d : due) {
    if (d.resume_body) {
      d.ex->ResumeBody();
      continue;
    }
    const http::OutHeader headers[] = {{"Content-Type", "text/plain"}};
    d.ex->Respond(200, headers, 1, "slept\n");
  }
}

const std::string_view* S3Service::route_names(std::size_t* count) const noexcept {
  *count = kRouteCount;
  return kRouteNames;
}

http::Route S3Service::Dispatch(http::Exchange& ex) {
  const http::RequestHead& h = ex.head();
  if (config_.test_routes && h.path.starts_with("/_test/")) {
    std::string_view what = h.path.substr(7);
    if (what == "bytes" && (h.method == http::Method::kGet || h.method == http::Method::kHead)) {
      return {http::MakeHandler<BytesHandler>(ex), kTestBytes, true};
    }
    if (what == "echo" && (h.method == http::Method::kPut || h.method == http::Method::kPost)) {
      return {http::MakeHandler<EchoHandler>(ex, this), kTestEcho, true};
    }
    if (what == "sleep" && h.method == http::Method::kGet) {
      return {http::MakeHandler<SleepHandler>(ex, this), kTestSleep, true};
    }
  }
  // Browsers: CORS preflights and POST policy form uploads are authenticated differently
  // (not at all, or by the form's signed policy): their own handlers (browser.h).
  if (h.method == http::Method::kOptions) return {MakePreflightHandler(ex, this), kS3Preflight, true};
  if (h.method == http::Method::kPost && h.query.empty()) {
    if (auto boundary = FormBoundary(h.Find("content-type"))) {
      return {MakePostObjectHandler(ex, this, std::move(*boundary)), kS3PostObject, true};
    }
  }
  return {http::MakeHandler<S3Handler>(ex, this), kS3, true};
}

}  // namespace mamute::s3
