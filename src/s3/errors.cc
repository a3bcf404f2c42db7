#include "s3/errors.h"

#include "store/buckets.h"
#include "store/meta_db.h"

namespace mamute::s3 {
namespace {
struct Row {
  int status;
  std::string_view code;
  std::string_view message;
};
constexpr Row kRows[] = {
#define S3_ERROR(name, status, code, message) {status, code, message},
#include "s3/errors.def"
#undef S3_ERROR
};
}  // namespace

int HttpStatus(S3Error e) noexcept { return kRows[static_cast<std::size_t>(e)].status; }
std::string_view CodeString(S3Error e) noexcept { return kRows[static_cast<std::size_t>(e)].code; }
std::string_view DefaultMessage(S3Error e) noexcept { return kRows[static_cast<std::size_t>(e)].message; }

void AppendXmlEscaped(std::string* out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out->append("&amp;"); break;
      case '<': out->append("&lt;"); break;
      case '>': out->append("&gt;"); break;
      case '"': out->append("&quot;"); break;
      case '\'': out->append("&apos;"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          // Not representable in XML 1.0: escape as a character reference S3 clients accept.
          static constexpr char kHex[] = "0123456789ABCDEF";
          out->append("&#x");
          out->push_back(kHex[(c >> 4) & 15]);
          out->push_back(kHex[c & 15]);
          out->push_back(';');
        } else {
          out->push_back(c);
        }
    }
  }
}

std::string RenderErrorXml(S3Error e, std::string_view message, std::string_view resource,
                           std::string_view request_id) {
  std::string out;
  out.reserve(256 + message.size() + resource.size());
  out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
  out.append(CodeString(e));
  out.append("</Code><Message>");
  AppendXmlEscaped(&out, message.empty() ? DefaultMessage(e) : message);
  out.append("</Message>");
  if (!resource.empty()) {
    out.append("<Resource>");
    AppendXmlEscaped(&out, resource);
    out.append("</Resource>");
  }
  out.append("<RequestId>");
  out.append(request_id);
  out.append("</RequestId></Error>");
  return out;
}

StoreFailure FromStoreStatus(const Status& st) noexcept {
  switch (st.code()) {
    case Code::kNotFound:
      if (st.message() == store::kBucketDeleted) return {S3Error::kNoSuchBucket, {}};
      break;
    case Code::kNoSpace:
      return {S3Error::kInsufficientStorage, {}};
    case Code::kResourceExhausted:
      if (st.message().starts_with(store::kMetaReadOnly)) {
        return {S3Error::kServiceUnavailable,
                "The server cannot store data right now: its metadata store is read-only after a "
                "disk error. Please try again later."};
      }
      return {S3Error::kServiceUnavailable, {}};
    case Code::kCancelled:
      return {S3Error::kServiceUnavailable, {}};
    default:
      break;
  }
  return {S3Error::kInternalError, {}};
}

}  // namespace mamute::s3
