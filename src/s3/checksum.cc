#include "s3/checksum.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <array>
#include <bit>
#include <cstdlib>
#include <cstring>

#include "util/encoding.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace mamute::s3 {
namespace {

// ------------------------------------------------------------------------------- names and sizes

struct AlgoInfo {
  std::string_view name;
  std::string_view header;
  std::size_t raw_size;
};

constexpr std::array<AlgoInfo, kChecksumAlgoCount> kAlgos = {{
    {"CRC32", "x-amz-checksum-crc32", 4},
    {"CRC32C", "x-amz-checksum-crc32c", 4},
    {"CRC64NVME", "x-amz-checksum-crc64nvme", 8},
    {"SHA1", "x-amz-checksum-sha1", 20},
    {"SHA256", "x-amz-checksum-sha256", 32},
}};

const AlgoInfo& Info(ChecksumAlgo algo) noexcept { return kAlgos[static_cast<std::size_t>(algo)]; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') {
      x = static_cast<char>(x - 'A' + 'a');
    }
    if (y >= 'A' && y <= 'Z') {
      y = static_cast<char>(y - 'A' + 'a');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

bool IsCrc(ChecksumAlgo algo) noexcept {
  return algo == ChecksumAlgo::kCrc32 || algo == ChecksumAlgo::kCrc32c ||
         algo == ChecksumAlgo::kCrc64Nvme;
}

// ------------------------------------------------------------------------- table-driven CRCs
// Reflected CRCs, slicing-by-8 (Intel's technique, as in zlib and RocksDB): table s maps a byte
// to its contribution s bytes further back, so eight bytes cost eight independent lookups.

constexpr uint32_t kCrc32cPoly = 0x82F63B78u;              // Castagnoli, reflected
constexpr uint64_t kCrc64NvmePoly = 0x9A6C9329AC4BC9B5ull;  // NVMe, reflected

template <typename T>
using SliceTables = std::array<std::array<T, 256>, 8>;

template <typename T, T kPoly>
constexpr SliceTables<T> MakeSliceTables() {
  SliceTables<T> t{};
  for (unsigned i = 0; i < 256; ++i) {
    T c = static_cast<T>(i);
    for (int k = 0; k < 8; ++k) {
      c = (c & 1) ? static_cast<T>((c >> 1) ^ kPoly) : static_cast<T>(c >> 1);
    }
    t[0][i] = c;
  }
  for (unsigned i = 0; i < 256; ++i) {
    for (std::size_t s = 1; s < 8; ++s) {
      t[s][i] = static_cast<T>((t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff]);
    }
  }
  return t;
}

alignas(64) constexpr SliceTables<uint32_t> kCrc32cTables =
    MakeSliceTables<uint32_t, kCrc32cPoly>();
alignas(64) constexpr SliceTables<uint64_t> kCrc64NvmeTables =
    MakeSliceTables<uint64_t, kCrc64NvmePoly>();

constexpr bool kLittleEndian = std::endian::native == std::endian::little;

// ---------------------------------------------------------------------- GF(2) CRC arithmetic
// zlib's multmodp / x2nmodp, for any reflected CRC width: polynomials are stored reflected, so
// x^0 is the top bit.

template <typename T, T kPoly>
constexpr T MultModP(T a, T b) noexcept {
  if (a == 0) {
    return 0;
  }
  T m = static_cast<T>(T{1} << (sizeof(T) * 8 - 1));
  T p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) {
        break;
      }
    }
    m >>= 1;
    b = (b & 1) ? static_cast<T>((b >> 1) ^ kPoly) : static_cast<T>(b >> 1);
  }
  return p;
}

// x^(8 * n) mod p: the operator that appends n zero bytes to a raw (unconditioned) CRC register.
template <typename T, T kPoly>
constexpr T XPow8NModP(uint64_t n) noexcept {
  T p = static_cast<T>(T{1} << (sizeof(T) * 8 - 1));   // x^0
  T sq = static_cast<T>(T{1} << (sizeof(T) * 8 - 9));  // x^8, then x^16, x^32, ...
  while (n != 0) {
    if (n & 1) {
      p = MultModP<T, kPoly>(sq, p);
    }
    sq = MultModP<T, kPoly>(sq, sq);
    n >>= 1;
  }
  return p;
}

