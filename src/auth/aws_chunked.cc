// aws-chunked bodies. Section references:
//   [STREAM]  https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
//   [TRAILER] https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
//   [COMPAT]  /work/shared/reference/s3-compatibility.md §2.2 rules 8-9
#include "auth/aws_chunked.h"

#include <algorithm>
#include <cstring>

#include "auth/ct_equal.h"

namespace mamute::auth {
namespace {

constexpr std::string_view kPayloadAlgorithm = "AWS4-HMAC-SHA256-PAYLOAD";
constexpr std::string_view kTrailerAlgorithm = "AWS4-HMAC-SHA256-TRAILER";
constexpr std::string_view kChunkSignaturePrefix = ";chunk-signature=";
constexpr std::string_view kTrailerSignatureName = "x-amz-trailer-signature";
constexpr unsigned kMaxBlankLines = 4;

// SHA-256 of the empty string, the fixed fifth line of a chunk's string to sign.
const Sha256Digest& EmptyHash() {
  static const Sha256Digest kEmpty = Sha256Of(std::string_view());
  return kEmpty;
}

char ToLower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool IEquals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

int HexValue(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Calls f(name) for each comma-separated, trimmed, non-empty name.
template <typename F>
void ForEachListItem(std::string_view list, F&& f) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = Trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (!item.empty()) {
      f(item);
    }
  }
}

void AppendHexSize(std::string& out, uint64_t n) {
  char buf[16];
  int len = 0;
  do {
    buf[len++] = "0123456789abcdef"[n & 15];
    n >>= 4;
  } while (n != 0);
  while (len > 0) {
    out.push_back(buf[--len]);
  }
}

uint64_t HexSizeLen(uint64_t n) {
  uint64_t len = 0;
  do {
    ++len;
    n >>= 4;
  } while (n != 0);
  return len;
}

}  // namespace

// ---------------------------------------------------------------------------
// ChunkSignatureChain

bool ChunkSignatureChain::Init(const HmacSha256Key& key, std::string_view amz_date,
                               std::string_view scope, std::string_view seed) noexcept {
  valid_ = false;
  Sha256Digest seed_bytes;
  if (amz_date.size() != sizeof(amz_date_) || scope.empty() || scope.size() > kMaxScope ||
      !HexDecodeDigest(seed, &seed_bytes)) {
    return false;
  }
  key_ = key;
  std::memcpy(amz_date_, amz_date.data(), sizeof(amz_date_));
  std::memcpy(scope_, scope.data(), scope.size());
  scope_len_ = scope.size();
  // The chain uses the lower-case hex form, whatever case the client sent.
  HexEncodeDigest(seed_bytes, prev_);
  valid_ = true;
  return true;
}

Sha256Digest ChunkSignatureChain::Sign(std::string_view algorithm, const Sha256Digest* empty_hash,
                                       const Sha256Digest& hash) const noexcept {
  // algorithm \n date \n scope \n prev \n [hash("") \n] hash; at most ~400 bytes.
  char buf[32 + 17 + kMaxScope + 1 + 65 + 65 + 64];
  std::size_t n = 0;
  auto put = [&](const char* p, std::size_t len) {
    std::memcpy(buf + n, p, len);
    n += len;
  };
  put(algorithm.data(), algorithm.size());
  buf[n++] = '\n';
  put(amz_date_, sizeof(amz_date_));
  buf[n++] = '\n';
  put(scope_, scope_len_);
  buf[n++] = '\n';
  put(prev_, sizeof(prev_));
  buf[n++] = '\n';
  if (empty_hash != nullptr) {
    HexEncodeDigest(*empty_hash, buf + n);
    n += 64;
    buf[n++] = '\n';
  }
  HexEncodeDigest(hash, buf + n);
  n += 64;
  return HmacSha256(key_, std::string_view(buf, n));
}

Sha256Digest ChunkSignatureChain::ChunkSignature(const Sha256Digest& chunk_hash) const noexcept {
  return Sign(kPayloadAlgorithm, &EmptyHash(), chunk_hash);
}

Sha256Digest ChunkSignatureChain::TrailerSignature(const Sha256Digest& trailer_hash) const noexcept {
  return Sign(kTrailerAlgorithm, nullptr, trailer_hash);
}

void ChunkSignatureChain::Advance(const Sha256Digest& sig) noexcept { HexEncodeDigest(sig, prev_); }

// ---------------------------------------------------------------------------
// Options from a verified request.

