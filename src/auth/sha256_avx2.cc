// Multi-buffer SHA-256 with AVX2: eight independent messages, one per 32-bit
// lane of a ymm register. Each vector instruction runs the same FIPS 180-4
// round for all eight lanes; the scheduler in sha256.cc feeds the lanes.
#include "auth/sha256_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace mamute::auth::sha256_internal {

#if defined(__x86_64__) || defined(__i386__)
namespace {

#define MAMUTE_AVX2 __attribute__((target("avx2")))

template <int N>
MAMUTE_AVX2 inline __m256i Ror(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, N), _mm256_slli_epi32(x, 32 - N));
}

MAMUTE_AVX2 inline __m256i Add(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }
MAMUTE_AVX2 inline __m256i Xor(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }

// FIPS 180-4 section 4.1.2 functions.
MAMUTE_AVX2 inline __m256i BigSigma0(__m256i a) {
  return Xor(Xor(Ror<2>(a), Ror<13>(a)), Ror<22>(a));
}
MAMUTE_AVX2 inline __m256i BigSigma1(__m256i e) {
  return Xor(Xor(Ror<6>(e), Ror<11>(e)), Ror<25>(e));
}
MAMUTE_AVX2 inline __m256i SmallSigma0(__m256i x) {
  return Xor(Xor(Ror<7>(x), Ror<18>(x)), _mm256_srli_epi32(x, 3));
}
MAMUTE_AVX2 inline __m256i SmallSigma1(__m256i x) {
  return Xor(Xor(Ror<17>(x), Ror<19>(x)), _mm256_srli_epi32(x, 10));
}
// Ch(e,f,g) = (e & f) ^ (~e & g) = ((f ^ g) & e) ^ g
MAMUTE_AVX2 inline __m256i Ch(__m256i e, __m256i f, __m256i g) {
  return Xor(_mm256_and_si256(Xor(f, g), e), g);
}
// Maj(a,b,c) = (a & b) ^ (a & c) ^ (b & c) = ((a ^ b) & c) | (a & b)
MAMUTE_AVX2 inline __m256i Maj(__m256i a, __m256i b, __m256i c) {
  return _mm256_or_si256(_mm256_and_si256(Xor(a, b), c), _mm256_and_si256(a, b));
}

// Transposes the 8x8 matrix of 32-bit words r[lane][word] into r[word][lane].
MAMUTE_AVX2 inline void Transpose8x8(__m256i r[8]) {
  const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]);
  const __m256i t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]);
  const __m256i t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]);
  const __m256i t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]);
  const __m256i t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  // u0: words 0|4 of lanes 0-3, u1: 1|5, u2: 2|6, u3: 3|7; u4..u7 the same for lanes 4-7.
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2);
  const __m256i u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3);
  const __m256i u3 = _mm256_unpackhi_epi64(t1, t3);
  const __m256i u4 = _mm256_unpacklo_epi64(t4, t6);
  const __m256i u5 = _mm256_unpackhi_epi64(t4, t6);
  const __m256i u6 = _mm256_unpacklo_epi64(t5, t7);
  const __m256i u7 = _mm256_unpackhi_epi64(t5, t7);
  r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

// One round (FIPS 180-4 section 6.2.2 step 3) with the variables renamed instead
// of shifted: only d and h are written.
#define MAMUTE_SHA256_ROUND_X8(a, b, c, d, e, f, g, h, wt, kt)                              \
  do {                                                                                      \
    const __m256i t1 =                                                                      \
        Add(Add(Add(h, BigSigma1(e)), Add(Ch(e, f, g), _mm256_set1_epi32(static_cast<int>(kt)))), \
            wt);                                                                            \
    d = Add(d, t1);                                                                         \
    h = Add(t1, Add(BigSigma0(a), Maj(a, b, c)));                                           \
  } while (0)

MAMUTE_AVX2 void CompressX8Impl(uint32_t* state, const uint8_t* const* blocks) {
  const __m256i bswap = _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3,
                                         2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
  __m256i w[16];
  for (int half = 0; half < 2; ++half) {
    __m256i r[8];
    for (int l = 0; l < 8; ++l) {
      r[l] = _mm256_shuffle_epi8(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[l] + 32 * half)), bswap);
    }
    Transpose8x8(r);
    for (int i = 0; i < 8; ++i) {
      w[8 * half + i] = r[i];
    }
  }

  __m256i* st = reinterpret_cast<__m256i*>(state);
  __m256i a = _mm256_load_si256(st + 0), b = _mm256_load_si256(st + 1);
  __m256i c = _mm256_load_si256(st + 2), d = _mm256_load_si256(st + 3);
  __m256i e = _mm256_load_si256(st + 4), f = _mm256_load_si256(st + 5);
  __m256i g = _mm256_load_si256(st + 6), h = _mm256_load_si256(st + 7);

#pragma GCC unroll 8
  for (int t = 0; t < 64; t += 8) {
    if (t >= 16) {
      // W[t] = sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16], in a ring of 16.
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const int j = (t + i) & 15;
        w[j] = Add(Add(w[j], SmallSigma1(w[(j + 14) & 15])),
                   Add(w[(j + 9) & 15], SmallSigma0(w[(j + 1) & 15])));
      }
    }
    const int o = t & 15;
    MAMUTE_SHA256_ROUND_X8(a, b, c, d, e, f, g, h, w[o + 0], kK[t + 0]);
    MAMUTE_SHA256_ROUND_X8(h, a, b, c, d, e, f, g, w[o + 1], kK[t + 1]);
    MAMUTE_SHA256_ROUND_X8(g, h, a, b, c, d, e, f, w[o + 2], kK[t + 2]);
    MAMUTE_SHA256_ROUND_X8(f, g, h, a, b, c, d, e, w[o + 3], kK[t + 3]);
    MAMUTE_SHA256_ROUND_X8(e, f, g, h, a, b, c, d, w[o + 4], kK[t + 4]);
    MAMUTE_SHA256_ROUND_X8(d, e, f, g, h, a, b, c, w[o + 5], kK[t + 5]);
    MAMUTE_SHA256_ROUND_X8(c, d, e, f, g, h, a, b, w[o + 6], kK[t + 6]);
    MAMUTE_SHA256_ROUND_X8(b, c, d, e, f, g, h, a, w[o + 7], kK[t + 7]);
  }

  _mm256_store_si256(st + 0, Add(a, _mm256_load_si256(st + 0)));
  _mm256_store_si256(st + 1, Add(b, _mm256_load_si256(st + 1)));
  _mm256_store_si256(st + 2, Add(c, _mm256_load_si256(st + 2)));
  _mm256_store_si256(st + 3, Add(d, _mm256_load_si256(st + 3)));
  _mm256_store_si256(st + 4, Add(e, _mm256_load_si256(st + 4)));
  _mm256_store_si256(st + 5, Add(f, _mm256_load_si256(st + 5)));
  _mm256_store_si256(st + 6, Add(g, _mm256_load_si256(st + 6)));
  _mm256_store_si256(st + 7, Add(h, _mm256_load_si256(st + 7)));
}

#undef MAMUTE_SHA256_ROUND_X8
#undef MAMUTE_AVX2

}  // namespace

void CompressX8Avx2(uint32_t* state, const uint8_t* const* blocks) noexcept {
  CompressX8Impl(state, blocks);
}
#else
void CompressX8Avx2(uint32_t* state, const uint8_t* const* blocks) noexcept {
  CompressX8Portable(state, blocks);
}
#endif

}  // namespace mamute::auth::sha256_internal
