// Multi-buffer SHA-256 with AVX-512: sixteen independent messages, one per
// 32-bit lane of a zmm register. Same structure as the AVX2 kernel, with native
// rotates (vprold) and three-input logic (vpternlogd) for Ch, Maj and the sigmas.
#include "auth/sha256_internal.h"

#if defined(__x86_64__) || defined(__i386__)
// GCC 12's AVX-512 intrinsics initialize their "undefined" operand from itself,
// which -Wuninitialized reports at every inlined use (GCC PR 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace mamute::auth::sha256_internal {

#if defined(__x86_64__) || defined(__i386__)
namespace {

#define MAMUTE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

// vpternlogd truth tables, indexed by (a << 2) | (b << 1) | c:
constexpr int kXor3 = 0x96;  // a ^ b ^ c
constexpr int kCh = 0xCA;    // a ? b : c          = Ch(e, f, g)
constexpr int kMaj = 0xE8;   // at least two set   = Maj(a, b, c)

MAMUTE_AVX512 inline __m512i Add(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }

// FIPS 180-4 section 4.1.2 functions.
MAMUTE_AVX512 inline __m512i BigSigma0(__m512i a) {
  return _mm512_ternarylogic_epi32(_mm512_ror_epi32(a, 2), _mm512_ror_epi32(a, 13),
                                   _mm512_ror_epi32(a, 22), kXor3);
}
MAMUTE_AVX512 inline __m512i BigSigma1(__m512i e) {
  return _mm512_ternarylogic_epi32(_mm512_ror_epi32(e, 6), _mm512_ror_epi32(e, 11),
                                   _mm512_ror_epi32(e, 25), kXor3);
}
MAMUTE_AVX512 inline __m512i SmallSigma0(__m512i x) {
  return _mm512_ternarylogic_epi32(_mm512_ror_epi32(x, 7), _mm512_ror_epi32(x, 18),
                                   _mm512_srli_epi32(x, 3), kXor3);
}
MAMUTE_AVX512 inline __m512i SmallSigma1(__m512i x) {
  return _mm512_ternarylogic_epi32(_mm512_ror_epi32(x, 17), _mm512_ror_epi32(x, 19),
                                   _mm512_srli_epi32(x, 10), kXor3);
}

// Transposes the 16x16 matrix of 32-bit words r[lane][word] into r[word][lane].
MAMUTE_AVX512 inline void Transpose16x16(__m512i r[16]) {
  // Within each 128-bit chunk c: t[2k] holds words 4c, 4c+1 of rows 2k, 2k+1 interleaved,
  // t[2k+1] words 4c+2, 4c+3.
  __m512i t[16];
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  // u[4m + j], chunk c: word 4c + j of rows 4m .. 4m+3.
  __m512i u[16];
  for (int m = 0; m < 4; ++m) {
    u[4 * m + 0] = _mm512_unpacklo_epi64(t[4 * m], t[4 * m + 2]);
    u[4 * m + 1] = _mm512_unpackhi_epi64(t[4 * m], t[4 * m + 2]);
    u[4 * m + 2] = _mm512_unpacklo_epi64(t[4 * m + 1], t[4 * m + 3]);
    u[4 * m + 3] = _mm512_unpackhi_epi64(t[4 * m + 1], t[4 * m + 3]);
  }
  // Word 4c + j, chunk m, is chunk c of u[4m + j]: a 4x4 transpose of 128-bit chunks.
  for (int j = 0; j < 4; ++j) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x44);       // A0 A1 B0 B1
    const __m512i v1 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xEE);       // A2 A3 B2 B3
    const __m512i v2 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x44);  // C0 C1 D0 D1
    const __m512i v3 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xEE);  // C2 C3 D2 D3
    r[0 + j] = _mm512_shuffle_i32x4(v0, v2, 0x88);                       // A0 B0 C0 D0
    r[4 + j] = _mm512_shuffle_i32x4(v0, v2, 0xDD);                       // A1 B1 C1 D1
    r[8 + j] = _mm512_shuffle_i32x4(v1, v3, 0x88);                       // A2 B2 C2 D2
    r[12 + j] = _mm512_shuffle_i32x4(v1, v3, 0xDD);                      // A3 B3 C3 D3
  }
}

