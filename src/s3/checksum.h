// S3 additional checksums (x-amz-checksum-*), computed incrementally the way AWS computes them.
//
// Five algorithms: CRC32 (zlib), CRC32C (SSE4.2 when the CPU has it, slicing-by-8 otherwise),
// CRC64NVME (slicing-by-8), SHA1 and SHA256 (OpenSSL EVP). Raw values are big-endian bytes; S3
// headers, trailers and XML carry them base64-encoded. A multipart upload's COMPOSITE checksum is
// the checksum of the concatenated raw part checksums, written "<base64>-<part count>"; its
// FULL_OBJECT checksum (CRCs only) is the parts' CRCs combined with CombineCrc.
//
// Pure: no ring, no allocation in Update. Check values are in tests/unit/s3/checksum_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header.

namespace mamute::s3 {

enum class ChecksumAlgo : uint8_t { kCrc32, kCrc32c, kCrc64Nvme, kSha1, kSha256 };
inline constexpr std::size_t kChecksumAlgoCount = 5;
/// The largest raw checksum (SHA256), for fixed buffers.
inline constexpr std::size_t kMaxChecksumRawSize = 32;

/// "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256" in any case (x-amz-checksum-algorithm,
/// x-amz-sdk-checksum-algorithm, <ChecksumAlgorithm>). nullopt for anything else.
std::optional<ChecksumAlgo> ParseChecksumAlgo(std::string_view name) noexcept;
/// The canonical upper-case name: "CRC32", ..., "CRC64NVME", "SHA256".
std::string_view ChecksumAlgoName(ChecksumAlgo algo) noexcept;
/// "x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme",
/// "x-amz-checksum-sha1", "x-amz-checksum-sha256".
std::string_view ChecksumHeaderName(ChecksumAlgo algo) noexcept;
/// The reverse of ChecksumHeaderName, case-insensitive (header names are). nullopt for other
/// names, including "x-amz-checksum-algorithm", "x-amz-checksum-mode" and "x-amz-checksum-type".
std::optional<ChecksumAlgo> ChecksumAlgoFromHeader(std::string_view header_name) noexcept;
/// Raw size in bytes: 4 (CRC32, CRC32C), 8 (CRC64NVME), 20 (SHA1), 32 (SHA256).
std::size_t ChecksumRawSize(ChecksumAlgo algo) noexcept;

/// Whether a client-supplied value is valid base64 (standard alphabet, padded) that decodes to
/// exactly ChecksumRawSize(algo) bytes. False means S3's 400 InvalidRequest ("Value for
/// x-amz-checksum-crc32 header is invalid."), not BadDigest.
bool ValidateBase64Checksum(ChecksumAlgo algo, std::string_view value);

// ----------------------------------------------------------------------------- raw CRC functions
// Each takes the previous CRC value (0 to start) and returns the updated, finished CRC, like
// zlib's crc32(): Crc32c(Crc32c(0, a), b) == Crc32c(0, a || b).

uint32_t Crc32(uint32_t crc, const void* data, std::size_t n) noexcept;
/// Dispatches once to the SSE4.2 or the portable implementation.
uint32_t Crc32c(uint32_t crc, const void* data, std::size_t n) noexcept;
/// Portable slicing-by-8; always available (tests compare it to the hardware path).
uint32_t Crc32cPortable(uint32_t crc, const void* data, std::size_t n) noexcept;
/// SSE4.2 crc32 instruction. Call only when Crc32cHardwareAvailable().
uint32_t Crc32cHardware(uint32_t crc, const void* data, std::size_t n) noexcept;
/// x86-64 with SSE4.2 (detected once at run time). False on other architectures.
bool Crc32cHardwareAvailable() noexcept;
/// NVMe CRC-64 (reflected polynomial 0x9A6C9329AC4BC9B5, init and final xor ~0).
uint64_t Crc64Nvme(uint64_t crc, const void* data, std::size_t n) noexcept;

/// The CRC of A || B from crc(A), crc(B) and B's length, without the data (zlib's
/// crc32_combine, for any of the three CRCs): how a multipart FULL_OBJECT CRC is built from the
/// parts' CRCs. Only kCrc32, kCrc32c and kCrc64Nvme; the CRC32s use the low 32 bits.
uint64_t CombineCrc(ChecksumAlgo algo, uint64_t crc_a, uint64_t crc_b, uint64_t len_b) noexcept;

// ----------------------------------------------------------------------------------- Checksummer

/// Which CRC32C implementation a Checksummer uses. kPortable exists for tests and benchmarks.
enum class CrcImpl : uint8_t { kBest, kPortable };

/// One running checksum. Update() as body bytes arrive, then Finish*(), which returns the value
/// and resets the Checksummer to its initial state (reusable for the next body). Movable, not
/// copyable; SHA algorithms own one EVP_MD_CTX.
class Checksummer {
 public:
  explicit Checksummer(ChecksumAlgo algo, CrcImpl impl = CrcImpl::kBest);
  ~Checksummer();
  Checksummer(Checksummer&& other) noexcept;
  Checksummer& operator=(Checksummer&& other) noexcept;
  Checksummer(const Checksummer&) = delete;
  Checksummer& operator=(const Checksummer&) = delete;

  ChecksumAlgo algo() const noexcept { return algo_; }
  /// ChecksumRawSize(algo()).
  std::size_t raw_size() const noexcept;

  void Update(const void* data, std::size_t n) noexcept;
  void Update(std::string_view s) noexcept { Update(s.data(), s.size()); }

  /// Writes raw_size() big-endian bytes to out and resets.
  void FinishRaw(uint8_t* out) noexcept;
  /// The raw big-endian checksum (raw_size() bytes); resets.
  std::string FinishRaw();
  /// Base64 of the raw checksum, as x-amz-checksum-* headers carry it; resets.
  std::string FinishBase64();
  /// Back to the initial state, discarding what was hashed.
  void Reset() noexcept;

 private:
  void Free() noexcept;

  ChecksumAlgo algo_;
  CrcImpl impl_;
  uint64_t crc_ = 0;                  // CRC algorithms
  evp_md_ctx_st* md_ctx_ = nullptr;   // SHA algorithms
};

/// One-shot helpers.
std::string ComputeChecksumRaw(ChecksumAlgo algo, std::string_view data);
std::string ComputeChecksumBase64(ChecksumAlgo algo, std::string_view data);

// -------------------------------------------------------------------------------------- multipart

/// AWS's COMPOSITE ("checksum of checksums") multipart checksum: the raw checksum, under algo, of
/// the concatenation of the parts' raw checksums, in part order. Each entry of raw_parts must be
/// ChecksumRawSize(algo) bytes; returns an empty string otherwise.
std::string ComposeChecksums(ChecksumAlgo algo, std::span<const std::string> raw_parts);
/// "<base64(raw)>-<part_count>", the form of a COMPOSITE checksum in headers and
/// CompleteMultipartUpload's response.
std::string FormatCompositeChecksum(std::string_view raw, std::size_t part_count);

}  // namespace mamute::s3
