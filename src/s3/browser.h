// What browsers reach without an SDK: CORS preflights (OPTIONS, unauthenticated), the
// Access-Control-* headers of actual requests, and POST policy form uploads (post_object.cc).
#pragma once

#include <string>
#include <string_view>

#include "http/router.h"
#include "s3/errors.h"

namespace mamute::s3 {

class S3Service;

/// With an Origin header and a bucket whose CORS configuration has a rule for it (and the
/// request's method): the rule's Access-Control-* headers go on whatever response follows,
/// errors included.
void ApplyCorsHeaders(S3Service& svc, http::Exchange& ex, std::string_view bucket);

/// An S3 error XML answer outside S3Handler (preflight, POST uploads).
void RespondS3Error(http::Exchange& ex, S3Error e, std::string_view message = {});

/// OPTIONS /bucket[/key]: answered from the bucket's CORS configuration.
http::Handler* MakePreflightHandler(http::Exchange& ex, S3Service* svc);
/// POST /bucket with a multipart/form-data body (`boundary` from its Content-Type).
http::Handler* MakePostObjectHandler(http::Exchange& ex, S3Service* svc, std::string boundary);

}  // namespace mamute::s3
