// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104, FIPS 198-1): CPU dispatch,
// the portable scalar engine, the streaming class, precomputed HMAC pads and the
// multi-buffer lane scheduler shared by the AVX2 and AVX-512 kernels.
#include "auth/sha256.h"

#include <algorithm>
#include <cstring>

#include "auth/sha256_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace mamute::auth {

namespace sha256_internal {
namespace {

inline uint32_t Ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

inline uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

inline void StoreBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

inline void StoreBe64(uint8_t* p, uint64_t v) {
  StoreBe32(p, static_cast<uint32_t>(v >> 32));
  StoreBe32(p + 4, static_cast<uint32_t>(v));
}

// Writes the final padded block(s) for a message whose last `rem` (< 64) bytes
// are at `tail_src` and whose total length, pad blocks included, is `total_len`
// bytes (FIPS 180-4 section 5.1.1). Returns the number of blocks (1 or 2).
inline std::size_t PadTail(uint8_t out[128], const uint8_t* tail_src, std::size_t rem,
                           uint64_t total_len) {
  if (rem != 0) {
    std::memcpy(out, tail_src, rem);
  }
  out[rem] = 0x80;
  const std::size_t blocks = rem + 1 + 8 <= kSha256BlockSize ? 1 : 2;
  const std::size_t end = blocks * kSha256BlockSize;
  std::memset(out + rem + 1, 0, end - 8 - (rem + 1));
  StoreBe64(out + end - 8, total_len * 8);
  return blocks;
}

// Wipes memory in a way the optimizer may not remove as a dead store.
void SecureWipe(void* p, std::size_t n) {
  volatile uint8_t* v = static_cast<volatile uint8_t*>(p);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = 0;
  }
}

CpuFeatures DetectCpu() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) {
    return f;
  }
  const bool ssse3 = (ecx & (1u << 9)) != 0;
  const bool sse41 = (ecx & (1u << 19)) != 0;
  const bool osxsave = (ecx & (1u << 27)) != 0;
  const bool avx = (ecx & (1u << 28)) != 0;
  unsigned leaf7_ebx = 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) != 0) {
    leaf7_ebx = ebx;
  }
  const bool sha = (leaf7_ebx & (1u << 29)) != 0;
  const bool avx2 = (leaf7_ebx & (1u << 5)) != 0;
  const bool avx512f = (leaf7_ebx & (1u << 16)) != 0;
  const bool avx512bw = (leaf7_ebx & (1u << 30)) != 0;
  const bool avx512vl = (leaf7_ebx & (1u << 31)) != 0;
  uint64_t xcr0 = 0;
  if (osxsave) {
    // XGETBV(0) is only valid when the OS enabled XSAVE (CPUID.1:ECX.OSXSAVE).
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (uint64_t{hi} << 32) | lo;
  }
  const bool os_ymm = (xcr0 & 0x6) == 0x6;     // XMM + YMM state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;   // + opmask, ZMM_Hi256, Hi16_ZMM
  f.sha_ni = sha && sse41 && ssse3;
  f.avx2 = avx && avx2 && os_ymm;
  f.avx512 = f.avx2 && avx512f && avx512bw && avx512vl && os_zmm;
#endif
  return f;
}

// Single-stream engine for `impl`: SHA-NI when asked for and present, else scalar.
// The multi-buffer implementations have no single-stream kernel of their own; a
// single stream asked to use them runs the best single-stream engine instead.
CompressFn SingleFn(Sha256Impl impl) {
  switch (impl) {
    case Sha256Impl::kShaNi:
      return Cpu().sha_ni ? &CompressShaNi : &CompressScalar;
    case Sha256Impl::kAvx2:
    case Sha256Impl::kAvx512:
      return Cpu().sha_ni ? &CompressShaNi : &CompressScalar;
    case Sha256Impl::kScalar:
      break;
  }
  return &CompressScalar;
}

