// mgmt/jwt: EdDSA compact JWS. Each rejection is a tagged regression test for the attack it closes
// (RFC 8725 §2: alg none, algorithm substitution HS256/RS256, key injection via the header, …).
#include "mgmt/jwt.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "util/encoding.h"

namespace mamute::mgmt {
namespace {

constexpr std::string_view kIss = "mamute";
constexpr std::string_view kAud = "mamute-management-api";
constexpr int64_t kNow = 1800000000;

std::string B64u(std::string_view s) { return util::Base64UrlEncode(s.data(), s.size()); }

JwtKeyring::Entry NewEntry(int64_t created_ms) {
  auto k = Ed25519Key::Generate();
  EXPECT_TRUE(k.has_value());
  std::string kid = k->Thumbprint();
  return {kid, std::move(*k), created_ms, 0};
}

JwtClaims Claims() {
  JwtClaims c;
  c.iss = kIss;
  c.aud = kAud;
  c.sub = "usr_0123456789abcdef";
  c.jti = "0f0e0d0c0b0a09080706050403020100";
  c.iat = kNow - 10;
  c.nbf = kNow - 10;
  c.exp = kNow + 890;
  return c;
}

JwtVerifyOptions Opts(int64_t now = kNow) { return {kIss, kAud, now}; }

std::string PayloadJson(const JwtClaims& c) {
  return nlohmann::json{{"iss", c.iss}, {"aud", c.aud}, {"sub", c.sub}, {"jti", c.jti},
                        {"iat", c.iat}, {"nbf", c.nbf}, {"exp", c.exp}}
      .dump();
}

// header.payload signed by `key` over exactly the given JSON texts.
std::string SignRaw(const Ed25519Key& key, std::string_view header, std::string_view payload) {
  std::string input = B64u(header) + "." + B64u(payload);
  auto sig = key.Sign(input);
  EXPECT_TRUE(sig.has_value());
  return input + "." + B64u(*sig);
}

std::string Hs256(std::string_view secret, std::string_view input) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ring_.Add(NewEntry(1000));
    key_ = &ring_.active()->key;
    kid_ = ring_.active()->kid;
    header_ = R"({"alg":"EdDSA","typ":"JWT","kid":")" + kid_ + "\"}";
  }
  bool Accepts(const std::string& token, int64_t now = kNow) { return ring_.Verify(token, Opts(now)).has_value(); }

  JwtKeyring ring_;
  const Ed25519Key* key_ = nullptr;
  std::string kid_;
  std::string header_;
};

TEST_F(JwtTest, RoundTrip) {
  auto t = ring_.Sign(Claims());
  ASSERT_TRUE(t.has_value());
  auto c = ring_.Verify(*t, Opts());
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(c->sub, Claims().sub);
  EXPECT_EQ(c->jti, Claims().jti);
  EXPECT_EQ(c->exp, Claims().exp);
  EXPECT_EQ(c->iss, kIss);
  // The header we emit is exactly alg/typ/kid.
  auto header = util::Base64UrlDecode(t->substr(0, t->find('.')));
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(nlohmann::json::parse(*header), nlohmann::json::parse(header_));
  // An aud array naming us is accepted too (RFC 7519 §4.1.3).
  nlohmann::json p = nlohmann::json::parse(PayloadJson(Claims()));
  p["aud"] = {"someone-else", kAud};
  EXPECT_TRUE(Accepts(SignRaw(*key_, header_, p.dump())));
  // typ is optional.
  EXPECT_TRUE(Accepts(SignRaw(*key_, R"({"alg":"EdDSA","kid":")" + kid_ + "\"}", PayloadJson(Claims()))));
}

