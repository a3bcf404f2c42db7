// Streaming decoder (server) and encoder (client) for aws-chunked request bodies:
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER and
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.
//
// Specs implemented:
//   [STREAM]   S3 API reference, "Signature Calculations for the Authorization Header:
//              Transferring Payload in Multiple Chunks (Chunked Upload)"
//   [TRAILER]  "Signature calculations for trailing headers (chunked uploads)"
//   [COMPAT]   s3-compatibility.md §2.2 rule 8 (line-ending leniency, limits)
//
// Memory is bounded: a chunk header or trailer line is at most kMaxLine bytes, and
// chunk data is never buffered (it is hashed as it passes and handed back as views
// into the caller's input). Pure: no I/O, no clock, no logging. Fuzzed by
// tests/fuzz/aws_chunked_fuzz.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "auth/sha256.h"
#include "auth/sigv4.h"

namespace mamute::auth {

/// The signature chain of a signed streaming body [STREAM]: each chunk's signature
/// covers the previous signature, so a replayed, dropped or reordered chunk breaks it.
///   chunk:   HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope "\n" prev "\n"
///                      hex(sha256("")) "\n" hex(sha256(chunk data)))
///   trailer: HMAC(key, "AWS4-HMAC-SHA256-TRAILER\n" date "\n" scope "\n" prev "\n"
///                      hex(sha256(trailer lines "name:value\n"...)))
/// The first `prev` is the seed: the request's own signature.
class ChunkSignatureChain {
 public:
  static constexpr std::size_t kMaxScope = 192;

  ChunkSignatureChain() = default;
  /// False (and valid() false) when amz_date, scope or seed have impossible sizes.
  bool Init(const HmacSha256Key& key, std::string_view amz_date, std::string_view scope,
            std::string_view seed_signature_hex) noexcept;
  bool valid() const noexcept { return valid_; }

  /// Signature expected for the next chunk, given SHA-256 of its data. Does not advance.
  Sha256Digest ChunkSignature(const Sha256Digest& chunk_hash) const noexcept;
  /// Signature expected for the trailer, given SHA-256 of its canonical lines.
  Sha256Digest TrailerSignature(const Sha256Digest& trailer_hash) const noexcept;
  /// Makes `sig` the previous signature.
  void Advance(const Sha256Digest& sig) noexcept;

 private:
  Sha256Digest Sign(std::string_view algorithm, const Sha256Digest* empty_hash,
                    const Sha256Digest& hash) const noexcept;

  HmacSha256Key key_;
  char amz_date_[16] = {};
  char scope_[kMaxScope] = {};
  std::size_t scope_len_ = 0;
  char prev_[64] = {};
  bool valid_ = false;
};

enum class AwsChunkedMode : uint8_t {
  kSigned,          ///< STREAMING-AWS4-HMAC-SHA256-PAYLOAD: chunk signatures, no trailer
  kUnsignedTrailer, ///< STREAMING-UNSIGNED-PAYLOAD-TRAILER: "hex\r\n" chunks, trailer
  kSignedTrailer,   ///< STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: both, signed trailer
};

/// One trailing header, e.g. {"x-amz-checksum-crc32", "sOO8/Q=="}. Name lower case.
struct TrailerView {
  std::string_view name;
  std::string_view value;
};

struct AwsChunkedOptions {
  AwsChunkedMode mode = AwsChunkedMode::kSigned;
  /// x-amz-decoded-content-length: the decoded body must have exactly this length.
  uint64_t decoded_length = 0;
  /// x-amz-trailer as sent ("x-amz-checksum-crc32", comma-separated). When not
  /// empty, the trailers received must be exactly these. Copied.
  std::string_view declared_trailers;
  /// Default: 16 MiB (MinIO's limit). Larger chunk sizes are rejected.
  uint64_t max_chunk_size = uint64_t{16} << 20;
  /// Signed modes: the signing key, date, scope and seed signature of the request.
  const HmacSha256Key* key = nullptr;
  std::string_view amz_date;
  std::string_view scope;
  std::string_view seed_signature;
};

/// Options for the request SigV4Context verified: mode from x-amz-content-sha256,
/// decoded length, x-amz-trailer and, for signed modes, the chain's seed. The
/// views point into `auth` (valid until the context's next Prepare()); Start()
/// copies what it keeps. Fails when the payload mode is not a streaming one.
SigV4Result<AwsChunkedOptions> AwsChunkedOptionsFor(const SigV4Auth& auth,
                                                    const HmacSha256Key* signing_key);

/// Push decoder. Usage:
///   AwsChunkedDecoder dec;  if (auto st = dec.Start(opts); !st) ...
///   while (!in.empty()) {
///     auto r = dec.Feed(in);  if (!r) → reject (r.error())
///     write(r->data);  in.remove_prefix(r->consumed);
///   }
///   at end of body: dec.Finish() → OK, or IncompleteBody / SignatureDoesNotMatch ...
///   dec.trailers() → for the S3 layer's checksum verification.
/// Payload bytes are handed out before the signature of their chunk has been
/// checked (a chunk is never buffered): nothing may become visible to readers
/// before Finish() returns OK. Errors are sticky. Not thread-safe.
class AwsChunkedDecoder {
 public:
  static constexpr std::size_t kMaxLine = 4096;  ///< chunk header / trailer line limit
  static constexpr std::size_t kMaxTrailers = 4;
  static constexpr std::size_t kMaxTrailerBytes = 1024;

