// AWS Signature Version 4 for S3: parsing (Authorization header and presigned
// query), canonical request, string to sign, verification in two phases (so a
// shard can batch the hashing of many requests), payload-hash verification and
// a client-side signer for tests, the load generator and integration tools.
//
// Pure: no ring, no network, no clock (callers pass `now`), no logging. Every
// function here is safe to call on attacker-controlled input and is fuzzed
// (tests/fuzz/sigv4_fuzz.cc).
//
// Specs implemented (cited as [SIGV4-*] in sigv4.cc):
//   [SIGV4-HDR]   S3 API reference, "Signature Calculations for the Authorization Header:
//                 Transferring Payload in a Single Chunk"
//   [SIGV4-QS]    "Authenticating Requests: Using Query Parameters"
//   [SIGV4-CR]    General reference, "Create a canonical request" (S3: no double encoding,
//                 no path normalisation)
//   [S3-ERR]      S3 error responses (the codes of SigV4Error)
// See docs/sigv4.md for the rules and the error table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "auth/sha256.h"
#include "mamute/status.h"

namespace mamute::auth {

/// One request header as received: name in any case, value as sent (not trimmed).
struct HeaderView {
  std::string_view name;
  std::string_view value;
};

/// The parts of an HTTP request that SigV4 covers, independent of the HTTP layer.
/// All views must outlive the SigV4Context that prepared them.
struct SigV4Request {
  std::string_view method;     ///< "GET", "PUT", ...
  std::string_view raw_path;   ///< as sent, percent-encoded, without '?' and query
  std::string_view raw_query;  ///< after '?', as sent; empty when there is none
  const HeaderView* headers = nullptr;
  std::size_t header_count = 0;
};

/// S3 error codes produced by authentication. The S3 layer maps them onto its
/// errors table; SigV4ErrorCode() gives the exact S3 `Code` string.
enum class SigV4Error : uint8_t {
  kSignatureDoesNotMatch,              ///< 403
  kInvalidAccessKeyId,                 ///< 403 (set by the caller's credential lookup)
  kAccessDenied,                       ///< 403: expired presign, unsigned x-amz-* header, no date
  kAuthorizationHeaderMalformed,       ///< 400
  kAuthorizationQueryParametersError,  ///< 400
  kMissingSecurityHeader,              ///< 400: no x-amz-content-sha256 with header auth
  kRequestTimeTooSkewed,               ///< 403
  kXAmzContentSHA256Mismatch,          ///< 400
  kInvalidRequest,                     ///< 400: malformed aws-chunked framing, bad trailers
  kInvalidArgument,                    ///< 400: two auth mechanisms, bad header values
  kIncompleteBody,                     ///< 400: aws-chunked body shorter than announced
  kMissingContentLength,               ///< 411: streaming mode without x-amz-decoded-content-length
  kNotImplemented,                     ///< 501: SigV2, SigV4A, unknown STREAMING-* payload modes
};

/// Exact S3 error code, e.g. "SignatureDoesNotMatch".
std::string_view SigV4ErrorCode(SigV4Error e) noexcept;
/// HTTP status AWS uses for the code.
int SigV4ErrorHttpStatus(SigV4Error e) noexcept;

/// An authentication failure. `message` is safe to return to the client (it never
/// holds secrets). For kSignatureDoesNotMatch, `string_to_sign` and
/// `canonical_request` are filled so the S3 layer can echo them in the error body
/// as AWS does; they must not be written to logs (CONVENTIONS habit 7).
struct SigV4Failure {
  SigV4Error error = SigV4Error::kAccessDenied;
  std::string message;
  std::string string_to_sign;
  std::string canonical_request;

