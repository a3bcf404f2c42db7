#include "s3/checksum.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "util/encoding.h"

namespace mamute::s3 {
namespace {

constexpr std::array<ChecksumAlgo, kChecksumAlgoCount> kAllAlgos = {
    ChecksumAlgo::kCrc32, ChecksumAlgo::kCrc32c, ChecksumAlgo::kCrc64Nvme, ChecksumAlgo::kSha1,
    ChecksumAlgo::kSha256};
constexpr std::array<ChecksumAlgo, 3> kCrcAlgos = {ChecksumAlgo::kCrc32, ChecksumAlgo::kCrc32c,
                                                   ChecksumAlgo::kCrc64Nvme};

std::string RandomBytes(std::size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) {
    c = static_cast<char>(rng() & 0xff);
  }
  return s;
}

std::string Hex(const std::string& raw) { return util::HexEncode(raw.data(), raw.size()); }

// Bit-at-a-time reference CRCs, straight from the definition (reflected, init ~0, xorout ~0).
template <typename T>
T ReferenceCrc(T poly, const std::string& data) {
  T c = static_cast<T>(~T{0});
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1) ? static_cast<T>((c >> 1) ^ poly) : static_cast<T>(c >> 1);
    }
  }
  return static_cast<T>(~c);
}

uint64_t RawCrc(ChecksumAlgo algo, const std::string& data) {
  switch (algo) {
    case ChecksumAlgo::kCrc32:
      return Crc32(0, data.data(), data.size());
    case ChecksumAlgo::kCrc32c:
      return Crc32c(0, data.data(), data.size());
    default:
      return Crc64Nvme(0, data.data(), data.size());
  }
}

std::string OpenSslDigest(ChecksumAlgo algo, const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const EVP_MD* type = algo == ChecksumAlgo::kSha1 ? EVP_sha1() : EVP_sha256();
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), md, &len, type, nullptr), 1);
  return std::string(reinterpret_cast<const char*>(md), len);
}

// ----------------------------------------------------------------------------------- names

TEST(ChecksumNames, ParseAlgo) {
  struct Case {
    std::string_view in;
    std::optional<ChecksumAlgo> want;
  };
  const Case cases[] = {
      {"CRC32", ChecksumAlgo::kCrc32},         {"crc32", ChecksumAlgo::kCrc32},
      {"CRC32C", ChecksumAlgo::kCrc32c},       {"Crc32c", ChecksumAlgo::kCrc32c},
      {"CRC64NVME", ChecksumAlgo::kCrc64Nvme}, {"crc64nvme", ChecksumAlgo::kCrc64Nvme},
      {"SHA1", ChecksumAlgo::kSha1},           {"sha1", ChecksumAlgo::kSha1},
      {"SHA256", ChecksumAlgo::kSha256},       {"sha256", ChecksumAlgo::kSha256},
      {"", std::nullopt},                      {"CRC", std::nullopt},
      {"CRC32 ", std::nullopt},                {"CRC64", std::nullopt},
      {"MD5", std::nullopt},                   {"SHA-256", std::nullopt},
      {"XXHASH64", std::nullopt},              {"CRC32CC", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ParseChecksumAlgo(c.in), c.want) << c.in;
  }
}

