// Constant-time comparison for MACs, signatures and secrets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mamute::auth {

/// True when a and b hold the same bytes. The time taken depends only on the
/// lengths, never on where the first difference is (CONVENTIONS habit 7).
bool CtEqual(const void* a, std::size_t a_len, const void* b, std::size_t b_len) noexcept;

inline bool CtEqual(std::string_view a, std::string_view b) noexcept {
  return CtEqual(a.data(), a.size(), b.data(), b.size());
}

}  // namespace mamute::auth
