// XXH3-128 for object integrity, through libxxhash's run-time dispatched entry points: the
// library picks AVX-512, AVX2 or SSE2 by CPUID once (Debian builds the plain XXH3_* functions
// for SSE2 only; the dispatched ones hash 1 MiB updates 2.5–3× faster on an AVX2 machine,
// docs/benchmarks.md). Same hashes by XXH3's specification; object_io_test checks both paths
// against each other on odd sizes and split updates.
#pragma once

#include <xxhash.h>

#include <cstddef>

#if defined(__x86_64__)
#define XXH_DISPATCH_DISABLE_REPLACE  // explicit calls below; no macro renaming of XXH3_*
#include <xxh_x86dispatch.h>
#endif

namespace mamute::store {

inline void Xxh3Update(XXH3_state_t* state, const void* data, std::size_t size) noexcept {
#if defined(__x86_64__)
  (void)XXH3_128bits_update_dispatch(state, data, size);
#else
  (void)XXH3_128bits_update(state, data, size);
#endif
}

inline XXH128_hash_t Xxh3Oneshot(const void* data, std::size_t size) noexcept {
#if defined(__x86_64__)
  return XXH3_128bits_dispatch(data, size);
#else
  return XXH3_128bits(data, size);
#endif
}

}  // namespace mamute::store