SigV4Result<AwsChunkedOptions> AwsChunkedOptionsFor(const SigV4Auth& auth,
                                                    const HmacSha256Key* signing_key) {
  AwsChunkedOptions o;
  switch (auth.payload_mode) {
    case PayloadMode::kStreamingSigned:
      o.mode = AwsChunkedMode::kSigned;
      break;
    case PayloadMode::kStreamingUnsignedTrailer:
      o.mode = AwsChunkedMode::kUnsignedTrailer;
      break;
    case PayloadMode::kStreamingSignedTrailer:
      o.mode = AwsChunkedMode::kSignedTrailer;
      break;
    default:
      return SigV4Fail(SigV4Error::kInvalidRequest,
                       "aws-chunked body without a STREAMING-* x-amz-content-sha256");
  }
  if (auth.decoded_content_length < 0) {
    return SigV4Fail(SigV4Error::kMissingContentLength,
                     "x-amz-decoded-content-length is required with a streaming "
                     "x-amz-content-sha256.");
  }
  o.decoded_length = static_cast<uint64_t>(auth.decoded_content_length);
  o.declared_trailers = auth.trailer_names;
  if (o.mode != AwsChunkedMode::kUnsignedTrailer) {
    if (signing_key == nullptr) {
      return SigV4Fail(SigV4Error::kInvalidRequest, "signed aws-chunked body needs the signing key");
    }
    o.key = signing_key;
    o.amz_date = auth.amz_date;
    o.scope = auth.scope;
    o.seed_signature = auth.signature;
  }
  return o;
}

// ---------------------------------------------------------------------------
// AwsChunkedDecoder

std::unexpected<SigV4Failure> AwsChunkedDecoder::Fail(SigV4Error e, std::string_view msg) {
  // Messages are string literals, so the sticky copy can be a pointer.
  state_ = State::kFailed;
  fail_error_ = e;
  fail_msg_ = msg.data();
  return SigV4Fail(e, msg);
}

SigV4Status AwsChunkedDecoder::Start(const AwsChunkedOptions& opts) {
  state_ = State::kIdle;
  mode_ = opts.mode;
  decoded_length_ = opts.decoded_length;
  max_chunk_size_ = opts.max_chunk_size;
  decoded_ = 0;
  remaining_ = 0;
  trailer_sig_ok_ = false;
  blank_lines_ = 0;
  line_len_ = 0;
  trailer_count_ = 0;
  trailer_buf_len_ = 0;
  chunk_sha_.Reset();
  trailer_sha_.Reset();
  if (opts.declared_trailers.size() > sizeof(declared_)) {
    return Fail(SigV4Error::kInvalidRequest, "x-amz-trailer is too long");
  }
  if (!opts.declared_trailers.empty()) {
    std::memcpy(declared_, opts.declared_trailers.data(), opts.declared_trailers.size());
  }
  declared_len_ = opts.declared_trailers.size();
  if (signed_chunks()) {
    if (opts.key == nullptr ||
        !chain_.Init(*opts.key, opts.amz_date, opts.scope, opts.seed_signature)) {
      return Fail(SigV4Error::kInvalidRequest, "signed aws-chunked body without a valid seed");
    }
  }
  state_ = State::kChunkHeader;
  return {};
}

