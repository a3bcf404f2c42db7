#include "auth/ct_equal.h"

#include <openssl/crypto.h>

namespace mamute::auth {

bool CtEqual(const void* a, std::size_t a_len, const void* b, std::size_t b_len) noexcept {
  // Lengths of MACs and hex signatures are public; only the content is secret.
  if (a_len != b_len) return false;
  if (a_len == 0) return true;
  return CRYPTO_memcmp(a, b, a_len) == 0;
}

}  // namespace mamute::auth