  struct Output {
    std::size_t consumed = 0;  ///< bytes of input used; feed the rest again
    std::string_view data;     ///< decoded payload, a view into the input (may be empty)
  };

  AwsChunkedDecoder() = default;
  AwsChunkedDecoder(const AwsChunkedDecoder&) = delete;
  AwsChunkedDecoder& operator=(const AwsChunkedDecoder&) = delete;

  SigV4Status Start(const AwsChunkedOptions& opts);
  /// Decodes from `in`, stopping after at most one span of payload.
  SigV4Result<Output> Feed(std::string_view in);
  /// Convenience: feeds all of `in`, calling sink(std::string_view) for each span.
  template <typename Sink>
  SigV4Status FeedAll(std::string_view in, Sink&& sink) {
    while (!in.empty()) {
      auto r = Feed(in);
      if (!r) {
        return std::unexpected(std::move(r.error()));
      }
      if (!r->data.empty()) {
        sink(r->data);
      }
      in.remove_prefix(r->consumed);
    }
    return {};
  }
  /// The encoded body ended: checks the framing is complete and the decoded length.
  SigV4Status Finish();

  bool done() const noexcept { return state_ == State::kDone; }
  uint64_t decoded_bytes() const noexcept { return decoded_; }
  std::span<const TrailerView> trailers() const noexcept {
    return std::span<const TrailerView>(trailers_, trailer_count_);
  }

 private:
  enum class State : uint8_t {
    kIdle,
    kChunkHeader,   // accumulating "hex[;chunk-signature=sig]\r\n"
    kChunkData,     // `remaining_` bytes of payload
    kChunkDataCr,   // '\r' after data
    kChunkDataLf,   // '\n' after data
    kFinalCrlf,     // kSigned: "\r\n" after the zero chunk
    kTrailerLine,   // trailer lines, then an empty line
    kDone,
    kFailed,
  };

  std::unexpected<SigV4Failure> Fail(SigV4Error e, std::string_view msg);
  SigV4Status OnChunkHeader(std::string_view line);
  SigV4Status OnChunkEnd();
  SigV4Status OnTrailerLine(std::string_view line);
  SigV4Status EndTrailers();
  bool TrailersComplete() const noexcept;
  bool signed_chunks() const noexcept { return mode_ != AwsChunkedMode::kUnsignedTrailer; }
  bool has_trailer() const noexcept { return mode_ != AwsChunkedMode::kSigned; }

  State state_ = State::kIdle;
  AwsChunkedMode mode_ = AwsChunkedMode::kSigned;
  SigV4Error fail_error_ = SigV4Error::kInvalidRequest;
  const char* fail_msg_ = "";
  uint64_t decoded_length_ = 0;
  uint64_t max_chunk_size_ = 0;
  uint64_t decoded_ = 0;
  uint64_t remaining_ = 0;
  ChunkSignatureChain chain_;
  Sha256Digest pending_sig_{};  // signature announced for the chunk being read
  Sha256 chunk_sha_;
  Sha256 trailer_sha_;
  bool trailer_sig_ok_ = false;
  unsigned blank_lines_ = 0;
  std::size_t line_len_ = 0;
  char line_[kMaxLine];
  char declared_[256] = {};
  std::size_t declared_len_ = 0;
  TrailerView trailers_[kMaxTrailers];
  std::size_t trailer_count_ = 0;
  char trailer_buf_[kMaxTrailerBytes];
  std::size_t trailer_buf_len_ = 0;
};

// ---------------------------------------------------------------------------
// Client side (tests, load generator): builds aws-chunked bodies.

/// Signs chunks and trailers, chaining from the seed (the request's signature).
class ChunkSigner {
 public:
  ChunkSigner(const HmacSha256Key& key, std::string_view amz_date, std::string_view scope,
              std::string_view seed_signature_hex);
  /// Hex signature of the next chunk; advances the chain.
  std::string SignChunk(std::string_view data);
  /// Hex signature of the trailer lines ("name:value\n" each); advances the chain.
  std::string SignTrailer(std::string_view canonical_trailers);

 private:
  ChunkSignatureChain chain_;
};

/// Encodes `payload` as an aws-chunked body in chunks of `chunk_size` bytes (the
/// last may be shorter), then the zero chunk and, for trailer modes, `trailers`
/// and (kSignedTrailer) x-amz-trailer-signature. `signer` is required for signed
/// modes and ignored otherwise.
std::string EncodeAwsChunked(std::string_view payload, std::size_t chunk_size,
                             AwsChunkedMode mode, ChunkSigner* signer,
                             std::span<const TrailerView> trailers = {});

/// Length of the encoded body EncodeAwsChunked would produce (for Content-Length).
uint64_t AwsChunkedEncodedLength(uint64_t payload_len, std::size_t chunk_size,
                                 AwsChunkedMode mode, std::span<const TrailerView> trailers = {});

}  // namespace mamute::auth
