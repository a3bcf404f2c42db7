// Credential material of the management API: random ids, project API keys (stored as SHA-256),
// admin passwords (PBKDF2-HMAC-SHA256), S3 access key ids and secrets. OpenSSL only; nothing
// here logs. docs/management-api.md, "Secrets".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mamute/result.h"

namespace mamute::mgmt {

/// PBKDF2 iterations for new password hashes: OWASP's 2023 figure for PBKDF2-HMAC-SHA256
/// (600 000; the brief's floor is 210 000). Stored per hash, so it can be raised later.
inline constexpr uint32_t kPbkdf2Iterations = 600000;
inline constexpr std::size_t kPasswordSaltSize = 16;
inline constexpr std::size_t kApiKeyRandomBytes = 32;

/// n bytes from OpenSSL's CSPRNG (RAND_bytes). Throws nothing; aborts never: on failure the
/// result is an Internal error.
Result<std::string> RandomBytes(std::size_t n);

/// A new project API key: "mk_" + base64url(32 random bytes), 46 characters.
Result<std::string> NewApiKey();
/// The stored id of an API key: lowercase hex SHA-256 of the key's bytes (the key is
/// high-entropy, so a plain hash suffices; no salt, no stretching).
std::string ApiKeyId(std::string_view api_key);
/// Raw SHA-256.
std::string Sha256(std::string_view data);

struct PasswordHash {
  uint32_t iterations = kPbkdf2Iterations;
  std::string salt;  ///< raw
  std::string hash;  ///< raw, 32 bytes
};
/// Hashes with a fresh random salt and kPbkdf2Iterations.
Result<PasswordHash> HashPassword(std::string_view password);
/// Recomputes with the stored salt and iterations and compares in constant time.
bool VerifyPassword(std::string_view password, const PasswordHash& stored);

/// A new S3 access key id: "MK" + 18 characters of [A-Z0-9] (20 in all), like AWS's AKIA… ids.
Result<std::string> NewAccessKeyId();
/// A new S3 secret access key: 40 characters of base64 (30 random bytes), like AWS's.
Result<std::string> NewSecretAccessKey();
/// Whether s has the shape of NewAccessKeyId().
bool IsAccessKeyIdShape(std::string_view s) noexcept;
/// A printable random password for the bootstrap admin: 24 characters of base64url.
Result<std::string> NewPassword();
/// A random u64 id (never 0).
Result<uint64_t> RandomU64();

}  // namespace mamute::mgmt
