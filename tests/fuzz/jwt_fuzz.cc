// libFuzzer target: the JWT parser and verifier of the management API (mgmt::JwtKeyring::Verify,
// mgmt::ParseUniqueObject) on client-controlled tokens.
// Checks: no crash; a token that verifies carries fresh claims for our issuer and audience;
// every refusal has a reason; claims given as JSON sign into a token that verifies, and a
// one-byte change of that token is refused. The seeds (tests/fuzz/corpora/jwt_fuzz) are tokens
// of the fuzzer's fixed keys, valid at kNow, and the classic attacks (alg=none, HS256 keyed
// with the public key, an unknown kid, extra header members, expired).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mgmt/jwt.h"

using namespace mamute;

namespace {

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z: the seeds' tokens are valid then

const mgmt::JwtKeyring& Keyring() {
  static const mgmt::JwtKeyring ring = [] {
    mgmt::JwtKeyring r;
    // Fixed seeds: the checked-in corpus holds tokens these keys signed.
    auto active = mgmt::Ed25519Key::FromPrivate(std::string(32, '\x01'));
    auto retired = mgmt::Ed25519Key::FromPrivate(std::string(32, '\x02'));
    if (!active || !retired) std::abort();
    r.Add({retired->Thumbprint(), *retired, 1, 2});
    r.Add({active->Thumbprint(), *active, 2, 0});
    return r;
  }();
  return ring;
}

const mgmt::JwtVerifyOptions kOpts{"mamute", "mamute-management-api", kNow};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const mgmt::JwtKeyring& ring = Keyring();

  // 1. The input as a token.
  std::string why;
  auto claims = ring.Verify(in, kOpts, &why);
  if (claims) {
    // What passed must be a token the keyring itself would accept as fresh and ours.
    if (claims->exp <= kNow || claims->nbf > kNow || claims->iss != "mamute" ||
        claims->aud != "mamute-management-api") {
      std::abort();
    }
    if (in.size() > mgmt::kMaxJwtBytes) std::abort();
  } else if (why.empty()) {
    std::abort();  // every refusal names its reason for the debug log
  }

  // 2. The input as claims: they sign, verify, and resist a one-byte change.
  if (auto j = mgmt::ParseUniqueObject(in)) {
    mgmt::JwtClaims c;
    c.iss = "mamute";
    c.aud = "mamute-management-api";
    c.sub = "usr_fuzz";  // Verify refuses an empty sub or jti: the JSON may override them with non-empty ones
    c.jti = "jti_fuzz";
    if (auto s = j->find("sub"); s != j->end() && s->is_string() && !s->get_ref<const std::string&>().empty()) c.sub = s->get<std::string>();
    if (auto s = j->find("jti"); s != j->end() && s->is_string() && !s->get_ref<const std::string&>().empty()) c.jti = s->get<std::string>();
    c.iat = kNow - 1;
    c.nbf = kNow - 1;
    c.exp = kNow + 60;
    auto token = ring.Sign(c);
    if (!token) std::abort();
    auto back = ring.Verify(*token, kOpts);
    if (token->size() <= mgmt::kMaxJwtBytes) {
      if (!back || back->sub != c.sub || back->jti != c.jti) std::abort();
      std::string bad = *token;
      std::size_t at = (size * 7919) % bad.size();
      bad[at] = bad[at] == 'A' ? 'B' : 'A';
      if (ring.Verify(bad, kOpts)) std::abort();
    }
  }
  return 0;
}