// RFC 8037 Appendix A: the Ed25519 key, its JWK thumbprint (A.3) and the JWS signature (A.4).
TEST(Ed25519, Rfc8037Vectors) {
  auto d = util::Base64UrlDecode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
  ASSERT_TRUE(d.has_value());
  auto k = Ed25519Key::FromPrivate(*d);
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(B64u(k->public_key()), "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  EXPECT_EQ(k->Thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  auto sig = k->Sign("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc");
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(B64u(*sig),
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
  auto pub = Ed25519Key::FromPublic(k->public_key());
  ASSERT_TRUE(pub.has_value());
  EXPECT_FALSE(pub->has_private());
  EXPECT_TRUE(pub->Verify("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc", *sig));
  EXPECT_FALSE(pub->Sign("x").has_value());
  EXPECT_FALSE(Ed25519Key::FromPrivate("short").has_value());
}

TEST_F(JwtTest, RejectsForgedAndMalformedTokens) {
  const std::string payload = PayloadJson(Claims());
  const std::string good = SignRaw(*key_, header_, payload);
  ASSERT_TRUE(Accepts(good));
  const std::string input = B64u(header_) + "." + B64u(payload);
  const std::string sig = good.substr(good.rfind('.') + 1);
  const std::string x = B64u(key_->public_key());
  const std::string jwk = R"({"crv":"Ed25519","kty":"OKP","x":")" + x + "\"}";

  auto other = Ed25519Key::Generate();
  ASSERT_TRUE(other.has_value());

  struct Case {
    const char* tag;
    std::string token;
  };
  std::vector<Case> cases;
  // [alg-none] RFC 8725 §2.1: unsigned tokens, with and without a signature segment.
  for (const std::string& h : std::vector<std::string>{R"({"alg":"none"})", R"({"alg":"none","kid":")" + kid_ + "\"}",
                                                       R"({"alg":"None","kid":")" + kid_ + "\"}"}) {
    cases.push_back({"alg-none", B64u(h) + "." + B64u(payload) + "."});
    cases.push_back({"alg-none-sig", B64u(h) + "." + B64u(payload) + "." + sig});
  }
  // [hs-confusion] RFC 8725 §2.1: HS256 keyed with the public key in every form a library might use.
  const std::string hs_header = R"({"alg":"HS256","typ":"JWT","kid":")" + kid_ + "\"}";
  const std::string hs_input = B64u(hs_header) + "." + B64u(payload);
  for (const std::string& secret : {key_->public_key(), x, jwk}) {
    cases.push_back({"hs-confusion", hs_input + "." + B64u(Hs256(secret, hs_input))});
  }
  // [rs256] another algorithm family with a signature of its shape.
  cases.push_back({"rs256", B64u(R"({"alg":"RS256","kid":")" + kid_ + "\"}") + "." + B64u(payload) + "." +
                                B64u(std::string(256, '\x5a'))});
  cases.push_back({"es256", B64u(R"({"alg":"ES256","kid":")" + kid_ + "\"}") + "." + B64u(payload) + "." + sig});
  // [alg-case] a validly signed token whose alg differs in case.
  cases.push_back({"alg-case", SignRaw(*key_, R"({"alg":"eddsa","kid":")" + kid_ + "\"}", payload)});
  // [kid] unknown or missing kid, or a kid of another type, even with a valid signature by that key.
  cases.push_back({"unknown-kid", SignRaw(*other, R"({"alg":"EdDSA","kid":")" + other->Thumbprint() + "\"}", payload)});
  cases.push_back({"no-kid", SignRaw(*key_, R"({"alg":"EdDSA"})", payload)});
  cases.push_back({"kid-number", SignRaw(*key_, R"({"alg":"EdDSA","kid":7})", payload)});
  // [key-injection] RFC 8725 §3.10: header-supplied keys and extensions are refused.
  cases.push_back({"jwk-header", SignRaw(*other, R"({"alg":"EdDSA","kid":")" + kid_ + R"(","jwk":)" +
                                                  R"({"kty":"OKP","crv":"Ed25519","x":")" +
                                                  B64u(other->public_key()) + "\"}}",
                                         payload)});
  cases.push_back({"jku-header", SignRaw(*key_, R"({"alg":"EdDSA","kid":")" + kid_ + R"(","jku":"http://x/"})", payload)});
  cases.push_back({"crit-header", SignRaw(*key_, R"({"alg":"EdDSA","kid":")" + kid_ + R"(","crit":["exp"]})", payload)});
  cases.push_back({"typ-other", SignRaw(*key_, R"({"alg":"EdDSA","typ":"at+jwt","kid":")" + kid_ + "\"}", payload)});
  // [duplicate] duplicate members: the last would win in a lenient parser.
  cases.push_back({"dup-alg", SignRaw(*key_, R"({"alg":"none","alg":"EdDSA","kid":")" + kid_ + "\"}", payload)});
  {
    std::string dup = payload;
    dup.insert(1, R"("sub":"usr_admin",)");
    cases.push_back({"dup-claim", SignRaw(*key_, header_, dup)});
  }
  // [signature] a flipped bit, another key's signature, a truncated signature.
  {
    std::string bad = *util::Base64UrlDecode(sig);
    bad[10] ^= 1;
    cases.push_back({"bad-signature", input + "." + B64u(bad)});
    cases.push_back({"short-signature", input + "." + B64u(bad.substr(0, 63))});
    cases.push_back({"other-key", input + "." + B64u(*other->Sign(input))});
  }
  // [tamper] payload changed after signing.
  {
    JwtClaims t = Claims();
    t.sub = "usr_someone_else";
    cases.push_back({"tampered-payload", B64u(header_) + "." + B64u(PayloadJson(t)) + "." + sig});
  }
  // [claims] validly signed, wrong claims.
  auto with = [&](auto edit) {
    JwtClaims c = Claims();
    edit(c);
    return SignRaw(*key_, header_, PayloadJson(c));
  };
  cases.push_back({"exp-past", with([](JwtClaims& c) { c.exp = kNow; })});
  cases.push_back({"nbf-future", with([](JwtClaims& c) { c.nbf = kNow + 1; })});
  cases.push_back({"wrong-iss", with([](JwtClaims& c) { c.iss = "evil"; })});
  cases.push_back({"wrong-aud", with([](JwtClaims& c) { c.aud = "another-api"; })});
  cases.push_back({"empty-sub", with([](JwtClaims& c) { c.sub = ""; })});
  {
    nlohmann::json p = nlohmann::json::parse(payload);
    p["exp"] = std::to_string(kNow + 100);  // a string, not a NumericDate
    cases.push_back({"exp-string", SignRaw(*key_, header_, p.dump())});
    p = nlohmann::json::parse(payload);
    p["exp"] = static_cast<double>(kNow + 100) + 0.5;
    cases.push_back({"exp-float", SignRaw(*key_, header_, p.dump())});
    p = nlohmann::json::parse(payload);
    p.erase("exp");
    cases.push_back({"no-exp", SignRaw(*key_, header_, p.dump())});
    p = nlohmann::json::parse(payload);
    p["aud"] = nlohmann::json::array({"another-api"});
    cases.push_back({"aud-array-without-us", SignRaw(*key_, header_, p.dump())});
  }
  // [malformed] segments, base64url, JSON.
  cases.push_back({"empty", ""});
  cases.push_back({"two-segments", input});
  cases.push_back({"four-segments", good + "." + sig});
  cases.push_back({"empty-header", "." + B64u(payload) + "." + sig});
  cases.push_back({"padding", B64u(header_) + "=." + B64u(payload) + "." + sig});
  cases.push_back({"std-alphabet", input + "." + util::Base64Encode(util::Base64UrlDecode(sig)->data(), 64)});
  cases.push_back({"whitespace", " " + good});
  {
    // Non-canonical base64url: the last character of the 64-byte signature carries 4 unused bits.
    std::string nc = good;
    char& last = nc.back();
    last = last == 'A' ? 'B' : static_cast<char>(last ^ 1);
    cases.push_back({"non-canonical-b64", nc});
  }
  cases.push_back({"header-not-json", SignRaw(*key_, "{alg:EdDSA}", payload)});
  cases.push_back({"header-array", SignRaw(*key_, "[\"EdDSA\"]", payload)});
  cases.push_back({"payload-not-json", SignRaw(*key_, header_, "{\"sub\":")});
  cases.push_back({"payload-array", SignRaw(*key_, header_, "[1]")});
  // [size] a huge token is refused before decoding.
  cases.push_back({"huge", SignRaw(*key_, header_, payload.substr(0, payload.size() - 1) + R"(,"pad":")" +
                                                       std::string(kMaxJwtBytes, 'a') + "\"}")});

  for (const auto& c : cases) {
    std::string why;
    auto r = ring_.Verify(c.token, Opts(), &why);
    EXPECT_FALSE(r.has_value()) << "[" << c.tag << "] accepted";
    if (!r) {
      EXPECT_EQ(r.error().code(), Code::kUnauthenticated) << c.tag;
      EXPECT_FALSE(why.empty()) << c.tag;
      // The reason never contains token bytes.
      EXPECT_EQ(why.find(kid_), std::string::npos) << c.tag;
    }
  }
  // The controls: the unedited token and the boundary instants are accepted.
  EXPECT_TRUE(Accepts(good, Claims().nbf));
  EXPECT_TRUE(Accepts(good, Claims().exp - 1));
  EXPECT_FALSE(Accepts(good, Claims().exp));
  EXPECT_FALSE(Accepts(good, Claims().nbf - 1));
}

