// mamute-load: a warp-style S3 load generator (put, get, stat, delete, list,
// mixed, multipart) for any S3 endpoint over http. One thread per connection;
// requests are signed with the project's own client-side SigV4 signer
// (auth::SignRequest / auth::Presign / auth::EncodeAwsChunked). See
// docs/benchmarks.md and `mamute-load --help`.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "auth/aws_chunked.h"
#include "auth/sha256.h"
#include "auth/sigv4.h"
#include "http_client.h"
#include "load.h"

namespace mamute::load {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kChunkSize = 64 * 1024;  // minio-go's aws-chunked chunk size
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// One entry of the shared object pool; readers keep a delete from taking it.
struct PoolEntry {
  std::string key;
  uint32_t readers = 0;  // guarded by Shared::mu
};

/// What every worker shares.
struct Shared {
  const Options* o = nullptr;
  Endpoint ep;
  Url url;  // endpoint or anchor URL
  std::string payload;       // object_size bytes
  std::string part_payload;  // part_size bytes
  std::string payload_sha;   // hex SHA-256 of payload
  std::string part_sha;
  std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ops{0}, bytes{0}, errors{0};
  std::atomic<uint64_t> prepare_next{0};
  std::mutex mu;
  std::vector<std::shared_ptr<PoolEntry>> pool;
  std::string first_error;  // guarded by mu
};

struct WorkerStats {
  LatencyHistogram hist[kOpKinds];
  uint64_t ops[kOpKinds] = {};
  uint64_t bytes[kOpKinds] = {};
  uint64_t errors[kOpKinds] = {};
  std::map<std::string, uint64_t> errors_by_code;
  uint64_t objects_listed = 0;
  uint64_t uploads_completed = 0;
};

/// One request to sign and send.
struct Request {
  OpKind kind = OpKind::kGet;
  const char* method = "GET";
  std::string path;   // "/bucket/key", percent-encoded
  std::string query;  // encoded, may be empty
  std::string_view body;
  std::string_view body_sha;  // hex, for PayloadSigning::kSigned; empty: computed
  bool keep_body = false;
};

std::string EncodeKeyPath(std::string_view bucket, std::string_view key) {
  std::string p = "/";
  auth::AppendUriEncoded(p, bucket, false);
  p += '/';
  auth::AppendUriEncoded(p, key, true);
  return p;
}

class Worker {
 public:
  Worker(Shared* s, uint32_t id) : s_(s), o_(*s->o), id_(id), conn_(&s->ep), rng_(o_.seed * 7919 + id) {}

  void Run();
  bool Prepare();  // uploads this worker's share of the pool
  WorkerStats& stats() { return stats_; }

 private:
  // Sends one request; records latency, bytes and errors under req.kind.
  bool Do(const Request& req, Response* resp, uint64_t counted_bytes);
  std::string BuildHead(const Request& req, std::string_view body, std::string* chunked_body);
  void RecordError(OpKind kind, const std::string& code);

  bool DoPut(const std::string& key);
  bool DoGet(OpKind kind, const std::string& key);
  bool DoDelete(const std::string& key);
  bool DoListPage();
  bool DoMultipart();
  void DoMixed();
  std::shared_ptr<PoolEntry> AcquireReader();
  void ReleaseReader(const std::shared_ptr<PoolEntry>& e);
  std::shared_ptr<PoolEntry> TakeForDelete();
  std::string NewKey() { return o_.prefix + "w" + std::to_string(id_) + "-" + std::to_string(seq_++); }