Sha256Impl ResolveSingle(Sha256Impl impl) {
  return SingleFn(impl) == &CompressShaNi ? Sha256Impl::kShaNi : Sha256Impl::kScalar;
}

// Hash of `len` bytes at `data` continuing from chaining state `init` into which
// `prefix_len` bytes were already absorbed.
void HashFrom(const uint32_t init[8], uint64_t prefix_len, const uint8_t* data, std::size_t len,
              CompressFn fn, uint8_t out[kSha256DigestSize]) {
  uint32_t st[8];
  std::memcpy(st, init, sizeof(st));
  const std::size_t full = len / kSha256BlockSize;
  if (full != 0) {
    fn(st, data, full);
  }
  alignas(16) uint8_t tail[2 * kSha256BlockSize];
  const std::size_t rem = len % kSha256BlockSize;
  const std::size_t tb =
      PadTail(tail, rem != 0 ? data + full * kSha256BlockSize : nullptr, rem, prefix_len + len);
  fn(st, tail, tb);
  for (int w = 0; w < 8; ++w) {
    StoreBe32(out + 4 * w, st[w]);
  }
}

template <std::size_t N>
void CompressLanesPortable(uint32_t* state, const uint8_t* const* blocks) {
  for (std::size_t l = 0; l < N; ++l) {
    uint32_t st[8];
    for (std::size_t w = 0; w < 8; ++w) {
      st[w] = state[w * N + l];
    }
    CompressScalar(st, blocks[l], 1);
    for (std::size_t w = 0; w < 8; ++w) {
      state[w * N + l] = st[w];
    }
  }
}

alignas(64) constexpr uint8_t kZeroBlock[kSha256BlockSize] = {};

// Jobs are built on the stack in chunks of this many messages.
constexpr std::size_t kJobChunk = 64;

}  // namespace

const CpuFeatures& Cpu() noexcept {
  static const CpuFeatures features = DetectCpu();
  return features;
}

