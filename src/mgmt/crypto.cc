#include "mgmt/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/ct_equal.h"
#include "util/encoding.h"

namespace mamute::mgmt {

Result<std::string> RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return Err(Status::Internal("RAND_bytes failed"));
  }
  return out;
}

Result<std::string> NewApiKey() {
  auto raw = RandomBytes(kApiKeyRandomBytes);
  if (!raw) return Err(raw.error());
  std::string key = "mk_" + util::Base64UrlEncode(raw->data(), raw->size());
  OPENSSL_cleanse(raw->data(), raw->size());
  return key;
}

std::string Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string ApiKeyId(std::string_view api_key) {
  std::string d = Sha256(api_key);
  return util::HexEncode(d.data(), d.size());
}

namespace {
std::string Pbkdf2(std::string_view password, std::string_view salt, uint32_t iterations) {
  std::string out(32, '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                    static_cast<int>(iterations), EVP_sha256(), static_cast<int>(out.size()),
                    reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// Uniform choice from an alphabet by rejection sampling (no modulo bias).
Result<std::string> RandomFromAlphabet(std::string_view alphabet, std::size_t n) {
  std::string out;
  out.reserve(n);
  const unsigned limit = 256 - (256 % alphabet.size());
  while (out.size() < n) {
    auto raw = RandomBytes(n);
    if (!raw) return Err(raw.error());
    for (char c : *raw) {
      auto b = static_cast<unsigned char>(c);
      if (b < limit && out.size() < n) out.push_back(alphabet[b % alphabet.size()]);
    }
  }
  return out;
}
constexpr std::string_view kUpperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
}  // namespace

Result<PasswordHash> HashPassword(std::string_view password) {
  auto salt = RandomBytes(kPasswordSaltSize);
  if (!salt) return Err(salt.error());
  PasswordHash h;
  h.salt = std::move(*salt);
  h.hash = Pbkdf2(password, h.salt, h.iterations);
  return h;
}

bool VerifyPassword(std::string_view password, const PasswordHash& stored) {
  if (stored.iterations == 0 || stored.hash.size() != 32) return false;
  std::string h = Pbkdf2(password, stored.salt, stored.iterations);
  return auth::CtEqual(h, stored.hash);
}

Result<std::string> NewAccessKeyId() {
  auto rest = RandomFromAlphabet(kUpperDigits, 18);
  if (!rest) return Err(rest.error());
  return "MK" + *rest;
}

bool IsAccessKeyIdShape(std::string_view s) noexcept {
  if (s.size() != 20 || !s.starts_with("MK")) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

Result<std::string> NewSecretAccessKey() {
  auto raw = RandomBytes(30);
  if (!raw) return Err(raw.error());
  std::string s = util::Base64Encode(raw->data(), raw->size());
  OPENSSL_cleanse(raw->data(), raw->size());
  return s;
}

Result<std::string> NewPassword() {
  auto raw = RandomBytes(18);
  if (!raw) return Err(raw.error());
  std::string s = util::Base64UrlEncode(raw->data(), raw->size());
  OPENSSL_cleanse(raw->data(), raw->size());
  return s;
}

Result<uint64_t> RandomU64() {
  for (;;) {
    auto raw = RandomBytes(8);
    if (!raw) return Err(raw.error());
    uint64_t v = 0;
    for (char c : *raw) v = (v << 8) | static_cast<unsigned char>(c);
    if (v != 0) return v;
  }
}

}  // namespace mamute::mgmt
