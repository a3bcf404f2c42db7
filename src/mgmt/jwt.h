// JSON Web Tokens for the management API's Bearer authentication: compact JWS (RFC 7515 §7.1)
// signed with Ed25519 (EdDSA, RFC 8037 §3.1), claims per RFC 7519 §4.1. Pure: no store, no ring,
// no log; the key material comes from the caller (mgmt/tokens.h seals it at rest).
//
// Verification pins everything (RFC 8725 §3.1, §3.2): the header must be exactly
// {"alg":"EdDSA","kid":<known>} with an optional "typ":"JWT" and nothing else, so "none", HS256
// keyed with the public key, RS256 and header-supplied keys (jwk, jku, x5u, crit…) are all refused
// before any cryptography runs. Segments are canonical base64url without padding; JSON objects
// with duplicate members are refused (RFC 7519 §4: "MUST either reject or use the last"; we
// reject). iss and aud must equal the expected values, exp/nbf/iat are integers and exp > now ≥ nbf.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mamute/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace mamute::mgmt {

/// Longest token Verify looks at; longer is refused before any decoding.
inline constexpr std::size_t kMaxJwtBytes = 4096;
inline constexpr std::size_t kEd25519KeySize = 32;
inline constexpr std::size_t kEd25519SigSize = 64;

/// An Ed25519 key pair (OpenSSL EVP). Copies share the key.
class Ed25519Key {
 public:
  static Result<Ed25519Key> Generate();
  /// From the 32-byte private seed (RFC 8032 §5.1.5).
  static Result<Ed25519Key> FromPrivate(std::string_view seed);
  /// Public half only (verifies, cannot sign).
  static Result<Ed25519Key> FromPublic(std::string_view pub);

  bool has_private() const noexcept { return has_private_; }
  /// The 32-byte seed; the caller cleanses it (OPENSSL_cleanse) after sealing.
  Result<std::string> PrivateSeed() const;
  const std::string& public_key() const noexcept { return public_; }
  /// RFC 7638 JWK thumbprint (SHA-256, base64url) of {"crv":"Ed25519","kty":"OKP","x":…}.
  std::string Thumbprint() const;

  Result<std::string> Sign(std::string_view msg) const;
  bool Verify(std::string_view msg, std::string_view sig) const;

 private:
  // Owns `raw` (a private key) and exports its public half.
  static Result<Ed25519Key> Wrap(EVP_PKEY* raw);

  std::shared_ptr<EVP_PKEY> pkey_;
  std::string public_;
  bool has_private_ = false;
};

struct JwtClaims {
  std::string iss;
  std::string aud;
  std::string sub;
  std::string jti;
  int64_t iat = 0;  ///< seconds since the epoch
  int64_t nbf = 0;
  int64_t exp = 0;
};

struct JwtVerifyOptions {
  std::string_view issuer;
  std::string_view audience;
  int64_t now_s = 0;
};

/// The node's signing keys: one active (signs), older ones retired (verify until their tokens
/// expire; the owner prunes them). Not thread-safe: the management shard owns it.
class JwtKeyring {
 public:
  struct Entry {
    std::string kid;
    Ed25519Key key;
    int64_t created_at_ms = 0;
    int64_t retired_at_ms = 0;  ///< 0 = the active key
  };

  /// Adds a key; a key with retired_at_ms == 0 becomes the active one (the previous active key
  /// keeps its own retired_at_ms as given by the caller).
  void Add(Entry e);
  /// Drops every key retired at or before `cutoff_ms`.
  void PruneRetiredBefore(int64_t cutoff_ms);
  const Entry* active() const noexcept;
  const Entry* Find(std::string_view kid) const noexcept;
  const std::vector<Entry>& entries() const noexcept { return entries_; }

  /// header.payload.signature with the active key; FailedPrecondition without one.
  Result<std::string> Sign(const JwtClaims& claims) const;
  /// The claims of a valid token; Unauthenticated (one message for every reason) otherwise.
  /// `why`, when given, receives a short reason for a debug log (never token bytes).
  Result<JwtClaims> Verify(std::string_view token, const JwtVerifyOptions& opt, std::string* why = nullptr) const;
  /// {"keys":[{"kty":"OKP","crv":"Ed25519","x","kid","alg":"EdDSA","use":"sig"}, …]} (RFC 8037 §2).
  nlohmann::json Jwks() const;

 private:
  std::vector<Entry> entries_;
};

/// Parses a JSON object, refusing duplicate member names at the top level and any non-object.
std::optional<nlohmann::json> ParseUniqueObject(std::string_view text);

}  // namespace mamute::mgmt