TEST(ChecksumNames, HeadersBothWays) {
  struct Case {
    ChecksumAlgo algo;
    std::string_view name;
    std::string_view header;
    std::size_t raw_size;
  };
  const Case cases[] = {
      {ChecksumAlgo::kCrc32, "CRC32", "x-amz-checksum-crc32", 4},
      {ChecksumAlgo::kCrc32c, "CRC32C", "x-amz-checksum-crc32c", 4},
      {ChecksumAlgo::kCrc64Nvme, "CRC64NVME", "x-amz-checksum-crc64nvme", 8},
      {ChecksumAlgo::kSha1, "SHA1", "x-amz-checksum-sha1", 20},
      {ChecksumAlgo::kSha256, "SHA256", "x-amz-checksum-sha256", 32},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ChecksumAlgoName(c.algo), c.name);
    EXPECT_EQ(ChecksumHeaderName(c.algo), c.header);
    EXPECT_EQ(ChecksumRawSize(c.algo), c.raw_size);
    EXPECT_EQ(ParseChecksumAlgo(c.name), c.algo);
    EXPECT_EQ(ChecksumAlgoFromHeader(c.header), c.algo);
    std::string upper(c.header);
    for (char& ch : upper) {
      ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    EXPECT_EQ(ChecksumAlgoFromHeader(upper), c.algo) << upper;
    EXPECT_LE(c.raw_size, kMaxChecksumRawSize);
  }
  for (std::string_view other : {"x-amz-checksum-algorithm", "x-amz-checksum-mode",
                                 "x-amz-checksum-type", "x-amz-checksum-", "x-amz-checksum-md5",
                                 "x-amz-checksum-crc32 ", "crc32", ""}) {
    EXPECT_EQ(ChecksumAlgoFromHeader(other), std::nullopt) << other;
  }
}

// ---------------------------------------------------------------------------- known values

TEST(Checksum, CheckValues123456789) {
  const std::string s = "123456789";
  EXPECT_EQ(Crc32(0, s.data(), s.size()), 0xCBF43926u);
  EXPECT_EQ(Crc32c(0, s.data(), s.size()), 0xE3069283u);
  EXPECT_EQ(Crc32cPortable(0, s.data(), s.size()), 0xE3069283u);
  EXPECT_EQ(Crc64Nvme(0, s.data(), s.size()), 0xAE8B14860A799888ull);
  // Raw values are big-endian.
  EXPECT_EQ(Hex(ComputeChecksumRaw(ChecksumAlgo::kCrc32, s)), "cbf43926");
  EXPECT_EQ(Hex(ComputeChecksumRaw(ChecksumAlgo::kCrc32c, s)), "e3069283");
  EXPECT_EQ(Hex(ComputeChecksumRaw(ChecksumAlgo::kCrc64Nvme, s)), "ae8b14860a799888");
}

// aws-checksums / aws-c-s3 test vectors: 32 zero bytes, bytes 0..31, and NIST-style "a"*10.
TEST(Checksum, AwsChecksumsVectors) {
  std::string zeros(32, '\0');
  std::string values(32, '\0');
  for (int i = 0; i < 32; ++i) {
    values[static_cast<std::size_t>(i)] = static_cast<char>(i);
  }
  EXPECT_EQ(RawCrc(ChecksumAlgo::kCrc32, zeros), 0x190A55ADu);
  EXPECT_EQ(RawCrc(ChecksumAlgo::kCrc32c, zeros), 0x8A9136AAu);
  EXPECT_EQ(RawCrc(ChecksumAlgo::kCrc64Nvme, zeros), 0xCF3473434D4ECF3Bull);
  EXPECT_EQ(RawCrc(ChecksumAlgo::kCrc32, values), 0x91267E8Au);
  EXPECT_EQ(RawCrc(ChecksumAlgo::kCrc32c, values), 0x46DD794Eu);
  EXPECT_EQ(RawCrc(ChecksumAlgo::kCrc64Nvme, values), 0xB9D9D4A8492CBD7Full);
  EXPECT_EQ(RawCrc(ChecksumAlgo::kCrc64Nvme, std::string(10, 'a')), 0x0C1A80036D65C555ull);
  // Swift CRT tests.
  EXPECT_EQ(RawCrc(ChecksumAlgo::kCrc32, "Hello"), 4157704578u);
  EXPECT_EQ(RawCrc(ChecksumAlgo::kCrc32c, "Hello"), 2178485787u);
  const std::string json = "{\"foo\":\"base64 encoded sha1 checksum\"}";
  EXPECT_EQ(RawCrc(ChecksumAlgo::kCrc32, json), 1195144130u);
  EXPECT_EQ(RawCrc(ChecksumAlgo::kCrc32c, json), 3565301023u);
}