template <typename T, T kPoly>
T Combine(T crc_a, T crc_b, uint64_t len_b) noexcept {
  return static_cast<T>(MultModP<T, kPoly>(XPow8NModP<T, kPoly>(len_b), crc_a) ^ crc_b);
}

#if defined(__x86_64__)
// The hardware CRC32C runs three independent streams over kStreamBytes each (the crc32
// instruction has a latency of 3 and a throughput of 1), then shifts the first two over the bytes
// that follow them. The shift by kStreamBytes is linear, so it is four table lookups.
constexpr std::size_t kStreamBytes = 4096;
constexpr uint32_t kShiftStream = XPow8NModP<uint32_t, kCrc32cPoly>(kStreamBytes);

constexpr std::array<std::array<uint32_t, 256>, 4> MakeShiftTables() {
  std::array<std::array<uint32_t, 256>, 4> t{};
  for (unsigned j = 0; j < 4; ++j) {
    for (unsigned i = 0; i < 256; ++i) {
      t[j][i] = MultModP<uint32_t, kCrc32cPoly>(kShiftStream, static_cast<uint32_t>(i) << (8 * j));
    }
  }
  return t;
}
alignas(64) constexpr std::array<std::array<uint32_t, 256>, 4> kShiftTables = MakeShiftTables();

inline uint32_t ShiftStream(uint32_t c) noexcept {
  return kShiftTables[0][c & 0xff] ^ kShiftTables[1][(c >> 8) & 0xff] ^
         kShiftTables[2][(c >> 16) & 0xff] ^ kShiftTables[3][c >> 24];
}
#endif

// -------------------------------------------------------------------------------------- SHA

const EVP_MD* Md(ChecksumAlgo algo) noexcept {
  return algo == ChecksumAlgo::kSha1 ? EVP_sha1() : EVP_sha256();
}

}  // namespace

// ================================================================================== names, sizes

std::optional<ChecksumAlgo> ParseChecksumAlgo(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kAlgos.size(); ++i) {
    if (EqualsIgnoreCase(name, kAlgos[i].name)) {
      return static_cast<ChecksumAlgo>(i);
    }
  }
  return std::nullopt;
}

std::string_view ChecksumAlgoName(ChecksumAlgo algo) noexcept { return Info(algo).name; }

std::string_view ChecksumHeaderName(ChecksumAlgo algo) noexcept { return Info(algo).header; }

std::optional<ChecksumAlgo> ChecksumAlgoFromHeader(std::string_view header_name) noexcept {
  for (std::size_t i = 0; i < kAlgos.size(); ++i) {
    if (EqualsIgnoreCase(header_name, kAlgos[i].header)) {
      return static_cast<ChecksumAlgo>(i);
    }
  }
  return std::nullopt;
}

std::size_t ChecksumRawSize(ChecksumAlgo algo) noexcept { return Info(algo).raw_size; }

bool ValidateBase64Checksum(ChecksumAlgo algo, std::string_view value) {
  // Cheap length check first: padded base64 of n bytes is 4 * ceil(n / 3) characters.
  const std::size_t n = ChecksumRawSize(algo);
  if (value.size() != 4 * ((n + 2) / 3)) {
    return false;
  }
  std::optional<std::string> raw = util::Base64Decode(value);
  return raw.has_value() && raw->size() == n;
}

// ================================================================================= raw CRCs

uint32_t Crc32(uint32_t crc, const void* data, std::size_t n) noexcept {
  if (n == 0) {
    return crc;
  }
  return static_cast<uint32_t>(crc32_z(crc, static_cast<const Bytef*>(data), n));
}

uint32_t Crc32cPortable(uint32_t crc, const void* data, std::size_t n) noexcept {
  const auto& t = kCrc32cTables;
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  if constexpr (kLittleEndian) {
    while (n >= 8) {
      uint32_t lo;
      uint32_t hi;
      std::memcpy(&lo, p, 4);
      std::memcpy(&hi, p + 4, 4);
      lo ^= c;
      c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
          t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
      p += 8;
      n -= 8;
    }
  }
  while (n != 0) {
    c = (c >> 8) ^ t[0][(c ^ *p) & 0xff];
    ++p;
    --n;
  }
  return ~c;
}

