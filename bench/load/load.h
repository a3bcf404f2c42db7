// mamute-load: the pure parts of the S3 load generator (options, latency
// histogram, operation mix), unit-tested in tests/unit/load/loadgen_test.cc.
// No sockets, no threads, no clock here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace mamute::load {

/// One request kind the generator issues (the mix draws among the first four).
enum class OpKind : uint8_t {
  kGet,
  kStat,
  kPut,
  kDelete,
  kList,
  kMpuInit,      ///< CreateMultipartUpload
  kMpuPart,      ///< UploadPart
  kMpuComplete,  ///< CompleteMultipartUpload
  kCount,
};
inline constexpr std::size_t kOpKinds = static_cast<std::size_t>(OpKind::kCount);
std::string_view OpKindName(OpKind k) noexcept;

/// The benchmark selected with --op.
enum class Workload : uint8_t { kPut, kGet, kStat, kDelete, kList, kMixed, kMultipart };
std::string_view WorkloadName(Workload w) noexcept;

/// How PUT bodies are authenticated (x-amz-content-sha256).
enum class PayloadSigning : uint8_t {
  kSigned,    ///< hex SHA-256 of the body
  kUnsigned,  ///< UNSIGNED-PAYLOAD
  kChunked,   ///< STREAMING-AWS4-HMAC-SHA256-PAYLOAD (aws-chunked, 64 KiB chunks, as warp over http)
};

/// Weighted choice among get/stat/put/delete (warp's `mixed`: 45/30/15/10 by default).
class Mix {
 public:
  Mix() = default;
  Mix(uint32_t get, uint32_t stat, uint32_t put, uint32_t del) noexcept;
  /// "get=45,stat=30,put=15,delete=10" (any subset; missing names weigh 0).
  static std::expected<Mix, std::string> Parse(std::string_view spec);
  /// The op for a uniformly drawn r (any 32-bit value): r % total falls in one weight's range.
  OpKind Pick(uint32_t r) const noexcept;
  uint32_t total() const noexcept { return cumulative_[3]; }
  uint32_t weight(OpKind k) const noexcept;

 private:
  std::array<uint32_t, 4> cumulative_ = {45, 75, 90, 100};
};

/// Command-line options. Every field says its default.
struct Options {
  std::string endpoint = "http://127.0.0.1:9000";  ///< Default: http://127.0.0.1:9000 (http only)
  std::string access_key;        ///< Default: $AWS_ACCESS_KEY_ID
  std::string secret_key;        ///< Default: $AWS_SECRET_ACCESS_KEY
  std::string region = "us-east-1";  ///< Default: us-east-1
  std::string bucket;            ///< Required unless --anchor-url
  std::string prefix = "load/";  ///< Default: "load/". Key prefix of every object written.
  Workload workload = Workload::kPut;  ///< Default: put
  uint64_t object_size = 4096;   ///< Default: 4 KiB. Body of each PUT / object prepared.
  uint32_t concurrency = 16;     ///< Default: 16 connections, one thread each.
  double duration_s = 10;        ///< Default: 10 s.
  uint32_t objects = 1000;       ///< Default: 1000 objects prepared for get/stat/delete/list/mixed.
  uint32_t parts = 2;            ///< Default: 2 parts per multipart upload (each --part-size).
  uint64_t part_size = uint64_t{5} << 20;  ///< Default: 5 MiB (the S3 minimum).
  uint32_t list_max_keys = 1000;  ///< Default: 1000 keys per ListObjectsV2 page.
  PayloadSigning payload = PayloadSigning::kSigned;  ///< Default: signed (hex SHA-256).
  bool presign = false;          ///< Default: false. Presigned URLs instead of Authorization.
  std::string anchor_url;        ///< Default: none. Plain unsigned GETs of this URL (anchors).
  std::string json_path;         ///< Default: none. Result file.
  Mix mix;                       ///< Default: get=45,stat=30,put=15,delete=10.
  bool progress = true;          ///< Default: true. One progress line per second on stderr.
  /// Default: false. Skip uploading the --objects objects: an earlier run with the same
  /// --prefix and --objects left them (to profile a run without its preparation).
  bool no_prepare = false;
  /// Default: false. After preparing, print a presigned GET URL (1 h) of the first object
  /// and exit: for HTTP load tools that cannot sign (wrk in scripts/bench.sh).
  bool print_url = false;
  uint64_t seed = 1;             ///< Default: 1.
};

/// Parses argv (without argv[0]). Fails with a message naming the bad option.
/// Credentials fall back to `env_access_key` / `env_secret_key`.
std::expected<Options, std::string> ParseOptions(const std::vector<std::string_view>& args,
                                                 std::string_view env_access_key = {},
                                                 std::string_view env_secret_key = {});
/// "4096", "4KiB", "4k", "1MiB", "16M", "1GiB" → bytes (k/M/G are binary as in warp).
std::expected<uint64_t, std::string> ParseSize(std::string_view s);
/// "10", "10s", "500ms", "2m" → seconds.
std::expected<double, std::string> ParseDuration(std::string_view s);
std::string UsageText();

/// Latency histogram in microseconds: exact below 64 µs, then 32 sub-buckets per power
/// of two (relative error under 3.2%), up to 2^40 µs. Fixed size, no allocation on
/// Record(); per thread, merged at the end.
class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 5;
  static constexpr unsigned kSub = 1u << kSubBits;  // 32
  static constexpr unsigned kMaxExp = 40;
  static constexpr std::size_t kBuckets = 2 * kSub + (kMaxExp - kSubBits - 1) * kSub;

  void Record(uint64_t us) noexcept;
  void Merge(const LatencyHistogram& o) noexcept;
  uint64_t count() const noexcept { return count_; }
  uint64_t max() const noexcept { return max_; }
  uint64_t min() const noexcept { return count_ ? min_ : 0; }
  double mean() const noexcept { return count_ ? static_cast<double>(sum_) / count_ : 0; }
  /// The value at quantile q in [0, 1] (the highest value of its bucket, capped at max()).
  uint64_t Percentile(double q) const noexcept;

  static std::size_t BucketOf(uint64_t us) noexcept;
  static uint64_t BucketHigh(std::size_t b) noexcept;

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
};

/// The S3 error code in an XML error body ("<Code>NoSuchKey</Code>"), or "HTTP <status>".
std::string ErrorCodeOf(int status, std::string_view body);

/// ListObjectsV2 page: keys counted, NextContinuationToken (empty when not truncated).
struct ListPage {
  uint32_t keys = 0;
  bool truncated = false;
  std::string next_token;
};
ListPage ParseListPage(std::string_view xml);
/// The text of the first <tag>...</tag> in `xml` (no nesting, no entities decoded).
std::string_view XmlElement(std::string_view xml, std::string_view tag) noexcept;

}  // namespace mamute::load