  /// The broad mamute Status class for layers that do not speak S3.
  Status ToStatus() const;
};

template <typename T>
using SigV4Result = std::expected<T, SigV4Failure>;
using SigV4Status = std::expected<void, SigV4Failure>;

/// Builds an error result: `return SigV4Fail(SigV4Error::kAccessDenied, "...")`.
std::unexpected<SigV4Failure> SigV4Fail(SigV4Error e, std::string_view message);
/// The failure for an unknown or deactivated access key: the client cannot tell
/// which (CONVENTIONS: authentication failures look the same to the client).
std::unexpected<SigV4Failure> InvalidAccessKeyIdFailure();

/// How the request authenticates.
enum class AuthKind : uint8_t {
  kNone,         ///< neither Authorization nor X-Amz-Algorithm: anonymous
  kHeader,       ///< Authorization: AWS4-HMAC-SHA256 ...
  kPresigned,    ///< X-Amz-Algorithm=... in the query
  kAmbiguous,    ///< both; AWS answers InvalidArgument
  kUnsupported,  ///< SigV2 ("AWS ak:sig", "Signature=" query), SigV4A, unknown scheme
};
AuthKind DetectAuthKind(const SigV4Request& req) noexcept;

/// What x-amz-content-sha256 announces ([SIGV4-HDR], s3-compatibility.md §2.1).
enum class PayloadMode : uint8_t {
  kSignedHash,                ///< 64 hex: the body's SHA-256, verify with PayloadVerifier
  kUnsigned,                  ///< UNSIGNED-PAYLOAD (every presigned URL by default)
  kStreamingSigned,           ///< STREAMING-AWS4-HMAC-SHA256-PAYLOAD
  kStreamingUnsignedTrailer,  ///< STREAMING-UNSIGNED-PAYLOAD-TRAILER
  kStreamingSignedTrailer,    ///< STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
};
std::string_view PayloadModeName(PayloadMode m) noexcept;
inline bool IsStreaming(PayloadMode m) noexcept {
  return m == PayloadMode::kStreamingSigned || m == PayloadMode::kStreamingUnsignedTrailer ||
         m == PayloadMode::kStreamingSignedTrailer;
}
/// Classifies an x-amz-content-sha256 value. Unknown STREAMING-* values (SigV4A)
/// are kNotImplemented, anything else that is not 64 hex digits kInvalidArgument:
/// a body with an unrecognised framing must never be stored as it is (§2.2 rule 9).
SigV4Result<PayloadMode> ParsePayloadMode(std::string_view value);

namespace detail {
/// One canonical query parameter: offsets into a scratch buffer.
struct QueryParam {
  uint32_t name_off, name_len, value_off, value_len;
};
/// The request headers SigV4 reads, found in one pass over the headers (first
/// occurrence and how many times each appeared).
struct KnownHeaders {
  enum Slot : uint8_t { kAuthorization, kXAmzDate, kDate, kContentSha256, kDecodedLength, kTrailer, kCount };
  const HeaderView* h[kCount] = {};
  uint32_t n[kCount] = {};
};
/// A SignedHeaders list split at ';': end[i] is the offset just past name i.
struct SignedNames {
  static constexpr std::size_t kMax = 128;  ///< more names → AuthorizationHeaderMalformed
  uint32_t end[kMax];
  uint32_t count = 0;
};
}  // namespace detail

/// Server-side settings. Cold path: built once at start-up.
struct SigV4Config {
  std::string region = "us-east-1";  ///< Default: "us-east-1". Required credential-scope region.
  std::string service = "s3";        ///< Default: "s3".
  bool any_region = false;  ///< Default: false. Accept any scope region (s3bench, s3-benchmark).
  int64_t max_skew_s = 900;  ///< Default: 900 s (15 min), RequestTimeTooSkewed beyond.
  /// Default: true. Reject x-amz-* request headers absent from SignedHeaders, as AWS.
  bool reject_unsigned_amz_headers = true;
};

/// What Prepare() parsed. Views point into the request or into the context's own
/// buffers; they stay valid until the next Prepare() on the same context.
struct SigV4Auth {
  AuthKind kind = AuthKind::kNone;
  std::string_view access_key;
  std::string_view scope_date;  ///< yyyymmdd
  std::string_view region;
  std::string_view service;
  std::string_view scope;           ///< "yyyymmdd/region/service/aws4_request"
  std::string_view signed_headers;  ///< "host;x-amz-date", lower case, sorted
  std::string_view signature;       ///< 64 hex digits as sent
  Sha256Digest signature_bytes{};   ///< the signature, decoded (validated in Prepare)
  std::string_view amz_date;        ///< "yyyymmddThhmmssZ" (converted when from an RFC 1123 Date)
  int64_t request_time = 0;         ///< Unix seconds of amz_date
  int64_t expires_s = 0;            ///< presigned: X-Amz-Expires; 0 otherwise
  PayloadMode payload_mode = PayloadMode::kUnsigned;
  std::string_view payload_hash;  ///< literal used in the canonical request
  Sha256Digest expected_payload_sha256{};  ///< kSignedHash: the decoded hex
  int64_t decoded_content_length = -1;     ///< x-amz-decoded-content-length, -1 when absent
  std::string_view trailer_names;          ///< x-amz-trailer value as sent (may be empty)
};

/// Per-request verification state, reused across requests (one per connection or
/// per batch slot). Buffers are reserved once; Prepare() does not allocate for
/// requests within the reserved sizes. Not thread-safe; not copyable.
///
/// Flow (VerifyOne/VerifyBatch do steps 2-4):
///   1. Prepare(req, cfg, now): parse, check scope and time, build the canonical
///      request and the string-to-sign prefix.
///   2. caller: look up auth().access_key (InvalidAccessKeyId if unknown) and get
///      the signing key (SigningKeyCache).
///   3. SetCanonicalRequestHash(SHA-256(canonical_request())) completes the string to sign.
///   4. CheckSignature(HMAC(signing_key, string_to_sign())).
class SigV4Context {
 public:
  SigV4Context();
  SigV4Context(const SigV4Context&) = delete;
  SigV4Context& operator=(const SigV4Context&) = delete;