#if defined(__x86_64__)
namespace {

__attribute__((target("sse4.2"))) inline uint64_t HwRun(uint64_t c, const uint8_t* p,
                                                        std::size_t words) noexcept {
  for (std::size_t i = 0; i < words; ++i) {
    uint64_t v;
    std::memcpy(&v, p + 8 * i, 8);
    c = _mm_crc32_u64(c, v);
  }
  return c;
}

}  // namespace

__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(uint32_t crc, const void* data,
                                                          std::size_t n) noexcept {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = static_cast<uint32_t>(~crc);
  // Three interleaved streams; the raw (unconditioned) register of each later stream starts at
  // 0, and crc(A || B) = shift(crc(A), |B|) ^ crc0(B).
  constexpr std::size_t kWords = kStreamBytes / 8;
  while (n >= 3 * kStreamBytes) {
    uint64_t c1 = 0;
    uint64_t c2 = 0;
    const uint8_t* p1 = p + kStreamBytes;
    const uint8_t* p2 = p + 2 * kStreamBytes;
    for (std::size_t i = 0; i < kWords; ++i) {
      uint64_t v0;
      uint64_t v1;
      uint64_t v2;
      std::memcpy(&v0, p + 8 * i, 8);
      std::memcpy(&v1, p1 + 8 * i, 8);
      std::memcpy(&v2, p2 + 8 * i, 8);
      c = _mm_crc32_u64(c, v0);
      c1 = _mm_crc32_u64(c1, v1);
      c2 = _mm_crc32_u64(c2, v2);
    }
    uint32_t r = ShiftStream(static_cast<uint32_t>(c)) ^ static_cast<uint32_t>(c1);
    c = ShiftStream(r) ^ static_cast<uint32_t>(c2);
    p += 3 * kStreamBytes;
    n -= 3 * kStreamBytes;
  }
  c = HwRun(c, p, n / 8);
  p += n & ~std::size_t{7};
  n &= 7;
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n != 0) {
    c32 = _mm_crc32_u8(c32, *p);
    ++p;
    --n;
  }
  return ~c32;
}

bool Crc32cHardwareAvailable() noexcept {
  static const bool available = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return available;
}
#else
uint32_t Crc32cHardware(uint32_t crc, const void* data, std::size_t n) noexcept {
  return Crc32cPortable(crc, data, n);
}

bool Crc32cHardwareAvailable() noexcept { return false; }
#endif

uint32_t Crc32c(uint32_t crc, const void* data, std::size_t n) noexcept {
  return Crc32cHardwareAvailable() ? Crc32cHardware(crc, data, n)
                                   : Crc32cPortable(crc, data, n);
}

uint64_t Crc64Nvme(uint64_t crc, const void* data, std::size_t n) noexcept {
  const auto& t = kCrc64NvmeTables;
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = ~crc;
  if constexpr (kLittleEndian) {
    while (n >= 8) {
      uint64_t v;
      std::memcpy(&v, p, 8);
      v ^= c;
      c = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^
          t[4][(v >> 24) & 0xff] ^ t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^
          t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
      p += 8;
      n -= 8;
    }
  }
  while (n != 0) {
    c = (c >> 8) ^ t[0][(c ^ *p) & 0xff];
    ++p;
    --n;
  }
  return ~c;
}

uint64_t CombineCrc(ChecksumAlgo algo, uint64_t crc_a, uint64_t crc_b, uint64_t len_b) noexcept {
  switch (algo) {
    case ChecksumAlgo::kCrc32:
      return Combine<uint32_t, 0xEDB88320u>(static_cast<uint32_t>(crc_a),
                                            static_cast<uint32_t>(crc_b), len_b);
    case ChecksumAlgo::kCrc32c:
      return Combine<uint32_t, kCrc32cPoly>(static_cast<uint32_t>(crc_a),
                                            static_cast<uint32_t>(crc_b), len_b);
    case ChecksumAlgo::kCrc64Nvme:
      return Combine<uint64_t, kCrc64NvmePoly>(crc_a, crc_b, len_b);
    case ChecksumAlgo::kSha1:
    case ChecksumAlgo::kSha256:
      break;
  }
  return 0;
}

// =================================================================================== Checksummer

Checksummer::Checksummer(ChecksumAlgo algo, CrcImpl impl) : algo_(algo), impl_(impl) {
  if (!IsCrc(algo_)) {
    md_ctx_ = EVP_MD_CTX_new();
    // Only fails when out of memory; there is nothing sensible to hash into then.
    if (md_ctx_ == nullptr || EVP_DigestInit_ex(md_ctx_, Md(algo_), nullptr) != 1) {
      std::abort();
    }
  }
}

