#include "mgmt/jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <set>

#include "mgmt/crypto.h"
#include "util/encoding.h"

namespace mamute::mgmt {
namespace {

constexpr std::string_view kAlg = "EdDSA";

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

std::string B64u(std::string_view s) { return util::Base64UrlEncode(s.data(), s.size()); }

// Strict base64url: the alphabet only (no padding), canonical (the decoder refuses non-zero
// leftover bits), non-empty.
std::optional<std::string> DecodeSegment(std::string_view seg) {
  if (seg.empty()) return std::nullopt;
  for (char c : seg) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return std::nullopt;
  }
  return util::Base64UrlDecode(seg);
}

bool IntClaim(const nlohmann::json& j, const char* name, int64_t* out) {
  auto it = j.find(name);
  if (it == j.end() || !(it->is_number_integer() || it->is_number_unsigned())) return false;
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return false;
  *out = it->get<int64_t>();
  return true;
}

bool StringClaim(const nlohmann::json& j, const char* name, std::string* out) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return !out->empty();
}

Result<JwtClaims> Reject(std::string* why, const char* reason) {
  if (why != nullptr) *why = reason;
  return Err(Status::Unauthenticated("invalid or expired token"));
}

}  // namespace

// ---------------------------------------------------------------- Ed25519Key

Result<Ed25519Key> Ed25519Key::Wrap(EVP_PKEY* raw) {
  Ed25519Key k;
  k.pkey_.reset(raw, PkeyFree());
  k.has_private_ = true;
  k.public_.assign(kEd25519KeySize, '\0');
  std::size_t len = kEd25519KeySize;
  if (EVP_PKEY_get_raw_public_key(raw, reinterpret_cast<unsigned char*>(k.public_.data()), &len) != 1 ||
      len != kEd25519KeySize) {
    return Err(Status::Internal("Ed25519 public key export failed"));
  }
  return k;
}

Result<Ed25519Key> Ed25519Key::Generate() {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (raw == nullptr) return Err(Status::Internal("Ed25519 key generation failed"));
  return Wrap(raw);
}

Result<Ed25519Key> Ed25519Key::FromPrivate(std::string_view seed) {
  if (seed.size() != kEd25519KeySize) return Err(Status::InvalidArgument("an Ed25519 seed is 32 bytes"));
  EVP_PKEY* raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                               reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  if (raw == nullptr) return Err(Status::Internal("Ed25519 private key import failed"));
  return Wrap(raw);
}

Result<Ed25519Key> Ed25519Key::FromPublic(std::string_view pub) {
  if (pub.size() != kEd25519KeySize) return Err(Status::InvalidArgument("an Ed25519 public key is 32 bytes"));
  EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                              reinterpret_cast<const unsigned char*>(pub.data()), pub.size());
  if (raw == nullptr) return Err(Status::InvalidArgument("not an Ed25519 public key"));
  Ed25519Key k;
  k.pkey_.reset(raw, PkeyFree());
  k.public_ = std::string(pub);
  return k;
}

Result<std::string> Ed25519Key::PrivateSeed() const {
  if (!has_private_) return Err(Status::FailedPrecondition("public key only"));
  std::string seed(kEd25519KeySize, '\0');
  std::size_t len = seed.size();
  if (EVP_PKEY_get_raw_private_key(pkey_.get(), reinterpret_cast<unsigned char*>(seed.data()), &len) != 1 ||
      len != kEd25519KeySize) {
    OPENSSL_cleanse(seed.data(), seed.size());
    return Err(Status::Internal("Ed25519 private key export failed"));
  }
  return seed;
}

std::string Ed25519Key::Thumbprint() const {
  // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
  std::string canonical = R"({"crv":"Ed25519","kty":"OKP","x":")" + B64u(public_) + "\"}";
  return B64u(Sha256(canonical));
}

Result<std::string> Ed25519Key::Sign(std::string_view msg) const {
  if (!has_private_) return Err(Status::FailedPrecondition("public key only"));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::string sig(kEd25519SigSize, '\0');
  std::size_t len = sig.size();
  // Ed25519 is a one-shot signature over the message (RFC 8032 §5.1.6): no digest (NULL md).
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) != 1 ||
      len != kEd25519SigSize) {
    return Err(Status::Internal("Ed25519 signing failed"));
  }
  return sig;
}

bool Ed25519Key::Verify(std::string_view msg, std::string_view sig) const {
  if (!pkey_ || sig.size() != kEd25519SigSize) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1;
}

// ---------------------------------------------------------------- JSON

std::optional<nlohmann::json> ParseUniqueObject(std::string_view text) {
  std::set<std::string> seen;
  bool duplicate = false;
  auto cb = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1) {
      if (!seen.insert(parsed.get<std::string>()).second) duplicate = true;
    }
    return true;
  };
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), cb, false);
  if (j.is_discarded() || !j.is_object() || duplicate) return std::nullopt;
  return j;
}

// ---------------------------------------------------------------- JwtKeyring

void JwtKeyring::Add(Entry e) {
  for (auto& x : entries_) {
    if (x.kid == e.kid) {
      x = std::move(e);
      return;
    }
  }
  entries_.push_back(std::move(e));
}

void JwtKeyring::PruneRetiredBefore(int64_t cutoff_ms) {
  std::erase_if(entries_, [&](const Entry& e) { return e.retired_at_ms != 0 && e.retired_at_ms <= cutoff_ms; });
}