// The base64 values the AWS SDKs' flexible-checksums tests expect (JS v3, .NET, Java v2), i.e.
// the exact x-amz-checksum-* header values a client sends.
TEST(Checksum, AwsSdkBase64Vectors) {
  struct Case {
    std::string_view body;
    ChecksumAlgo algo;
    std::string_view b64;
  };
  const Case cases[] = {
      {"", ChecksumAlgo::kCrc32, "AAAAAA=="},
      {"abc", ChecksumAlgo::kCrc32, "NSRBwg=="},
      {"Hello world", ChecksumAlgo::kCrc32, "i9aeUg=="},
      {"", ChecksumAlgo::kCrc32c, "AAAAAA=="},
      {"abc", ChecksumAlgo::kCrc32c, "Nks/tw=="},
      {"Hello world", ChecksumAlgo::kCrc32c, "crUfeA=="},
      {"", ChecksumAlgo::kCrc64Nvme, "AAAAAAAAAAA="},
      {"abc", ChecksumAlgo::kCrc64Nvme, "BeXKuz/B+us="},
      {"Hello world", ChecksumAlgo::kCrc64Nvme, "OOJZ0D8xKts="},
      {"Hello, World!\n", ChecksumAlgo::kCrc64Nvme, "SoXXbx67KpE="},
      {"", ChecksumAlgo::kSha1, "2jmj7l5rSw0yVb/vlWAYkK/YBwk="},
      {"abc", ChecksumAlgo::kSha1, "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="},
      {"Hello world", ChecksumAlgo::kSha1, "e1AsOh9IyGCa4hLN+2Od7jlnP14="},
      {"", ChecksumAlgo::kSha256, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
      {"abc", ChecksumAlgo::kSha256, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="},
      {"Hello world", ChecksumAlgo::kSha256, "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(ChecksumAlgoName(c.algo)) + " of \"" + std::string(c.body) + "\"");
    EXPECT_EQ(ComputeChecksumBase64(c.algo, c.body), c.b64);
    Checksummer portable(c.algo, CrcImpl::kPortable);
    portable.Update(c.body);
    EXPECT_EQ(portable.FinishBase64(), c.b64);
    EXPECT_TRUE(ValidateBase64Checksum(c.algo, c.b64));
  }
}

TEST(Checksum, EmptyInput) {
  for (ChecksumAlgo algo : kAllAlgos) {
    Checksummer c(algo);
    c.Update(nullptr, 0);
    const std::string raw = c.FinishRaw();
    EXPECT_EQ(raw.size(), ChecksumRawSize(algo));
    if (algo == ChecksumAlgo::kSha1 || algo == ChecksumAlgo::kSha256) {
      EXPECT_EQ(raw, OpenSslDigest(algo, ""));
    } else {
      EXPECT_EQ(raw, std::string(raw.size(), '\0'));
    }
  }
}

// ------------------------------------------------------------------------------ incremental

TEST(Checksum, MatchesBitwiseReference) {
  const std::string data = RandomBytes(4096 + 7, 1);
  for (std::size_t off = 0; off < 8; ++off) {
    for (std::size_t len :
         std::initializer_list<std::size_t>{0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 1000,
                                            4096}) {
      const std::string s = data.substr(off, len);
      EXPECT_EQ(Crc32(0, s.data(), s.size()), ReferenceCrc<uint32_t>(0xEDB88320u, s));
      EXPECT_EQ(Crc32cPortable(0, s.data(), s.size()), ReferenceCrc<uint32_t>(0x82F63B78u, s));
      EXPECT_EQ(Crc32c(0, s.data(), s.size()), ReferenceCrc<uint32_t>(0x82F63B78u, s));
      EXPECT_EQ(Crc64Nvme(0, s.data(), s.size()),
                ReferenceCrc<uint64_t>(0x9A6C9329AC4BC9B5ull, s));
    }
  }
}

// Every length 0..300, every two-way split point, and a three-way split with odd pieces.
TEST(Checksum, IncrementalEqualsOneShotSmall) {
  const std::string data = RandomBytes(300, 2);
  for (ChecksumAlgo algo : kAllAlgos) {
    SCOPED_TRACE(ChecksumAlgoName(algo));
    Checksummer c(algo);
    for (std::size_t len = 0; len <= data.size(); ++len) {
      const std::string_view s(data.data(), len);
      c.Update(s);
      const std::string want = c.FinishRaw();
      for (std::size_t split = 0; split <= len; ++split) {
        c.Update(s.substr(0, split));
        c.Update(s.substr(split));
        ASSERT_EQ(c.FinishRaw(), want) << "len " << len << " split " << split;
      }
      std::size_t pos = 0;
      for (std::size_t step = 1; pos < len; step += 2) {
        const std::size_t n = std::min(step, len - pos);
        c.Update(s.substr(pos, n));
        pos += n;
      }
      ASSERT_EQ(c.FinishRaw(), want) << "len " << len << " odd steps";
    }
  }
}

TEST(Checksum, IncrementalEqualsOneShot1MiB) {
  const std::string data = RandomBytes((1u << 20) + 3, 3);
  std::mt19937 rng(4);
  for (ChecksumAlgo algo : kAllAlgos) {
    SCOPED_TRACE(ChecksumAlgoName(algo));
    const std::string want = ComputeChecksumRaw(algo, data);
    Checksummer c(algo);
    std::size_t pos = 0;
    while (pos < data.size()) {
      const std::size_t n = std::min<std::size_t>(rng() % 70000 + 1, data.size() - pos);
      c.Update(data.data() + pos, n);
      pos += n;
    }
    EXPECT_EQ(c.FinishRaw(), want);
    if (algo == ChecksumAlgo::kSha1 || algo == ChecksumAlgo::kSha256) {
      EXPECT_EQ(want, OpenSslDigest(algo, data));
    }
  }
  EXPECT_EQ(RawCrc(ChecksumAlgo::kCrc32c, data), ReferenceCrc<uint32_t>(0x82F63B78u, data));
  EXPECT_EQ(RawCrc(ChecksumAlgo::kCrc64Nvme, data),
            ReferenceCrc<uint64_t>(0x9A6C9329AC4BC9B5ull, data));
}

// ----------------------------------------------------------------- hardware vs portable CRC32C

TEST(Checksum, Crc32cHardwareMatchesPortable) {
  if (!Crc32cHardwareAvailable()) {
    GTEST_SKIP() << "no SSE4.2 on this CPU";
  }
  const std::string data = RandomBytes((1u << 20) + 64, 5);
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  // Lengths around the 3 x 4096-byte interleaved block, at every alignment.
  std::vector<std::size_t> lens;
  for (std::size_t len = 0; len <= 300; ++len) {
    lens.push_back(len);
  }
  for (std::size_t len : std::initializer_list<std::size_t>{
           4095, 4096, 4097, 8192, 12287, 12288, 12289, 24575, 24576, 24583, 36864 + 5, 65536,
           1u << 20}) {
    lens.push_back(len);
  }
  for (std::size_t off = 0; off < 8; ++off) {
    for (std::size_t len : lens) {
      ASSERT_EQ(Crc32cHardware(0, p + off, len), Crc32cPortable(0, p + off, len))
          << "off " << off << " len " << len;
      // Continuing from a non-zero CRC.
      ASSERT_EQ(Crc32cHardware(0x12345678u, p + off, len),
                Crc32cPortable(0x12345678u, p + off, len));
    }
  }
  Checksummer hw(ChecksumAlgo::kCrc32c, CrcImpl::kBest);
  Checksummer sw(ChecksumAlgo::kCrc32c, CrcImpl::kPortable);
  std::mt19937 rng(6);
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t n = std::min<std::size_t>(rng() % 30000 + 1, data.size() - pos);
    hw.Update(data.data() + pos, n);
    sw.Update(data.data() + pos, n);
    pos += n;
  }
  EXPECT_EQ(hw.FinishRaw(), sw.FinishRaw());
}

// ------------------------------------------------------------------------- Checksummer state

TEST(Checksummer, FinishResetsAndResetDiscards) {
  for (ChecksumAlgo algo : kAllAlgos) {
    SCOPED_TRACE(ChecksumAlgoName(algo));
    const std::string want = ComputeChecksumBase64(algo, "Hello world");
    Checksummer c(algo);
    EXPECT_EQ(c.raw_size(), ChecksumRawSize(algo));
    c.Update("Hello world");
    EXPECT_EQ(c.FinishBase64(), want);
    c.Update("Hello world");
    EXPECT_EQ(c.FinishBase64(), want);  // Finish reset the state
    c.Update("garbage");
    c.Reset();
    c.Update("Hello ");
    c.Update("world");
    EXPECT_EQ(c.FinishBase64(), want);
    uint8_t buf[kMaxChecksumRawSize];
    c.Update("Hello world");
    c.FinishRaw(buf);
    EXPECT_EQ(util::Base64Encode(buf, c.raw_size()), want);
  }
}

TEST(Checksummer, Move) {
  for (ChecksumAlgo algo : kAllAlgos) {
    SCOPED_TRACE(ChecksumAlgoName(algo));
    Checksummer a(algo);
    a.Update("Hello ");
    Checksummer b(std::move(a));
    b.Update("world");
    EXPECT_EQ(b.FinishBase64(), ComputeChecksumBase64(algo, "Hello world"));
    Checksummer c(ChecksumAlgo::kSha1);
    c.Update("Hello ");
    c = std::move(b);
    EXPECT_EQ(c.algo(), algo);
    c.Update("Hello world");
    EXPECT_EQ(c.FinishBase64(), ComputeChecksumBase64(algo, "Hello world"));
  }
}

// ---------------------------------------------------------------------------- base64 values

TEST(Checksum, ValidateBase64) {
  struct Case {
    ChecksumAlgo algo;
    std::string_view value;
    bool valid;
  };
  const Case cases[] = {
      {ChecksumAlgo::kCrc32, "AAAAAA==", true},
      {ChecksumAlgo::kCrc32, "i9aeUg==", true},
      {ChecksumAlgo::kCrc32, "", false},
      {ChecksumAlgo::kCrc32, "i9aeUg", false},          // unpadded
      {ChecksumAlgo::kCrc32, "i9aeUg=", false},         // short padding
      {ChecksumAlgo::kCrc32, "i9aeUg===", false},       // extra padding
      {ChecksumAlgo::kCrc32, "i9aeUgA=", false},        // 5 bytes
      {ChecksumAlgo::kCrc32, "i9ae", false},            // 3 bytes
      {ChecksumAlgo::kCrc32, "i9ae Ug=", false},        // space
      {ChecksumAlgo::kCrc32, "i9ae_g==", false},        // URL alphabet
      {ChecksumAlgo::kCrc32, "AAAAAB==", false},        // non-canonical trailing bits
      {ChecksumAlgo::kCrc32, "8bd69e52", false},        // hex, not base64
      {ChecksumAlgo::kCrc32, "AAAAAAAAAAA=", false},    // a CRC64 in a CRC32 field
      {ChecksumAlgo::kCrc32c, "crUfeA==", true},
      {ChecksumAlgo::kCrc32c, "crUfeA==\n", false},
      {ChecksumAlgo::kCrc64Nvme, "OOJZ0D8xKts=", true},
      {ChecksumAlgo::kCrc64Nvme, "AAAAAA==", false},    // a CRC32 in a CRC64 field
      {ChecksumAlgo::kCrc64Nvme, "OOJZ0D8xKts", false},
      {ChecksumAlgo::kSha1, "e1AsOh9IyGCa4hLN+2Od7jlnP14=", true},
      {ChecksumAlgo::kSha1, "e1AsOh9IyGCa4hLN+2Od7jlnP14", false},
      {ChecksumAlgo::kSha1, "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=", false},
      {ChecksumAlgo::kSha256, "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=", true},
      {ChecksumAlgo::kSha256, "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw", false},
      {ChecksumAlgo::kSha256, "64ec88ca00b268e5ba1a35678a1b5316d212f4f366b24772"
                              "32534a8aeca37f3c", false},  // hex SHA-256
      {ChecksumAlgo::kSha256, "e1AsOh9IyGCa4hLN+2Od7jlnP14=", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ValidateBase64Checksum(c.algo, c.value), c.valid)
        << ChecksumAlgoName(c.algo) << " \"" << c.value << "\"";
  }
  // Whatever a Checksummer produces is valid for its algorithm.
  for (ChecksumAlgo algo : kAllAlgos) {
    EXPECT_TRUE(ValidateBase64Checksum(algo, ComputeChecksumBase64(algo, RandomBytes(77, 7))));
  }
}

// ------------------------------------------------------------------------------- multipart

TEST(Checksum, CombineCrc) {
  const std::string data = RandomBytes(100000, 8);
  for (ChecksumAlgo algo : kCrcAlgos) {
    SCOPED_TRACE(ChecksumAlgoName(algo));
    for (std::size_t split : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{4096},
                              std::size_t{99999}, data.size()}) {
      const std::string a = data.substr(0, split);
      const std::string b = data.substr(split);
      EXPECT_EQ(CombineCrc(algo, RawCrc(algo, a), RawCrc(algo, b), b.size()), RawCrc(algo, data))
          << "split " << split;
    }
  }
  EXPECT_EQ(CombineCrc(ChecksumAlgo::kSha256, 1, 2, 3), 0u);
}