// One round (FIPS 180-4 section 6.2.2 step 3) with the variables renamed instead
// of shifted: only d and h are written.
#define MAMUTE_SHA256_ROUND_X16(a, b, c, d, e, f, g, h, wt, kt)                             \
  do {                                                                                      \
    const __m512i t1 =                                                                      \
        Add(Add(Add(h, BigSigma1(e)),                                                       \
                Add(_mm512_ternarylogic_epi32(e, f, g, kCh),                                \
                    _mm512_set1_epi32(static_cast<int>(kt)))),                              \
            wt);                                                                            \
    d = Add(d, t1);                                                                         \
    h = Add(t1, Add(BigSigma0(a), _mm512_ternarylogic_epi32(a, b, c, kMaj)));               \
  } while (0)

MAMUTE_AVX512 void CompressX16Impl(uint32_t* state, const uint8_t* const* blocks) {
  const __m512i bswap = _mm512_broadcast_i32x4(
      _mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
  __m512i w[16];
  for (int l = 0; l < 16; ++l) {
    w[l] = _mm512_shuffle_epi8(_mm512_loadu_si512(blocks[l]), bswap);
  }
  Transpose16x16(w);

  __m512i* st = reinterpret_cast<__m512i*>(state);
  __m512i a = _mm512_load_si512(st + 0), b = _mm512_load_si512(st + 1);
  __m512i c = _mm512_load_si512(st + 2), d = _mm512_load_si512(st + 3);
  __m512i e = _mm512_load_si512(st + 4), f = _mm512_load_si512(st + 5);
  __m512i g = _mm512_load_si512(st + 6), h = _mm512_load_si512(st + 7);

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
    MAMUTE_SHA256_ROUND_X16(a, b, c, d, e, f, g, h, w[o + 0], kK[t + 0]);
    MAMUTE_SHA256_ROUND_X16(h, a, b, c, d, e, f, g, w[o + 1], kK[t + 1]);
    MAMUTE_SHA256_ROUND_X16(g, h, a, b, c, d, e, f, w[o + 2], kK[t + 2]);
    MAMUTE_SHA256_ROUND_X16(f, g, h, a, b, c, d, e, w[o + 3], kK[t + 3]);
    MAMUTE_SHA256_ROUND_X16(e, f, g, h, a, b, c, d, w[o + 4], kK[t + 4]);
    MAMUTE_SHA256_ROUND_X16(d, e, f, g, h, a, b, c, w[o + 5], kK[t + 5]);
    MAMUTE_SHA256_ROUND_X16(c, d, e, f, g, h, a, b, w[o + 6], kK[t + 6]);
    MAMUTE_SHA256_ROUND_X16(b, c, d, e, f, g, h, a, w[o + 7], kK[t + 7]);
  }

  _mm512_store_si512(st + 0, Add(a, _mm512_load_si512(st + 0)));
  _mm512_store_si512(st + 1, Add(b, _mm512_load_si512(st + 1)));
  _mm512_store_si512(st + 2, Add(c, _mm512_load_si512(st + 2)));
  _mm512_store_si512(st + 3, Add(d, _mm512_load_si512(st + 3)));
  _mm512_store_si512(st + 4, Add(e, _mm512_load_si512(st + 4)));
  _mm512_store_si512(st + 5, Add(f, _mm512_load_si512(st + 5)));
  _mm512_store_si512(st + 6, Add(g, _mm512_load_si512(st + 6)));
  _mm512_store_si512(st + 7, Add(h, _mm512_load_si512(st + 7)));
}

#undef MAMUTE_SHA256_ROUND_X16
#undef MAMUTE_AVX512

}  // namespace

void CompressX16Avx512(uint32_t* state, const uint8_t* const* blocks) noexcept {
  CompressX16Impl(state, blocks);
}
#else
void CompressX16Avx512(uint32_t* state, const uint8_t* const* blocks) noexcept {
  CompressX16Portable(state, blocks);
}
#endif

}  // namespace mamute::auth::sha256_internal
