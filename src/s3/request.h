// Classification of an S3 request (pure): path-style bucket/key, the query's
// sub-resources, and the operation (method × sub-resource table).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/request.h"

namespace mamute::s3 {

enum class S3Op : uint8_t {
  kListBuckets,
  kHeadBucket,
  kGetBucketLocation,
  kGetBucketVersioning,
  kListObjectVersions,  ///< GET /bucket?versions (buckets are unversioned: one "null" version each)
  kListObjectsV1,
  kListObjectsV2,
  kCreateBucket,
  kDeleteBucket,
  kPutObject,
  kGetObject,
  kHeadObject,
  kDeleteObject,
  kCopyObject,           ///< PUT with x-amz-copy-source
  kDeleteObjects,        ///< POST /bucket?delete
  kGetObjectTagging,     ///< GET ?tagging
  kPutObjectTagging,     ///< PUT ?tagging
  kDeleteObjectTagging,  ///< DELETE ?tagging
  kGetObjectAttributes,  ///< GET ?attributes
  // multipart (multipart.cc)
  kCreateMultipartUpload,
  kUploadPart,
  kCompleteMultipartUpload,
  kAbortMultipartUpload,
  kListParts,
  kListMultipartUploads,
  kOther,  ///< a valid S3 request this server does not implement (yet): 501
};
std::string_view S3OpName(S3Op op) noexcept;

/// Percent-decodes (no '+' → space: paths). nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view in);

/// A query parameter's value: '+' means space, then percent-decoding. nullopt on a
/// malformed escape.
std::optional<std::string> DecodeQueryValue(std::string_view raw);

/// Finds a query parameter by exact (raw) name. `present` tells a bare "?uploads" apart.
struct QueryValue {
  bool present = false;
  std::string_view raw;  ///< still percent-encoded
};
QueryValue FindQuery(std::string_view query, std::string_view name) noexcept;
/// The decoded value of query parameter `name` into *out (left alone when absent). False on a
/// malformed escape.
bool DecodedQuery(std::string_view query, std::string_view name, std::string* out);

struct Classified {
  S3Op op = S3Op::kOther;
  std::string bucket;  ///< empty for the service (ListBuckets)
  std::string key;     ///< decoded object key; empty for bucket requests
  bool bad_uri = false;
};
Classified Classify(const http::RequestHead& head);

}  // namespace mamute::s3
