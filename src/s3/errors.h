// S3 errors: the enum, HTTP status and Code come from errors.def (one table),
// and are rendered as AWS's XML in one place.
#pragma once

#include <string>
#include <string_view>

#include "mamute/status.h"

namespace mamute::s3 {

enum class S3Error : uint16_t {
#define S3_ERROR(name, status, code, message) name,
#include "s3/errors.def"
#undef S3_ERROR
};

int HttpStatus(S3Error e) noexcept;
std::string_view CodeString(S3Error e) noexcept;
std::string_view DefaultMessage(S3Error e) noexcept;

/// <?xml ...?><Error><Code/><Message/><Resource/><RequestId/></Error>; text is XML-escaped.
std::string RenderErrorXml(S3Error e, std::string_view message, std::string_view resource,
                           std::string_view request_id);

void AppendXmlEscaped(std::string* out, std::string_view s);

/// What the client is told when the store failed a write (a commit, a data file): every
/// handler answers the same failure the same way. `message` empty = the error's default.
struct StoreFailure {
  S3Error error;
  std::string_view message;
};
/// The bucket was deleted before the commit → NoSuchBucket; disk full → 507
/// InsufficientStorage; metadata store read-only after a disk error → 503 saying so; queue
/// full or stopping → 503; anything else → 500 InternalError.
StoreFailure FromStoreStatus(const Status& st) noexcept;

}  // namespace mamute::s3