SigV4Status AwsChunkedDecoder::OnChunkHeader(std::string_view line) {
  // [STREAM] "hex(size);chunk-signature=<64 hex>\r\n"; [TRAILER] unsigned: "hex(size)\r\n".
  if (line.empty() || line.back() != '\r') {
    return Fail(SigV4Error::kInvalidRequest, "aws-chunked: chunk header must end with CRLF");
  }
  line.remove_suffix(1);
  uint64_t size = 0;
  std::size_t i = 0;
  for (; i < line.size() && HexValue(line[i]) >= 0; ++i) {
    if (i == 15) {
      return Fail(SigV4Error::kInvalidRequest, "aws-chunked: chunk size is too large");
    }
    size = size * 16 + static_cast<uint64_t>(HexValue(line[i]));
  }
  if (i == 0) {
    return Fail(SigV4Error::kInvalidRequest, "aws-chunked: invalid chunk size");
  }
  const std::string_view rest = line.substr(i);
  if (signed_chunks()) {
    if (!rest.starts_with(kChunkSignaturePrefix) ||
        !HexDecodeDigest(rest.substr(kChunkSignaturePrefix.size()), &pending_sig_)) {
      return Fail(SigV4Error::kInvalidRequest, "aws-chunked: missing or malformed chunk-signature");
    }
  } else if (!rest.empty()) {
    return Fail(SigV4Error::kInvalidRequest, "aws-chunked: unexpected chunk extension");
  }
  if (size > max_chunk_size_) {
    return Fail(SigV4Error::kInvalidRequest, "aws-chunked: chunk size exceeds the limit");
  }
  if (size > decoded_length_ - decoded_) {
    return Fail(SigV4Error::kInvalidRequest,
                "aws-chunked: body is longer than x-amz-decoded-content-length");
  }
  if (size == 0) {
    if (signed_chunks()) {
      // The final chunk is signed like any other, over empty data.
      if (auto st = OnChunkEnd(); !st) {
        return st;
      }
    }
    if (decoded_ != decoded_length_) {
      return Fail(SigV4Error::kIncompleteBody,
                  "You did not provide the number of bytes specified by the "
                  "x-amz-decoded-content-length header.");
    }
    state_ = has_trailer() ? State::kTrailerLine : State::kFinalCrlf;
    return {};
  }
  remaining_ = size;
  chunk_sha_.Reset();
  state_ = State::kChunkData;
  return {};
}

SigV4Status AwsChunkedDecoder::OnChunkEnd() {
  if (!signed_chunks()) {
    return {};
  }
  const Sha256Digest expected = chain_.ChunkSignature(chunk_sha_.Final());
  if (!CtEqual(expected.data(), expected.size(), pending_sig_.data(), pending_sig_.size())) {
    // A modified, replayed, reordered or dropped chunk breaks the chain here.
    return Fail(SigV4Error::kSignatureDoesNotMatch,
                "The chunk signature we calculated does not match the signature you provided.");
  }
  chain_.Advance(pending_sig_);
  return {};
}

bool AwsChunkedDecoder::TrailersComplete() const noexcept {
  if (mode_ == AwsChunkedMode::kSignedTrailer && !trailer_sig_ok_) {
    return false;
  }
  bool all = true;
  ForEachListItem(std::string_view(declared_, declared_len_), [&](std::string_view name) {
    bool found = false;
    for (std::size_t i = 0; i < trailer_count_; ++i) {
      found = found || IEquals(trailers_[i].name, name);
    }
    all = all && found;
  });
  return all;
}

SigV4Status AwsChunkedDecoder::OnTrailerLine(std::string_view line) {
  // [TRAILER]: "name:value\r\n" lines, "x-amz-trailer-signature:<sig>\r\n" for the
  // signed variant, then "\r\n". Lenient on line ends: minio-go writes "\n\r\n"
  // and some clients put an empty line before the trailers ([COMPAT] rule 8).
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  if (line.empty()) {
    if (TrailersComplete()) {
      state_ = State::kDone;
      return {};
    }
    if (++blank_lines_ > kMaxBlankLines) {
      return Fail(SigV4Error::kInvalidRequest, "aws-chunked: malformed trailer section");
    }
    return {};
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return Fail(SigV4Error::kInvalidRequest, "aws-chunked: malformed trailer");
  }
  const std::string_view name = Trim(line.substr(0, colon));
  const std::string_view value = Trim(line.substr(colon + 1));
  if (name.empty()) {
    return Fail(SigV4Error::kInvalidRequest, "aws-chunked: malformed trailer");
  }
  if (IEquals(name, kTrailerSignatureName)) {
    Sha256Digest sent;
    if (mode_ != AwsChunkedMode::kSignedTrailer || trailer_sig_ok_ ||
        !HexDecodeDigest(value, &sent)) {
      return Fail(SigV4Error::kInvalidRequest, "aws-chunked: unexpected trailer signature");
    }
    const Sha256Digest expected = chain_.TrailerSignature(trailer_sha_.Final());
    if (!CtEqual(expected.data(), expected.size(), sent.data(), sent.size())) {
      return Fail(SigV4Error::kSignatureDoesNotMatch,
                  "The trailer signature we calculated does not match the signature you "
                  "provided.");
    }
    chain_.Advance(sent);
    trailer_sig_ok_ = true;
    return {};
  }
  if (trailer_sig_ok_) {
    return Fail(SigV4Error::kInvalidRequest, "aws-chunked: trailer after the trailer signature");
  }
  if (trailer_count_ == kMaxTrailers ||
      name.size() + value.size() > sizeof(trailer_buf_) - trailer_buf_len_) {
    return Fail(SigV4Error::kInvalidRequest, "aws-chunked: too many trailers");
  }
  bool declared = declared_len_ == 0;
  ForEachListItem(std::string_view(declared_, declared_len_),
                  [&](std::string_view d) { declared = declared || IEquals(d, name); });
  if (!declared) {
    return Fail(SigV4Error::kInvalidRequest,
                "aws-chunked: trailer not declared in x-amz-trailer");
  }
  for (std::size_t i = 0; i < trailer_count_; ++i) {
    if (IEquals(trailers_[i].name, name)) {
      return Fail(SigV4Error::kInvalidRequest, "aws-chunked: duplicate trailer");
    }
  }
  char* n = trailer_buf_ + trailer_buf_len_;
  for (std::size_t i = 0; i < name.size(); ++i) {
    n[i] = ToLower(name[i]);
  }
  char* v = n + name.size();
  std::memcpy(v, value.data(), value.size());
  trailer_buf_len_ += name.size() + value.size();
  trailers_[trailer_count_++] = {std::string_view(n, name.size()),
                                 std::string_view(v, value.size())};
  // The trailer signature covers "name:value\n" per trailer [TRAILER].
  trailer_sha_.Update(n, name.size());
  trailer_sha_.Update(":", 1);
  trailer_sha_.Update(v, value.size());
  trailer_sha_.Update("\n", 1);
  return {};
}

