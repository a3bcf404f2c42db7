// Classification of an S3 request (pure): path-style or virtual-host style bucket/key, the query's
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
  kGetBucketCors,        ///< GET /bucket?cors
  kPutBucketCors,        ///< PUT /bucket?cors
  kDeleteBucketCors,     ///< DELETE /bucket?cors
  // multipart (multipart.cc)
  kCreateMultipartUpload,
  kUploadPart,
  kUploadPartCopy,  ///< PUT ?partNumber&uploadId with x-amz-copy-source
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
/// The bucket named by a virtual-host style Host header ("bucket.<domain>[:port]", the domain
/// matched case-insensitively); empty when `domain` is empty (virtual hosts off) or the host is
/// not a subdomain of it (the domain itself: path style).
std::string_view VirtualHostBucket(std::string_view host, std::string_view domain) noexcept;
/// Bucket, key and operation. With `domain` set and a Host of "bucket.<domain>", the bucket is
/// the host's and the whole path is the key (virtual-host style); otherwise path style.
Classified Classify(const http::RequestHead& head, std::string_view domain = {});

}  // namespace mamute::s3
