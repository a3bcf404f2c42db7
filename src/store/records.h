// Value formats of the metadata column families (docs/storage.md, "Value formats").
//
// Every value starts with a 1-byte format version. Fields are compact binary: LEB128 varints,
// zigzag varints for signed times, length-prefixed byte strings, fixed 16-byte hashes and ids.
// Decoders are bounds-checked, reject unknown versions, bad enums, inconsistent fields and
// trailing bytes with Status::Corruption, and never read outside their input: they are safe to
// fuzz.
//
// Decoded records BORROW: every std::string_view in a decoded record points into the buffer
// that was decoded (zero-copy on GET/HEAD). Keep that buffer alive, or copy. Decoding into a
// reused record reuses its vectors' capacity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mamute/status.h"
#include "store/keys.h"

namespace mamute::store {

inline constexpr uint8_t kFormatV1 = 1;
/// ObjectRecord of a completed multipart upload (location kParts); see docs/storage.md.
inline constexpr uint8_t kFormatV2 = 2;

// ---- primitives (also for mgmt/'s values in the apikeys and mgmt column families) ----------

class RecordWriter {
 public:
  explicit RecordWriter(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void Varint(uint64_t v);
  void SignedVarint(int64_t v);  ///< zigzag
  void Bytes(std::string_view b);  ///< varint length + bytes
  void Raw(std::string_view b) { out_->append(b); }
  void Fixed128(uint64_t hi, uint64_t lo);  ///< 16 bytes big-endian

 private:
  std::string* out_;
};

class RecordReader {
 public:
  explicit RecordReader(std::string_view in) : in_(in) {}
  Status U8(uint8_t* v);
  Status Varint(uint64_t* v);
  Status Varint32(uint32_t* v);
  Status SignedVarint(int64_t* v);
  Status Bytes(std::string_view* b);
  Status Raw(std::size_t n, std::string_view* b);
  Status Fixed128(uint64_t* hi, uint64_t* lo);
  /// A list count, checked against the bytes left (each element takes at least `min_size`).
  Status Count(std::size_t min_size, std::size_t* n);
  /// Reads the version byte; Corruption unless it is `expected`.
  Status Version(uint8_t expected, std::string_view what);
  /// Corruption if bytes are left over.
  Status Finish(std::string_view what) const;
  std::size_t remaining() const noexcept { return in_.size(); }

