// SecretBox: authenticated encryption of secrets at rest (S3 secret access keys) under the node
// master key. AES-256-GCM (NIST SP 800-38D) through OpenSSL EVP.
//
// Sealed format (version 1):  u8 version (1) ‖ 12-byte random nonce ‖ ciphertext ‖ 16-byte tag.
// The associated data (`aad`) binds a sealed value to its owner (the access key id): a value
// copied to another record fails to open. Random 96-bit nonces are safe for far more than the
// number of secrets one node seals (SP 800-38D §8.3 caps invocations at 2^32 per key).
//
// The master key: 32 bytes from MAMUTE_MASTER_KEY (64 hex chars) or <data-dir>/master.key
// (created with 32 random bytes, mode 0600, when missing; refused when group/other can access it).
// Neither the key nor any plaintext is ever logged.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mamute/result.h"
#include "mamute/status.h"

namespace mamute::auth {

inline constexpr std::size_t kMasterKeySize = 32;
inline constexpr std::size_t kSecretBoxNonceSize = 12;
inline constexpr std::size_t kSecretBoxTagSize = 16;
inline constexpr uint8_t kSecretBoxV1 = 1;
/// Bytes a sealed value adds to its plaintext: version + nonce + tag.
inline constexpr std::size_t kSecretBoxOverhead = 1 + kSecretBoxNonceSize + kSecretBoxTagSize;

class SecretBox {
 public:
  /// From raw key bytes; InvalidArgument unless exactly kMasterKeySize bytes.
  static Result<SecretBox> FromKey(std::string_view key);
  /// MAMUTE_MASTER_KEY (64 hex chars) when set, else <data_dir>/master.key: created (32 random
  /// bytes, 0600, fsynced) when missing; FailedPrecondition when its mode grants any group or
  /// other permission, or it is not a regular file of 32 bytes. Blocking: start-up only.
  static Result<SecretBox> Load(std::string_view data_dir);

  SecretBox(const SecretBox&) = default;
  SecretBox& operator=(const SecretBox&) = default;
  ~SecretBox();

  /// version ‖ nonce ‖ ciphertext ‖ tag. Internal only if OpenSSL fails (no randomness).
  Result<std::string> Seal(std::string_view plaintext, std::string_view aad) const;
  /// The plaintext; Corruption for a value too short, of an unknown version, or that fails
  /// authentication (wrong key, wrong aad, tampered bytes). The reason is not distinguished.
  Result<std::string> Open(std::string_view sealed, std::string_view aad) const;

 private:
  SecretBox() = default;
  std::array<unsigned char, kMasterKeySize> key_{};
};

}  // namespace mamute::auth
