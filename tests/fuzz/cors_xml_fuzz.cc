// libFuzzer target: the CORS configuration parser (PutBucketCors bodies and the stored form).
// Checks: no crash or sanitizer report; an accepted configuration validates, respects the
// limits, renders to XML that parses back to the same configuration, and its stored encoding
// decodes to it; matching never reads out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "s3/cors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace mamute::s3;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CorsFailure f{S3Error::kInternalError, {}};
  auto c = ParseCorsXml(in, &f);
  if (!c) {
    if (f.error != S3Error::kMalformedXML && f.error != S3Error::kInvalidRequest &&
        f.error != S3Error::kInvalidArgument) {
      std::abort();
    }
    return 0;
  }
  if (ValidateCors(*c).has_value() || c->rules.empty() || c->rules.size() > kMaxCorsRules) std::abort();
  auto again = ParseCorsXml(RenderCorsXml(*c), &f);
  if (!again || !(*again == *c)) std::abort();
  auto stored = DecodeCors(EncodeCors(*c));
  if (!stored || !(*stored == *c)) std::abort();
  for (const CorsRule& r : c->rules) {
    for (const std::string& o : r.allowed_origins) {
      // A rule's own literal origin (no wildcard) matches itself for its methods.
      const CorsRule* m = MatchCors(*c, o, r.allowed_methods.front());
      if (o.find('*') == std::string::npos && m == nullptr) std::abort();
      (void)MatchPreflight(*c, o, r.allowed_methods.front(), "x-amz-date, Content-Type,,");
      if (m != nullptr) (void)CorsResponseHeaders(*m, o, true, "a, b");
    }
  }
  return 0;
}
