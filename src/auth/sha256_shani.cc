// SHA-256 compression with the Intel SHA extensions (SHA-NI): one message at a
// time, the fastest engine for a single long stream (payload hashing).
#include "auth/sha256_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace mamute::auth::sha256_internal {

#if defined(__x86_64__) || defined(__i386__)
namespace {

// The SHA-NI round instruction keeps the state as two vectors, ABEF and CDGH
// (Intel SHA extensions white paper, "sha256rnds2"); the message schedule is
// four vectors of four words, W[4g..4g+3] for group g of four rounds.
__attribute__((target("sha,sse4.1"))) void CompressShaNiImpl(uint32_t state[8],
                                                                const uint8_t* data,
                                                                std::size_t nblocks) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i tmp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));         // ABCD
  __m128i state1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));  // EFGH
  tmp = _mm_shuffle_epi32(tmp, 0xB1);                // CDAB
  state1 = _mm_shuffle_epi32(state1, 0x1B);          // EFGH reversed
  __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);  // ABEF
  state1 = _mm_blend_epi16(state1, tmp, 0xF0);       // CDGH

  for (; nblocks != 0; --nblocks, data += 64) {
    const __m128i abef_save = state0;
    const __m128i cdgh_save = state1;
    __m128i m[4];
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g) {
      if (g < 4) {
        m[g] = _mm_shuffle_epi8(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * g)), bswap);
      }
      __m128i msg = _mm_add_epi32(
          m[g & 3], _mm_load_si128(reinterpret_cast<const __m128i*>(kK + 4 * g)));
      state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
      msg = _mm_shuffle_epi32(msg, 0x0E);
      state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
      if (g >= 3 && g < 15) {
        // W[t..t+3] for t = 4(g+1): sigma0 part and W[t-16] (msg1), W[t-7]
        // (alignr), sigma1 part (msg2). m[(g+1)&3] held group g-3.
        __m128i t = _mm_sha256msg1_epu32(m[(g + 1) & 3], m[(g - 2) & 3]);
        t = _mm_add_epi32(t, _mm_alignr_epi8(m[g & 3], m[(g - 1) & 3], 4));
        m[(g + 1) & 3] = _mm_sha256msg2_epu32(t, m[g & 3]);
      }
    }
    state0 = _mm_add_epi32(state0, abef_save);
    state1 = _mm_add_epi32(state1, cdgh_save);
  }

  tmp = _mm_shuffle_epi32(state0, 0x1B);        // FEBA
  state1 = _mm_shuffle_epi32(state1, 0xB1);     // DCHG
  state0 = _mm_blend_epi16(tmp, state1, 0xF0);  // DCBA
  state1 = _mm_alignr_epi8(state1, tmp, 8);     // ABEF
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), state0);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), state1);
}

}  // namespace

void CompressShaNi(uint32_t state[8], const uint8_t* data, std::size_t nblocks) noexcept {
  CompressShaNiImpl(state, data, nblocks);
}
#else
void CompressShaNi(uint32_t state[8], const uint8_t* data, std::size_t nblocks) noexcept {
  CompressScalar(state, data, nblocks);
}
#endif

}  // namespace mamute::auth::sha256_internal
