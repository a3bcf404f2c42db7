// Status: the error vocabulary of mamute. The data path never throws; fallible
// functions return [[nodiscard]] Status or Result<T> (result.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace mamute {

/// Broad error classes. Modules map them to their protocol (S3 XML codes, JSON
/// errors, HTTP statuses) in one place each.
enum class Code : uint8_t {
  kOk = 0,
  kInvalidArgument,    ///< malformed input from a client or a caller
  kNotFound,           ///< the named thing does not exist
  kAlreadyExists,      ///< the named thing exists already
  kFailedPrecondition, ///< state does not allow the operation (e.g. bucket not empty)
  kPermissionDenied,   ///< a known identity without the right
  kUnauthenticated,    ///< missing or invalid credentials
  kResourceExhausted,  ///< a limit was hit (connections, memory, sizes)
  kNoSpace,            ///< ENOSPC / EDQUOT
  kIoError,            ///< an operating-system I/O error other than ENOSPC
  kCorruption,         ///< stored data failed an integrity check
  kTimeout,            ///< a deadline passed
  kCancelled,          ///< the operation was cancelled (shutdown, peer gone)
  kNotImplemented,     ///< not supported by this server
  kInternal,           ///< a bug or an impossible state
};

/// Human-readable name of a code, e.g. "IoError".
std::string_view CodeName(Code code) noexcept;

/// The result of a fallible operation: OK, or a code with an errno (0 when not
/// applicable) and a message. An OK status never allocates.
class [[nodiscard]] Status {
 public:
  Status() noexcept = default;

  static Status Ok() noexcept { return Status(); }
  static Status InvalidArgument(std::string_view msg) { return Status(Code::kInvalidArgument, 0, msg); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, 0, msg); }
  static Status AlreadyExists(std::string_view msg) { return Status(Code::kAlreadyExists, 0, msg); }
  static Status FailedPrecondition(std::string_view msg) {
    return Status(Code::kFailedPrecondition, 0, msg);
  }
  static Status PermissionDenied(std::string_view msg) { return Status(Code::kPermissionDenied, 0, msg); }
  static Status Unauthenticated(std::string_view msg) { return Status(Code::kUnauthenticated, 0, msg); }
  static Status ResourceExhausted(std::string_view msg) {
    return Status(Code::kResourceExhausted, 0, msg);
  }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, 0, msg); }
  static Status Timeout(std::string_view msg) { return Status(Code::kTimeout, 0, msg); }
  static Status Cancelled(std::string_view msg) { return Status(Code::kCancelled, 0, msg); }
  static Status NotImplemented(std::string_view msg) { return Status(Code::kNotImplemented, 0, msg); }
  static Status Internal(std::string_view msg) { return Status(Code::kInternal, 0, msg); }
  /// From an errno value (positive). ENOSPC and EDQUOT become kNoSpace.
  static Status FromErrno(int err, std::string_view what);
  /// Same as FromErrno; the name used at io_uring completion boundaries (res < 0 → -res).
  static Status IoError(int err, std::string_view what) { return FromErrno(err, what); }

  bool ok() const noexcept { return code_ == Code::kOk; }
  explicit operator bool() const noexcept { return ok(); }
  Code code() const noexcept { return code_; }
  int err() const noexcept { return errno_; }
  const std::string& message() const noexcept { return msg_; }
  /// "IoError: open data file: No such file or directory (errno 2)".
  std::string ToString() const;

  /// Explicit, greppable way to drop a status on purpose.
  void IgnoreError() const noexcept {}

 private:
  Status(Code code, int err, std::string_view msg) : code_(code), errno_(err), msg_(msg) {}

  Code code_ = Code::kOk;
  int errno_ = 0;
  std::string msg_;
};

}  // namespace mamute
