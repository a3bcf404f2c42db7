#include "mamute/status.h"

#include <cerrno>
#include <cstring>

namespace mamute {

std::string_view CodeName(Code code) noexcept {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotFound: return "NotFound";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kFailedPrecondition: return "FailedPrecondition";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kUnauthenticated: return "Unauthenticated";
    case Code::kResourceExhausted: return "ResourceExhausted";
    case Code::kNoSpace: return "NoSpace";
    case Code::kIoError: return "IoError";
    case Code::kCorruption: return "Corruption";
    case Code::kTimeout: return "Timeout";
    case Code::kCancelled: return "Cancelled";
    case Code::kNotImplemented: return "NotImplemented";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

Status Status::FromErrno(int err, std::string_view what) {
  Code c = Code::kIoError;
  if (err == ENOSPC || err == EDQUOT) c = Code::kNoSpace;
  else if (err == ENOENT) c = Code::kNotFound;
  else if (err == EEXIST) c = Code::kAlreadyExists;
  else if (err == ECANCELED) c = Code::kCancelled;
  else if (err == ETIME || err == ETIMEDOUT) c = Code::kTimeout;
  else if (err == EACCES || err == EPERM) c = Code::kPermissionDenied;
  else if (err == EINVAL) c = Code::kInvalidArgument;
  return Status(c, err, what);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(CodeName(code_));
  if (!msg_.empty()) {
    s += ": ";
    s += msg_;
  }
  if (errno_ != 0) {
    s += ": ";
    s += std::strerror(errno_);
    s += " (errno ";
    s += std::to_string(errno_);
    s += ")";
  }
  return s;
}

}  // namespace mamute
