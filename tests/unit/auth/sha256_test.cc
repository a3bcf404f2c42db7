// SHA-256 / HMAC-SHA256 engines: known-answer tests (FIPS 180-4 examples via
// NIST CSRC, RFC 4231) and randomized cross-checks against OpenSSL for every
// implementation, single-stream, streaming and multi-buffer.
#include "auth/sha256.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "auth/sha256_internal.h"

namespace mamute::auth {
namespace {

constexpr Sha256Impl kAllImpls[] = {Sha256Impl::kScalar, Sha256Impl::kShaNi, Sha256Impl::kAvx2,
                                    Sha256Impl::kAvx512};

std::string Hex(const uint8_t* p, std::size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s.push_back(kDigits[p[i] >> 4]);
    s.push_back(kDigits[p[i] & 15]);
  }
  return s;
}
std::string Hex(const Sha256Digest& d) { return Hex(d.data(), d.size()); }

std::string Unhex(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string OsslSha256(std::string_view m) {
  uint8_t md[32];
  unsigned len = 0;
  EXPECT_EQ(EVP_Digest(m.data(), m.size(), md, &len, EVP_sha256(), nullptr), 1);
  return Hex(md, len);
}

std::string OsslHmac(std::string_view k, std::string_view m) {
  uint8_t md[32];
  unsigned len = 0;
  EXPECT_NE(HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()),
                 reinterpret_cast<const uint8_t*>(m.data()), m.size(), md, &len),
            nullptr);
  return Hex(md, len);
}

std::string RandomBytes(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (char& c : s) {
    c = static_cast<char>(rng());
  }
  return s;
}

class Sha256ImplTest : public ::testing::TestWithParam<Sha256Impl> {
 protected:
  void SetUp() override {
    if (!Sha256ImplSupported(GetParam())) {
      GTEST_SKIP() << Sha256ImplName(GetParam()) << " not supported on this CPU";
    }
  }
  Sha256Impl impl() const { return GetParam(); }
};

// ---- Known answers ----

struct HashCase {
  const char* name;
  std::string msg;
  const char* digest;
};

