// Pure input validation of the management API: bucket names (S3's rules), storage classes,
// query strings. No I/O; unit-tested in tests/unit/mgmt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/buckets.h"

namespace mamute::mgmt {

/// Why a JSON request body was refused (400): an error code and a message for the client.
struct BodyError {
  std::string_view code;
  std::string_view message;
};
/// Parses the body of a JSON route into a JSON object (no exceptions). An empty or
/// whitespace-only body is {} when `empty_ok`. nullopt on success.
std::optional<BodyError> ParseJsonBody(std::string_view body, bool empty_ok, nlohmann::json* out);

/// S3's bucket naming rules: shared with S3's CreateBucket (store/buckets.h).
using store::BucketNameError;

/// The storage classes a bucket may declare (docs/management-api.md). All are stored the same
/// way today; the class is recorded and reported.
inline constexpr std::string_view kStorageClasses[] = {"STANDARD", "STANDARD_IA", "ONEZONE_IA",
                                                       "INTELLIGENT_TIERING", "GLACIER_IR"};
/// The canonical (upper-case) class for `in`, compared case-insensitively ("Standard" →
/// "STANDARD"); nullopt if it is not one of kStorageClasses.
std::optional<std::string_view> NormalizeStorageClass(std::string_view in) noexcept;

/// Decodes %XX and '+' (as a space: form encoding, which query strings use). nullopt on a bad
/// escape.
std::optional<std::string> PercentDecode(std::string_view in);

/// One decoded query parameter.
struct QueryParam {
  std::string name;
  std::string value;
};
/// Splits "a=1&b=&c" (c has an empty value). nullopt on a bad escape.
std::optional<std::vector<QueryParam>> ParseQuery(std::string_view query);

/// A decimal integer in [min, max]; nullopt otherwise (empty, sign, overflow, junk).
std::optional<int64_t> ParseBoundedInt(std::string_view s, int64_t min, int64_t max) noexcept;

/// Bucket ids in URLs and JSON: 16 lowercase hex digits.
std::string FormatBucketId(uint64_t id);
std::optional<uint64_t> ParseBucketId(std::string_view s) noexcept;

}  // namespace mamute::mgmt
