// The JSON form of a bucket's CORS configuration (PUT/GET/DELETE
// /storage/object-storage/buckets/{id}/cors, docs/management-api.md): the same rules as S3's
// PutBucketCors, stored and validated by s3/cors.h.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "mamute/result.h"
#include "s3/cors.h"

namespace mamute::mgmt {

/// {"rules": [{"id", "allowed_origins", "allowed_methods", "allowed_headers", "expose_headers",
/// "max_age_seconds"}]}
nlohmann::json CorsToJson(const s3::CorsConfig& config);
/// InvalidArgument naming the member that is wrong; S3's rules are checked too (ValidateCors).
Result<s3::CorsConfig> CorsFromJson(const nlohmann::json& body);

}  // namespace mamute::mgmt