const JwtKeyring::Entry* JwtKeyring::active() const noexcept {
  // The newest unretired key (there is one after a rotation commits; two only transiently).
  const Entry* best = nullptr;
  for (const auto& e : entries_) {
    if (e.retired_at_ms == 0 && e.key.has_private() && (best == nullptr || e.created_at_ms > best->created_at_ms)) {
      best = &e;
    }
  }
  return best;
}

const JwtKeyring::Entry* JwtKeyring::Find(std::string_view kid) const noexcept {
  for (const auto& e : entries_) {
    if (e.kid == kid) return &e;
  }
  return nullptr;
}

Result<std::string> JwtKeyring::Sign(const JwtClaims& c) const {
  const Entry* k = active();
  if (k == nullptr) return Err(Status::FailedPrecondition("no active signing key"));
  nlohmann::json header = {{"alg", kAlg}, {"typ", "JWT"}, {"kid", k->kid}};
  nlohmann::json payload = {{"iss", c.iss}, {"aud", c.aud}, {"sub", c.sub}, {"jti", c.jti},
                            {"iat", c.iat}, {"nbf", c.nbf}, {"exp", c.exp}};
  std::string input = B64u(header.dump()) + "." + B64u(payload.dump());
  auto sig = k->key.Sign(input);
  if (!sig) return Err(sig.error());
  input += '.';
  input += B64u(*sig);
  return input;
}

Result<JwtClaims> JwtKeyring::Verify(std::string_view token, const JwtVerifyOptions& opt, std::string* why) const {
  if (token.size() > kMaxJwtBytes) return Reject(why, "token too long");
  // RFC 7515 §7.1: exactly three segments.
  const std::size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return Reject(why, "not three segments");
  const std::size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return Reject(why, "not three segments");
  }
  auto header_raw = DecodeSegment(token.substr(0, d1));
  auto payload_raw = DecodeSegment(token.substr(d1 + 1, d2 - d1 - 1));
  auto sig = DecodeSegment(token.substr(d2 + 1));
  if (!header_raw || !payload_raw || !sig) return Reject(why, "bad base64url");

  // The header, pinned (RFC 8725 §3.1): alg from the token never selects the algorithm.
  auto header = ParseUniqueObject(*header_raw);
  if (!header) return Reject(why, "header is not a JSON object");
  for (auto it = header->begin(); it != header->end(); ++it) {
    if (it.key() != "alg" && it.key() != "kid" && it.key() != "typ") return Reject(why, "unexpected header member");
  }
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || alg->get_ref<const std::string&>() != kAlg) {
    return Reject(why, "alg is not EdDSA");
  }
  if (auto typ = header->find("typ"); typ != header->end() && (!typ->is_string() || *typ != "JWT")) {
    return Reject(why, "typ is not JWT");
  }
  auto kid = header->find("kid");
  if (kid == header->end() || !kid->is_string()) return Reject(why, "no kid");
  const Entry* k = Find(kid->get_ref<const std::string&>());
  if (k == nullptr) return Reject(why, "unknown kid");
  if (sig->size() != kEd25519SigSize) return Reject(why, "bad signature length");
  if (!k->key.Verify(token.substr(0, d2), *sig)) return Reject(why, "bad signature");

  // Claims (RFC 7519 §4.1), only after the signature holds.
  auto payload = ParseUniqueObject(*payload_raw);
  if (!payload) return Reject(why, "payload is not a JSON object");
  JwtClaims c;
  if (!StringClaim(*payload, "iss", &c.iss) || !StringClaim(*payload, "sub", &c.sub) ||
      !StringClaim(*payload, "jti", &c.jti)) {
    return Reject(why, "missing iss, sub or jti");
  }
  if (!IntClaim(*payload, "exp", &c.exp) || !IntClaim(*payload, "nbf", &c.nbf) ||
      !IntClaim(*payload, "iat", &c.iat)) {
    return Reject(why, "missing or non-integer exp, nbf or iat");
  }
  if (c.iss != opt.issuer) return Reject(why, "wrong iss");
  // aud: a string, or an array of strings, that names us (RFC 7519 §4.1.3).
  auto aud = payload->find("aud");
  bool aud_ok = false;
  if (aud != payload->end() && aud->is_string()) {
    aud_ok = *aud == opt.audience;
  } else if (aud != payload->end() && aud->is_array()) {
    for (const auto& a : *aud) aud_ok = aud_ok || (a.is_string() && a == opt.audience);
  }
  if (!aud_ok) return Reject(why, "wrong aud");
  c.aud = std::string(opt.audience);
  // The issuer and the verifier share one clock (this node): no leeway.
  if (opt.now_s >= c.exp) return Reject(why, "expired");
  if (opt.now_s < c.nbf) return Reject(why, "not yet valid");
  return c;
}

nlohmann::json JwtKeyring::Jwks() const {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& e : entries_) {
    keys.push_back({{"kty", "OKP"},
                    {"crv", "Ed25519"},
                    {"x", B64u(e.key.public_key())},
                    {"kid", e.kid},
                    {"alg", kAlg},
                    {"use", "sig"}});
  }
  return {{"keys", std::move(keys)}};
}

}  // namespace mamute::mgmt