 private:
  std::string_view in_;
};

// ---- shared field types ---------------------------------------------------------------------

/// An XXH3-128 hash; stored in canonical form (big-endian high64, then low64).
struct Hash128 {
  uint64_t low64 = 0;
  uint64_t high64 = 0;
  friend bool operator==(const Hash128&, const Hash128&) = default;
};

enum class EtagKind : uint8_t {
  kMd5 = 0,        ///< etag is the 16 raw MD5 bytes of the body
  kMultipart = 1,  ///< etag is the text "<32 hex>-<N>" (no quotes)
};
/// The ETag header value, quotes included: "\"<32 hex>\"" or "\"<hex>-N\"".
std::string FormatEtag(EtagKind kind, std::string_view etag);

enum class ChecksumAlgorithm : uint8_t { kCrc32 = 1, kCrc32c = 2, kCrc64Nvme = 3, kSha1 = 4, kSha256 = 5 };
enum class ChecksumType : uint8_t { kFullObject = 0, kComposite = 1 };
/// Raw digest size of an algorithm (4, 4, 8, 20, 32); 0 for an unknown value.
std::size_t ChecksumSize(ChecksumAlgorithm a) noexcept;

struct Checksum {
  ChecksumAlgorithm algorithm = ChecksumAlgorithm::kCrc32;
  ChecksumType type = ChecksumType::kFullObject;
  std::string_view value;  ///< raw digest bytes, ChecksumSize(algorithm) long
  friend bool operator==(const Checksum&, const Checksum&) = default;
};

struct KeyValue {
  std::string_view key;
  std::string_view value;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

/// The stored representation headers of an object (empty = absent).
struct ContentHeaders {
  std::string_view content_type;
  std::string_view content_encoding;
  std::string_view content_disposition;
  std::string_view content_language;
  std::string_view cache_control;
  std::string_view expires;
  friend bool operator==(const ContentHeaders&, const ContentHeaders&) = default;
};

enum class LocationKind : uint8_t {
  kInline = 0,
  kFile = 1,
  kParts = 2,  ///< ObjectRecord only (format v2): the data is the record's `parts`, in order
};

/// Where the bytes are: inline in the record (small objects) or in a data file.
struct DataLocation {
  LocationKind kind = LocationKind::kInline;
  std::string_view inline_data;  ///< kInline
  FileId file;                   ///< kFile: named by DataFileRelPath(file)
  uint32_t data_dir = 0;         ///< kFile: index of the data dir holding the file
  friend bool operator==(const DataLocation&, const DataLocation&) = default;
};

/// One part of a completed multipart object: its bytes stay in the part's own data file.
struct PartLocation {
  uint64_t size = 0;
  Hash128 xxh3;           ///< XXH3-128 of this part's bytes (verified on a full read of it)
  DataLocation location;  ///< kInline or kFile
  friend bool operator==(const PartLocation&, const PartLocation&) = default;
};

/// A data file some record names: what an overwrite or delete turns into garbage.
struct FileRef {
  uint32_t dir = 0;
  FileId file;
  friend bool operator==(const FileRef&, const FileRef&) = default;
};

// ---- records --------------------------------------------------------------------------------

/// buckets CF value.
struct BucketRecord {
  BucketId id = 0;
  std::string_view name;
  std::string_view project_id;
  std::string_view storage_class;
  std::string_view region;
  int64_t created_at_ms = 0;
  std::string_view cors;  ///< opaque CORS configuration blob (s3/ owns its format); empty = none
  friend bool operator==(const BucketRecord&, const BucketRecord&) = default;
};
void EncodeBucket(const BucketRecord& r, std::string* out);
Status DecodeBucket(std::string_view in, BucketRecord* out);

/// bucket_names CF value: the bucket id.
void EncodeBucketName(BucketId id, std::string* out);
Status DecodeBucketName(std::string_view in, BucketId* id);

/// objects CF value.
struct ObjectRecord {
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  EtagKind etag_kind = EtagKind::kMd5;
  std::string_view etag;  ///< 16 raw bytes (kMd5) or "<hex>-N" (kMultipart)
  Hash128 xxh3;           ///< XXH3-128 of the data
  ContentHeaders headers;
  std::vector<KeyValue> user_meta;  ///< x-amz-meta-* names without the prefix, lowercase
  std::vector<Checksum> checksums;
  std::vector<KeyValue> tags;
  DataLocation location;  ///< kInline requires inline_data.size() == size
  std::vector<uint64_t> part_sizes;  ///< multipart objects: sizes of the parts; sum == size
  /// location.kind == kParts: where each part's bytes are (format v2). The decoder also fills
  /// part_sizes from it. Empty otherwise.
  std::vector<PartLocation> parts;
  friend bool operator==(const ObjectRecord&, const ObjectRecord&) = default;
};
/// Appends the data files `r` names (its file, or each part file) to `out`.
void AppendDataFiles(const ObjectRecord& r, std::vector<FileRef>* out);
void EncodeObject(const ObjectRecord& r, std::string* out);
Status DecodeObject(std::string_view in, ObjectRecord* out);

/// uploads CF value (bucket, object key and upload id are in the key).
struct UploadRecord {
  int64_t initiated_ms = 0;
  ContentHeaders headers;
  std::vector<KeyValue> user_meta;
  std::vector<KeyValue> tags;
  bool has_checksum = false;  ///< x-amz-checksum-algorithm given at CreateMultipartUpload
  ChecksumAlgorithm checksum_algorithm = ChecksumAlgorithm::kCrc32;
  ChecksumType checksum_type = ChecksumType::kComposite;
  std::string_view storage_class;
  std::string_view owner;  ///< access key id or user id that initiated it
  friend bool operator==(const UploadRecord&, const UploadRecord&) = default;
};
void EncodeUpload(const UploadRecord& r, std::string* out);
Status DecodeUpload(std::string_view in, UploadRecord* out);

/// parts CF value (upload id and part number are in the key).
struct PartRecord {
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  std::string_view etag_md5;  ///< 16 raw bytes
  Hash128 xxh3;
  std::vector<Checksum> checksums;
  DataLocation location;
  friend bool operator==(const PartRecord&, const PartRecord&) = default;
};
void EncodePart(const PartRecord& r, std::string* out);
Status DecodePart(std::string_view in, PartRecord* out);

enum class CredentialStatus : uint8_t { kActive = 1, kInactive = 2 };
enum class ScopeKind : uint8_t { kBucket = 1, kProject = 2 };
struct CredentialScope {
  ScopeKind kind = ScopeKind::kProject;
  BucketId bucket = 0;          ///< kBucket
  std::string_view project_id;  ///< kProject
  friend bool operator==(const CredentialScope&, const CredentialScope&) = default;
};

/// credentials CF value (S3 access keys).
struct CredentialRecord {
  std::string_view access_key_id;
  std::string_view sealed_secret;  ///< opaque: the secret sealed by auth/; never logged
  CredentialScope scope;
  CredentialStatus status = CredentialStatus::kActive;
  int64_t created_at_ms = 0;
  int64_t last_used_at_ms = 0;
  uint32_t secret_version = 0;  ///< which sealing key version sealed the secret
  friend bool operator==(const CredentialRecord&, const CredentialRecord&) = default;
};
void EncodeCredential(const CredentialRecord& r, std::string* out);
Status DecodeCredential(std::string_view in, CredentialRecord* out);

}  // namespace mamute::store