  /// Phase 1. `now_unix` is the server clock in Unix seconds.
  SigV4Status Prepare(const SigV4Request& req, const SigV4Config& cfg, int64_t now_unix);

  const SigV4Auth& auth() const noexcept { return auth_; }
  std::string_view canonical_request() const noexcept { return canonical_; }
  /// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n" before phase 2, the full string after.
  std::string_view string_to_sign() const noexcept { return sts_; }

  /// Phase 2a: appends hex(hash) to the string-to-sign prefix.
  void SetCanonicalRequestHash(const Sha256Digest& hash);
  /// Phase 2b: compares HMAC(signing key, string_to_sign()) with the signature sent,
  /// in constant time. On mismatch the failure carries the two strings.
  SigV4Status CheckSignature(const Sha256Digest& mac) const;

 private:
  SigV4Status ParseAuthorizationHeader(std::string_view value, const SigV4Config& cfg);
  SigV4Status ParsePresignedQuery(const SigV4Request& req, const SigV4Config& cfg,
                                  int64_t now_unix);
  SigV4Status CheckScope(const SigV4Config& cfg, SigV4Error malformed);
  SigV4Status ParsePayloadHeaders();

  SigV4Auth auth_;
  std::string canonical_;   // the canonical request
  std::string sts_;         // string to sign
  std::string own_;         // decoded presigned credential and signed headers
  std::string scope_buf_;   // scope when it has to be rebuilt
  std::string query_buf_;   // encoded query names and values
  std::vector<detail::QueryParam> params_;
  detail::KnownHeaders known_;         // of the request being prepared
  detail::SignedNames signed_names_;  // auth_.signed_headers, split
  char amz_date_buf_[17] = {};
  bool hash_set_ = false;
};

/// Phase 2 for one prepared context: SHA-256, HMAC, compare.
SigV4Status VerifyOne(SigV4Context& ctx, const HmacSha256Key& signing_key);

/// Phase 2 for n prepared contexts at once, with Sha256Batch and HmacSha256Batch
/// (16 messages per call). keys[i] is the signing key for ctxs[i]; out[i] receives
/// the verdict. Identical results to calling VerifyOne on each. `impl` picks the
/// engine: on CPUs with SHA-NI but no AVX-512, kShaNi may beat the AVX2 lanes
/// (measure with bench/micro/sigv4_bench).
void VerifyBatch(SigV4Context* const* ctxs, const HmacSha256Key* const* keys, SigV4Status* out,
                 std::size_t n, Sha256Impl impl = BestBatchSha256Impl());

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"),
/// returned with its pads precomputed [SIGV4-HDR]. The intermediate keys are wiped.
HmacSha256Key DeriveSigningKey(std::string_view secret, std::string_view date,
                               std::string_view region, std::string_view service);

/// Verifies x-amz-content-sha256 against the body while it streams; Finish()
/// compares in constant time and fails with XAmzContentSHA256Mismatch.
class PayloadVerifier {
 public:
  explicit PayloadVerifier(const Sha256Digest& expected) noexcept : expected_(expected) {}
  void Update(const void* data, std::size_t len) noexcept { sha_.Update(data, len); }
  void Update(std::string_view s) noexcept { sha_.Update(s); }
  SigV4Status Finish();

