// Browser uploads through a POST policy (POST /bucket, multipart/form-data): the streaming
// form parser, the policy document (base64 JSON, parsed with nlohmann-json) and its
// evaluation against the form, as S3 does (docs/s3.md, "POST policy uploads").
// Pure: no I/O, fuzzed by tests/fuzz/post_policy_fuzz.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mamute/result.h"
#include "s3/errors.h"

namespace mamute::s3 {

/// AWS: the form fields before the file may take at most 20 KiB.
inline constexpr std::size_t kMaxPostPreDataBytes = 20u << 10;

/// The boundary parameter of a multipart/form-data Content-Type; nullopt when the type is
/// another or the boundary is missing or invalid (RFC 2046 §5.1.1: 1..70 characters).
std::optional<std::string> FormBoundary(std::string_view content_type);

struct FormField {
  std::string name;  ///< as sent
  std::string value;
};

/// A failure the client caused: the S3 error and its message.
struct PostFailure {
  S3Error error;
  std::string message;
};

/// Streaming multipart/form-data parser (RFC 7578). Fields before the file are collected
/// (bounded by kMaxPostPreDataBytes in all); the part named "file" is streamed to the sink in
/// pieces; everything after the file part is ignored, as S3 does.
class FormParser {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    /// The file part begins (every field before it is in fields()). false: stop (the sink
    /// answered); Feed returns false.
    virtual bool OnFileStart(std::string_view filename, std::string_view content_type) = 0;
    /// A piece of the file, valid only during the call. false: stop.
    virtual bool OnFileData(std::string_view data) = 0;
  };

  explicit FormParser(std::string boundary);
  /// Feeds body bytes. false: stopped — failure() says why (nullopt: the sink stopped).
  bool Feed(std::string_view data, Sink* sink);
  /// The body ended. false: it was not a complete form with a file (failure() says why).
  bool Finish();

  const std::vector<FormField>& fields() const noexcept { return fields_; }
  /// The first field named `name` (case-insensitively), or nullptr.
  const std::string* Field(std::string_view name) const noexcept;
  const std::optional<PostFailure>& failure() const noexcept { return failure_; }
  bool file_done() const noexcept { return state_ == State::kEpilogue; }

 private:
  enum class State : uint8_t { kPreamble, kAfterDelimiter, kHeaders, kValue, kFile, kEpilogue, kFailed };
  bool Fail(S3Error e, std::string message);
  bool ParsePartHeaders(std::string_view block);
  bool Step(std::string_view* in, Sink* sink);

  std::string delimiter_;  ///< "\r\n--" + boundary
  State state_ = State::kPreamble;
  std::string buf_;        ///< bytes not consumed yet (a partial line, value, or delimiter)
  std::size_t pre_bytes_ = 0;
  std::vector<FormField> fields_;
  std::string part_name_, part_filename_, part_type_;
  std::optional<PostFailure> failure_;
};

struct PolicyCondition {
  enum class Kind : uint8_t { kEq, kStartsWith, kLengthRange };
  Kind kind = Kind::kEq;
  std::string field;  ///< lower case, without '$'
  std::string value;
  int64_t min = 0, max = 0;  ///< kLengthRange
  std::string text;          ///< the condition as JSON, for the error message
};

struct PostPolicy {
  int64_t expiration_s = 0;  ///< unix seconds
  std::vector<PolicyCondition> conditions;
  /// content-length-range, when the policy has one (the last one wins, as S3).
  std::optional<std::pair<int64_t, int64_t>> length_range;
};

/// Decodes the base64 policy field and parses its JSON. A failure is InvalidPolicyDocument-like
/// (S3 answers 400 InvalidPolicyDocument "Invalid Policy: ...").
Result<PostPolicy> ParsePostPolicy(std::string_view policy_b64, PostFailure* failure);

/// ISO 8601 UTC ("2026-01-02T03:04:05Z", fractional seconds allowed) → unix seconds.
std::optional<int64_t> ParseIso8601(std::string_view s) noexcept;

/// Checks the policy against the form: expiration (now_s), every condition, and that every
/// field but policy, x-amz-signature, file and x-ignore-* is named by a condition. `key` is the
/// object key after ${filename} substitution. nullopt: allowed; otherwise AccessDenied with
/// "Invalid according to Policy: ...".
std::optional<PostFailure> CheckPostPolicy(const PostPolicy& policy, const std::vector<FormField>& fields,
                                           std::string_view bucket, std::string_view key, int64_t now_s);

/// The key field with "${filename}" replaced by the file's name (its last path component, as
/// browsers on Windows send full paths).
std::string SubstituteFilename(std::string_view key, std::string_view filename);

}  // namespace mamute::s3