TEST_F(JwtTest, RotationKeepsUnexpiredTokensValid) {
  auto old_token = ring_.Sign(Claims());
  ASSERT_TRUE(old_token.has_value());
  const std::string old_kid = kid_;
  // Rotate: the old key is retired, a new one signs.
  JwtKeyring::Entry retired = *ring_.Find(old_kid);
  retired.retired_at_ms = 5000;
  ring_.Add(std::move(retired));
  ring_.Add(NewEntry(5000));
  ASSERT_NE(ring_.active()->kid, old_kid);
  auto new_token = ring_.Sign(Claims());
  ASSERT_TRUE(new_token.has_value());
  EXPECT_TRUE(Accepts(*old_token)) << "a token of the retired key must verify until it expires";
  EXPECT_TRUE(Accepts(*new_token));
  auto header = nlohmann::json::parse(*util::Base64UrlDecode(new_token->substr(0, new_token->find('.'))));
  EXPECT_EQ(header["kid"], ring_.active()->kid);
  // Both public keys are published, each with its thumbprint as kid.
  nlohmann::json jwks = ring_.Jwks();
  ASSERT_EQ(jwks["keys"].size(), 2u);
  for (const auto& k : jwks["keys"]) {
    EXPECT_EQ(k["kty"], "OKP");
    EXPECT_EQ(k["crv"], "Ed25519");
    EXPECT_EQ(k["alg"], "EdDSA");
    EXPECT_FALSE(k.contains("d")) << "private key material in JWKS";
    auto pub = Ed25519Key::FromPublic(*util::Base64UrlDecode(k["x"].get<std::string>()));
    ASSERT_TRUE(pub.has_value());
    EXPECT_EQ(pub->Thumbprint(), k["kid"]);
  }
  // Pruned once its tokens have expired: the old token no longer verifies, the new one does.
  ring_.PruneRetiredBefore(5000);
  EXPECT_EQ(ring_.Find(old_kid), nullptr);
  EXPECT_FALSE(Accepts(*old_token));
  EXPECT_TRUE(Accepts(*new_token));
}

TEST(ParseUniqueObject, RefusesDuplicatesAndNonObjects) {
  EXPECT_TRUE(ParseUniqueObject(R"({"a":1,"b":{"a":2,"a":3}})").has_value());  // nested: not ours to judge
  EXPECT_FALSE(ParseUniqueObject(R"({"a":1,"a":1})").has_value());
  EXPECT_FALSE(ParseUniqueObject("[]").has_value());
  EXPECT_FALSE(ParseUniqueObject("1").has_value());
  EXPECT_FALSE(ParseUniqueObject("{").has_value());
  EXPECT_FALSE(ParseUniqueObject("").has_value());
}

}  // namespace
}  // namespace mamute::mgmt
