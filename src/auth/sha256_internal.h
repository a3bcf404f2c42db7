// Internal interface between the SHA-256 dispatcher (sha256.cc) and the
// ISA-specific kernels (sha256_shani.cc, sha256_avx2.cc, sha256_avx512.cc).
// Not part of the public contract; unit tests include it to drive the
// multi-buffer scheduler with a portable kernel.
#pragma once

#include <cstddef>
#include <cstdint>

#include "auth/sha256.h"

namespace mamute::auth::sha256_internal {

// FIPS 180-4 section 5.3.3: initial hash value H(0).
inline constexpr uint32_t kIv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// FIPS 180-4 section 4.2.2: round constants K(0..63).
alignas(64) inline constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

/// Single-stream compression: absorbs `nblocks` 64-byte blocks at `data` into `state`.
using CompressFn = void (*)(uint32_t state[8], const uint8_t* data, std::size_t nblocks) noexcept;

void CompressScalar(uint32_t state[8], const uint8_t* data, std::size_t nblocks) noexcept;
/// Only call when Sha256ImplSupported(kShaNi).
void CompressShaNi(uint32_t state[8], const uint8_t* data, std::size_t nblocks) noexcept;

/// Multi-buffer compression of one 64-byte block in each of N lanes. `state` is
/// transposed: state[w * N + lane] is chaining word w (a..h) of `lane`; it must be
/// aligned to 64 bytes. blocks[lane] points at 64 readable bytes for every lane.
using LanesFn = void (*)(uint32_t* state, const uint8_t* const* blocks) noexcept;

/// Only call when Sha256ImplSupported(kAvx2). N = 8.
void CompressX8Avx2(uint32_t* state, const uint8_t* const* blocks) noexcept;
/// Only call when Sha256ImplSupported(kAvx512). N = 16.
void CompressX16Avx512(uint32_t* state, const uint8_t* const* blocks) noexcept;
/// Portable lane kernels (a scalar loop over the lanes). They let the tests run
/// the scheduler with 8 and 16 lanes on any CPU.
void CompressX8Portable(uint32_t* state, const uint8_t* const* blocks) noexcept;
void CompressX16Portable(uint32_t* state, const uint8_t* const* blocks) noexcept;

inline constexpr std::size_t kMaxLanes = 16;

/// One message for the multi-buffer scheduler.
struct MbJob {
  const uint32_t* init;  // chaining state to start from: the IV, or an HMAC pad state
  uint64_t prefix_len;   // bytes already absorbed into `init` (0, or 64 for HMAC)
  const uint8_t* data;   // may be null when len == 0
  std::size_t len;
  uint8_t* out;  // 32 bytes; written when the lane finishes, after `data` was read
};

/// Hashes jobs[0..n) with a lane kernel of `lanes` lanes (<= kMaxLanes). Lanes
/// are refilled as soon as their message ends, so messages of different lengths
/// share the vector units. No allocation.
void RunMultiBuffer(LanesFn fn, std::size_t lanes, const MbJob* jobs, std::size_t n) noexcept;

struct CpuFeatures {
  bool sha_ni = false;  // SHA + SSE4.1
  bool avx2 = false;    // AVX2 + OS YMM state
  bool avx512 = false;  // AVX-512 F/BW/VL + OS opmask/ZMM state
};
/// Detected once (cpuid + xgetbv), then cached.
const CpuFeatures& Cpu() noexcept;

}  // namespace mamute::auth::sha256_internal
