// SigV4 for S3. Section references:
//   [SIGV4-HDR] https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
//   [SIGV4-QS]  https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
//   [SIGV4-CR]  https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
//   [COMPAT]    /work/shared/reference/s3-compatibility.md §2.2 (what the SDKs and servers do)
#include "auth/sigv4.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "auth/ct_equal.h"

namespace mamute::auth {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
constexpr std::string_view kStreamingSigned = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
constexpr std::string_view kStreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
constexpr std::string_view kStreamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
constexpr int64_t kMaxPresignExpires = 604800;  // 7 days [SIGV4-QS]
constexpr std::size_t kMaxAccessKey = 128;
constexpr std::size_t kMaxRegion = 64;
constexpr std::size_t kMaxService = 32;
constexpr std::size_t kMaxSignedHeaders = detail::SignedNames::kMax;
constexpr char kHexLower[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";

constexpr std::string_view kSignatureMismatchMsg =
    "The request signature we calculated does not match the signature you provided. Check your "
    "key and signing method.";

// Byte classes, built at compile time: hex digit value (or -1), whether a byte is in
// the AWS unreserved set, and whether it may appear in a SignedHeaders name (an RFC 9110
// token character, lower case only).
struct ByteTables {
  int8_t hex[256];
  bool unreserved[256];
  uint8_t signed_name[256];  // 1: a name byte, 2: ';', 0: not allowed
  constexpr ByteTables() : hex(), unreserved(), signed_name() {
    for (int c = 0; c < 256; ++c) {
      hex[c] = c >= '0' && c <= '9'   ? static_cast<int8_t>(c - '0')
               : c >= 'a' && c <= 'f' ? static_cast<int8_t>(c - 'a' + 10)
               : c >= 'A' && c <= 'F' ? static_cast<int8_t>(c - 'A' + 10)
                                      : static_cast<int8_t>(-1);
      unreserved[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~';
      signed_name[c] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                       c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
                       c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|' ||
                       c == '~';
      if (c == ';') signed_name[c] = 2;
    }
  }
};
constexpr ByteTables kTables;

inline char ToLower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

inline uint64_t Load8(const char* p) noexcept {
  uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighs = 0x8080808080808080ULL;

// ASCII lower case of 8 bytes at once: +0x20 on each byte in 'A'..'Z', others unchanged.
inline uint64_t Lower8(uint64_t x) noexcept {
  const uint64_t low7 = x & ~kHighs;
  const uint64_t ge_a = low7 + kOnes * (0x80 - 'A');      // high bit: byte >= 'A'
  const uint64_t gt_z = low7 + kOnes * (0x80 - 'Z' - 1);  // high bit: byte > 'Z'
  const uint64_t upper = ge_a & ~gt_z & ~x & kHighs;
  return x | (upper >> 2);
}

// Case-insensitive equality of a header name `a` (as sent) with `lower`, which is
// already lower case (a literal, or a validated SignedHeaders name). Eight bytes per
// step: it runs for every header against every name SigV4 looks for.
inline bool IEquals(std::string_view a, std::string_view lower) noexcept {
  if (a.size() != lower.size()) {
    return false;
  }
  std::size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    if (Lower8(Load8(a.data() + i)) != Load8(lower.data() + i)) {
      return false;
    }
  }
  for (; i < a.size(); ++i) {
    if (ToLower(a[i]) != lower[i]) {
      return false;
    }
  }
  return true;
}

bool IStartsWith(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}

inline bool IsSpace(char c) noexcept { return c == ' ' || c == '\t'; }

inline std::string_view Trim(std::string_view s) noexcept {
  while (!s.empty() && IsSpace(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && IsSpace(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

inline int HexValue(char c) noexcept { return kTables.hex[static_cast<unsigned char>(c)]; }

bool AllDigits(std::string_view s) noexcept {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

inline bool IsUnreserved(unsigned char c) noexcept { return kTables.unreserved[c]; }

void AppendEncodedByte(std::string& out, unsigned char c, bool keep_slash) {
  if (IsUnreserved(c) || (keep_slash && c == '/')) {
    out.push_back(static_cast<char>(c));
  } else {
    const char enc[3] = {'%', kHexUpper[c >> 4], kHexUpper[c & 15]};
    out.append(enc, 3);
  }
}

// Decodes %XX once and re-encodes each byte the AWS way. `plus_is_space` is the
// form-encoding rule used for query strings; in paths '+' is a literal '+'
// ([COMPAT] rule 5). In paths an encoded slash stays encoded: a client that sent
// %2F signed %2F.
void AppendRecoded(std::string& out, std::string_view in, bool is_path) {
  std::size_t i = 0;
  while (i < in.size()) {
    // Fast path: a run of bytes that stay as they are is appended at once.
    std::size_t j = i;
    while (j < in.size() && (IsUnreserved(static_cast<unsigned char>(in[j])) ||
                             (is_path && in[j] == '/'))) {
      ++j;
    }
    if (j != i) {
      out.append(in.data() + i, j - i);
      i = j;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
        HexValue(in[i + 2]) >= 0) {
      const unsigned char d =
          static_cast<unsigned char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 3;
      if (is_path && d == '/') {
        out.append("%2F");
        continue;
      }
      AppendEncodedByte(out, d, is_path);
      continue;
    }
    ++i;
    if (c == '+' && !is_path) {
      out.append("%20");
      continue;
    }
    AppendEncodedByte(out, c, is_path);
  }
}

// Percent-decodes once ('+' as space: used for presigned query values).
void AppendDecoded(std::string& out, std::string_view in) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else if (c == '+') {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
}

// Calls f(name, value) for each '&'-separated parameter of a raw query, as sent.
// A parameter without '=' has an empty value. Returns false when f does.
template <typename F>
bool ForEachQueryParam(std::string_view query, F&& f) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (piece.empty()) {
      continue;
    }
    const std::size_t eq = piece.find('=');
    const std::string_view name = piece.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    if (!f(name, value)) {
      return false;
    }
  }
  return true;
}

const HeaderView* FindHeader(const SigV4Request& req, std::string_view lower_name,
                             int* count = nullptr) noexcept {
  const HeaderView* found = nullptr;
  int n = 0;
  for (std::size_t i = 0; i < req.header_count; ++i) {
    if (IEquals(req.headers[i].name, lower_name)) {
      if (found == nullptr) {
        found = &req.headers[i];
      }
      ++n;
    }
  }
  if (count != nullptr) {
    *count = n;
  }
  return found;
}

// One pass over the headers for every name SigV4 reads (instead of one pass per name).
void ScanKnownHeaders(const SigV4Request& req, detail::KnownHeaders* k) noexcept {
  using K = detail::KnownHeaders;
  *k = K{};
  for (std::size_t i = 0; i < req.header_count; ++i) {
    const std::string_view name = req.headers[i].name;
    K::Slot slot = K::kCount;
    switch (name.size()) {
      case 4:
        if (IEquals(name, "date")) slot = K::kDate;
        break;
      case 10:
        if (IEquals(name, "x-amz-date")) slot = K::kXAmzDate;
        break;
      case 13:
        if (IEquals(name, "authorization")) {
          slot = K::kAuthorization;
        } else if (IEquals(name, "x-amz-trailer")) {
          slot = K::kTrailer;
        }
        break;
      case 20:
        if (IEquals(name, "x-amz-content-sha256")) slot = K::kContentSha256;
        break;
      case 28:
        if (IEquals(name, "x-amz-decoded-content-length")) slot = K::kDecodedLength;
        break;
      default:
        break;
    }
    if (slot == K::kCount) continue;
    if (k->n[slot]++ == 0) k->h[slot] = &req.headers[i];
  }
}

// Howard Hinnant's days_from_civil.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned DaysInMonth(int64_t y, unsigned m) noexcept {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
    return 29;
  }
  return kDays[m - 1];
}

int Digits(std::string_view s) noexcept {
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return -1;
    }
    v = v * 10 + (c - '0');
  }
  return v;
}

bool ToUnix(int year, int month, int day, int hh, int mm, int ss, int64_t* out) noexcept {
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hh < 0 || hh > 23 || mm < 0 ||
      mm > 59 || ss < 0 || ss > 59) {
    return false;
  }
  if (static_cast<unsigned>(day) > DaysInMonth(year, static_cast<unsigned>(month))) {
    return false;
  }
  *out = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
         hh * 3600 + mm * 60 + ss;
  return true;
}

// Checks a SignedHeaders list — lower-case tokens, strictly ascending, includes host —
// and splits it into `names` for the canonical request. One pass over the bytes (it runs
// on every request).
bool ParseSignedHeaders(std::string_view list, detail::SignedNames* names, std::string* why) {
  names->count = 0;
  if (list.empty()) {
    *why = "SignedHeaders is empty";
    return false;
  }
  std::string_view prev;
  bool has_host = false;
  const char* const base = list.data();
  const char* const end = base + list.size();
  const char* p = base;
  while (true) {
    const char* const name_start = p;
    while (p != end && kTables.signed_name[static_cast<unsigned char>(*p)] == 1) ++p;
    if (p != end && *p != ';') {
      *why = "SignedHeaders must be lower-case header names separated by ';'";
      return false;
    }
    const std::size_t i = static_cast<std::size_t>(p - base);
    const std::string_view name(name_start, static_cast<std::size_t>(p - name_start));
    if (name.empty() || names->count == kMaxSignedHeaders) {
      *why = "SignedHeaders is malformed";
      return false;
    }
    if (!prev.empty() && !(prev < name)) {
      *why = "SignedHeaders must be sorted and unique";
      return false;
    }
    names->end[names->count++] = static_cast<uint32_t>(i);
    has_host = has_host || name == "host";
    prev = name;
    if (p == end) break;
    ++p;  // the ';'
  }
  if (!has_host) {
    // [COMPAT] rule 7: host must always be signed.
    *why = "SignedHeaders must include host";
    return false;
  }
  return true;
}

// Splits a SignedHeaders list the signer was given, without checking it (cold path).
void SplitSignedHeaders(std::string_view list, detail::SignedNames* names) {
  names->count = 0;
  for (std::size_t i = 0; i <= list.size() && names->count < kMaxSignedHeaders; ++i) {
    if (i == list.size() || list[i] == ';') names->end[names->count++] = static_cast<uint32_t>(i);
  }
}

bool SignedHeadersContain(std::string_view list, std::string_view name) noexcept {
  while (!list.empty()) {
    const std::size_t semi = list.find(';');
    if (IEquals(name, list.substr(0, semi))) {
      return true;
    }
    if (semi == std::string_view::npos) {
      break;
    }
    list = list.substr(semi + 1);
  }
  return false;
}

// Trimall [SIGV4-CR]: trim, and collapse inner runs of whitespace into one space.
void AppendTrimAll(std::string& out, std::string_view v) {
  v = Trim(v);
  // Fast path: no tab and no double space inside, so the trimmed value is canonical.
  // Eight bytes at a time skip words with no byte below 0x21 (no space, no tab).
  bool simple = true;
  std::size_t i = 0;
  for (; i + 8 <= v.size(); i += 8) {
    const uint64_t x = Load8(v.data() + i);
    if (((x - kOnes * 0x21) & ~x & kHighs) != 0) break;
  }
  for (; i < v.size() && simple; ++i) {
    simple = v[i] != '\t' && !(v[i] == ' ' && i + 1 < v.size() && v[i + 1] == ' ');
  }
  if (simple) {
    out.append(v);
    return;
  }
  bool in_space = false;
  for (char c : v) {
    if (IsSpace(c)) {
      in_space = true;
      continue;
    }
    if (in_space) {
      out.push_back(' ');
      in_space = false;
    }
    out.push_back(c);
  }
}

// The canonical request [SIGV4-HDR] "CanonicalRequest": method, URI, query,
// headers, signed headers, payload hash, separated by '\n'.
// `signed_mask` (optional) receives bit i set for each header i < 64 that a signed name
// matched, so the caller can tell unsigned x-amz-* headers without another pass.
void AppendCanonicalRequest(std::string& out, std::string& query_buf,
                            std::vector<detail::QueryParam>& params, const SigV4Request& req,
                            std::string_view signed_headers, const detail::SignedNames& names,
                            std::string_view payload_hash, bool skip_signature_param,
                            uint64_t* signed_mask = nullptr) {
  out.append(req.method);
  out.push_back('\n');
  AppendCanonicalPath(out, req.raw_path);
  out.push_back('\n');

  // Canonical query: every parameter (minus X-Amz-Signature for presigned URLs),
  // names and values re-encoded, sorted by name then value, '=' always present.
  query_buf.clear();
  params.clear();
  ForEachQueryParam(req.raw_query, [&](std::string_view name, std::string_view value) {
    if (skip_signature_param && name == "X-Amz-Signature") {
      return true;
    }
    detail::QueryParam p{};
    p.name_off = static_cast<uint32_t>(query_buf.size());
    AppendRecoded(query_buf, name, /*is_path=*/false);
    p.name_len = static_cast<uint32_t>(query_buf.size() - p.name_off);
    p.value_off = static_cast<uint32_t>(query_buf.size());
    AppendRecoded(query_buf, value, /*is_path=*/false);
    p.value_len = static_cast<uint32_t>(query_buf.size() - p.value_off);
    params.push_back(p);
    return true;
  });
  const char* base = query_buf.data();
  std::sort(params.begin(), params.end(),
            [base](const detail::QueryParam& a, const detail::QueryParam& b) {
              const std::string_view an(base + a.name_off, a.name_len);
              const std::string_view bn(base + b.name_off, b.name_len);
              if (an != bn) {
                return an < bn;
              }
              return std::string_view(base + a.value_off, a.value_len) <
                     std::string_view(base + b.value_off, b.value_len);
            });
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i != 0) {
      out.push_back('&');
    }
    out.append(base + params[i].name_off, params[i].name_len);
    out.push_back('=');
    out.append(base + params[i].value_off, params[i].value_len);
  }
  out.push_back('\n');

  // Canonical headers: for each signed name, the values of every header with that
  // name, in the order received, trimmed and joined with ','.
  uint64_t mask = 0;
  std::size_t start = 0;
  for (uint32_t n = 0; n < names.count; ++n) {
    const std::string_view name = signed_headers.substr(start, names.end[n] - start);
    start = names.end[n] + 1;
    out.append(name);  // validated lower case
    out.push_back(':');
    bool first = true;
    for (std::size_t i = 0; i < req.header_count; ++i) {
      if (IEquals(req.headers[i].name, name)) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        AppendTrimAll(out, req.headers[i].value);
        if (i < 64) mask |= uint64_t{1} << i;
      }
    }
    out.push_back('\n');
  }
  if (signed_mask != nullptr) *signed_mask = mask;
  out.push_back('\n');
  out.append(signed_headers);
  out.push_back('\n');
  out.append(payload_hash);
}

