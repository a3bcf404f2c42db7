// SigV4 verification throughput for a typical GET (boto3-style signed headers,
// UNSIGNED-PAYLOAD), in verifications per second:
//   BM_SigV4VerifyOne      Prepare + VerifyOne (Sha256 + HmacSha256, cached key)
//   BM_SigV4VerifyBatch16  16 x Prepare + VerifyBatch (Sha256Batch + HmacSha256Batch), per engine
//   BM_SigV4VerifyOpenSsl  Prepare + OpenSSL SHA256() + HMAC(), one at a time (the anchor)
//   BM_SigV4Prepare        parsing and canonical request only
//   BM_AwsChunkedDecode    signed aws-chunked body, 64 KiB chunks, bytes/s
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "auth/aws_chunked.h"
#include "auth/ct_equal.h"
#include "auth/sigv4.h"

namespace mamute::auth {
namespace {

constexpr std::string_view kAccessKey = "AKIAIOSFODNN7EXAMPLE";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr int64_t kNow = 1700000000;
constexpr std::size_t kBatch = 16;

struct Req {
  std::string path;
  std::vector<std::pair<std::string, std::string>> h;
  std::vector<HeaderView> views;
  SigV4Request View() {
    views.clear();
    for (const auto& [n, v] : h) {
      views.push_back({n, v});
    }
    return SigV4Request{"GET", path, "", views.data(), views.size()};
  }
};

// n distinct, validly signed GETs as boto3 sends them.
std::vector<Req> MakeRequests(std::size_t n) {
  char date[17] = {};
  FormatAmzDate(kNow, date);
  std::vector<Req> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    Req& r = out[i];
    r.path = "/bench-bucket/objects/prefix-" + std::to_string(i % 97) + "/object-" +
             std::to_string(i) + ".bin";
    r.h = {{"Host", "127.0.0.1:9000"},
           {"Accept-Encoding", "identity"},
           {"User-Agent", "Boto3/1.36.0 md/Botocore#1.36.0 ua/2.0 os/linux#6.1.0 lang/python#3.11.2"},
           {"X-Amz-Date", date},
           {"X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"},
           {"amz-sdk-invocation-id", "3b6f5d5e-3c36-4a49-9d1f-0b9b4a0c" + std::to_string(1000 + i)},
           {"amz-sdk-request", "attempt=1"}};
    SigningCredentials creds{kAccessKey, kSecret, "us-east-1", "s3"};
    const std::string authz = SignRequest(
        r.View(), creds, "amz-sdk-invocation-id;amz-sdk-request;host;x-amz-content-sha256;x-amz-date");
    r.h.emplace_back("Authorization", authz);
  }
  return out;
}

void BM_SigV4VerifyOne(benchmark::State& state) {
  std::vector<Req> reqs = MakeRequests(kBatch);
  std::vector<SigV4Request> views;
  for (Req& r : reqs) {
    views.push_back(r.View());
  }
  char date[17] = {};
  FormatAmzDate(kNow, date);
  const HmacSha256Key key =
      DeriveSigningKey(kSecret, std::string_view(date, 8), "us-east-1", "s3");
  SigV4Config cfg;
  SigV4Context ctx;
  std::size_t i = 0;
  for (auto _ : state) {
    const SigV4Request& req = views[i++ % kBatch];
    if (!ctx.Prepare(req, cfg, kNow) || !VerifyOne(ctx, key)) {
      state.SkipWithError("verification failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SigV4VerifyOne);

void BM_SigV4VerifyBatch16(benchmark::State& state) {
  std::vector<Req> reqs = MakeRequests(kBatch);
  std::vector<SigV4Request> views;
  for (Req& r : reqs) {
    views.push_back(r.View());
  }
  char date[17] = {};
  FormatAmzDate(kNow, date);
  const HmacSha256Key key =
      DeriveSigningKey(kSecret, std::string_view(date, 8), "us-east-1", "s3");
  SigV4Config cfg;
  std::vector<SigV4Context> ctxs(kBatch);
  SigV4Context* ctx_ptrs[kBatch];
  const HmacSha256Key* keys[kBatch];
  SigV4Status out[kBatch];
  for (std::size_t i = 0; i < kBatch; ++i) {
    ctx_ptrs[i] = &ctxs[i];
    keys[i] = &key;
  }
  const auto impl = static_cast<Sha256Impl>(state.range(0));
  if (!Sha256ImplSupported(impl)) {
    state.SkipWithError("implementation not supported on this CPU");
    return;
  }
  state.SetLabel(std::string(Sha256ImplName(impl)));
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      if (!ctxs[i].Prepare(views[i], cfg, kNow)) {
        state.SkipWithError("prepare failed");
        return;
      }
    }
    VerifyBatch(ctx_ptrs, keys, out, kBatch, impl);
    for (std::size_t i = 0; i < kBatch; ++i) {
      if (!out[i]) {
        state.SkipWithError("verification failed");
        return;
      }
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.counters["batch"] = kBatch;
}
// Arg: Sha256Impl (0 scalar, 1 SHA-NI, 2 AVX2 x8, 3 AVX-512 x16).
BENCHMARK(BM_SigV4VerifyBatch16)->DenseRange(0, 3);

void BM_SigV4VerifyOpenSsl(benchmark::State& state) {
  std::vector<Req> reqs = MakeRequests(kBatch);
  std::vector<SigV4Request> views;
  for (Req& r : reqs) {
    views.push_back(r.View());
  }
  char date[17] = {};
  FormatAmzDate(kNow, date);
  // The raw 32-byte signing key, derived with OpenSSL's HMAC().
  unsigned char k[EVP_MAX_MD_SIZE];
  unsigned int klen = 0;
  const std::string k0 = "AWS4" + std::string(kSecret);
  HMAC(EVP_sha256(), k0.data(), static_cast<int>(k0.size()),
       reinterpret_cast<const unsigned char*>(date), 8, k, &klen);
  for (const char* part : {"us-east-1", "s3", "aws4_request"}) {
    unsigned char next[EVP_MAX_MD_SIZE];
    HMAC(EVP_sha256(), k, static_cast<int>(klen), reinterpret_cast<const unsigned char*>(part),
         std::strlen(part), next, &klen);
    std::memcpy(k, next, klen);
  }
  SigV4Config cfg;
  SigV4Context ctx;
  std::size_t i = 0;
  for (auto _ : state) {
    const SigV4Request& req = views[i++ % kBatch];
    if (!ctx.Prepare(req, cfg, kNow)) {
      state.SkipWithError("prepare failed");
      break;
    }
    const std::string_view cr = ctx.canonical_request();
    Sha256Digest h;
    SHA256(reinterpret_cast<const unsigned char*>(cr.data()), cr.size(), h.data());
    ctx.SetCanonicalRequestHash(h);
    const std::string_view sts = ctx.string_to_sign();
    Sha256Digest mac;
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), k, static_cast<int>(klen), reinterpret_cast<const unsigned char*>(sts.data()),
         sts.size(), mac.data(), &mac_len);
    if (!ctx.CheckSignature(mac)) {
      state.SkipWithError("verification failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SigV4VerifyOpenSsl);

void BM_SigV4Prepare(benchmark::State& state) {
  std::vector<Req> reqs = MakeRequests(kBatch);
  std::vector<SigV4Request> views;
  for (Req& r : reqs) {
    views.push_back(r.View());
  }
  SigV4Config cfg;
  SigV4Context ctx;
  std::size_t i = 0;
  for (auto _ : state) {
    auto st = ctx.Prepare(views[i++ % kBatch], cfg, kNow);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SigV4Prepare);

void BM_AwsChunkedDecode(benchmark::State& state) {
  const std::size_t payload_len = 4 << 20;
  const std::string payload(payload_len, 'x');
  const HmacSha256Key key = DeriveSigningKey(kSecret, "20130524", "us-east-1", "s3");
  const std::string_view seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
  ChunkSigner signer(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", seed);
  const std::string body = EncodeAwsChunked(payload, 64 << 10, AwsChunkedMode::kSigned, &signer);
  AwsChunkedOptions opts;
  opts.mode = AwsChunkedMode::kSigned;
  opts.decoded_length = payload_len;
  opts.key = &key;
  opts.amz_date = "20130524T000000Z";
  opts.scope = "20130524/us-east-1/s3/aws4_request";
  opts.seed_signature = seed;
  AwsChunkedDecoder dec;
  for (auto _ : state) {
    (void)dec.Start(opts);
    std::size_t out = 0;
    // Fed in 16 KiB pieces, like receive buffers.
    for (std::size_t off = 0; off < body.size(); off += 16384) {
      (void)dec.FeedAll(std::string_view(body).substr(off, 16384),
                        [&](std::string_view d) { out += d.size(); });
    }
    if (!dec.Finish() || out != payload_len) {
      state.SkipWithError("decode failed");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload_len));
}
BENCHMARK(BM_AwsChunkedDecode);

}  // namespace
}  // namespace mamute::auth

BENCHMARK_MAIN();