TEST(Checksum, ComposeChecksums) {
  const std::string body = RandomBytes(3 * 1000 + 17, 9);
  const std::string_view parts[] = {std::string_view(body).substr(0, 1000),
                                    std::string_view(body).substr(1000, 2000),
                                    std::string_view(body).substr(3000)};
  for (ChecksumAlgo algo : kAllAlgos) {
    SCOPED_TRACE(ChecksumAlgoName(algo));
    std::vector<std::string> raws;
    std::string concat;
    for (std::string_view p : parts) {
      raws.push_back(ComputeChecksumRaw(algo, std::string(p)));
      concat += raws.back();
    }
    const std::string composite = ComposeChecksums(algo, raws);
    EXPECT_EQ(composite, ComputeChecksumRaw(algo, concat));
    EXPECT_NE(composite, ComputeChecksumRaw(algo, body));  // it is not the full-object value
    const std::string formatted = FormatCompositeChecksum(composite, raws.size());
    EXPECT_EQ(formatted, util::Base64Encode(composite.data(), composite.size()) + "-3");
    // A part checksum of the wrong size (say, a base64 string) is refused.
    raws[1] = util::Base64Encode(raws[1].data(), raws[1].size());
    EXPECT_EQ(ComposeChecksums(algo, raws), "");
  }
  // Spelled out once: two CRC32 parts "Hello " and "world".
  const std::vector<std::string> two = {ComputeChecksumRaw(ChecksumAlgo::kCrc32, "Hello "),
                                        ComputeChecksumRaw(ChecksumAlgo::kCrc32, "world")};
  const std::string raw = ComposeChecksums(ChecksumAlgo::kCrc32, two);
  EXPECT_EQ(raw, ComputeChecksumRaw(ChecksumAlgo::kCrc32, two[0] + two[1]));
  EXPECT_EQ(FormatCompositeChecksum(raw, 2).substr(8), "-2");
  EXPECT_EQ(FormatCompositeChecksum(raw, 10000).substr(8), "-10000");
}

}  // namespace
}  // namespace mamute::s3