void AppendStringToSignPrefix(std::string& out, std::string_view amz_date, std::string_view scope) {
  out.append(kAlgorithm);
  out.push_back('\n');
  out.append(amz_date);
  out.push_back('\n');
  out.append(scope);
  out.push_back('\n');
}

SigV4Status ParseDecodedContentLength(const HeaderView* h, uint32_t count, SigV4Auth* auth) {
  if (h == nullptr) {
    return {};
  }
  const std::string_view v = Trim(h->value);
  if (count > 1 || !AllDigits(v) || v.size() > 18) {
    return SigV4Fail(SigV4Error::kInvalidArgument, "x-amz-decoded-content-length is invalid");
  }
  int64_t n = 0;
  for (char c : v) {
    n = n * 10 + (c - '0');
  }
  auth->decoded_content_length = n;
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------

std::string_view SigV4ErrorCode(SigV4Error e) noexcept {
  switch (e) {
    case SigV4Error::kSignatureDoesNotMatch:
      return "SignatureDoesNotMatch";
    case SigV4Error::kInvalidAccessKeyId:
      return "InvalidAccessKeyId";
    case SigV4Error::kAccessDenied:
      return "AccessDenied";
    case SigV4Error::kAuthorizationHeaderMalformed:
      return "AuthorizationHeaderMalformed";
    case SigV4Error::kAuthorizationQueryParametersError:
      return "AuthorizationQueryParametersError";
    case SigV4Error::kMissingSecurityHeader:
      return "MissingSecurityHeader";
    case SigV4Error::kRequestTimeTooSkewed:
      return "RequestTimeTooSkewed";
    case SigV4Error::kXAmzContentSHA256Mismatch:
      return "XAmzContentSHA256Mismatch";
    case SigV4Error::kInvalidRequest:
      return "InvalidRequest";
    case SigV4Error::kInvalidArgument:
      return "InvalidArgument";
    case SigV4Error::kIncompleteBody:
      return "IncompleteBody";
    case SigV4Error::kMissingContentLength:
      return "MissingContentLength";
    case SigV4Error::kNotImplemented:
      return "NotImplemented";
  }
  return "InternalError";
}

int SigV4ErrorHttpStatus(SigV4Error e) noexcept {
  switch (e) {
    case SigV4Error::kSignatureDoesNotMatch:
    case SigV4Error::kInvalidAccessKeyId:
    case SigV4Error::kAccessDenied:
    case SigV4Error::kRequestTimeTooSkewed:
      return 403;
    case SigV4Error::kMissingContentLength:
      return 411;
    case SigV4Error::kNotImplemented:
      return 501;
    case SigV4Error::kAuthorizationHeaderMalformed:
    case SigV4Error::kAuthorizationQueryParametersError:
    case SigV4Error::kMissingSecurityHeader:
    case SigV4Error::kXAmzContentSHA256Mismatch:
    case SigV4Error::kInvalidRequest:
    case SigV4Error::kInvalidArgument:
    case SigV4Error::kIncompleteBody:
      return 400;
  }
  return 500;
}

Status SigV4Failure::ToStatus() const {
  std::string msg(SigV4ErrorCode(error));
  msg += ": ";
  msg += message;
  switch (error) {
    case SigV4Error::kSignatureDoesNotMatch:
    case SigV4Error::kInvalidAccessKeyId:
    case SigV4Error::kRequestTimeTooSkewed:
      return Status::Unauthenticated(msg);
    case SigV4Error::kAccessDenied:
      return Status::PermissionDenied(msg);
    case SigV4Error::kXAmzContentSHA256Mismatch:
      return Status::Corruption(msg);
    case SigV4Error::kNotImplemented:
      return Status::NotImplemented(msg);
    default:
      return Status::InvalidArgument(msg);
  }
}

std::unexpected<SigV4Failure> SigV4Fail(SigV4Error e, std::string_view message) {
  SigV4Failure f;
  f.error = e;
  f.message.assign(message);
  return std::unexpected<SigV4Failure>(std::move(f));
}

std::unexpected<SigV4Failure> InvalidAccessKeyIdFailure() {
  return SigV4Fail(SigV4Error::kInvalidAccessKeyId,
                   "The AWS Access Key Id you provided does not exist in our records.");
}

std::string_view PayloadModeName(PayloadMode m) noexcept {
  switch (m) {
    case PayloadMode::kSignedHash:
      return "signed-sha256";
    case PayloadMode::kUnsigned:
      return kUnsignedPayload;
    case PayloadMode::kStreamingSigned:
      return kStreamingSigned;
    case PayloadMode::kStreamingUnsignedTrailer:
      return kStreamingUnsignedTrailer;
    case PayloadMode::kStreamingSignedTrailer:
      return kStreamingSignedTrailer;
  }
  return "unknown";
}

SigV4Result<PayloadMode> ParsePayloadMode(std::string_view v) {
  if (v == kUnsignedPayload) {
    return PayloadMode::kUnsigned;
  }
  if (v == kStreamingSigned) {
    return PayloadMode::kStreamingSigned;
  }
  if (v == kStreamingUnsignedTrailer) {
    return PayloadMode::kStreamingUnsignedTrailer;
  }
  if (v == kStreamingSignedTrailer) {
    return PayloadMode::kStreamingSignedTrailer;
  }
  if (v.starts_with("STREAMING-")) {
    // SigV4A (ECDSA) or a future framing: never store such a body as it is.
    return SigV4Fail(SigV4Error::kNotImplemented,
                     "This x-amz-content-sha256 streaming mode is not implemented");
  }
  Sha256Digest d;
  if (v.size() == 64 && HexDecodeDigest(v, &d)) {
    return PayloadMode::kSignedHash;
  }
  return SigV4Fail(SigV4Error::kInvalidArgument,
                   "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                   "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                   "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.");
}

namespace {
AuthKind DetectAuthKindWith(const SigV4Request& req, const HeaderView* authz) noexcept {
  bool query_v4 = false;
  bool query_v2 = false;
  ForEachQueryParam(req.raw_query, [&](std::string_view name, std::string_view) {
    query_v4 = query_v4 || name == "X-Amz-Algorithm";
    query_v2 = query_v2 || name == "Signature" || name == "AWSAccessKeyId";
    return true;
  });
  if (authz != nullptr && (query_v4 || query_v2)) {
    return AuthKind::kAmbiguous;
  }
  if (authz != nullptr) {
    const std::string_view v = Trim(authz->value);
    if (v.starts_with(kAlgorithm) && v.size() > kAlgorithm.size() && IsSpace(v[kAlgorithm.size()])) {
      return AuthKind::kHeader;
    }
    return AuthKind::kUnsupported;
  }
  if (query_v4) {
    return AuthKind::kPresigned;
  }
  if (query_v2) {
    return AuthKind::kUnsupported;
  }
  return AuthKind::kNone;
}
}  // namespace

AuthKind DetectAuthKind(const SigV4Request& req) noexcept {
  return DetectAuthKindWith(req, FindHeader(req, "authorization"));
}

// ---------------------------------------------------------------------------
// Encoding helpers.

void HexEncodeDigest(const Sha256Digest& d, char* out) noexcept {
  for (std::size_t i = 0; i < d.size(); ++i) {
    out[2 * i] = kHexLower[d[i] >> 4];
    out[2 * i + 1] = kHexLower[d[i] & 15];
  }
}

std::string HexDigest(const Sha256Digest& d) {
  std::string s(64, '\0');
  HexEncodeDigest(d, s.data());
  return s;
}

bool HexDecodeDigest(std::string_view hex, Sha256Digest* out) noexcept {
  if (hex.size() != 64) {
    return false;
  }
  int bad = 0;  // any -1 from the table makes it negative; one test at the end
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    bad |= hi | lo;
    (*out)[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return bad >= 0;
}

void AppendUriEncoded(std::string& out, std::string_view in, bool keep_slash) {
  for (char c : in) {
    AppendEncodedByte(out, static_cast<unsigned char>(c), keep_slash);
  }
}

void AppendCanonicalPath(std::string& out, std::string_view raw_path) {
  // S3 is the one service without double encoding and without normalisation
  // [SIGV4-CR], [COMPAT] rule 5: "//", "." and ".." stay as they are.
  if (raw_path.empty()) {
    out.push_back('/');
    return;
  }
  AppendRecoded(out, raw_path, /*is_path=*/true);
}

bool ParseAmzDate(std::string_view s, int64_t* unix_s) noexcept {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') {
    return false;
  }
  const int y = Digits(s.substr(0, 4)), mo = Digits(s.substr(4, 2)), d = Digits(s.substr(6, 2));
  const int h = Digits(s.substr(9, 2)), mi = Digits(s.substr(11, 2)), se = Digits(s.substr(13, 2));
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || se < 0) {
    return false;
  }
  return ToUnix(y, mo, d, h, mi, se, unix_s);
}