 private:
  Sha256 sha_;
  Sha256Digest expected_;
};

// ---------------------------------------------------------------------------
// Encoding helpers (exposed for tests, the signer and the fuzzer).

/// Lower-case hex of a digest into `out` (64 chars, no terminator).
void HexEncodeDigest(const Sha256Digest& d, char* out) noexcept;
std::string HexDigest(const Sha256Digest& d);
/// Decodes 64 hex digits (either case); false if malformed.
bool HexDecodeDigest(std::string_view hex, Sha256Digest* out) noexcept;
/// Appends the AWS URI encoding of `in` (RFC 3986 unreserved A-Z a-z 0-9 - _ . ~ kept,
/// everything else %XX upper case); '/' kept when keep_slash.
void AppendUriEncoded(std::string& out, std::string_view in, bool keep_slash);
/// Appends the canonical URI for an S3 path as sent: percent-decoded once, then
/// re-encoded with AppendUriEncoded(keep_slash=true). No normalisation; '+' is a
/// literal '+'. An empty path is "/".
void AppendCanonicalPath(std::string& out, std::string_view raw_path);
/// Parses "yyyymmddThhmmssZ" into Unix seconds.
bool ParseAmzDate(std::string_view s, int64_t* unix_s) noexcept;
/// Parses an RFC 1123 date "Fri, 24 May 2013 00:00:00 GMT" into Unix seconds.
bool ParseHttpDate(std::string_view s, int64_t* unix_s) noexcept;
/// Formats Unix seconds as "yyyymmddThhmmssZ" into out[16].
void FormatAmzDate(int64_t unix_s, char* out) noexcept;

// ---------------------------------------------------------------------------
// Client-side signer (tests, load generator, integration tools). Cold path: allocates.

struct SigningCredentials {
  std::string_view access_key;
  std::string_view secret_key;
  std::string_view region = "us-east-1";
  std::string_view service = "s3";
};

/// The signer's intermediate results, for tests and debugging tools.
struct SigningDebug {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
};

/// Signs a request whose headers already carry host, x-amz-date and
/// x-amz-content-sha256 (the signer reads the date from x-amz-date). Signs every
/// header given unless `signed_headers` ("a;b;c", lower case, sorted) is set.
/// Returns the Authorization header value.
std::string SignRequest(const SigV4Request& req, const SigningCredentials& creds,
                        std::string_view signed_headers = {}, SigningDebug* debug = nullptr);

/// Presigns: returns the full query string (`req.raw_query` parameters plus the
/// X-Amz-* parameters, X-Amz-Signature last). `amz_date` is "yyyymmddThhmmssZ";
/// req.headers must contain host (and any other header named in signed_headers).
std::string Presign(const SigV4Request& req, const SigningCredentials& creds,
                    std::string_view amz_date, int64_t expires_s,
                    std::string_view signed_headers = "host", SigningDebug* debug = nullptr);

}  // namespace mamute::auth
