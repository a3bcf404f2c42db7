#include "mgmt/crypto.h"

#include <gtest/gtest.h>

#include <set>

#include "util/encoding.h"

namespace mamute::mgmt {
namespace {

TEST(ApiKey, ShapeAndHash) {
  auto a = NewApiKey();
  auto b = NewApiKey();
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(a->starts_with("mk_"));
  EXPECT_EQ(a->size(), 3u + 43u);  // base64url of 32 bytes, no padding
  auto raw = util::Base64UrlDecode(a->substr(3));
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->size(), 32u);
  // SHA-256("abc") (FIPS 180-4 example).
  EXPECT_EQ(ApiKeyId("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ApiKeyId(*a).size(), 64u);
}

TEST(AccessKeys, ShapeLikeAws) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto ak = NewAccessKeyId();
    ASSERT_TRUE(ak.has_value());
    EXPECT_TRUE(IsAccessKeyIdShape(*ak)) << *ak;
    seen.insert(*ak);
    auto sk = NewSecretAccessKey();
    ASSERT_TRUE(sk.has_value());
    EXPECT_EQ(sk->size(), 40u);
    EXPECT_EQ(sk->find('='), std::string::npos);
  }
  EXPECT_EQ(seen.size(), 200u);
  for (const char* bad : {"", "AKIAIOSFODNN7EXAMPLE", "MKabcdefghijklmnopqr", "MK123", "MK12345678901234567890"}) {
    EXPECT_FALSE(IsAccessKeyIdShape(bad)) << bad;
  }
}

TEST(Password, Pbkdf2VerifiesAndSalts) {
  auto h = HashPassword("correct horse");
  ASSERT_TRUE(h.has_value());
  EXPECT_GE(h->iterations, 210000u);
  EXPECT_EQ(h->salt.size(), kPasswordSaltSize);
  EXPECT_EQ(h->hash.size(), 32u);
  EXPECT_TRUE(VerifyPassword("correct horse", *h));
  EXPECT_FALSE(VerifyPassword("correct horsf", *h));
  EXPECT_FALSE(VerifyPassword("", *h));
  PasswordHash cheap;  // RFC 7914 §11 has no SHA-256 PBKDF2 vector; check salting with few iterations
  cheap.iterations = 1;
  cheap.salt = "salt";
  cheap.hash = std::string(32, '\0');
  EXPECT_FALSE(VerifyPassword("password", cheap));
  PasswordHash broken = *h;
  broken.iterations = 0;
  EXPECT_FALSE(VerifyPassword("correct horse", broken));
}

TEST(Password, KnownVector) {
  // PBKDF2-HMAC-SHA256, P="password", S="salt", c=1, dkLen=32 (widely published vector).
  PasswordHash v;
  v.iterations = 1;
  v.salt = "salt";
  v.hash = *util::HexDecode("120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
  EXPECT_TRUE(VerifyPassword("password", v));
}

}  // namespace
}  // namespace mamute::mgmt