  Shared* s_;
  const Options& o_;
  uint32_t id_;
  HttpConnection conn_;
  std::mt19937_64 rng_;
  WorkerStats stats_;
  uint64_t seq_ = 0;
  std::string list_token_;
  bool give_up_ = false;  // the workload is not supported by the server
  Response resp_;
  std::string chunked_;
};

std::string Worker::BuildHead(const Request& req, std::string_view body, std::string* chunked_body) {
  std::string head;
  head.reserve(512);
  const bool anchor = !o_.anchor_url.empty();
  const bool has_body = req.method[0] == 'P';  // PUT, POST
  std::string query = req.query;
  std::string auth_header, payload_hash, decoded_len;
  char amz_date[17] = {};
  auth::FormatAmzDate(static_cast<int64_t>(std::time(nullptr)), amz_date);
  std::string_view date(amz_date, 16);
  const auth::SigningCredentials creds{o_.access_key, o_.secret_key, o_.region, "s3"};
  const bool chunked = has_body && o_.payload == PayloadSigning::kChunked && !o_.presign;
  if (!anchor && o_.presign) {
    auth::HeaderView hv[1] = {{"host", s_->ep.host_header}};
    auth::SigV4Request sr{req.method, req.path, req.query, hv, 1};
    query = auth::Presign(sr, creds, date, 3600);
  } else if (!anchor) {
    if (chunked) {
      payload_hash = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
      decoded_len = std::to_string(body.size());
    } else if (o_.payload == PayloadSigning::kUnsigned && has_body) {
      payload_hash = "UNSIGNED-PAYLOAD";
    } else if (!has_body || body.empty()) {
      payload_hash = kEmptySha256;
    } else if (!req.body_sha.empty()) {
      payload_hash = req.body_sha;
    } else {
      payload_hash = auth::HexDigest(auth::Sha256Of(body));
    }
    auth::HeaderView hv[5] = {{"host", s_->ep.host_header},
                              {"x-amz-content-sha256", payload_hash},
                              {"x-amz-date", date},
                              {"content-encoding", "aws-chunked"},
                              {"x-amz-decoded-content-length", decoded_len}};
    auth::SigV4Request sr{req.method, req.path, req.query, hv, chunked ? 5u : 3u};
    auth::SigningDebug dbg;
    auth_header = auth::SignRequest(sr, creds, {}, chunked ? &dbg : nullptr);
    if (chunked) {
      auth::HmacSha256Key key =
          auth::DeriveSigningKey(o_.secret_key, date.substr(0, 8), o_.region, "s3");
      std::string scope = std::string(date.substr(0, 8)) + "/" + o_.region + "/s3/aws4_request";
      auth::ChunkSigner signer(key, date, scope, dbg.signature);
      *chunked_body =
          auth::EncodeAwsChunked(body, kChunkSize, auth::AwsChunkedMode::kSigned, &signer);
    }
  }
  head += req.method;
  head += ' ';
  head += req.path;
  if (!query.empty()) {
    head += '?';
    head += query;
  }
  head += " HTTP/1.1\r\nHost: ";
  head += s_->ep.host_header;
  head += "\r\n";
  if (!auth_header.empty()) {
    head += "X-Amz-Date: ";
    head += date;
    head += "\r\nX-Amz-Content-Sha256: ";
    head += payload_hash;
    head += "\r\nAuthorization: ";
    head += auth_header;
    head += "\r\n";
  }
  if (chunked) {
    head += "Content-Encoding: aws-chunked\r\nX-Amz-Decoded-Content-Length: ";
    head += decoded_len;
    head += "\r\n";
  }
  if (has_body) {
    head += "Content-Length: ";
    head += std::to_string(chunked ? chunked_body->size() : body.size());
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

void Worker::RecordError(OpKind kind, const std::string& code) {
  ++stats_.errors[static_cast<std::size_t>(kind)];
  ++stats_.errors_by_code[code];
  s_->errors.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(s_->mu);
  if (s_->first_error.empty()) {
    s_->first_error = std::string(OpKindName(kind)) + ": " + code;
  }
}

bool Worker::Do(const Request& req, Response* resp, uint64_t counted_bytes) {
  const auto k = static_cast<std::size_t>(req.kind);
  chunked_.clear();
  const auto t0 = Clock::now();
  std::string head = BuildHead(req, req.body, &chunked_);
  std::string_view body = chunked_.empty() ? req.body : std::string_view(chunked_);
  std::string err;
  const bool is_head = req.method[0] == 'H';
  if (!conn_.RoundTrip(head, body, is_head, req.keep_body, resp, &err)) {
    RecordError(req.kind, "network: " + err);
    return false;
  }
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  // CompleteMultipartUpload may answer 200 with an <Error> document.
  if (resp->status >= 300 ||
      (req.kind == OpKind::kMpuComplete && resp->body.find("<Error>") != std::string::npos)) {
    RecordError(req.kind, ErrorCodeOf(resp->status, resp->body));
    return false;
  }
  uint64_t bytes = counted_bytes != UINT64_MAX ? counted_bytes : resp->body_bytes;
  stats_.hist[k].Record(static_cast<uint64_t>(us));
  ++stats_.ops[k];
  stats_.bytes[k] += bytes;
  s_->ops.fetch_add(1, std::memory_order_relaxed);
  s_->bytes.fetch_add(bytes, std::memory_order_relaxed);
  return true;
}

bool Worker::DoPut(const std::string& key) {
  Request r{OpKind::kPut, "PUT", EncodeKeyPath(o_.bucket, key), "", s_->payload, s_->payload_sha};
  return Do(r, &resp_, s_->payload.size());
}

bool Worker::DoGet(OpKind kind, const std::string& key) {
  Request r{kind, kind == OpKind::kStat ? "HEAD" : "GET", "", "", {}, {}};
  if (!o_.anchor_url.empty()) {
    r.path = s_->url.path;
    r.query = s_->url.query;
  } else {
    r.path = EncodeKeyPath(o_.bucket, key);
  }
  return Do(r, &resp_, kind == OpKind::kStat ? 0 : UINT64_MAX);
}

bool Worker::DoDelete(const std::string& key) {
  Request r{OpKind::kDelete, "DELETE", EncodeKeyPath(o_.bucket, key), "", {}, {}};
  return Do(r, &resp_, 0);
}

bool Worker::DoListPage() {
  Request r{OpKind::kList, "GET", "/", "", {}, {}, true};
  auth::AppendUriEncoded(r.path, o_.bucket, false);
  // Canonical order is the signer's business; send them sorted anyway.
  if (!list_token_.empty()) {
    r.query += "continuation-token=";
    auth::AppendUriEncoded(r.query, list_token_, false);
    r.query += '&';
  }
  r.query += "list-type=2&max-keys=" + std::to_string(o_.list_max_keys) + "&prefix=";
  auth::AppendUriEncoded(r.query, o_.prefix, false);
  if (!Do(r, &resp_, 0)) {  // bytes: a listing's XML is not payload
    list_token_.clear();
    return false;
  }
  ListPage page = ParseListPage(resp_.body);
  stats_.objects_listed += page.keys;
  list_token_ = page.truncated ? page.next_token : std::string();
  return true;
}

bool Worker::DoMultipart() {
  const std::string key = NewKey();
  const std::string path = EncodeKeyPath(o_.bucket, key);
  Request init{OpKind::kMpuInit, "POST", path, "uploads", {}, {}, true};
  if (!Do(init, &resp_, 0)) {
    // 501: the server has no multipart support; one error per worker says so.
    give_up_ = resp_.status == 501;
    return false;
  }
  std::string upload_id(XmlElement(resp_.body, "UploadId"));
  if (upload_id.empty()) {
    RecordError(OpKind::kMpuInit, "no UploadId in response");
    return false;
  }
  std::string encoded_id;
  auth::AppendUriEncoded(encoded_id, upload_id, false);
  std::string complete = "<CompleteMultipartUpload>";
  for (uint32_t part = 1; part <= o_.parts; ++part) {
    Request r{OpKind::kMpuPart, "PUT", path,
              "partNumber=" + std::to_string(part) + "&uploadId=" + encoded_id, s_->part_payload,
              s_->part_sha};
    if (!Do(r, &resp_, s_->part_payload.size())) {
      return false;
    }
    complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" + resp_.etag +
                "</ETag></Part>";
    if (s_->stop.load(std::memory_order_relaxed) && part < o_.parts) {
      return false;  // the run is over: leave the upload incomplete
    }
  }
  complete += "</CompleteMultipartUpload>";
  Request done{OpKind::kMpuComplete, "POST", path, "uploadId=" + encoded_id, complete, {}, true};
  if (!Do(done, &resp_, 0)) {
    return false;
  }
  ++stats_.uploads_completed;
  return true;
}

std::shared_ptr<PoolEntry> Worker::AcquireReader() {
  std::lock_guard lock(s_->mu);
  if (s_->pool.empty()) {
    return nullptr;
  }
  auto& e = s_->pool[rng_() % s_->pool.size()];
  ++e->readers;
  return e;
}

void Worker::ReleaseReader(const std::shared_ptr<PoolEntry>& e) {
  std::lock_guard lock(s_->mu);
  --e->readers;
}

std::shared_ptr<PoolEntry> Worker::TakeForDelete() {
  std::lock_guard lock(s_->mu);
  // A key being read is not deleted under the reader (that would be a 404 error).
  for (int tries = 0; tries < 8 && !s_->pool.empty(); ++tries) {
    std::size_t i = rng_() % s_->pool.size();
    if (s_->pool[i]->readers == 0) {
      auto e = std::move(s_->pool[i]);
      s_->pool[i] = std::move(s_->pool.back());
      s_->pool.pop_back();
      return e;
    }
  }
  return nullptr;
}

void Worker::DoMixed() {
  OpKind k = o_.mix.Pick(static_cast<uint32_t>(rng_()));
  if (k == OpKind::kGet || k == OpKind::kStat) {
    if (auto e = AcquireReader()) {
      DoGet(k, e->key);
      ReleaseReader(e);
      return;
    }
    k = OpKind::kPut;
  } else if (k == OpKind::kDelete) {
    if (auto e = TakeForDelete()) {
      DoDelete(e->key);
      return;
    }
    k = OpKind::kPut;
  }
  std::string key = NewKey();
  if (DoPut(key)) {
    std::lock_guard lock(s_->mu);
    s_->pool.push_back(std::make_shared<PoolEntry>(PoolEntry{std::move(key), 0}));
  }
}

bool Worker::Prepare() {
  for (;;) {
    uint64_t i = s_->prepare_next.fetch_add(1);
    if (i >= o_.objects) {
      return true;
    }
    std::string key = o_.prefix + "p" + std::to_string(i);
    if (!o_.no_prepare && !DoPut(key)) {
      return false;
    }
    std::lock_guard lock(s_->mu);
    s_->pool.push_back(std::make_shared<PoolEntry>(PoolEntry{std::move(key), 0}));
  }
}

void Worker::Run() {
  while (!s_->go.load(std::memory_order_acquire)) {
    std::this_thread::yield();
  }
  while (!s_->stop.load(std::memory_order_relaxed) && !give_up_) {
    switch (o_.workload) {
      case Workload::kPut:
        DoPut(NewKey());
        break;
      case Workload::kGet:
      case Workload::kStat: {
        const OpKind k = o_.workload == Workload::kGet ? OpKind::kGet : OpKind::kStat;
        if (!o_.anchor_url.empty()) {
          DoGet(k, {});
        } else if (auto e = AcquireReader()) {
          DoGet(k, e->key);
          ReleaseReader(e);
        }
        break;
      }
      case Workload::kDelete:
        if (auto e = TakeForDelete()) {
          DoDelete(e->key);
        } else {
          std::lock_guard lock(s_->mu);
          if (s_->pool.empty()) {
            return;  // every prepared object is deleted: this worker is done
          }
        }
        break;
      case Workload::kList:
        DoListPage();
        break;
      case Workload::kMixed:
        DoMixed();
        break;
      case Workload::kMultipart:
        DoMultipart();
        break;
    }
  }
}

// ---------------------------------------------------------------------------- report

double Ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

nlohmann::json LatencyJson(const LatencyHistogram& h) {
  return {{"p50", Ms(h.Percentile(0.50))}, {"p90", Ms(h.Percentile(0.90))},
          {"p99", Ms(h.Percentile(0.99))}, {"max", Ms(h.max())},
          {"mean", h.mean() / 1000.0}};
}

std::string PayloadName(const Options& o) {
  if (!o.anchor_url.empty()) {
    return "anchor (unsigned plain GET)";
  }
  if (o.presign) {
    return "presigned";
  }
  switch (o.payload) {
    case PayloadSigning::kSigned: return "signed";
    case PayloadSigning::kUnsigned: return "unsigned";
    case PayloadSigning::kChunked: return "aws-chunked";
  }
  return "?";
}

int Main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (auto a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(UsageText().c_str(), stdout);
      return 0;
    }
  }
  const char* env_ak = std::getenv("AWS_ACCESS_KEY_ID");
  const char* env_sk = std::getenv("AWS_SECRET_ACCESS_KEY");
  auto parsed = ParseOptions(args, env_ak ? env_ak : "", env_sk ? env_sk : "");
  if (!parsed) {
    std::fprintf(stderr, "mamute-load: %s (see --help)\n", parsed.error().c_str());
    return 2;
  }
  const Options& o = *parsed;
  std::signal(SIGPIPE, SIG_IGN);

  Shared s;
  s.o = &o;
  std::string err;
  if (!ParseUrl(o.anchor_url.empty() ? o.endpoint : o.anchor_url, &s.url, &err) ||
      !ResolveEndpoint(s.url, &s.ep, &err)) {
    std::fprintf(stderr, "mamute-load: %s\n", err.c_str());
    return 2;
  }
  // Object bodies: one pseudo-random buffer per size, hashed once (warp hashes per object).
  std::mt19937_64 fill(o.seed);
  auto make = [&fill](uint64_t n) {
    std::string b(n, '\0');
    for (auto& c : b) {
      c = static_cast<char>('a' + fill() % 26);
    }
    return b;
  };
  s.payload = make(o.object_size);
  s.payload_sha = auth::HexDigest(auth::Sha256Of(s.payload));
  if (o.workload == Workload::kMultipart) {
    s.part_payload = make(o.part_size);
    s.part_sha = auth::HexDigest(auth::Sha256Of(s.part_payload));
  }

  std::vector<std::unique_ptr<Worker>> workers;
  for (uint32_t i = 0; i < o.concurrency; ++i) {
    workers.push_back(std::make_unique<Worker>(&s, i));
  }
  const bool needs_pool = o.anchor_url.empty() && o.workload != Workload::kPut &&
                          o.workload != Workload::kMultipart;
  if (needs_pool && o.objects > 0) {
    if (!o.no_prepare) {
      std::fprintf(stderr, "mamute-load: preparing %u objects of %" PRIu64 " bytes...\n",
                   o.objects, o.object_size);
    }
    std::vector<std::thread> th;
    std::atomic<bool> failed{false};
    for (auto& w : workers) {
      th.emplace_back([&w, &failed] {
        if (!w->Prepare()) {
          failed = true;
        }
      });
    }
    for (auto& t : th) {
      t.join();
    }
    if (failed) {
      std::fprintf(stderr, "mamute-load: prepare failed: %s\n", s.first_error.c_str());
      return 1;
    }
    for (auto& w : workers) {
      w->stats() = WorkerStats{};
    }
    s.ops = 0;
    s.bytes = 0;
    s.errors = 0;
  }

  if (o.print_url) {
    const std::string path = EncodeKeyPath(o.bucket, o.prefix + "p0");
    char amz_date[17] = {};
    auth::FormatAmzDate(static_cast<int64_t>(std::time(nullptr)), amz_date);
    auth::HeaderView hv[1] = {{"host", s.ep.host_header}};
    auth::SigV4Request sr{"GET", path, "", hv, 1};
    const auth::SigningCredentials creds{o.access_key, o.secret_key, o.region, "s3"};
    std::printf("http://%s%s?%s\n", s.ep.host_header.c_str(), path.c_str(),
                auth::Presign(sr, creds, std::string_view(amz_date, 16), 3600).c_str());
    return 0;
  }

  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&w] { w->Run(); });
  }
  std::atomic<uint32_t> running{o.concurrency};
  const auto t0 = Clock::now();
  s.go.store(true, std::memory_order_release);
  const Clock::time_point deadline =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
  const bool tty = isatty(STDERR_FILENO);
  uint64_t last_ops = 0, last_bytes = 0;
  auto last = t0;
  // Progress: one line a second; the delete workload may finish before the deadline.
  std::thread done_watch([&] {
    for (auto& t : threads) {
      t.join();
    }
    running = 0;
  });
  while (running.load() != 0 && Clock::now() < deadline) {
    auto next = std::min(deadline, last + std::chrono::seconds(1));
    while (Clock::now() < next && running.load() != 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto now = Clock::now();
    double dt = std::chrono::duration<double>(now - last).count();
    uint64_t ops = s.ops.load(), bytes = s.bytes.load();
    if (o.progress && dt > 0) {
      std::fprintf(stderr, "%s[%5.1fs] %s: %9.0f ops/s %9.2f MB/s  errors %" PRIu64 "%s",
                   tty ? "\r" : "", std::chrono::duration<double>(now - t0).count(),
                   std::string(WorkloadName(o.workload)).c_str(), (ops - last_ops) / dt,
                   (bytes - last_bytes) / dt / 1e6, s.errors.load(), tty ? "" : "\n");
    }
    last_ops = ops;
    last_bytes = bytes;
    last = now;
  }
  s.stop = true;
  done_watch.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  if (o.progress && tty) {
    std::fputc('\n', stderr);
  }

  WorkerStats total;
  for (auto& w : workers) {
    WorkerStats& ws = w->stats();
    for (std::size_t k = 0; k < kOpKinds; ++k) {
      total.hist[k].Merge(ws.hist[k]);
      total.ops[k] += ws.ops[k];
      total.bytes[k] += ws.bytes[k];
      total.errors[k] += ws.errors[k];
    }
    for (const auto& [code, n] : ws.errors_by_code) {
      total.errors_by_code[code] += n;
    }
    total.objects_listed += ws.objects_listed;
    total.uploads_completed += ws.uploads_completed;
  }
  LatencyHistogram all;
  uint64_t ops = 0, bytes = 0, errors = 0;
  nlohmann::json per_op = nlohmann::json::object();
  for (std::size_t k = 0; k < kOpKinds; ++k) {
    if (total.ops[k] == 0 && total.errors[k] == 0) {
      continue;
    }
    all.Merge(total.hist[k]);
    ops += total.ops[k];
    bytes += total.bytes[k];
    errors += total.errors[k];
    per_op[std::string(OpKindName(static_cast<OpKind>(k)))] = {
        {"ops", total.ops[k]},
        {"ops_per_s", total.ops[k] / elapsed},
        {"bytes", total.bytes[k]},
        {"mb_per_s", total.bytes[k] / elapsed / 1e6},
        {"errors", total.errors[k]},
        {"latency_ms", LatencyJson(total.hist[k])}};
  }
  nlohmann::json j = {
      {"tool", "mamute-load"},
      {"workload", WorkloadName(o.workload)},
      {"endpoint", o.anchor_url.empty() ? o.endpoint : o.anchor_url},
      {"bucket", o.bucket},
      {"object_size", o.object_size},
      {"concurrency", o.concurrency},
      {"duration_s", elapsed},
      {"auth", PayloadName(o)},
      {"ops", ops},
      {"ops_per_s", ops / elapsed},
      {"bytes", bytes},
      {"mb_per_s", bytes / elapsed / 1e6},
      {"errors", errors},
      {"errors_by_code", total.errors_by_code},
      {"latency_ms", LatencyJson(all)},
      {"per_op", per_op},
  };
  if (o.workload == Workload::kList) {
    j["objects_listed"] = total.objects_listed;
    j["objects_per_s"] = total.objects_listed / elapsed;
  }
  if (o.workload == Workload::kMultipart) {
    j["uploads_completed"] = total.uploads_completed;
    j["part_size"] = o.part_size;
    j["parts"] = o.parts;
  }
  std::printf("%s %s, %u connections, %.1f s: %" PRIu64 " ops, %.1f ops/s, %.2f MB/s, errors %" PRIu64
              "\n",
              std::string(WorkloadName(o.workload)).c_str(), PayloadName(o).c_str(), o.concurrency,
              elapsed, ops, ops / elapsed, bytes / elapsed / 1e6, errors);
  for (auto& [name, v] : per_op.items()) {
    const auto& l = v["latency_ms"];
    std::printf("  %-13s %10.1f ops/s %9.2f MB/s  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f ms  errors %s\n",
                name.c_str(), v["ops_per_s"].get<double>(), v["mb_per_s"].get<double>(),
                l["p50"].get<double>(), l["p90"].get<double>(), l["p99"].get<double>(),
                l["max"].get<double>(), v["errors"].dump().c_str());
  }
  for (const auto& [code, n] : total.errors_by_code) {
    std::printf("  error %s: %" PRIu64 "\n", code.c_str(), n);
  }
  if (o.workload == Workload::kList) {
    std::printf("  %.0f objects listed/s\n", total.objects_listed / elapsed);
  }
  if (!o.json_path.empty()) {
    std::ofstream f(o.json_path);
    f << j.dump(2) << '\n';
    if (!f) {
      std::fprintf(stderr, "mamute-load: cannot write %s\n", o.json_path.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace mamute::load

int main(int argc, char** argv) { return mamute::load::Main(argc, argv); }