SigV4Result<AwsChunkedDecoder::Output> AwsChunkedDecoder::Feed(std::string_view in) {
  Output out;
  if (state_ == State::kFailed) {
    return SigV4Fail(fail_error_, fail_msg_);
  }
  if (state_ == State::kIdle) {
    return Fail(SigV4Error::kInvalidRequest, "aws-chunked: decoder not started");
  }
  std::size_t i = 0;
  while (i < in.size()) {
    switch (state_) {
      case State::kChunkHeader:
      case State::kTrailerLine: {
        const char* start = in.data() + i;
        const void* nl = std::memchr(start, '\n', in.size() - i);
        const std::size_t take =
            nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - start)
                          : in.size() - i;
        if (take > kMaxLine - line_len_) {
          return Fail(SigV4Error::kInvalidRequest, "aws-chunked: line too long");
        }
        std::memcpy(line_ + line_len_, start, take);
        line_len_ += take;
        i += take;
        if (nl == nullptr) {
          break;
        }
        ++i;  // the '\n'
        const std::string_view line(line_, line_len_);
        line_len_ = 0;
        SigV4Status st =
            state_ == State::kChunkHeader ? OnChunkHeader(line) : OnTrailerLine(line);
        if (!st) {
          return std::unexpected(std::move(st.error()));
        }
        break;
      }
      case State::kChunkData: {
        const std::size_t take =
            static_cast<std::size_t>(std::min<uint64_t>(remaining_, in.size() - i));
        const std::string_view data = in.substr(i, take);
        if (signed_chunks()) {
          chunk_sha_.Update(data);
        }
        decoded_ += take;
        remaining_ -= take;
        i += take;
        if (remaining_ == 0) {
          if (auto st = OnChunkEnd(); !st) {
            return std::unexpected(std::move(st.error()));
          }
          state_ = State::kChunkDataCr;
        }
        out.consumed = i;
        out.data = data;
        return out;
      }
      case State::kChunkDataCr:
        if (in[i] != '\r') {
          return Fail(SigV4Error::kInvalidRequest, "aws-chunked: missing CRLF after chunk data");
        }
        ++i;
        state_ = State::kChunkDataLf;
        break;
      case State::kChunkDataLf:
        if (in[i] != '\n') {
          return Fail(SigV4Error::kInvalidRequest, "aws-chunked: missing CRLF after chunk data");
        }
        ++i;
        state_ = State::kChunkHeader;
        break;
      case State::kFinalCrlf:
        if (in[i] != "\r\n"[line_len_]) {
          return Fail(SigV4Error::kInvalidRequest, "aws-chunked: data after the final chunk");
        }
        ++i;
        if (++line_len_ == 2) {
          line_len_ = 0;
          state_ = State::kDone;
        }
        break;
      case State::kDone:
        return Fail(SigV4Error::kInvalidRequest, "aws-chunked: data after the end of the body");
      case State::kIdle:
      case State::kFailed:
        return Fail(SigV4Error::kInvalidRequest, "aws-chunked: decoder in a bad state");
    }
  }
  out.consumed = i;
  return out;
}

