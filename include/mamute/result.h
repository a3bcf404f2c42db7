// Result<T>: a value or a Status, one alias over std::expected.
#pragma once

#include <expected>
#include <utility>

#include "mamute/status.h"

namespace mamute {

template <typename T>
using Result = std::expected<T, Status>;

/// Wrap a non-OK status as the error of a Result: `return Err(Status::NotFound("x"));`.
inline std::unexpected<Status> Err(Status s) { return std::unexpected<Status>(std::move(s)); }

}  // namespace mamute

/// Evaluate a Status expression; return it from the enclosing function if not OK.
#define MAMUTE_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::mamute::Status _st = (expr);            \
    if (!_st.ok()) return _st;                \
  } while (0)

/// Same for functions returning Result<T>: a non-OK Status becomes the error.
#define MAMUTE_RETURN_IF_ERROR_R(expr)                   \
  do {                                                   \
    ::mamute::Status _st = (expr);                       \
    if (!_st.ok()) return ::mamute::Err(std::move(_st)); \
  } while (0)