bool ParseHttpDate(std::string_view s, int64_t* unix_s) noexcept {
  // RFC 7231 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
      s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' || s.substr(26) != "GMT") {
    return false;
  }
  int month = 0;
  for (int i = 0; i < 12; ++i) {
    if (s.substr(8, 3) == kMonths[i]) {
      month = i + 1;
    }
  }
  const int d = Digits(s.substr(5, 2)), y = Digits(s.substr(12, 4));
  const int h = Digits(s.substr(17, 2)), mi = Digits(s.substr(20, 2)), se = Digits(s.substr(23, 2));
  if (month == 0 || d < 0 || y < 0 || h < 0 || mi < 0 || se < 0) {
    return false;
  }
  return ToUnix(y, month, d, h, mi, se, unix_s);
}

void FormatAmzDate(int64_t t, char* out) noexcept {
  // Howard Hinnant's civil_from_days.
  int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  int64_t secs = t - days * 86400;
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  auto put = [](char* p, int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(out, y, 4);
  put(out + 4, m, 2);
  put(out + 6, d, 2);
  out[8] = 'T';
  put(out + 9, secs / 3600, 2);
  put(out + 11, secs / 60 % 60, 2);
  put(out + 13, secs % 60, 2);
  out[15] = 'Z';
}

HmacSha256Key DeriveSigningKey(std::string_view secret, std::string_view date,
                               std::string_view region, std::string_view service) {
  // [SIGV4-HDR] "Signing key". The intermediate keys are wiped before returning.
  std::string k;
  k.reserve(4 + secret.size());
  k.append("AWS4");
  k.append(secret);
  Sha256Digest d = HmacSha256(k, date);
  auto view = [](const Sha256Digest& x) {
    return std::string_view(reinterpret_cast<const char*>(x.data()), x.size());
  };
  d = HmacSha256(view(d), region);
  d = HmacSha256(view(d), service);
  d = HmacSha256(view(d), kTerminator);
  HmacSha256Key key(view(d));
  OPENSSL_cleanse(d.data(), d.size());
  OPENSSL_cleanse(k.data(), k.size());
  return key;
}

SigV4Status PayloadVerifier::Finish() {
  Sha256Digest got = sha_.Final();
  if (!CtEqual(got.data(), got.size(), expected_.data(), expected_.size())) {
    return SigV4Fail(SigV4Error::kXAmzContentSHA256Mismatch,
                     "The provided 'x-amz-content-sha256' header does not match what was "
                     "computed.");
  }
  return {};
}

// ---------------------------------------------------------------------------
// SigV4Context.

SigV4Context::SigV4Context() {
  canonical_.reserve(4096);
  sts_.reserve(256);
  own_.reserve(1024);
  scope_buf_.reserve(160);
  query_buf_.reserve(1024);
  params_.reserve(32);
}

// Credential = <access key>/<yyyymmdd>/<region>/<service>/aws4_request.
static SigV4Status ParseCredential(std::string_view cred, SigV4Auth* auth, SigV4Error malformed) {
  std::string_view parts[5];
  std::size_t n = 0;
  std::string_view rest = cred;
  while (n < 5) {
    const std::size_t slash = rest.find('/');
    parts[n++] = rest.substr(0, slash);
    if (slash == std::string_view::npos) {
      rest = {};
      break;
    }
    rest = rest.substr(slash + 1);
    if (n == 5) {
      return SigV4Fail(malformed, "the Credential is mal-formed; expecting "
                                  "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
    }
  }
  if (n != 5 || parts[0].empty() || parts[0].size() > kMaxAccessKey || parts[1].size() != 8 ||
      !AllDigits(parts[1]) || parts[2].empty() || parts[2].size() > kMaxRegion ||
      parts[3].empty() || parts[3].size() > kMaxService) {
    return SigV4Fail(malformed, "the Credential is mal-formed; expecting "
                                "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
  }
  if (parts[4] != kTerminator) {
    return SigV4Fail(malformed, "the Credential should be scoped with a valid terminator: "
                                "'aws4_request'.");
  }
  auth->access_key = parts[0];
  auth->scope_date = parts[1];
  auth->region = parts[2];
  auth->service = parts[3];
  auth->scope = cred.substr(parts[0].size() + 1);
  return {};
}

SigV4Status SigV4Context::ParseAuthorizationHeader(std::string_view value, const SigV4Config&) {
  // [SIGV4-HDR]: "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
  // Components are split on ',' and trimmed, in any order, each exactly once.
  constexpr SigV4Error kMalformed = SigV4Error::kAuthorizationHeaderMalformed;
  std::string_view v = Trim(value);
  v.remove_prefix(kAlgorithm.size());
  std::string_view cred, signed_headers, signature;
  while (!v.empty()) {
    const std::size_t comma = v.find(',');
    const std::string_view part = Trim(v.substr(0, comma));
    v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    if (part.empty()) {
      continue;
    }
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return SigV4Fail(kMalformed, "The authorization header is malformed.");
    }
    const std::string_view key = Trim(part.substr(0, eq));
    const std::string_view val = Trim(part.substr(eq + 1));
    std::string_view* slot = key == "Credential"      ? &cred
                             : key == "SignedHeaders" ? &signed_headers
                             : key == "Signature"     ? &signature
                                                      : nullptr;
    if (slot == nullptr || !slot->empty() || val.empty()) {
      return SigV4Fail(kMalformed, "The authorization header is malformed.");
    }
    *slot = val;
  }
  if (cred.empty()) {
    return SigV4Fail(kMalformed, "The authorization header is malformed; missing Credential.");
  }
  if (signed_headers.empty()) {
    return SigV4Fail(kMalformed, "The authorization header is malformed; missing SignedHeaders.");
  }
  if (signature.empty()) {
    return SigV4Fail(kMalformed, "The authorization header is malformed; missing Signature.");
  }
  if (auto st = ParseCredential(cred, &auth_, kMalformed); !st) {
    st.error().message.insert(0, "The authorization header is malformed; ");
    return st;
  }
  std::string why;
  if (!ParseSignedHeaders(signed_headers, &signed_names_, &why)) {
    return SigV4Fail(kMalformed, "The authorization header is malformed; " + why + ".");
  }
  if (!HexDecodeDigest(signature, &auth_.signature_bytes)) {
    return SigV4Fail(kMalformed,
                     "The authorization header is malformed; the Signature must be 64 hex digits.");
  }
  auth_.signed_headers = signed_headers;
  auth_.signature = signature;
  return {};
}

SigV4Status SigV4Context::CheckScope(const SigV4Config& cfg, SigV4Error malformed) {
  if (auth_.scope_date != auth_.amz_date.substr(0, 8)) {
    return SigV4Fail(malformed, "Invalid credential date. Date is not the same as X-Amz-Date.");
  }
  if (!cfg.any_region && auth_.region != cfg.region) {
    return SigV4Fail(malformed, "the region '" + std::string(auth_.region) +
                                    "' is wrong; expecting '" + cfg.region + "'");
  }
  if (auth_.service != cfg.service) {
    return SigV4Fail(malformed, "the service '" + std::string(auth_.service) +
                                    "' is wrong; expecting '" + cfg.service + "'");
  }
  return {};
}

SigV4Status SigV4Context::ParsePayloadHeaders() {
  // Streaming modes need the decoded length ([COMPAT] rule 8); the trailer names are
  // passed on to the aws-chunked decoder.
  using K = detail::KnownHeaders;
  if (auto st = ParseDecodedContentLength(known_.h[K::kDecodedLength], known_.n[K::kDecodedLength], &auth_); !st) {
    return st;
  }
  if (IsStreaming(auth_.payload_mode) && auth_.decoded_content_length < 0) {
    return SigV4Fail(SigV4Error::kMissingContentLength,
                     "x-amz-decoded-content-length is required with a streaming "
                     "x-amz-content-sha256.");
  }
  if (const HeaderView* t = known_.h[K::kTrailer]; t != nullptr) {
    auth_.trailer_names = Trim(t->value);
  }
  if (auth_.payload_mode == PayloadMode::kSignedHash &&
      !HexDecodeDigest(auth_.payload_hash, &auth_.expected_payload_sha256)) {
    return SigV4Fail(SigV4Error::kInvalidArgument, "x-amz-content-sha256 is not a valid sha256");
  }
  return {};
}

SigV4Status SigV4Context::ParsePresignedQuery(const SigV4Request& req, const SigV4Config& cfg,
                                              int64_t now_unix) {
  // [SIGV4-QS]: the six X-Amz-* parameters, each exactly once.
  constexpr SigV4Error kQErr = SigV4Error::kAuthorizationQueryParametersError;
  std::string_view algorithm, credential, date, expires, signed_headers, signature, content_sha;
  bool has_content_sha = false;
  bool duplicate = false;
  uint32_t seen = 0;
  ForEachQueryParam(req.raw_query, [&](std::string_view name, std::string_view value) {
    static constexpr std::string_view kNames[] = {
        "X-Amz-Algorithm",     "X-Amz-Credential", "X-Amz-Date",          "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Signature",  "X-Amz-Content-Sha256"};
    std::string_view* const slots[] = {&algorithm,      &credential, &date,       &expires,
                                       &signed_headers, &signature,  &content_sha};
    for (uint32_t i = 0; i < 7; ++i) {
      if (name == kNames[i]) {
        if ((seen & (1u << i)) != 0) {
          duplicate = true;
          return false;
        }
        seen |= 1u << i;
        *slots[i] = value;
        has_content_sha = has_content_sha || i == 6;
      }
    }
    return true;
  });
  if (duplicate) {
    return SigV4Fail(kQErr, "Query-string authentication parameters must appear only once.");
  }
  if (algorithm.empty() || credential.empty() || date.empty() || expires.empty() ||
      signed_headers.empty() || signature.empty()) {
    return SigV4Fail(kQErr,
                     "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                     "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                     "X-Amz-Expires parameters.");
  }
  // Decode the values we read (the credential has %2F separators) into own_, then
  // take views: own_ does not grow after this block.
  own_.clear();
  std::size_t offs[6][2];
  const std::string_view raws[6] = {algorithm, credential, date, expires, signed_headers,
                                    content_sha};
  for (int i = 0; i < 6; ++i) {
    offs[i][0] = own_.size();
    AppendDecoded(own_, raws[i]);
    offs[i][1] = own_.size() - offs[i][0];
  }
  auto view = [&](int i) { return std::string_view(own_).substr(offs[i][0], offs[i][1]); };
  const std::string_view alg = view(0), cred = view(1), amz_date = view(2), exp = view(3),
                         sh = view(4), csha = view(5);
  if (alg != kAlgorithm) {
    if (alg.starts_with("AWS4-ECDSA")) {
      return SigV4Fail(SigV4Error::kNotImplemented, "SigV4A is not implemented.");
    }
    return SigV4Fail(kQErr, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  if (auto st = ParseCredential(cred, &auth_, kQErr); !st) {
    st.error().message.insert(0, "Error parsing the X-Amz-Credential parameter; ");
    return st;
  }
  if (!ParseAmzDate(amz_date, &auth_.request_time)) {
    return SigV4Fail(kQErr, "X-Amz-Date must be in the ISO8601 Long Format "
                            "\"yyyyMMdd'T'HHmmss'Z'\"");
  }
  auth_.amz_date = amz_date;
  if (!AllDigits(exp) || exp.size() > 7) {
    return SigV4Fail(kQErr, "X-Amz-Expires should be a number");
  }
  auth_.expires_s = Digits(exp);
  if (auth_.expires_s < 1) {
    return SigV4Fail(kQErr, "X-Amz-Expires must be between 1 and 604800");
  }
  if (auth_.expires_s > kMaxPresignExpires) {
    return SigV4Fail(kQErr, "X-Amz-Expires must be less than a week (in seconds) that is 604800");
  }
  std::string why;
  if (!ParseSignedHeaders(sh, &signed_names_, &why)) {
    return SigV4Fail(kQErr, "X-Amz-SignedHeaders is invalid: " + why);
  }
  auth_.signed_headers = sh;
  if (!HexDecodeDigest(signature, &auth_.signature_bytes)) {
    return SigV4Fail(kQErr, "X-Amz-Signature must be 64 hex digits");
  }
  auth_.signature = signature;
  if (auto st = CheckScope(cfg, kQErr); !st) {
    return st;
  }
  // [COMPAT] rule 3: X-Amz-Date + X-Amz-Expires; a date in the future is refused too.
  if (auth_.request_time - now_unix > cfg.max_skew_s) {
    return SigV4Fail(SigV4Error::kAccessDenied, "Request is not valid yet");
  }
  if (now_unix > auth_.request_time + auth_.expires_s) {
    return SigV4Fail(SigV4Error::kAccessDenied, "Request has expired");
  }
  // Payload: UNSIGNED-PAYLOAD unless the client said otherwise ([SIGV4-QS]).
  std::string_view payload = kUnsignedPayload;
  if (has_content_sha) {
    payload = csha;
  } else if (const HeaderView* h = known_.h[detail::KnownHeaders::kContentSha256]; h != nullptr) {
    payload = Trim(h->value);
  }
  auto mode = ParsePayloadMode(payload);
  if (!mode) {
    return std::unexpected(std::move(mode.error()));
  }
  auth_.payload_mode = *mode;
  auth_.payload_hash = payload;
  return ParsePayloadHeaders();
}

SigV4Status SigV4Context::Prepare(const SigV4Request& req, const SigV4Config& cfg,
                                  int64_t now_unix) {
  auth_ = SigV4Auth{};
  canonical_.clear();
  sts_.clear();
  own_.clear();
  hash_set_ = false;

  using K = detail::KnownHeaders;
  ScanKnownHeaders(req, &known_);
  auth_.kind = DetectAuthKindWith(req, known_.h[K::kAuthorization]);
  switch (auth_.kind) {
    case AuthKind::kNone:
      return SigV4Fail(SigV4Error::kAccessDenied, "Access Denied");
    case AuthKind::kAmbiguous:
      return SigV4Fail(SigV4Error::kInvalidArgument,
                       "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                       "parameter, Signature query string parameter or the Authorization header "
                       "should be specified");
    case AuthKind::kUnsupported: {
      const HeaderView* a = known_.h[K::kAuthorization];
      const std::string_view v = a != nullptr ? Trim(a->value) : std::string_view();
      if (a == nullptr || v.starts_with("AWS ") || v.starts_with("AWS4-ECDSA")) {
        return SigV4Fail(SigV4Error::kNotImplemented,
                         "Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported");
      }
      return SigV4Fail(SigV4Error::kInvalidArgument, "Unsupported Authorization Type");
    }
    case AuthKind::kHeader:
    case AuthKind::kPresigned:
      break;
  }

  if (auth_.kind == AuthKind::kPresigned) {
    if (auto st = ParsePresignedQuery(req, cfg, now_unix); !st) {
      return st;
    }
  } else {
    const HeaderView* authz = known_.h[K::kAuthorization];
    if (known_.n[K::kAuthorization] != 1) {
      return SigV4Fail(SigV4Error::kInvalidArgument, "Only one Authorization header is allowed");
    }
    if (auto st = ParseAuthorizationHeader(authz->value, cfg); !st) {
      return st;
    }
    // Date: x-amz-date overrides Date; Date may be RFC 1123 or ISO 8601 basic
    // ([COMPAT] rule 2). The string to sign always carries the ISO basic form.
    const HeaderView* xdate = known_.h[K::kXAmzDate];
    if (known_.n[K::kXAmzDate] > 1) {
      return SigV4Fail(SigV4Error::kInvalidArgument, "x-amz-date must appear once");
    }
    if (xdate != nullptr) {
      auth_.amz_date = Trim(xdate->value);
      if (!ParseAmzDate(auth_.amz_date, &auth_.request_time)) {
        return SigV4Fail(SigV4Error::kAccessDenied,
                         "AWS authentication requires a valid Date or x-amz-date header");
      }
    } else {
      const HeaderView* date = known_.h[K::kDate];
      const std::string_view dv = date != nullptr ? Trim(date->value) : std::string_view();
      if (known_.n[K::kDate] != 1 || (!ParseAmzDate(dv, &auth_.request_time) &&
                         !ParseHttpDate(dv, &auth_.request_time))) {
        return SigV4Fail(SigV4Error::kAccessDenied,
                         "AWS authentication requires a valid Date or x-amz-date header");
      }
      FormatAmzDate(auth_.request_time, amz_date_buf_);
      auth_.amz_date = std::string_view(amz_date_buf_, 16);
    }
    if (auto st = CheckScope(cfg, SigV4Error::kAuthorizationHeaderMalformed); !st) {
      return st;
    }
    if (auth_.request_time - now_unix > cfg.max_skew_s ||
        now_unix - auth_.request_time > cfg.max_skew_s) {
      return SigV4Fail(SigV4Error::kRequestTimeTooSkewed,
                       "The difference between the request time and the server's time is too "
                       "large.");
    }
    const HeaderView* csha = known_.h[K::kContentSha256];
    if (csha == nullptr) {
      return SigV4Fail(SigV4Error::kMissingSecurityHeader,
                       "Your request is missing a required header: x-amz-content-sha256");
    }
    if (known_.n[K::kContentSha256] > 1) {
      return SigV4Fail(SigV4Error::kInvalidArgument, "x-amz-content-sha256 must appear once");
    }
    auth_.payload_hash = Trim(csha->value);
    auto mode = ParsePayloadMode(auth_.payload_hash);
    if (!mode) {
      return std::unexpected(std::move(mode.error()));
    }
    auth_.payload_mode = *mode;
    if (auto st = ParsePayloadHeaders(); !st) {
      return st;
    }
  }

  uint64_t signed_mask = 0;
  AppendCanonicalRequest(canonical_, query_buf_, params_, req, auth_.signed_headers, signed_names_,
                         auth_.payload_hash, auth_.kind == AuthKind::kPresigned, &signed_mask);
  // [COMPAT] rule 7: every x-amz-* header sent must be signed (AWS, versitygw, Garage).
  // The canonical headers pass marked the signed ones (the first 64; the list for the rest).
  if (cfg.reject_unsigned_amz_headers) {
    for (std::size_t i = 0; i < req.header_count; ++i) {
      if (i < 64 && (signed_mask >> i & 1) != 0) continue;
      const std::string_view name = req.headers[i].name;
      if (IStartsWith(name, "x-amz-") && (i < 64 || !SignedHeadersContain(auth_.signed_headers, name))) {
        canonical_.clear();
        return SigV4Fail(SigV4Error::kAccessDenied,
                         "There were headers present in the request which were not signed");
      }
    }
  }
  AppendStringToSignPrefix(sts_, auth_.amz_date, auth_.scope);
  return {};
}

void SigV4Context::SetCanonicalRequestHash(const Sha256Digest& hash) {
  if (hash_set_) {
    sts_.resize(sts_.size() - 64);
  }
  char hex[64];
  HexEncodeDigest(hash, hex);
  sts_.append(hex, 64);
  hash_set_ = true;
}

SigV4Status SigV4Context::CheckSignature(const Sha256Digest& mac) const {
  // Decoded in Prepare; a context that was not prepared never matches.
  const bool ok = hash_set_ && CtEqual(mac.data(), mac.size(), auth_.signature_bytes.data(),
                                       auth_.signature_bytes.size());
  if (ok) {
    return {};
  }
  SigV4Failure f;
  f.error = SigV4Error::kSignatureDoesNotMatch;
  f.message.assign(kSignatureMismatchMsg);
  f.string_to_sign = sts_;
  f.canonical_request = canonical_;
  return std::unexpected(std::move(f));
}

SigV4Status VerifyOne(SigV4Context& ctx, const HmacSha256Key& signing_key) {
  ctx.SetCanonicalRequestHash(Sha256Of(ctx.canonical_request()));
  return ctx.CheckSignature(HmacSha256(signing_key, ctx.string_to_sign()));
}

void VerifyBatch(SigV4Context* const* ctxs, const HmacSha256Key* const* keys, SigV4Status* out,
                 std::size_t n, Sha256Impl impl) {
  constexpr std::size_t kLanes = 16;
  std::string_view msgs[kLanes];
  Sha256Digest digests[kLanes];
  for (std::size_t base = 0; base < n; base += kLanes) {
    const std::size_t m = std::min(kLanes, n - base);
    for (std::size_t i = 0; i < m; ++i) {
      msgs[i] = ctxs[base + i]->canonical_request();
    }
    Sha256Batch(msgs, digests, m, impl);
    for (std::size_t i = 0; i < m; ++i) {
      ctxs[base + i]->SetCanonicalRequestHash(digests[i]);
      msgs[i] = ctxs[base + i]->string_to_sign();
    }
    HmacSha256Batch(keys + base, msgs, digests, m, impl);
    for (std::size_t i = 0; i < m; ++i) {
      out[base + i] = ctxs[base + i]->CheckSignature(digests[i]);
    }
  }
}

// ---------------------------------------------------------------------------
// Client-side signer.

namespace {

std::string BuildScope(std::string_view amz_date, const SigningCredentials& creds) {
  std::string scope(amz_date.substr(0, 8));
  scope += '/';
  scope += creds.region;
  scope += '/';
  scope += creds.service;
  scope += '/';
  scope += kTerminator;
  return scope;
}

std::string SignCanonical(const std::string& canonical, std::string_view amz_date,
                          const std::string& scope, const SigningCredentials& creds,
                          SigningDebug* debug) {
  std::string sts;
  AppendStringToSignPrefix(sts, amz_date, scope);
  sts += HexDigest(Sha256Of(canonical));
  const HmacSha256Key key =
      DeriveSigningKey(creds.secret_key, amz_date.substr(0, 8), creds.region, creds.service);
  std::string sig = HexDigest(HmacSha256(key, sts));
  if (debug != nullptr) {
    debug->canonical_request = canonical;
    debug->string_to_sign = sts;
    debug->signature = sig;
  }
  return sig;
}

}  // namespace

std::string SignRequest(const SigV4Request& req, const SigningCredentials& creds,
                        std::string_view signed_headers, SigningDebug* debug) {
  std::string computed;
  if (signed_headers.empty()) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < req.header_count; ++i) {
      std::string n;
      for (char c : req.headers[i].name) {
        n.push_back(ToLower(c));
      }
      if (n != "authorization") {
        names.push_back(std::move(n));
      }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (const auto& n : names) {
      if (!computed.empty()) {
        computed += ';';
      }
      computed += n;
    }
    signed_headers = computed;
  }
  const HeaderView* date = FindHeader(req, "x-amz-date");
  const HeaderView* csha = FindHeader(req, "x-amz-content-sha256");
  const std::string_view amz_date = date != nullptr ? Trim(date->value) : std::string_view();
  const std::string_view payload = csha != nullptr ? Trim(csha->value) : kUnsignedPayload;
  std::string canonical, qbuf;
  std::vector<detail::QueryParam> params;
  detail::SignedNames names;
  SplitSignedHeaders(signed_headers, &names);
  AppendCanonicalRequest(canonical, qbuf, params, req, signed_headers, names, payload, false);
  const std::string scope = BuildScope(amz_date, creds);
  const std::string sig = SignCanonical(canonical, amz_date, scope, creds, debug);
  std::string out(kAlgorithm);
  out += " Credential=";
  out += creds.access_key;
  out += '/';
  out += scope;
  out += ",SignedHeaders=";
  out += signed_headers;
  out += ",Signature=";
  out += sig;
  return out;
}

std::string Presign(const SigV4Request& req, const SigningCredentials& creds,
                    std::string_view amz_date, int64_t expires_s, std::string_view signed_headers,
                    SigningDebug* debug) {
  const std::string scope = BuildScope(amz_date, creds);
  std::string q(req.raw_query);
  auto add = [&q](std::string_view name, std::string_view value) {
    if (!q.empty()) {
      q += '&';
    }
    q += name;
    q += '=';
    AppendUriEncoded(q, value, false);
  };
  std::string cred(creds.access_key);
  cred += '/';
  cred += scope;
  add("X-Amz-Algorithm", kAlgorithm);
  add("X-Amz-Credential", cred);
  add("X-Amz-Date", amz_date);
  add("X-Amz-Expires", std::to_string(expires_s));
  add("X-Amz-SignedHeaders", signed_headers);
  SigV4Request r = req;
  r.raw_query = q;
  std::string canonical, qbuf;
  std::vector<detail::QueryParam> params;
  detail::SignedNames names;
  SplitSignedHeaders(signed_headers, &names);
  AppendCanonicalRequest(canonical, qbuf, params, r, signed_headers, names, kUnsignedPayload, true);
  const std::string sig = SignCanonical(canonical, amz_date, scope, creds, debug);
  add("X-Amz-Signature", sig);
  return q;
}

}  // namespace mamute::auth