void CompressScalar(uint32_t state[8], const uint8_t* data, std::size_t nblocks) noexcept {
  for (; nblocks != 0; --nblocks, data += kSha256BlockSize) {
    uint32_t w[64];
    for (int t = 0; t < 16; ++t) {
      w[t] = LoadBe32(data + 4 * t);
    }
    for (int t = 16; t < 64; ++t) {
      const uint32_t s0 = Ror(w[t - 15], 7) ^ Ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
      const uint32_t s1 = Ror(w[t - 2], 17) ^ Ror(w[t - 2], 19) ^ (w[t - 2] >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; ++t) {
      const uint32_t s1 = Ror(e, 6) ^ Ror(e, 11) ^ Ror(e, 25);
      const uint32_t ch = (e & f) ^ (~e & g);
      const uint32_t t1 = h + s1 + ch + kK[t] + w[t];
      const uint32_t s0 = Ror(a, 2) ^ Ror(a, 13) ^ Ror(a, 22);
      const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
      const uint32_t t2 = s0 + maj;
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
  }
}

void CompressX8Portable(uint32_t* state, const uint8_t* const* blocks) noexcept {
  CompressLanesPortable<8>(state, blocks);
}

void CompressX16Portable(uint32_t* state, const uint8_t* const* blocks) noexcept {
  CompressLanesPortable<16>(state, blocks);
}

void RunMultiBuffer(LanesFn fn, std::size_t lanes, const MbJob* jobs, std::size_t n) noexcept {
  struct Lane {
    alignas(64) uint8_t tail[2 * kSha256BlockSize];  // padded final block(s)
    const MbJob* job;                                // nullptr: idle
    const uint8_t* ptr;                              // block to hash next
    std::size_t direct_blocks;                       // full blocks left in the message itself
    std::size_t tail_blocks;                         // padded blocks left in `tail`
  };
  alignas(64) uint32_t st[8 * kMaxLanes];
  Lane lane[kMaxLanes];
  const uint8_t* blocks[kMaxLanes];
  lanes = std::min(lanes, kMaxLanes);
  std::size_t next = 0;
  std::size_t active = 0;

  auto assign = [&](std::size_t l) {
    Lane& ln = lane[l];
    if (next == n) {
      ln.job = nullptr;
      return;
    }
    const MbJob& j = jobs[next++];
    ln.job = &j;
    for (std::size_t w = 0; w < 8; ++w) {
      st[w * lanes + l] = j.init[w];
    }
    const std::size_t full = j.len / kSha256BlockSize;
    const std::size_t rem = j.len % kSha256BlockSize;
    // The tail is copied now, so `out` may alias `data` (HMAC's outer pass).
    ln.tail_blocks =
        PadTail(ln.tail, rem != 0 ? j.data + full * kSha256BlockSize : nullptr, rem,
                j.prefix_len + j.len);
    ln.direct_blocks = full;
    ln.ptr = full != 0 ? j.data : ln.tail;
    ++active;
  };

  for (std::size_t l = 0; l < lanes; ++l) {
    assign(l);
  }
  while (active != 0) {
    for (std::size_t l = 0; l < lanes; ++l) {
      // Idle lanes hash a zero block into a state nobody reads.
      blocks[l] = lane[l].job != nullptr ? lane[l].ptr : kZeroBlock;
    }
    fn(st, blocks);
    for (std::size_t l = 0; l < lanes; ++l) {
      Lane& ln = lane[l];
      if (ln.job == nullptr) {
        continue;
      }
      if (ln.direct_blocks != 0) {
        --ln.direct_blocks;
        ln.ptr = ln.direct_blocks != 0 ? ln.ptr + kSha256BlockSize : ln.tail;
        continue;
      }
      ln.ptr += kSha256BlockSize;
      if (--ln.tail_blocks != 0) {
        continue;
      }
      for (std::size_t w = 0; w < 8; ++w) {
        StoreBe32(ln.job->out + 4 * w, st[w * lanes + l]);
      }
      --active;
      assign(l);
    }
  }
}

}  // namespace sha256_internal

using namespace sha256_internal;

bool Sha256ImplSupported(Sha256Impl impl) noexcept {
  switch (impl) {
    case Sha256Impl::kScalar:
      return true;
    case Sha256Impl::kShaNi:
      return Cpu().sha_ni;
    case Sha256Impl::kAvx2:
      return Cpu().avx2;
    case Sha256Impl::kAvx512:
      return Cpu().avx512;
  }
  return false;
}

std::string_view Sha256ImplName(Sha256Impl impl) noexcept {
  switch (impl) {
    case Sha256Impl::kScalar:
      return "scalar";
    case Sha256Impl::kShaNi:
      return "sha-ni";
    case Sha256Impl::kAvx2:
      return "avx2x8";
    case Sha256Impl::kAvx512:
      return "avx512x16";
  }
  return "unknown";
}

Sha256Impl BestSingleSha256Impl() noexcept {
  return Cpu().sha_ni ? Sha256Impl::kShaNi : Sha256Impl::kScalar;
}

Sha256Impl BestBatchSha256Impl() noexcept {
  // Measured here (AMD Zen 3, docs/architecture-auth-hash.md): SHA-NI one message at a
  // time matches or beats 8 AVX2 lanes, so SHA-NI wins wherever it exists. The SIMD
  // lanes serve CPUs without SHA extensions (AVX-512 first: 16 lanes).
  if (Cpu().sha_ni) {
    return Sha256Impl::kShaNi;
  }
  if (Cpu().avx512) {
    return Sha256Impl::kAvx512;
  }
  if (Cpu().avx2) {
    return Sha256Impl::kAvx2;
  }
  return Sha256Impl::kScalar;
}

// ---- Sha256 (streaming) ----

Sha256::Sha256(Sha256Impl impl) noexcept : impl_(ResolveSingle(impl)) { Reset(); }

void Sha256::Reset() noexcept {
  std::memcpy(state_, kIv, sizeof(state_));
  total_len_ = 0;
  buf_len_ = 0;
}

void Sha256::Update(const void* data, std::size_t len) noexcept {
  if (len == 0) {
    return;
  }
  const CompressFn fn = impl_ == Sha256Impl::kShaNi ? &CompressShaNi : &CompressScalar;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  total_len_ += len;
  if (buf_len_ != 0) {
    const std::size_t take = std::min(kSha256BlockSize - buf_len_, len);
    std::memcpy(buf_ + buf_len_, p, take);
    buf_len_ += take;
    p += take;
    len -= take;
    if (buf_len_ < kSha256BlockSize) {
      return;
    }
    fn(state_, buf_, 1);
    buf_len_ = 0;
  }
  const std::size_t full = len / kSha256BlockSize;
  if (full != 0) {
    fn(state_, p, full);
    p += full * kSha256BlockSize;
    len -= full * kSha256BlockSize;
  }
  if (len != 0) {
    std::memcpy(buf_, p, len);
    buf_len_ = len;
  }
}

Sha256Digest Sha256::Final() noexcept {
  const CompressFn fn = impl_ == Sha256Impl::kShaNi ? &CompressShaNi : &CompressScalar;
  alignas(16) uint8_t tail[2 * kSha256BlockSize];
  const std::size_t tb = PadTail(tail, buf_, buf_len_, total_len_);
  fn(state_, tail, tb);
  Sha256Digest out;
  for (int w = 0; w < 8; ++w) {
    StoreBe32(out.data() + 4 * w, state_[w]);
  }
  Reset();
  return out;
}

Sha256Digest Sha256Of(std::string_view data) noexcept {
  Sha256Digest out;
  HashFrom(kIv, 0, reinterpret_cast<const uint8_t*>(data.data()), data.size(),
           SingleFn(BestSingleSha256Impl()), out.data());
  return out;
}

// ---- HMAC-SHA256 (RFC 2104 section 2) ----

HmacSha256Key::HmacSha256Key(std::string_view key) noexcept {
  alignas(16) uint8_t block[kSha256BlockSize] = {};
  const CompressFn fn = SingleFn(BestSingleSha256Impl());
  if (key.size() > kSha256BlockSize) {
    // RFC 2104: keys longer than B bytes are first hashed with H.
    HashFrom(kIv, 0, reinterpret_cast<const uint8_t*>(key.data()), key.size(), fn, block);
  } else if (!key.empty()) {
    std::memcpy(block, key.data(), key.size());
  }
  for (uint8_t& b : block) {
    b ^= 0x36;  // ipad
  }
  std::memcpy(inner_, kIv, sizeof(inner_));
  fn(inner_, block, 1);
  for (uint8_t& b : block) {
    b ^= 0x36 ^ 0x5c;  // ipad -> opad
  }
  std::memcpy(outer_, kIv, sizeof(outer_));
  fn(outer_, block, 1);
  SecureWipe(block, sizeof(block));
}

HmacSha256Key::~HmacSha256Key() {
  SecureWipe(inner_, sizeof(inner_));
  SecureWipe(outer_, sizeof(outer_));
}

Sha256Digest HmacSha256(const HmacSha256Key& key, std::string_view msg,
                        Sha256Impl impl) noexcept {
  const CompressFn fn = SingleFn(impl);
  uint8_t inner[kSha256DigestSize];
  HashFrom(key.inner(), kSha256BlockSize, reinterpret_cast<const uint8_t*>(msg.data()),
           msg.size(), fn, inner);
  Sha256Digest out;
  HashFrom(key.outer(), kSha256BlockSize, inner, sizeof(inner), fn, out.data());
  return out;
}

Sha256Digest HmacSha256(std::string_view key, std::string_view msg) noexcept {
  const HmacSha256Key k(key);
  return HmacSha256(k, msg);
}

// ---- Multi-buffer batches ----

namespace {

struct LaneEngine {
  LanesFn fn;  // nullptr: run the messages one at a time
  std::size_t lanes;
};

// Unsupported multi-buffer implementations fall back to one message at a time
// with the scalar engine; kScalar and kShaNi always run one message at a time.
LaneEngine BatchEngine(Sha256Impl impl) {
  if (impl == Sha256Impl::kAvx512 && Cpu().avx512) {
    return {&CompressX16Avx512, 16};
  }
  if (impl == Sha256Impl::kAvx2 && Cpu().avx2) {
    return {&CompressX8Avx2, 8};
  }
  return {nullptr, 1};
}

CompressFn BatchSingleFn(Sha256Impl impl) {
  return impl == Sha256Impl::kShaNi && Cpu().sha_ni ? &CompressShaNi : &CompressScalar;
}

}  // namespace

void Sha256Batch(const std::string_view* msgs, Sha256Digest* out, std::size_t n,
                 Sha256Impl impl) noexcept {
  const LaneEngine eng = BatchEngine(impl);
  if (eng.fn == nullptr) {
    const CompressFn fn = BatchSingleFn(impl);
    for (std::size_t i = 0; i < n; ++i) {
      HashFrom(kIv, 0, reinterpret_cast<const uint8_t*>(msgs[i].data()), msgs[i].size(), fn,
               out[i].data());
    }
    return;
  }
  MbJob jobs[kJobChunk];
  for (std::size_t base = 0; base < n; base += kJobChunk) {
    const std::size_t m = std::min(kJobChunk, n - base);
    for (std::size_t i = 0; i < m; ++i) {
      const std::string_view s = msgs[base + i];
      jobs[i] = {kIv, 0, reinterpret_cast<const uint8_t*>(s.data()), s.size(),
                 out[base + i].data()};
    }
    RunMultiBuffer(eng.fn, eng.lanes, jobs, m);
  }
}

void HmacSha256Batch(const HmacSha256Key* const* keys, const std::string_view* msgs,
                     Sha256Digest* out, std::size_t n, Sha256Impl impl) noexcept {
  const LaneEngine eng = BatchEngine(impl);
  if (eng.fn == nullptr) {
    const CompressFn fn = BatchSingleFn(impl);
    for (std::size_t i = 0; i < n; ++i) {
      uint8_t inner[kSha256DigestSize];
      HashFrom(keys[i]->inner(), kSha256BlockSize,
               reinterpret_cast<const uint8_t*>(msgs[i].data()), msgs[i].size(), fn, inner);
      HashFrom(keys[i]->outer(), kSha256BlockSize, inner, sizeof(inner), fn, out[i].data());
    }
    return;
  }
  MbJob jobs[kJobChunk];
  for (std::size_t base = 0; base < n; base += kJobChunk) {
    const std::size_t m = std::min(kJobChunk, n - base);
    // Pass 1: inner hashes, starting after the ipad block (prefix 64 bytes).
    for (std::size_t i = 0; i < m; ++i) {
      const std::string_view s = msgs[base + i];
      jobs[i] = {keys[base + i]->inner(), kSha256BlockSize,
                 reinterpret_cast<const uint8_t*>(s.data()), s.size(), out[base + i].data()};
    }
    RunMultiBuffer(eng.fn, eng.lanes, jobs, m);
    // Pass 2: outer hashes of the 32-byte inner digests, in place.
    for (std::size_t i = 0; i < m; ++i) {
      jobs[i] = {keys[base + i]->outer(), kSha256BlockSize, out[base + i].data(),
                 kSha256DigestSize, out[base + i].data()};
    }
    RunMultiBuffer(eng.fn, eng.lanes, jobs, m);
  }
}

}  // namespace mamute::auth
