// SHA-256 / HMAC-SHA256 engines against OpenSSL. Release builds only.
//
//   Sha256Stream16K/<impl>   one 16 KiB payload, streaming class (bytes/s)
//   Sha256Batch16K/<impl>    one 16 KiB payload per lane (8 or 16 at once), bytes/s summed
//   Hmac200/<variant>        HMAC of a ~200-byte SigV4 string to sign (items/s = MACs/s)
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <string>
#include <vector>

#include "auth/sha256.h"

namespace mamute::auth {
namespace {

constexpr std::size_t kPayload = 16 * 1024;

const std::string& Payload() {
  static const std::string p = [] {
    std::string s(kPayload, '\0');
    for (std::size_t i = 0; i < s.size(); ++i) {
      s[i] = static_cast<char>(i * 131 + 7);
    }
    return s;
  }();
  return p;
}

// A realistic SigV4 string to sign (AWS SigV4 docs, "Create a string to sign").
const std::string& StringToSign() {
  static const std::string s =
      "AWS4-HMAC-SHA256\n20240115T093000Z\n20240115/us-east-1/s3/aws4_request\n"
      "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
      "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718";
  return s;
}

const std::string kSigningKey(32, '\x5a');

bool SkipIfUnsupported(benchmark::State& state, Sha256Impl impl) {
  if (!Sha256ImplSupported(impl)) {
    state.SkipWithError("implementation not supported on this CPU");
    return true;
  }
  return false;
}

void Sha256Stream16K(benchmark::State& state, Sha256Impl impl) {
  if (SkipIfUnsupported(state, impl)) {
    return;
  }
  const std::string& p = Payload();
  Sha256 h(impl);
  for (auto _ : state) {
    h.Update(p);
    Sha256Digest d = h.Final();
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * p.size()));
}

void Sha256Stream16KOpenSsl(benchmark::State& state) {
  const std::string& p = Payload();
  uint8_t md[32];
  unsigned len = 0;
  for (auto _ : state) {
    EVP_Digest(p.data(), p.size(), md, &len, EVP_sha256(), nullptr);
    benchmark::DoNotOptimize(md);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * p.size()));
}

void Sha256Batch16K(benchmark::State& state, Sha256Impl impl, std::size_t lanes) {
  if (SkipIfUnsupported(state, impl)) {
    return;
  }
  std::vector<std::string> owned(lanes, Payload());
  std::vector<std::string_view> msgs(owned.begin(), owned.end());
  std::vector<Sha256Digest> out(lanes);
  for (auto _ : state) {
    Sha256Batch(msgs.data(), out.data(), lanes, impl);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lanes * kPayload));
}

void Hmac200OpenSslOneCall(benchmark::State& state) {
  const std::string& m = StringToSign();
  uint8_t md[32];
  unsigned len = 0;
  for (auto _ : state) {
    HMAC(EVP_sha256(), kSigningKey.data(), static_cast<int>(kSigningKey.size()),
         reinterpret_cast<const uint8_t*>(m.data()), m.size(), md, &len);
    benchmark::DoNotOptimize(md);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void Hmac200Precomputed(benchmark::State& state, Sha256Impl impl) {
  if (SkipIfUnsupported(state, impl)) {
    return;
  }
  const HmacSha256Key key(kSigningKey);
  const std::string& m = StringToSign();
  for (auto _ : state) {
    Sha256Digest d = HmacSha256(key, m, impl);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// `batch` MACs per call, each with its own key object (as for distinct requests).
void Hmac200Batch(benchmark::State& state, Sha256Impl impl) {
  if (SkipIfUnsupported(state, impl)) {
    return;
  }
  const std::size_t batch = static_cast<std::size_t>(state.range(0));
  std::vector<HmacSha256Key> keys;
  keys.reserve(batch);
  std::vector<const HmacSha256Key*> key_ptrs;
  std::vector<std::string> owned;
  for (std::size_t i = 0; i < batch; ++i) {
    keys.emplace_back(kSigningKey);
    key_ptrs.push_back(&keys.back());
    // Vary the tail so lanes do not all carry identical bytes.
    owned.push_back(StringToSign() + std::to_string(i % 10));
  }
  std::vector<std::string_view> msgs(owned.begin(), owned.end());
  std::vector<Sha256Digest> out(batch);
  for (auto _ : state) {
    HmacSha256Batch(key_ptrs.data(), msgs.data(), out.data(), batch, impl);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
}

BENCHMARK_CAPTURE(Sha256Stream16K, scalar, Sha256Impl::kScalar);
BENCHMARK_CAPTURE(Sha256Stream16K, shani, Sha256Impl::kShaNi);
BENCHMARK(Sha256Stream16KOpenSsl);
BENCHMARK_CAPTURE(Sha256Batch16K, avx2_x8, Sha256Impl::kAvx2, 8);
BENCHMARK_CAPTURE(Sha256Batch16K, avx512_x16, Sha256Impl::kAvx512, 16);

BENCHMARK(Hmac200OpenSslOneCall);
BENCHMARK_CAPTURE(Hmac200Precomputed, scalar, Sha256Impl::kScalar);
BENCHMARK_CAPTURE(Hmac200Precomputed, shani, Sha256Impl::kShaNi);
BENCHMARK_CAPTURE(Hmac200Batch, avx2, Sha256Impl::kAvx2)->Arg(8)->Arg(64);
BENCHMARK_CAPTURE(Hmac200Batch, avx512, Sha256Impl::kAvx512)->Arg(16)->Arg(64);

}  // namespace
}  // namespace mamute::auth

BENCHMARK_MAIN();
