// S3 additional checksums over a 1 MiB body (the aws-chunked chunk size boto3 uses), bytes/s.
// Release builds only.
//
//   Checksum1MiB/<algo>            Checksummer::Update over 1 MiB, then FinishRaw
//   Checksum1MiB/CRC32C_portable   the slicing-by-8 fallback, for comparison with SSE4.2
//   Checksum1MiB/MD5               OpenSSL EVP MD5, as the PUT path computes the ETag
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdint>
#include <string>

#include "s3/checksum.h"

namespace mamute::s3 {
namespace {

constexpr std::size_t kBody = 1u << 20;

const std::string& Body() {
  static const std::string b = [] {
    std::string s(kBody, '\0');
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (char& c : s) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x);
    }
    return s;
  }();
  return b;
}

void BM_Checksum(benchmark::State& state, ChecksumAlgo algo, CrcImpl impl) {
  const std::string& body = Body();
  Checksummer c(algo, impl);
  uint8_t out[kMaxChecksumRawSize];
  for (auto _ : state) {
    c.Update(body.data(), body.size());
    c.FinishRaw(out);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kBody));
}

BENCHMARK_CAPTURE(BM_Checksum, CRC32, ChecksumAlgo::kCrc32, CrcImpl::kBest)
    ->Name("Checksum1MiB/CRC32");
BENCHMARK_CAPTURE(BM_Checksum, CRC32C, ChecksumAlgo::kCrc32c, CrcImpl::kBest)
    ->Name("Checksum1MiB/CRC32C");
BENCHMARK_CAPTURE(BM_Checksum, CRC32C_portable, ChecksumAlgo::kCrc32c, CrcImpl::kPortable)
    ->Name("Checksum1MiB/CRC32C_portable");
BENCHMARK_CAPTURE(BM_Checksum, CRC64NVME, ChecksumAlgo::kCrc64Nvme, CrcImpl::kBest)
    ->Name("Checksum1MiB/CRC64NVME");
BENCHMARK_CAPTURE(BM_Checksum, SHA1, ChecksumAlgo::kSha1, CrcImpl::kBest)
    ->Name("Checksum1MiB/SHA1");
BENCHMARK_CAPTURE(BM_Checksum, SHA256, ChecksumAlgo::kSha256, CrcImpl::kBest)
    ->Name("Checksum1MiB/SHA256");

// The ETag: store/object_io.cc hashes every PUT body with EVP MD5 (fetched once).
void BM_Md5(benchmark::State& state) {
  const std::string& body = Body();
  EVP_MD* md = EVP_MD_fetch(nullptr, "MD5", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  for (auto _ : state) {
    EVP_DigestInit_ex(ctx, md, nullptr);
    EVP_DigestUpdate(ctx, body.data(), body.size());
    EVP_DigestFinal_ex(ctx, out, &len);
    benchmark::DoNotOptimize(out);
  }
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kBody));
}
BENCHMARK(BM_Md5)->Name("Checksum1MiB/MD5");

}  // namespace
}  // namespace mamute::s3

BENCHMARK_MAIN();
