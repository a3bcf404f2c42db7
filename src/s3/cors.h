// Per-bucket CORS (PutBucketCors / GetBucketCors / DeleteBucketCors, preflight and the
// Access-Control-* headers of actual requests): the configuration, its XML form (parsed with
// the bounded XmlReader and validated as S3 does), its stored form, rule matching, and the
// per-shard cache in front of RocksDB.
//
// Matching follows S3 (docs/s3.md, "CORS"): the first rule whose AllowedOrigin matches the
// Origin (exactly or with its one '*'), whose AllowedMethod lists the method and, for a
// preflight, whose AllowedHeader patterns cover every Access-Control-Request-Headers entry
// (case-insensitively) answers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mamute/result.h"
#include "s3/errors.h"
#include "store/keys.h"

namespace mamute::store {
struct NodeStore;
}

namespace mamute::s3 {

/// AWS limits: 100 rules, 64 KiB of configuration XML.
inline constexpr std::size_t kMaxCorsRules = 100;
inline constexpr std::size_t kMaxCorsConfigBytes = 64u << 10;

struct CorsRule {
  std::string id;
  std::vector<std::string> allowed_origins;
  std::vector<std::string> allowed_methods;  ///< GET PUT POST DELETE HEAD
  std::vector<std::string> allowed_headers;
  std::vector<std::string> expose_headers;
  std::optional<int64_t> max_age_seconds;
  friend bool operator==(const CorsRule&, const CorsRule&) = default;
};

struct CorsConfig {
  std::vector<CorsRule> rules;
  friend bool operator==(const CorsConfig&, const CorsConfig&) = default;
};

/// A configuration S3 would refuse: the error and its message.
struct CorsFailure {
  S3Error error;
  std::string message;
};

/// Validates a configuration (whatever form it came in) as S3 does. nullopt: valid.
std::optional<CorsFailure> ValidateCors(const CorsConfig& config);
/// Parses and validates a PutBucketCors body (<CORSConfiguration>).
Result<CorsConfig> ParseCorsXml(std::string_view body, CorsFailure* failure);
/// The GetBucketCors body.
std::string RenderCorsXml(const CorsConfig& config);

/// The stored value: u8 version (1) ‖ RenderCorsXml(config).
std::string EncodeCors(const CorsConfig& config);
Result<CorsConfig> DecodeCors(std::string_view value);
/// mgmt CF key of a bucket's CORS configuration: MgmtKey("bucket_cors", BucketKey(id)).
std::string CorsKey(store::BucketId id);

/// Writes (config != nullptr) or deletes a bucket's configuration (synced), then bumps the
/// node's bucket-config epoch so every shard's cache drops it. Blocking; cold path.
Status StoreCors(store::NodeStore& node, store::BucketId id, const CorsConfig* config);
/// NotFound when the bucket has none.
Result<CorsConfig> LoadCors(store::NodeStore& node, store::BucketId id);

/// '*' in `pattern` (at most one) matches any run of characters; the rest matches exactly
/// (case-insensitively when `fold_case`).
bool WildcardMatch(std::string_view pattern, std::string_view s, bool fold_case) noexcept;

/// The rule that allows an actual request (origin, method), or nullptr.
const CorsRule* MatchCors(const CorsConfig& config, std::string_view origin, std::string_view method) noexcept;
/// The rule that allows a preflight: origin, Access-Control-Request-Method, and every header
/// of the comma-separated Access-Control-Request-Headers.
const CorsRule* MatchPreflight(const CorsConfig& config, std::string_view origin, std::string_view method,
                               std::string_view request_headers) noexcept;

/// The Vary value of every answer to a request with an Origin on a bucket with a CORS
/// configuration, whether a rule matched or not (as S3 does): a cache must not serve the answer
/// to one origin (or one preflight's method and headers) for another.
inline constexpr std::string_view kCorsVary = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// The Access-Control-* response headers of a matched rule, as name/value pairs (owned).
/// `preflight` adds Allow-Headers (the requested ones) and Max-Age.
std::vector<std::pair<std::string_view, std::string>> CorsResponseHeaders(const CorsRule& rule, std::string_view origin,
                                                                          bool preflight,
                                                                          std::string_view request_headers);

/// Per-shard cache of bucket name → (id, CORS configuration), in front of RocksDB. Before each
/// use the shard compares the node's bucket-config epoch (bumped after any CORS change and any
/// bucket deletion) with the cache's and drops everything when it moved.
class CorsCache {
 public:
  explicit CorsCache(store::NodeStore* node, std::size_t capacity = 4096) : node_(node), capacity_(capacity) {}
  /// The configuration of bucket `name`; nullptr when the bucket does not exist or has none.
  /// Blocking on a miss: two RocksDB point reads.
  std::shared_ptr<const CorsConfig> Find(std::string_view bucket_name);

 private:
  store::NodeStore* node_;
  std::size_t capacity_;
  uint64_t epoch_ = ~uint64_t{0};
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::shared_ptr<const CorsConfig>, Hash, std::equal_to<>> map_;
};

}  // namespace mamute::s3
