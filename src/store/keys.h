// Key encoding for the metadata column families (docs/storage.md, "Key encoding").
// Every encoding preserves the byte order S3 needs: RocksDB's bytewise comparator sorts the
// encoded keys exactly as the decoded tuples sort.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mamute/result.h"
#include "mamute/status.h"

namespace mamute::store {

using BucketId = uint64_t;
inline constexpr std::size_t kBucketIdSize = 8;
inline constexpr std::size_t kUploadIdSize = 16;
inline constexpr std::size_t kPartNumberSize = 4;

// ---- fixed-width big-endian integers -------------------------------------------------------

void AppendBigEndian32(std::string* out, uint32_t v);
void AppendBigEndian64(std::string* out, uint64_t v);
/// Reads 4/8 bytes; the caller checks the length.
uint32_t LoadBigEndian32(const char* p) noexcept;
uint64_t LoadBigEndian64(const char* p) noexcept;

/// The smallest string greater than every string that starts with `prefix`: the prefix with
/// trailing 0xff bytes dropped and its last byte incremented. nullopt when there is none
/// (empty, or all 0xff): the range is unbounded above.
std::optional<std::string> PrefixSuccessor(std::string_view prefix);

// ---- buckets ------------------------------------------------------------------------------

/// buckets CF key: the id, 8 bytes big-endian.
std::string BucketKey(BucketId id);
Result<BucketId> DecodeBucketKey(std::string_view key);

// ---- objects ------------------------------------------------------------------------------

/// objects CF key: bucket id (8 bytes BE) followed by the object key's bytes, unchanged
/// (NUL bytes, invalid UTF-8: all kept, so byte order is S3's order).
std::string ObjectKey(BucketId bucket, std::string_view key);
void AppendObjectKey(std::string* out, BucketId bucket, std::string_view key);
/// The 8-byte prefix shared by every object of a bucket.
std::string BucketPrefix(BucketId bucket);

struct DecodedObjectKey {
  BucketId bucket = 0;
  std::string_view key;  ///< points into the encoded key
};
Result<DecodedObjectKey> DecodeObjectKey(std::string_view encoded);

// ---- multipart uploads ----------------------------------------------------------------------

/// A multipart upload id: 8 bytes big-endian initiation time (ms) + 8 random bytes, so uploads
/// of one key sort by initiation time, as ListMultipartUploads requires.
struct UploadId {
  std::array<uint8_t, kUploadIdSize> bytes{};

  static UploadId Make(uint64_t initiated_ms, uint64_t random) noexcept;
  /// Make() with random bytes from getrandom(2).
  static UploadId Generate(uint64_t initiated_ms) noexcept;
  /// 32 lowercase hex chars: the S3 UploadId.
  std::string ToHex() const;
  static Result<UploadId> FromHex(std::string_view hex);
  static Result<UploadId> FromBytes(std::string_view raw);
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  friend bool operator==(const UploadId&, const UploadId&) = default;
};

/// uploads CF key: bucket id (8 BE) + EscapeKey(object key) + upload id (16). The escaping
/// keeps uploads of "a" before those of "a\0" and "ab" although the upload id follows the key.
std::string UploadKey(BucketId bucket, std::string_view object_key, const UploadId& id);
/// The prefix of all uploads of one object key (bucket + escaped key, terminator included).
std::string UploadKeyPrefix(BucketId bucket, std::string_view object_key);

struct DecodedUploadKey {
  BucketId bucket = 0;
  std::string object_key;  ///< unescaped
  UploadId upload_id;
};
Result<DecodedUploadKey> DecodeUploadKey(std::string_view encoded);

/// Order-preserving, prefix-free escaping: 0x00 → 0x00 0xff, then the terminator 0x00 0x01.
void AppendEscaped(std::string* out, std::string_view raw);
/// Decodes one escaped string from the front of `in`, advancing it past the terminator.
Status ConsumeEscaped(std::string_view* in, std::string* out);

/// parts CF key: upload id (16) + part number (4 bytes BE), so parts list in number order.
std::string PartKey(const UploadId& upload, uint32_t part_number);
struct DecodedPartKey {
  UploadId upload_id;
  uint32_t part_number = 0;
};
Result<DecodedPartKey> DecodePartKey(std::string_view encoded);

// ---- management ----------------------------------------------------------------------------

/// mgmt CF key: kind (ASCII, no NUL, e.g. "user"), a NUL, then the id.
std::string MgmtKey(std::string_view kind, std::string_view id);

// ---- data files ---------------------------------------------------------------------------

/// An object data file id: 128 bits, named by 32 lowercase hex chars.
struct FileId {
  uint64_t hi = 0;
  uint64_t lo = 0;

  static FileId Generate() noexcept;  ///< random (getrandom(2))
  std::string ToHex() const;
  static Result<FileId> FromHex(std::string_view hex);
  bool is_zero() const noexcept { return hi == 0 && lo == 0; }
  friend bool operator==(const FileId&, const FileId&) = default;
  friend auto operator<=>(const FileId&, const FileId&) = default;
};

/// "objects/<2 hex>/<2 hex>/<32 hex>", relative to a data dir; the two levels are the first
/// four hex chars of the id.
std::string DataFileRelPath(const FileId& id);

}  // namespace mamute::store