SigV4Status AwsChunkedDecoder::Finish() {
  switch (state_) {
    case State::kDone:
      return {};
    case State::kFinalCrlf:
      // The zero chunk (signed, so authentic) was seen; only its CRLF is missing.
      state_ = State::kDone;
      return {};
    case State::kTrailerLine:
      if (line_len_ == 0 && TrailersComplete()) {
        state_ = State::kDone;
        return {};
      }
      return Fail(SigV4Error::kIncompleteBody, "The request body terminated unexpectedly");
    case State::kFailed:
      return SigV4Fail(fail_error_, fail_msg_);
    case State::kIdle:
      return Fail(SigV4Error::kInvalidRequest, "aws-chunked: decoder not started");
    default:
      return Fail(SigV4Error::kIncompleteBody, "The request body terminated unexpectedly");
  }
}

// ---------------------------------------------------------------------------
// Client side.

ChunkSigner::ChunkSigner(const HmacSha256Key& key, std::string_view amz_date,
                         std::string_view scope, std::string_view seed_signature_hex) {
  chain_.Init(key, amz_date, scope, seed_signature_hex);
}

std::string ChunkSigner::SignChunk(std::string_view data) {
  const Sha256Digest sig = chain_.ChunkSignature(Sha256Of(data));
  chain_.Advance(sig);
  return HexDigest(sig);
}

std::string ChunkSigner::SignTrailer(std::string_view canonical_trailers) {
  const Sha256Digest sig = chain_.TrailerSignature(Sha256Of(canonical_trailers));
  chain_.Advance(sig);
  return HexDigest(sig);
}

std::string EncodeAwsChunked(std::string_view payload, std::size_t chunk_size,
                             AwsChunkedMode mode, ChunkSigner* signer,
                             std::span<const TrailerView> trailers) {
  const bool sign = mode != AwsChunkedMode::kUnsignedTrailer && signer != nullptr;
  std::string out;
  out.reserve(AwsChunkedEncodedLength(payload.size(), chunk_size, mode, trailers));
  auto chunk = [&](std::string_view data) {
    AppendHexSize(out, data.size());
    if (sign) {
      out += kChunkSignaturePrefix;
      out += signer->SignChunk(data);
    }
    out += "\r\n";
    if (!data.empty()) {
      out += data;
      out += "\r\n";
    }
  };
  if (chunk_size == 0) {
    chunk_size = payload.size() == 0 ? 1 : payload.size();
  }
  for (std::size_t off = 0; off < payload.size(); off += chunk_size) {
    chunk(payload.substr(off, chunk_size));
  }
  chunk({});
  if (mode == AwsChunkedMode::kSigned) {
    out += "\r\n";
    return out;
  }
  std::string canonical;
  for (const TrailerView& t : trailers) {
    out += t.name;
    out += ':';
    out += t.value;
    out += "\r\n";
    canonical += t.name;
    canonical += ':';
    canonical += t.value;
    canonical += '\n';
  }
  if (mode == AwsChunkedMode::kSignedTrailer && signer != nullptr) {
    out += kTrailerSignatureName;
    out += ':';
    out += signer->SignTrailer(canonical);
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

uint64_t AwsChunkedEncodedLength(uint64_t payload_len, std::size_t chunk_size, AwsChunkedMode mode,
                                 std::span<const TrailerView> trailers) {
  const uint64_t sig = mode != AwsChunkedMode::kUnsignedTrailer
                           ? kChunkSignaturePrefix.size() + 64
                           : 0;
  if (chunk_size == 0) {
    chunk_size = payload_len == 0 ? 1 : static_cast<std::size_t>(payload_len);
  }
  uint64_t total = 0;
  const uint64_t full = payload_len / chunk_size;
  const uint64_t last = payload_len % chunk_size;
  total += full * (HexSizeLen(chunk_size) + sig + 2 + chunk_size + 2);
  if (last != 0) {
    total += HexSizeLen(last) + sig + 2 + last + 2;
  }
  total += 1 + sig + 2;  // the zero chunk
  if (mode == AwsChunkedMode::kSigned) {
    return total + 2;
  }
  for (const TrailerView& t : trailers) {
    total += t.name.size() + 1 + t.value.size() + 2;
  }
  if (mode == AwsChunkedMode::kSignedTrailer) {
    total += kTrailerSignatureName.size() + 1 + 64 + 2;
  }
  return total + 2;
}

}  // namespace mamute::auth