Checksummer::~Checksummer() { Free(); }

Checksummer::Checksummer(Checksummer&& other) noexcept
    : algo_(other.algo_), impl_(other.impl_), crc_(other.crc_), md_ctx_(other.md_ctx_) {
  other.md_ctx_ = nullptr;
  other.crc_ = 0;
}

Checksummer& Checksummer::operator=(Checksummer&& other) noexcept {
  if (this != &other) {
    Free();
    algo_ = other.algo_;
    impl_ = other.impl_;
    crc_ = other.crc_;
    md_ctx_ = other.md_ctx_;
    other.md_ctx_ = nullptr;
    other.crc_ = 0;
  }
  return *this;
}

void Checksummer::Free() noexcept {
  EVP_MD_CTX_free(md_ctx_);
  md_ctx_ = nullptr;
}

std::size_t Checksummer::raw_size() const noexcept { return ChecksumRawSize(algo_); }

void Checksummer::Update(const void* data, std::size_t n) noexcept {
  switch (algo_) {
    case ChecksumAlgo::kCrc32:
      crc_ = Crc32(static_cast<uint32_t>(crc_), data, n);
      return;
    case ChecksumAlgo::kCrc32c:
      crc_ = impl_ == CrcImpl::kPortable ? Crc32cPortable(static_cast<uint32_t>(crc_), data, n)
                                         : Crc32c(static_cast<uint32_t>(crc_), data, n);
      return;
    case ChecksumAlgo::kCrc64Nvme:
      crc_ = Crc64Nvme(crc_, data, n);
      return;
    case ChecksumAlgo::kSha1:
    case ChecksumAlgo::kSha256:
      // A moved-from Checksummer has no context; updating it is a no-op rather than a crash.
      if (md_ctx_ != nullptr && n != 0) {
        EVP_DigestUpdate(md_ctx_, data, n);
      }
      return;
  }
}

void Checksummer::FinishRaw(uint8_t* out) noexcept {
  if (IsCrc(algo_)) {
    const std::size_t size = raw_size();
    for (std::size_t i = 0; i < size; ++i) {
      out[i] = static_cast<uint8_t>(crc_ >> (8 * (size - 1 - i)));
    }
  } else if (md_ctx_ != nullptr) {
    unsigned int len = 0;
    EVP_DigestFinal_ex(md_ctx_, out, &len);
  } else {
    std::memset(out, 0, raw_size());
  }
  Reset();
}

std::string Checksummer::FinishRaw() {
  uint8_t buf[kMaxChecksumRawSize];
  FinishRaw(buf);
  return std::string(reinterpret_cast<const char*>(buf), raw_size());
}

std::string Checksummer::FinishBase64() {
  uint8_t buf[kMaxChecksumRawSize];
  FinishRaw(buf);
  return util::Base64Encode(buf, raw_size());
}

void Checksummer::Reset() noexcept {
  crc_ = 0;
  if (md_ctx_ != nullptr) {
    // A null type reuses the digest the context was set up with (no second fetch).
    EVP_DigestInit_ex(md_ctx_, nullptr, nullptr);
  }
}

std::string ComputeChecksumRaw(ChecksumAlgo algo, std::string_view data) {
  Checksummer c(algo);
  c.Update(data);
  return c.FinishRaw();
}

std::string ComputeChecksumBase64(ChecksumAlgo algo, std::string_view data) {
  Checksummer c(algo);
  c.Update(data);
  return c.FinishBase64();
}

// ===================================================================================== multipart

std::string ComposeChecksums(ChecksumAlgo algo, std::span<const std::string> raw_parts) {
  const std::size_t size = ChecksumRawSize(algo);
  Checksummer c(algo);
  for (const std::string& part : raw_parts) {
    if (part.size() != size) {
      return {};
    }
    c.Update(part);
  }
  return c.FinishRaw();
}

std::string FormatCompositeChecksum(std::string_view raw, std::size_t part_count) {
  std::string out = util::Base64Encode(raw.data(), raw.size());
  out.push_back('-');
  out += std::to_string(part_count);
  return out;
}

}  // namespace mamute::s3