std::vector<HashCase> NistCases() {
  return {
      {"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"448bit", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {"896bit",
       "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmn"
       "opqrsmnopqrstnopqrstu",
       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
      {"million_a", std::string(1000000, 'a'),
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
}

TEST_P(Sha256ImplTest, NistVectorsStreaming) {
  for (const auto& c : NistCases()) {
    Sha256 h(impl());
    h.Update(c.msg);
    EXPECT_EQ(Hex(h.Final()), c.digest) << c.name;
  }
}

TEST_P(Sha256ImplTest, NistVectorsBatch) {
  const auto cases = NistCases();
  std::vector<std::string_view> msgs;
  for (const auto& c : cases) {
    msgs.push_back(c.msg);
  }
  std::vector<Sha256Digest> out(msgs.size());
  Sha256Batch(msgs.data(), out.data(), msgs.size(), impl());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(Hex(out[i]), cases[i].digest) << cases[i].name;
  }
  // One at a time as well (a batch of one leaves most lanes idle).
  for (const auto& c : cases) {
    Sha256Digest d;
    std::string_view m = c.msg;
    Sha256Batch(&m, &d, 1, impl());
    EXPECT_EQ(Hex(d), c.digest) << c.name;
  }
}

TEST(Sha256, OfUsesBestEngine) {
  EXPECT_EQ(Hex(Sha256Of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

struct HmacCase {
  const char* name;
  std::string key;
  std::string msg;
  const char* mac;  // hex; case 5 is truncated to 128 bits
};

// RFC 4231 section 4, HMAC-SHA-256 results.
std::vector<HmacCase> Rfc4231Cases() {
  return {
      {"tc1", std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"tc2", "Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"tc3", std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"tc4", Unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
       std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"tc5", std::string(20, '\x0c'), "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"},
      {"tc6", std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"tc7", std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. "
       "The key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
}

std::string Prefix(const std::string& full, const char* expected) {
  return full.substr(0, std::strlen(expected));
}

TEST(HmacSha256, Rfc4231OneCall) {
  for (const auto& c : Rfc4231Cases()) {
    EXPECT_EQ(Prefix(Hex(HmacSha256(std::string_view(c.key), std::string_view(c.msg))), c.mac),
              c.mac)
        << c.name;
  }
}

TEST_P(Sha256ImplTest, Rfc4231PrecomputedKey) {
  for (const auto& c : Rfc4231Cases()) {
    const HmacSha256Key key(c.key);
    EXPECT_EQ(Prefix(Hex(HmacSha256(key, c.msg, impl())), c.mac), c.mac) << c.name;
  }
}

TEST_P(Sha256ImplTest, Rfc4231Batch) {
  const auto cases = Rfc4231Cases();
  std::vector<HmacSha256Key> keys;
  keys.reserve(cases.size());
  std::vector<const HmacSha256Key*> key_ptrs;
  std::vector<std::string_view> msgs;
  for (const auto& c : cases) {
    keys.emplace_back(c.key);
    key_ptrs.push_back(&keys.back());
    msgs.push_back(c.msg);
  }
  std::vector<Sha256Digest> out(cases.size());
  HmacSha256Batch(key_ptrs.data(), msgs.data(), out.data(), cases.size(), impl());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(Prefix(Hex(out[i]), cases[i].mac), cases[i].mac) << cases[i].name;
  }
}

// ---- Cross-checks against OpenSSL ----

std::vector<std::size_t> CrossCheckLengths() {
  std::vector<std::size_t> lens;
  for (std::size_t n = 0; n <= 300; ++n) {
    lens.push_back(n);
  }
  for (std::size_t n : {447u, 448u, 511u, 512u, 1000u, 2047u, 4095u, 4096u, 4097u, 65536u + 13u,
                        (1u << 20) + 7u}) {
    lens.push_back(n);
  }
  return lens;
}

TEST_P(Sha256ImplTest, MatchesOpenSslAllLengths) {
  std::mt19937_64 rng(1);
  for (std::size_t n : CrossCheckLengths()) {
    const std::string m = RandomBytes(rng, n);
    const std::string want = OsslSha256(m);
    Sha256 h(impl());
    h.Update(m);
    ASSERT_EQ(Hex(h.Final()), want) << "streaming, len " << n;
    std::string_view v = m;
    Sha256Digest d;
    Sha256Batch(&v, &d, 1, impl());
    ASSERT_EQ(Hex(d), want) << "batch of one, len " << n;
  }
}

TEST_P(Sha256ImplTest, HmacMatchesOpenSslAllLengths) {
  std::mt19937_64 rng(2);
  const std::size_t key_lens[] = {0, 1, 20, 32, 63, 64, 65, 131};
  std::size_t i = 0;
  for (std::size_t n : CrossCheckLengths()) {
    const std::string k = RandomBytes(rng, key_lens[i++ % std::size(key_lens)]);
    const std::string m = RandomBytes(rng, n);
    const HmacSha256Key key(k);
    ASSERT_EQ(Hex(HmacSha256(key, m, impl())), OsslHmac(k, m))
        << "len " << n << " key " << k.size();
  }
}

TEST_P(Sha256ImplTest, BatchesOfMixedLengths) {
  std::mt19937_64 rng(3);
  for (std::size_t n = 1; n <= 40; ++n) {
    std::vector<std::string> owned;
    for (std::size_t i = 0; i < n; ++i) {
      // SigV4-like spread (200..2000) plus short, empty and block-boundary lengths.
      const std::size_t pick = rng() % 6;
      const std::size_t len = pick == 0   ? 0
                              : pick == 1 ? rng() % 130
                              : pick == 2 ? 64 * (1 + rng() % 8) + (rng() % 3) - 1
                                          : 200 + rng() % 1801;
      owned.push_back(RandomBytes(rng, len));
    }
    if (n == 7) {
      owned[3] = RandomBytes(rng, 100000);  // one long lane among short ones
    }
    std::vector<std::string_view> msgs(owned.begin(), owned.end());
    std::vector<Sha256Digest> out(n);
    Sha256Batch(msgs.data(), out.data(), n, impl());
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(Hex(out[i]), OsslSha256(owned[i])) << "n " << n << " i " << i;
    }
  }
}

TEST_P(Sha256ImplTest, HmacBatchesOfMixedLengthsAndKeys) {
  std::mt19937_64 rng(4);
  for (std::size_t n = 1; n <= 40; ++n) {
    std::vector<std::string> key_bytes, owned;
    std::vector<HmacSha256Key> keys;
    keys.reserve(n);
    std::vector<const HmacSha256Key*> key_ptrs;
    for (std::size_t i = 0; i < n; ++i) {
      key_bytes.push_back(RandomBytes(rng, i % 3 == 0 ? 32 : rng() % 140));
      keys.emplace_back(key_bytes.back());
      key_ptrs.push_back(&keys.back());
      owned.push_back(RandomBytes(rng, rng() % 4 == 0 ? rng() % 70 : 200 + rng() % 1801));
    }
    std::vector<std::string_view> msgs(owned.begin(), owned.end());
    std::vector<Sha256Digest> out(n);
    HmacSha256Batch(key_ptrs.data(), msgs.data(), out.data(), n, impl());
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(Hex(out[i]), OsslHmac(key_bytes[i], owned[i])) << "n " << n << " i " << i;
    }
  }
}

TEST_P(Sha256ImplTest, LargeBatchCrossesJobChunks) {
  // More messages than one internal chunk of jobs (64), with a shared key.
  std::mt19937_64 rng(5);
  const std::string k = RandomBytes(rng, 40);
  const HmacSha256Key key(k);
  constexpr std::size_t kN = 203;
  std::vector<std::string> owned;
  for (std::size_t i = 0; i < kN; ++i) {
    owned.push_back(RandomBytes(rng, rng() % 600));
  }
  std::vector<std::string_view> msgs(owned.begin(), owned.end());
  std::vector<const HmacSha256Key*> key_ptrs(kN, &key);
  std::vector<Sha256Digest> hashes(kN), macs(kN);
  Sha256Batch(msgs.data(), hashes.data(), kN, impl());
  HmacSha256Batch(key_ptrs.data(), msgs.data(), macs.data(), kN, impl());
  for (std::size_t i = 0; i < kN; ++i) {
    ASSERT_EQ(Hex(hashes[i]), OsslSha256(owned[i])) << i;
    ASSERT_EQ(Hex(macs[i]), OsslHmac(k, owned[i])) << i;
  }
}

TEST_P(Sha256ImplTest, StreamingOddSplits) {
  std::mt19937_64 rng(6);
  const std::size_t sizes[] = {0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 1000, 5000, 70001};
  const std::size_t chunks[] = {1, 3, 7, 13, 63, 64, 65, 100, 4099};
  for (std::size_t size : sizes) {
    const std::string m = RandomBytes(rng, size);
    const std::string want = OsslSha256(m);
    for (std::size_t chunk : chunks) {
      Sha256 h(impl());
      for (std::size_t off = 0; off < m.size(); off += chunk) {
        h.Update(std::string_view(m).substr(off, chunk));
      }
      ASSERT_EQ(Hex(h.Final()), want) << "size " << size << " chunk " << chunk;
    }
    // Random split points, including empty updates; the object is reusable after Final.
    Sha256 h(impl());
    for (int round = 0; round < 2; ++round) {
      std::size_t off = 0;
      while (off < m.size()) {
        const std::size_t take = std::min<std::size_t>(rng() % 150, m.size() - off);
        h.Update(m.data() + off, take);
        off += take;
      }
      ASSERT_EQ(Hex(h.Final()), want) << "random splits, size " << size << " round " << round;
    }
  }
}

std::string ImplParamName(const ::testing::TestParamInfo<Sha256Impl>& param) {
  switch (param.param) {
    case Sha256Impl::kScalar:
      return "Scalar";
    case Sha256Impl::kShaNi:
      return "ShaNi";
    case Sha256Impl::kAvx2:
      return "Avx2";
    case Sha256Impl::kAvx512:
      return "Avx512";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(AllImpls, Sha256ImplTest, ::testing::ValuesIn(kAllImpls), ImplParamName);

// ---- Scheduler with portable lane kernels (runs the 8- and 16-lane bookkeeping
// on any CPU, including ones without AVX2 / AVX-512) ----

struct LaneKernelCase {
  const char* name;
  sha256_internal::LanesFn fn;
  std::size_t lanes;
};

TEST(Sha256MultiBuffer, SchedulerWithPortableKernels) {
  const LaneKernelCase kernels[] = {
      {"portable-x8", &sha256_internal::CompressX8Portable, 8},
      {"portable-x16", &sha256_internal::CompressX16Portable, 16},
  };
  std::mt19937_64 rng(7);
  for (const auto& k : kernels) {
    for (std::size_t n = 0; n <= 40; ++n) {
      std::vector<std::string> owned;
      for (std::size_t i = 0; i < n; ++i) {
        owned.push_back(RandomBytes(rng, rng() % 3 == 0 ? rng() % 130 : rng() % 2100));
      }
      std::vector<Sha256Digest> out(n);
      std::vector<sha256_internal::MbJob> jobs;
      for (std::size_t i = 0; i < n; ++i) {
        jobs.push_back({sha256_internal::kIv, 0, reinterpret_cast<const uint8_t*>(owned[i].data()),
                        owned[i].size(), out[i].data()});
      }
      sha256_internal::RunMultiBuffer(k.fn, k.lanes, jobs.data(), n);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(Hex(out[i]), OsslSha256(owned[i])) << k.name << " n " << n << " i " << i;
      }
    }
  }
}

// ---- Defaults, names, fallback ----

TEST(Sha256Dispatch, BestImplsAreSupported) {
  EXPECT_TRUE(Sha256ImplSupported(Sha256Impl::kScalar));
  EXPECT_TRUE(Sha256ImplSupported(BestSingleSha256Impl()));
  EXPECT_TRUE(Sha256ImplSupported(BestBatchSha256Impl()));
  for (Sha256Impl i : kAllImpls) {
    EXPECT_FALSE(Sha256ImplName(i).empty());
  }
}

TEST(Sha256Dispatch, UnsupportedImplFallsBackToScalar) {
  // Whatever this CPU supports, asking for any implementation gives correct results.
  std::string_view m = "abc";
  for (Sha256Impl i : kAllImpls) {
    Sha256Digest d;
    Sha256Batch(&m, &d, 1, i);
    EXPECT_EQ(Hex(d), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        << Sha256ImplName(i);
  }
}

// Regression (CONVENTIONS habit 7): derived key material must not outlive the key
// object. The destructor's wipe must survive dead-store elimination.
TEST(HmacSha256Key, DestructorWipesPadStates) {
  alignas(HmacSha256Key) unsigned char storage[sizeof(HmacSha256Key)];
  auto* key = new (storage) HmacSha256Key("secret key material");
  bool any_nonzero = false;
  for (int i = 0; i < 8; ++i) {
    any_nonzero |= key->inner()[i] != 0 || key->outer()[i] != 0;
  }
  ASSERT_TRUE(any_nonzero);
  key->~HmacSha256Key();
  volatile unsigned char* bytes = storage;
  for (std::size_t i = 0; i < sizeof(storage); ++i) {
    EXPECT_EQ(bytes[i], 0) << "byte " << i;
  }
}

}  // namespace
}  // namespace mamute::auth
