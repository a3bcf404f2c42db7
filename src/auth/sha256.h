// SHA-256 and HMAC-SHA256 engines: scalar, SHA-NI (one long stream), and
// multi-buffer SIMD (AVX2: 8 lanes, AVX-512: 16 lanes) that hash several
// independent messages at once. Selected at run time by CPU feature; every
// implementation can be forced for tests and benchmarks.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mamute::auth {

inline constexpr std::size_t kSha256DigestSize = 32;
inline constexpr std::size_t kSha256BlockSize = 64;
using Sha256Digest = std::array<uint8_t, kSha256DigestSize>;

enum class Sha256Impl : uint8_t {
  kScalar = 0,  ///< portable C++, always available
  kShaNi,       ///< Intel SHA extensions, one message at a time
  kAvx2,        ///< 8 messages in parallel (multi-buffer)
  kAvx512,      ///< 16 messages in parallel (multi-buffer)
};

/// Every function taking a Sha256Impl accepts any value: an implementation this CPU
/// lacks silently runs the scalar engine. Single-stream paths (Sha256, HmacSha256 with
/// a key) given kAvx2 / kAvx512 run BestSingleSha256Impl(); batch paths given kScalar /
/// kShaNi hash the messages one at a time.
///
/// Whether this CPU (and OS) can run the implementation.
bool Sha256ImplSupported(Sha256Impl impl) noexcept;
std::string_view Sha256ImplName(Sha256Impl impl) noexcept;
/// Best single-stream implementation here: SHA-NI, else scalar.
Sha256Impl BestSingleSha256Impl() noexcept;
/// Best batch implementation here: SHA-NI (measured to match or beat 8 AVX2 lanes), else
/// AVX-512, else AVX2, else scalar.
Sha256Impl BestBatchSha256Impl() noexcept;

/// Streaming SHA-256 of one message (payload hashing).
class Sha256 {
 public:
  explicit Sha256(Sha256Impl impl = BestSingleSha256Impl()) noexcept;
  void Update(const void* data, std::size_t len) noexcept;
  void Update(std::string_view s) noexcept { Update(s.data(), s.size()); }
  Sha256Digest Final() noexcept;  ///< leaves the object reset for a new message
  void Reset() noexcept;

 private:
  uint32_t state_[8];
  uint64_t total_len_ = 0;
  uint8_t buf_[kSha256BlockSize];
  std::size_t buf_len_ = 0;
  Sha256Impl impl_;
};

Sha256Digest Sha256Of(std::string_view data) noexcept;

/// HMAC-SHA256 key with precomputed pads: the inner and outer chaining states
/// after the ipad/opad block, so each MAC costs only the message blocks + 1.
class HmacSha256Key {
 public:
  HmacSha256Key() noexcept = default;
  explicit HmacSha256Key(std::string_view key) noexcept;
  ~HmacSha256Key();  ///< wipes the states

  const uint32_t* inner() const noexcept { return inner_; }
  const uint32_t* outer() const noexcept { return outer_; }

 private:
  uint32_t inner_[8] = {};
  uint32_t outer_[8] = {};
};

Sha256Digest HmacSha256(const HmacSha256Key& key, std::string_view msg,
                        Sha256Impl impl = BestSingleSha256Impl()) noexcept;
/// One-off HMAC (derives the pads each call).
Sha256Digest HmacSha256(std::string_view key, std::string_view msg) noexcept;

/// Multi-buffer: out[i] = SHA-256(msgs[i]) for i < n, lanes filled by `impl`.
void Sha256Batch(const std::string_view* msgs, Sha256Digest* out, std::size_t n,
                 Sha256Impl impl = BestBatchSha256Impl()) noexcept;
/// Multi-buffer: out[i] = HMAC-SHA256(*keys[i], msgs[i]) for i < n.
void HmacSha256Batch(const HmacSha256Key* const* keys, const std::string_view* msgs,
                     Sha256Digest* out, std::size_t n,
                     Sha256Impl impl = BestBatchSha256Impl()) noexcept;

}  // namespace mamute::auth
