// Pure parsers for the request parts of CopyObject, DeleteObjects, object tagging and
// GetObjectAttributes (no ring, no store): unit-tested and fuzzable on their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "s3/checksum.h"
#include "s3/errors.h"
#include "store/records.h"

namespace mamute::s3 {

/// An S3 error to answer, with its message.
struct S3Fail {
  S3Error error = S3Error::kInvalidRequest;
  std::string message;
};

/// Checksum algorithm names between s3/ and the store's records (object_ops.cc).
store::ChecksumAlgorithm ToStore(ChecksumAlgo a);
ChecksumAlgo FromStore(store::ChecksumAlgorithm a);

/// If-Match / If-None-Match lists: "*" or comma-separated (quoted, W/) ETags, against an
/// ETag's hex (unquoted).
bool EtagListMatches(std::string_view list, std::string_view etag_hex);

// ---------------------------------------------------------------- tagging

/// AWS limits for object tags.
inline constexpr std::size_t kMaxObjectTags = 10;
inline constexpr std::size_t kMaxTagKeyChars = 128;
inline constexpr std::size_t kMaxTagValueChars = 256;

using TagSet = std::vector<std::pair<std::string, std::string>>;

/// x-amz-tagging: a URL query ("k1=v1&k2=v2", '+' is a space). Validates as ValidateTags.
std::optional<S3Fail> ParseTaggingHeader(std::string_view value, TagSet* out);
/// <Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>. MalformedXML for a wrong
/// shape; then ValidateTags.
std::optional<S3Fail> ParseTaggingXml(std::string_view body, TagSet* out);
/// ≤ 10 tags, unique keys, key 1..128 and value ≤ 256 Unicode characters, no "aws:" keys:
/// InvalidTag otherwise.
std::optional<S3Fail> ValidateTags(const TagSet& tags);
/// The x-amz-tagging header form of `tags` (for tests and round trips).
std::string FormatTaggingHeader(const TagSet& tags);

// ---------------------------------------------------------------- CopyObject

struct CopySource {
  std::string bucket;
  std::string key;
};
/// x-amz-copy-source: URL-encoded "bucket/key" with or without a leading '/', optionally
/// "?versionId=null" (the only version of an unversioned object). A key may contain '/'.
std::optional<S3Fail> ParseCopySource(std::string_view value, CopySource* out);
/// x-amz-copy-source-range of UploadPartCopy against a source of `size` bytes: exactly
/// "bytes=first-last" (both zero-based, inclusive), first <= last < size. InvalidArgument
/// otherwise, as AWS answers (a malformed value, and a range outside the source).
std::optional<S3Fail> ParseCopySourceRange(std::string_view value, uint64_t size, uint64_t* first,
                                           uint64_t* length);

// ---------------------------------------------------------------- DeleteObjects

inline constexpr std::size_t kMaxDeleteKeys = 1000;
/// A DeleteObjects body larger than this is refused (1000 keys of 1 KiB, escaped, and XML).
inline constexpr std::size_t kMaxDeleteBodyBytes = 2u << 20;
/// A PutObjectTagging body larger than this is refused.
inline constexpr std::size_t kMaxTaggingBodyBytes = 64u << 10;

struct DeleteEntry {
  std::string key;
  std::string version_id;  ///< empty: none given
  bool has_version = false;
};
struct DeleteList {
  bool quiet = false;
  std::vector<DeleteEntry> objects;
};
/// <Delete><Quiet>true</Quiet><Object><Key/><VersionId/></Object>...</Delete>: 1..1000 objects,
/// each with a Key; MalformedXML otherwise.
std::optional<S3Fail> ParseDeleteObjects(std::string_view body, DeleteList* out);

// ---------------------------------------------------------------- GetObjectAttributes

enum ObjectAttribute : uint8_t {
  kAttrETag = 1,
  kAttrChecksum = 2,
  kAttrObjectParts = 4,
  kAttrStorageClass = 8,
  kAttrObjectSize = 16,
};
/// x-amz-object-attributes: a comma-separated list of the names above (a repeated header
/// arrives joined with ','). InvalidArgument for an empty list or an unknown name.
std::optional<S3Fail> ParseObjectAttributes(std::string_view value, uint8_t* mask);

}  // namespace mamute::s3
