// User sessions of the management API (docs/management-api.md, "Bearer tokens"): password login,
// Ed25519-signed access tokens (mgmt/jwt.h), rotating opaque refresh tokens, signing-key rotation.
// Management shard only; every call is a blocking RocksDB read or a synced batch.
//
// mgmt CF records (values are EncodeMgmtValue JSON):
//   jwk\0<kid>              {kid, x, sealed, created_at_ms, retired_at_ms}: a signing key; the
//                           private seed sealed with the node SecretBox (aad "mamute-jwt-key:"+kid)
//   refresh\0<sha256 hex>   {sha256, user_id, family, created_at_ms, expires_at_ms, revoked}
//   refresh_family\0<id>    {user_id, current (sha256 hex), expires_at_ms, revoked}: one login
// A refresh token is "mrt_" + base64url(32 random bytes); only its SHA-256 is stored. Using one
// returns a new one and retires it; presenting a retired one revokes its whole family (reuse
// detection, RFC 9700 §4.14.2). Logout revokes the family.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/secret_box.h"
#include "mamute/result.h"
#include "mamute/status.h"
#include "mgmt/crypto.h"
#include "mgmt/jwt.h"
#include "mgmt/resources.h"
#include "store/node.h"

namespace mamute::mgmt {

inline constexpr std::string_view kJwtIssuer = "mamute";
inline constexpr std::string_view kJwtAudience = "mamute-management-api";
inline constexpr std::string_view kRefreshTokenPrefix = "mrt_";

struct TokenConfig {
  uint32_t access_ttl_s = 900;          ///< --jwt-access-ttl-s
  uint32_t refresh_ttl_s = 2592000;     ///< --jwt-refresh-ttl-s
  uint32_t key_max_age_s = 2592000;     ///< --jwt-key-max-age-s; 0 = rotate only on request
};

/// What login and refresh return.
struct Session {
  std::string access_token;
  std::string refresh_token;
  std::string user_id;
  uint32_t expires_in_s = 0;
  uint32_t refresh_expires_in_s = 0;
};

class TokenService {
 public:
  TokenService(store::NodeStore* node, const auth::SecretBox* box, TokenConfig cfg)
      : node_(node), box_(box), cfg_(cfg) {}

  /// Loads the signing keys (creating the first one), prunes retired keys whose tokens have all
  /// expired and deletes expired refresh records. Start-up only.
  Status Init(int64_t now_ms);

  /// Unauthenticated (one message) for an unknown email, a wrong password or a disabled user.
  /// PrepareLogin + VerifyPassword + CompleteLogin in one blocking call (tests, tools).
  Result<Session> Login(std::string_view email, std::string_view password, int64_t now_ms);

  /// What a login must check: the stored hash of the account's password, or — unknown email,
  /// disabled user — a dummy hash that costs the same to check and never matches, so timing
  /// does not tell which emails exist.
  struct LoginPlan {
    std::string user_id;  ///< empty: no such (enabled) user
    PasswordHash hash;
  };
  /// Step 1 (management shard): the lookup. Unauthenticated for an email or password that no
  /// account could have (empty, too long) — no hashing needed then.
  Result<LoginPlan> PrepareLogin(std::string_view email, std::string_view password) const;
  /// Step 3 (management shard), after VerifyPassword(password, plan.hash) ran elsewhere:
  /// issues the session, re-reading the user (disabled meanwhile: refused).
  Result<Session> CompleteLogin(const LoginPlan& plan, bool password_ok, int64_t now_ms);

  /// Deletes dead refresh-token records: every record of an expired or revoked session (family)
  /// and expired refresh records; a rotated record of a live session stays until it expires
  /// (reuse detection needs it). Visits at most `budget` records per call, resuming where the
  /// last call stopped (wrapping around). Returns how many records were deleted.
  Result<uint64_t> PruneSessions(int64_t now_ms, uint32_t budget);
  /// Unauthenticated for an unknown, expired, retired or revoked refresh token.
  Result<Session> Refresh(std::string_view refresh_token, int64_t now_ms);
  /// Revokes the token's family; an unknown token is not an error (RFC 7009 §2.2).
  Status Logout(std::string_view refresh_token);
  /// The user behind a valid access token; Unauthenticated for anything else, including a token
  /// of a user that no longer exists or is disabled.
  Result<Identity> AuthenticateBearer(std::string_view token, int64_t now_ms) const;

  /// A new active key; the previous one is retired and keeps verifying until its tokens expire.
  Result<std::string> RotateSigningKey(int64_t now_ms);
  nlohmann::json Jwks() const { return keys_.Jwks(); }
  const JwtKeyring& keyring() const noexcept { return keys_; }
  const TokenConfig& config() const noexcept { return cfg_; }

 private:
  struct User {
    std::string id;
    std::string project_id;
    bool admin = false;
  };
  /// The enabled user `id`; Unauthenticated when absent or disabled.
  Result<User> LoadUser(std::string_view id, nlohmann::json* record) const;
  Result<Session> Issue(const User& user, std::string_view family, store::MetaBatch* batch, int64_t now_ms);
  void PruneKeys(int64_t now_ms, store::MetaBatch* batch);

  store::NodeStore* node_;
  const auth::SecretBox* box_;
  TokenConfig cfg_;
  JwtKeyring keys_;
  PasswordHash dummy_hash_;  // random salt and hash: burns the same time for unknown emails
  std::string prune_cursor_;  // PruneSessions resumes after this mgmt key ("" = start)
};

}  // namespace mamute::mgmt
