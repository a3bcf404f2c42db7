// S3 object operations: PutObject, GetObject, HeadObject, DeleteObject.
#include <charconv>
#include <cstring>

#include "core/shard.h"
#include "s3/handler.h"
#include "s3/object_requests.h"
#include "s3/service.h"
#include "store/keys.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/time_format.h"

namespace mamute::s3 {
namespace {

constexpr uint64_t kMaxPutSize = uint64_t{5} << 30;  // AWS: 5 GiB for a single PUT

struct Range {
  uint64_t first = 0;
  uint64_t length = 0;
};

/// Parses "bytes=a-b", "bytes=a-", "bytes=-n" for an object of `size` bytes.
/// nullopt: no usable range (absent, malformed or multi-range: the whole object, as S3 does).
/// Sets *unsatisfiable for a syntactically valid range outside the object.
std::optional<Range> ParseRange(std::string_view v, uint64_t size, bool* unsatisfiable) {
  *unsatisfiable = false;
  if (!v.starts_with("bytes=")) return std::nullopt;
  v.remove_prefix(6);
  if (v.find(',') != std::string_view::npos) return std::nullopt;
  auto dash = v.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view a = v.substr(0, dash), b = v.substr(dash + 1);
  auto num = [](std::string_view s, uint64_t* out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  uint64_t x = 0, y = 0;
  if (a.empty()) {  // suffix range: the last y bytes
    if (!num(b, &y)) return std::nullopt;
    if (y == 0) {
      *unsatisfiable = true;
      return std::nullopt;
    }
    if (size == 0) {
      *unsatisfiable = true;
      return std::nullopt;
    }
    y = std::min(y, size);
    return Range{size - y, y};
  }
  if (!num(a, &x)) return std::nullopt;
  if (b.empty()) {
    y = size == 0 ? 0 : size - 1;
  } else if (!num(b, &y) || y < x) {
    return std::nullopt;
  }
  if (x >= size) {
    *unsatisfiable = true;
    return std::nullopt;
  }
  y = std::min(y, size - 1);
  return Range{x, y - x + 1};
}

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '"' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '"' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}


}  // namespace

store::ChecksumAlgorithm ToStore(ChecksumAlgo a) {
  switch (a) {
    case ChecksumAlgo::kCrc32: return store::ChecksumAlgorithm::kCrc32;
    case ChecksumAlgo::kCrc32c: return store::ChecksumAlgorithm::kCrc32c;
    case ChecksumAlgo::kCrc64Nvme: return store::ChecksumAlgorithm::kCrc64Nvme;
    case ChecksumAlgo::kSha1: return store::ChecksumAlgorithm::kSha1;
    case ChecksumAlgo::kSha256: return store::ChecksumAlgorithm::kSha256;
  }
  return store::ChecksumAlgorithm::kCrc32;
}

ChecksumAlgo FromStore(store::ChecksumAlgorithm a) {
  switch (a) {
    case store::ChecksumAlgorithm::kCrc32: return ChecksumAlgo::kCrc32;
    case store::ChecksumAlgorithm::kCrc32c: return ChecksumAlgo::kCrc32c;
    case store::ChecksumAlgorithm::kCrc64Nvme: return ChecksumAlgo::kCrc64Nvme;
    case store::ChecksumAlgorithm::kSha1: return ChecksumAlgo::kSha1;
    case store::ChecksumAlgorithm::kSha256: return ChecksumAlgo::kSha256;
  }
  return ChecksumAlgo::kCrc32;
}

bool S3Handler::PutChecksumStart() {
  const http::RequestHead& h = ex_->head();
  int found = 0;
  for (uint32_t i = 0; i < h.header_count; ++i) {
    if (auto algo = ChecksumAlgoFromHeader(h.headers[i].name)) {
      ++found;
      checksum_algo_ = *algo;
      checksum_expected_ = std::string(h.headers[i].value);
      if (!ValidateBase64Checksum(*algo, checksum_expected_)) {
        RespondError(S3Error::kInvalidRequest,
                     std::string("Value for ") + std::string(ChecksumHeaderName(*algo)) + " header is invalid.");
        return false;
      }
    }
  }
  // A presigned URL carries x-amz-* "headers" as query parameters, signed like headers: JS v3
  // puts x-amz-checksum-crc32 (of an empty body, by default) and x-amz-sdk-checksum-algorithm
  // there. They bind the body as headers do — AWS refuses a body that does not match with
  // BadDigest — so they count as headers here instead of being ignored.
  std::string sdk_from_query;
  for (std::string_view q = h.query; !q.empty();) {
    std::size_t amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    std::size_t eq = kv.find('=');
    std::string_view name = kv.substr(0, eq);
    std::string_view raw = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
    auto algo = ChecksumAlgoFromHeader(name);
    bool sdk = http::EqualsIgnoreCase(name, "x-amz-sdk-checksum-algorithm");
    if (!algo && !sdk) continue;
    auto value = DecodeQueryValue(raw);
    if (sdk) {
      if (value) sdk_from_query = std::move(*value);
      continue;
    }
    ++found;
    checksum_algo_ = *algo;
    checksum_expected_ = value ? std::move(*value) : std::string();
    if (!value || !ValidateBase64Checksum(*algo, checksum_expected_)) {
      RespondError(S3Error::kInvalidRequest,
                   std::string("Value for ") + std::string(ChecksumHeaderName(*algo)) + " header is invalid.");
      return false;
    }
  }
  if (found > 1) {
    RespondError(S3Error::kInvalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
    return false;
  }
  if (std::string_view trailer = h.Find("x-amz-trailer"); !trailer.empty()) {
    auto algo = ChecksumAlgoFromHeader(Trim(trailer));
    if (!algo || found != 0 || !chunked_) {
      RespondError(S3Error::kInvalidRequest, "The value specified in the x-amz-trailer header is not supported");
      return false;
    }
    checksum_algo_ = *algo;
    checksum_in_trailer_ = true;
    found = 1;
  }
  if (found == 0) {
    std::string_view sdk = h.Find("x-amz-sdk-checksum-algorithm");
    if (sdk.empty()) sdk = sdk_from_query;
    if (!sdk.empty()) {
      auto algo = ParseChecksumAlgo(sdk);
      if (!algo) {
        RespondError(S3Error::kInvalidRequest, "Checksum algorithm provided is unsupported.");
        return false;
      }
      checksum_algo_ = *algo;  // computed and stored, nothing to compare with
      found = 1;
    }
  }
  if (found != 0) checksum_.emplace(checksum_algo_);
  return true;
}

bool S3Handler::PutChecksumFinish() {
  if (!checksum_) return true;
  checksum_raw_ = checksum_->FinishRaw();
  std::string expected = checksum_expected_;
  if (checksum_in_trailer_) {
    for (const auth::TrailerView& t : chunked_->trailers()) {
      if (http::EqualsIgnoreCase(t.name, ChecksumHeaderName(checksum_algo_))) expected = std::string(t.value);
    }
    if (expected.empty() || !ValidateBase64Checksum(checksum_algo_, expected)) {
      PutFail(S3Error::kInvalidRequest, "The trailing checksum declared in x-amz-trailer is missing or invalid.");
      return false;
    }
  }
  if (!expected.empty()) {
    auto raw = util::Base64Decode(expected);
    if (!raw || *raw != checksum_raw_) {
      PutFail(S3Error::kBadDigest, std::string("The ") + std::string(ChecksumAlgoName(checksum_algo_)) +
                                       " you specified did not match the calculated checksum.");
      return false;
    }
  }
  return true;
}

S3Handler::Pending* S3Handler::NewPending() {
  if (pending_ == nullptr) pending_ = new Pending{this};
  return pending_;
}

S3Handler* S3Handler::TakePending(void* ctx) {
  auto* p = static_cast<Pending*>(ctx);
  S3Handler* self = p->handler;
  delete p;
  if (self != nullptr) self->pending_ = nullptr;
  return self;
}

void S3Handler::EnqueueRefused(const Status& st) {
  delete pending_;
  pending_ = nullptr;
  RespondStoreFailure(st);
}

bool S3Handler::CommitFailed(const Status& st, const char* what) {
  if (st.ok()) return false;
  MLOG_ERROR("%s failed: %s", what, st.ToString().c_str());
  RespondStoreFailure(st);
  return true;
}

void S3Handler::RespondStoreFailure(const Status& st) {
  const StoreFailure f = FromStoreStatus(st);
  RespondError(f.error, f.message);
}

// ---------------------------------------------------------------- PutObject

// The body's framing and payload verification (signed SHA-256, aws-chunked) and its decoded
// length, shared by every operation with a request body (PUT, UploadPart, the XML bodies).
// false: answered.
bool S3Handler::PayloadStart() {
  const http::RequestHead& h = ex_->head();
  const auth::SigV4Auth& a = ctx_->auth();
  if (!h.chunked && !h.has_content_length) {
    RespondError(S3Error::kMissingContentLength);
    return false;
  }
  if (auth::IsStreaming(a.payload_mode)) {
    auto opts = auth::AwsChunkedOptionsFor(a, &key_);
    if (!opts) {
      RespondSigV4Error(opts.error());
      return false;
    }
    chunked_ = std::make_unique<auth::AwsChunkedDecoder>();
    if (auto st = chunked_->Start(*opts); !st) {
      RespondSigV4Error(st.error());
      return false;
    }
    expected_size_ = a.decoded_content_length >= 0 ? static_cast<uint64_t>(a.decoded_content_length) : 0;
  } else {
    if (a.payload_mode == auth::PayloadMode::kSignedHash) payload_.emplace(a.expected_payload_sha256);
    expected_size_ = h.content_length;
  }
  return true;
}

// The end of the body's framing: chunk signatures, the signed SHA-256. false: answered.
bool S3Handler::PayloadFinish() {
  if (chunked_) {
    if (auto st = chunked_->Finish(); !st) {
      RespondSigV4Error(st.error());
      PutFail(S3Error::kInvalidRequest);
      return false;
    }
  } else if (payload_) {
    if (auto st = payload_->Finish(); !st) {
      RespondSigV4Error(st.error());
      PutFail(S3Error::kInvalidRequest);
      return false;
    }
  }
  return true;
}

void S3Handler::PutObjectStart() {
  const http::RequestHead& h = ex_->head();
  if (!PayloadStart()) return;
  if (!PutChecksumStart()) return;
  if (req_.op == S3Op::kUploadPart) {
    if (!UploadPartChecksum()) return;
  } else if (!PutExtrasStart()) {
    return;
  }
  if (expected_size_ > kMaxPutSize) {
    RespondError(S3Error::kEntityTooLarge);
    return;
  }
  // Content-MD5 must be well-formed before any byte is stored.
  std::string_view md5 = h.Find("content-md5");
  if (!md5.empty()) {
    auto raw = util::Base64Decode(md5);
    if (!raw || raw->size() != 16) {
      RespondError(S3Error::kInvalidDigest);
      return;
    }
  }
  auto w = req_.op == S3Op::kUploadPart ? BeginPartWriter() : svc_->object_io().BeginPut(bucket_id_, req_.key);
  if (!w) {
    RespondError(w.error().code() == Code::kCancelled ? S3Error::kServiceUnavailable : S3Error::kInternalError);
    return;
  }
  writer_ = *w;
  // A declared size lets the store write a large body with O_DIRECT (ObjectWriter::ExpectSize).
  if (chunked_ ? ctx_->auth().decoded_content_length >= 0 : h.has_content_length && !h.chunked) {
    writer_->ExpectSize(expected_size_);
  }
  // A request with a body is authenticated synchronously inside OnHead, so no body
  // byte arrived before the writer existed. An empty body (Content-Length: 0) is
  // verified with the batch, after the message already ended: finish now.
  if (body_done_) PutFinish();
}

void S3Handler::OnBody(http::Exchange& ex, std::string_view piece) {
  (void)ex;
  if ((writer_ == nullptr && !xml_body_) || copying_ || put_failed_) return;
  if (chunked_) {
    while (!piece.empty()) {
      auto r = chunked_->Feed(piece);
      if (!r) {
        RespondSigV4Error(r.error());
        PutFail(S3Error::kInvalidRequest);
        return;
      }
      if (!r->data.empty()) BodyData(r->data);
      piece.remove_prefix(r->consumed);
      if (put_failed_) return;
    }
    return;
  }
  if (payload_) payload_->Update(piece);
  BodyData(piece);
}

void S3Handler::BodyData(std::string_view data) {
  if (checksum_) checksum_->Update(data);
  if (!xml_body_) {
    PutAppend(data);
    return;
  }
  if (xml_.size() + data.size() > xml_limit_) {
    PutFail(S3Error::kMalformedXML, "The request body is too large for this operation.");
    return;
  }
  xml_.append(data);
}

void S3Handler::PutAppend(std::string_view data) {
  if (!overflow_.empty()) {
    overflow_.append(data);  // bounded: the body is paused, at most one receive buffer more
    return;
  }
  auto took = writer_->Append(data, &S3Handler::OnWriterReady, this);
  if (!took) {
    PutFail(FromStoreStatus(took.error()).error);
    return;
  }
  if (*took < data.size()) {
    overflow_.assign(data.substr(*took));
    ex_->PauseBody();
  }
}

void S3Handler::OnWriterReady(void* ctx, Status st) {
  auto* self = static_cast<S3Handler*>(ctx);
  if (!st.ok()) {
    self->PutFail(FromStoreStatus(st).error);
    return;
  }
  if (self->overflow_.empty()) return;
  auto took = self->writer_->Append(self->overflow_, &S3Handler::OnWriterReady, self);
  if (!took) {
    self->PutFail(FromStoreStatus(took.error()).error);
    return;
  }
  self->overflow_.erase(0, *took);
  if (!self->overflow_.empty()) return;  // wait for the next ready
  if (self->body_done_) {
    self->PutFinish();
  } else {
    self->ex_->ResumeBody();
  }
}

void S3Handler::OnBodyEnd(http::Exchange& ex) {
  (void)ex;
  body_done_ = true;
  if (xml_body_) {
    if (!put_failed_ && stage_ == Stage::kExecute) XmlBodyEnd();
    return;
  }
  if (copying_) return;
  if (writer_ != nullptr && !put_failed_ && overflow_.empty()) PutFinish();
}

// The representation headers and x-amz-meta-* an object (or a multipart upload) stores. The
// metadata names are lower-cased into `names` (reserved here: the views stay valid).
void S3Handler::ReadStoredHeaders(const http::RequestHead& h, store::ContentHeaders* headers,
                                  std::vector<store::KeyValue>* user_meta, std::vector<std::string>* names) {
  headers->content_type = h.Find("content-type");
  if (headers->content_type.empty()) headers->content_type = "binary/octet-stream";
  headers->content_encoding = h.Find("content-encoding");
  headers->content_disposition = h.Find("content-disposition");
  headers->content_language = h.Find("content-language");
  headers->cache_control = h.Find("cache-control");
  headers->expires = h.Find("expires");
  // aws-chunked is a transfer detail: it is not part of the stored Content-Encoding.
  if (headers->content_encoding == "aws-chunked") headers->content_encoding = {};
  names->reserve(h.header_count);
  for (uint32_t i = 0; i < h.header_count; ++i) {
    std::string_view n = h.headers[i].name;
    if (n.size() > 11 && http::EqualsIgnoreCase(n.substr(0, 11), "x-amz-meta-")) {
      std::string ln(n.substr(11));
      for (char& c : ln) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      names->push_back(std::move(ln));
      user_meta->push_back(store::KeyValue{names->back(), h.headers[i].value});
    }
  }
}

void S3Handler::PutFinish() {
  if (finishing_ || put_failed_) return;
  if (!PayloadFinish()) return;
  if (writer_->size() != expected_size_) {
    PutFail(S3Error::kIncompleteBody);
    return;
  }
  if (!PutChecksumFinish()) return;
  store::ObjectRecord meta;
  std::vector<std::string> lower_names;
  ReadStoredHeaders(ex_->head(), &meta.headers, &meta.user_meta, &lower_names);
  if (checksum_) {
    meta.checksums.push_back(store::Checksum{ToStore(checksum_algo_), store::ChecksumType::kFullObject, checksum_raw_});
  }
  PutExtrasFinish(&meta);
  const http::RequestHead& h = ex_->head();
  uint8_t md5[16];
  const uint8_t* md5p = nullptr;
  if (std::string_view cm = h.Find("content-md5"); !cm.empty()) {
    auto raw = util::Base64Decode(cm);
    std::memcpy(md5, raw->data(), 16);  // validated in PutObjectStart
    md5p = md5;
  }
  finishing_ = true;
  writer_->Finish(meta, md5p, &S3Handler::OnPutDone, NewPending());
}

void S3Handler::OnPutDone(void* ctx, Status st, const store::PutResult& r) {
  auto* p = static_cast<Pending*>(ctx);
  S3Handler* self = p->handler;
  delete p;
  if (self == nullptr) return;  // the connection went away; the PUT itself completed or failed
  self->pending_ = nullptr;
  self->writer_ = nullptr;
  if (!st.ok()) {
    if (st.code() == Code::kInvalidArgument && st.message().starts_with("BadDigest")) {
      self->RespondError(S3Error::kBadDigest);
    } else if (st.code() == Code::kFailedPrecondition) {
      self->RespondError(S3Error::kPreconditionFailed);  // If-None-Match / If-Match at commit
    } else if (st.code() == Code::kNotFound && st.message() == "NoSuchUpload") {
      self->RespondError(S3Error::kNoSuchUpload);  // UploadPart: the upload ended first
    } else {
      if (st.code() != Code::kNoSpace && st.code() != Code::kNotFound) MLOG_ERROR("PUT failed: %s", st.ToString().c_str());
      self->RespondStoreFailure(st);
    }
    return;
  }
  std::string etag = "\"" + r.EtagHex() + "\"";
  http::OutHeader headers[3] = {{"ETag", self->ex_->arena().Copy(etag)}};
  std::size_t n = 1;
  if (self->checksum_) {
    std::string b64 = util::Base64Encode(self->checksum_raw_.data(), self->checksum_raw_.size());
    headers[n++] = {ChecksumHeaderName(self->checksum_algo_), self->ex_->arena().Copy(b64)};
    if (self->req_.op != S3Op::kUploadPart) headers[n++] = {"x-amz-checksum-type", "FULL_OBJECT"};
  }
  self->stage_ = Stage::kDone;
  self->ex_->Respond(200, headers, n, {});
}

void S3Handler::PutFail(S3Error e, std::string_view message) {
  if (put_failed_) return;
  put_failed_ = true;
  if (writer_ != nullptr && !finishing_) writer_->Abort();
  writer_ = nullptr;
  overflow_.clear();
  if (stage_ != Stage::kDone) RespondError(e, message);
}

// ---------------------------------------------------------------- GetObject / HeadObject

void S3Handler::AppendObjectHeaders(const store::ObjectRecord& rec, std::string_view etag) {
  core::Arena& ar = ex_->arena();
  out_headers_.clear();
  out_headers_.push_back({"ETag", etag});
  char date[32];
  std::size_t n = util::FormatHttpDate(static_cast<std::time_t>(rec.mtime_ms / 1000), date);
  out_headers_.push_back({"Last-Modified", ar.Copy(std::string_view(date, n))});
  out_headers_.push_back({"Accept-Ranges", "bytes"});
  // response-* query overrides (GetObject), as S3 applies them.
  auto override_or = [&](std::string_view q, std::string_view stored) -> std::string_view {
    QueryValue v = FindQuery(ex_->head().query, q);
    if (v.present && req_.op == S3Op::kGetObject) {
      if (auto d = DecodeQueryValue(v.raw)) return ar.Copy(*d);
    }
    return stored;
  };
  std::string_view ct = override_or("response-content-type", rec.headers.content_type);
  if (!ct.empty()) out_headers_.push_back({"Content-Type", ct});
  struct {
    const char* name;
    const char* query;
    std::string_view stored;
  } rows[] = {{"Content-Encoding", "response-content-encoding", rec.headers.content_encoding},
              {"Content-Disposition", "response-content-disposition", rec.headers.content_disposition},
              {"Content-Language", "response-content-language", rec.headers.content_language},
              {"Cache-Control", "response-cache-control", rec.headers.cache_control},
              {"Expires", "response-expires", rec.headers.expires}};
  for (const auto& r : rows) {
    std::string_view v = override_or(r.query, r.stored);
    if (!v.empty()) out_headers_.push_back({r.name, v});
  }
  for (const store::KeyValue& kv : rec.user_meta) {
    std::string name = "x-amz-meta-" + std::string(kv.key);
    out_headers_.push_back({ar.Copy(name), kv.value});
  }
  if (!rec.tags.empty()) {
    out_headers_.push_back({"x-amz-tagging-count", ar.Copy(std::to_string(rec.tags.size()))});
  }
  // Stored checksums, when asked for (x-amz-checksum-mode: ENABLED), on full-object reads.
  if (http::EqualsIgnoreCase(ex_->head().Find("x-amz-checksum-mode"), "ENABLED") &&
      ex_->head().Find("range").empty()) {
    for (const store::Checksum& c : rec.checksums) {
      std::string b64 = util::Base64Encode(c.value.data(), c.value.size());
      if (c.type == store::ChecksumType::kComposite) b64 += "-" + std::to_string(rec.part_sizes.size());
      out_headers_.push_back({ChecksumHeaderName(FromStore(c.algorithm)), ar.Copy(b64)});
      out_headers_.push_back({"x-amz-checksum-type",
                              c.type == store::ChecksumType::kFullObject ? "FULL_OBJECT" : "COMPOSITE"});
    }
  }
}

bool S3Handler::CheckConditions(const store::ObjectRecord& rec, std::string_view etag) {
  const http::RequestHead& h = ex_->head();
  std::string_view hex = Trim(etag);
  const std::time_t mtime = static_cast<std::time_t>(rec.mtime_ms / 1000);
  // RFC 7232 §6 order, with S3's rule that If-Match beats If-Unmodified-Since and
  // If-None-Match beats If-Modified-Since.
  std::string_view im = h.Find("if-match"), inm = h.Find("if-none-match");
  if (!im.empty()) {
    if (!EtagListMatches(im, hex)) {
      RespondError(S3Error::kPreconditionFailed);
      return false;
    }
  } else if (std::string_view ius = h.Find("if-unmodified-since"); !ius.empty()) {
    if (auto t = util::ParseHttpDate(ius); t && mtime > *t) {
      RespondError(S3Error::kPreconditionFailed);
      return false;
    }
  }
  bool not_modified = false;
  if (!inm.empty()) {
    not_modified = EtagListMatches(inm, hex);
  } else if (std::string_view ims = h.Find("if-modified-since"); !ims.empty()) {
    if (auto t = util::ParseHttpDate(ims); t && mtime <= *t) not_modified = true;
  }
  if (not_modified) {
    AppendObjectHeaders(rec, etag);
    stage_ = Stage::kDone;
    ex_->Respond(304, out_headers_.data(), 3, {});  // ETag, Last-Modified, Accept-Ranges only
    return false;
  }
  return true;
}

namespace {
// store::FormatEtag written straight into the request arena (no std::string per GET).
std::string_view ArenaEtag(core::Arena& arena, const store::ObjectRecord& rec) {
  const bool md5 = rec.etag_kind == store::EtagKind::kMd5;
  const std::size_t n = 2 + (md5 ? 2 * rec.etag.size() : rec.etag.size());
  char* out = static_cast<char*>(arena.Allocate(n, 1));
  out[0] = '"';
  if (md5) {
    util::HexEncode(rec.etag.data(), rec.etag.size(), out + 1);
  } else {
    std::memcpy(out + 1, rec.etag.data(), rec.etag.size());
  }
  out[n - 1] = '"';
  return std::string_view(out, n);
}
}  // namespace

void S3Handler::GetObject(bool head) {
  head_only_ = head;
  const bool part_number = FindQuery(ex_->head().query, "partNumber").present;
  if (part_number && ex_->head().Has("range")) {
    RespondError(S3Error::kInvalidRequest, "Cannot specify both Range header and partNumber query parameter");
    return;
  }
  // The record pinned where RocksDB holds it (block cache or its own copy from a memtable):
  // no copy into a string of ours. Views into it (inline body, stored headers) are used only
  // in this call: the head and an inline body are written synchronously by Respond/BeginStream.
  rocksdb::PinnableSlice pinned;
  Status st = svc_->node().db->Get(store::Cf::kObjects, store::ObjectKey(bucket_id_, req_.key), &pinned);
  if (st.code() == Code::kNotFound) {
    if (head) {
      stage_ = Stage::kDone;
      ex_->Respond(404, nullptr, 0, {});  // HEAD: no body, as S3
    } else {
      RespondError(S3Error::kNoSuchKey);
    }
    return;
  }
  store::ObjectRecord rec;
  if (st.ok()) st = store::DecodeObject(std::string_view(pinned.data(), pinned.size()), &rec);
  if (!st.ok()) {
    MLOG_ERROR("object record read failed: %s", st.ToString().c_str());
    RespondError(S3Error::kInternalError);
    return;
  }
  const std::string_view etag = ArenaEtag(ex_->arena(), rec);
  if (!CheckConditions(rec, etag)) return;
  bool unsatisfiable = false;
  std::optional<Range> range;
  uint64_t part_first = 0, part_length = 0;
  if (part_number) {
    if (!SelectPart(rec, &part_first, &part_length)) return;
    range = Range{part_first, part_length};  // ?partNumber: that part's bytes, as a 206 (AWS)
  } else if (std::string_view rh = ex_->head().Find("range"); !rh.empty()) {
    range = ParseRange(rh, rec.size, &unsatisfiable);
  }
  if (unsatisfiable) {
    char cr[48];
    int n = std::snprintf(cr, sizeof(cr), "bytes */%llu", static_cast<unsigned long long>(rec.size));
    std::string body = RenderErrorXml(S3Error::kInvalidRange, {}, ex_->head().path, ex_->request_id());
    const http::OutHeader headers[] = {{"Content-Type", "application/xml"},
                                       {"Content-Range", std::string_view(cr, static_cast<std::size_t>(n))}};
    stage_ = Stage::kDone;
    ex_->Respond(416, headers, 2, body);
    return;
  }
  AppendObjectHeaders(rec, etag);
  if (rec.location.kind == store::LocationKind::kParts && part_number) {
    out_headers_.push_back({"x-amz-mp-parts-count", ex_->arena().Copy(std::to_string(rec.parts.size()))});
  }
  uint64_t first = range ? range->first : 0;
  uint64_t length = range ? range->length : rec.size;
  int status = 200;
  // ?partNumber=1 of an object that was not uploaded in parts is the whole object, still a
  // 206 with its Content-Range as AWS answers (an empty object: 200, no range).
  if (range && length > 0) {
    status = 206;
    char cr[80];
    int n = std::snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", static_cast<unsigned long long>(first),
                          static_cast<unsigned long long>(first + length - 1), static_cast<unsigned long long>(rec.size));
    out_headers_.push_back({"Content-Range", ex_->arena().Copy(std::string_view(cr, static_cast<std::size_t>(n)))});
  }
  if (head) {
    stage_ = Stage::kDone;
    ex_->Respond(status, out_headers_.data(), out_headers_.size(), {}, static_cast<int64_t>(length));
    return;
  }
  if (rec.location.kind == store::LocationKind::kInline || length == 0) {
    // Small objects live in their record: head and body leave in one send, in this turn of
    // the loop (no reader, no deferred step, no second send for the body).
    std::string_view body;
    if (length != 0) {
      auto data = svc_->object_io().ReadInline(rec, first, length);
      if (!data) {
        MLOG_ERROR("GET of an inline object failed: %s", data.error().ToString().c_str());
        RespondError(S3Error::kInternalError);
        return;
      }
      body = *data;
    }
    stage_ = Stage::kDone;
    ex_->Respond(status, out_headers_.data(), out_headers_.size(), body);
    return;
  }
  ex_->BeginStream(status, out_headers_.data(), out_headers_.size(), length);
  stream_begun_ = true;
  if (rec.location.kind == store::LocationKind::kParts) {
    if (!StartMultipartRead(std::string_view(pinned.data(), pinned.size()), first, length,
                            store::ReadHandler{&S3Handler::OnReadData, &S3Handler::OnReadDone})) {
      stage_ = Stage::kDone;
      ex_->AbortStream();
    }
    return;
  }
  auto r = svc_->object_io().BeginGet(rec, first, range ? length : UINT64_MAX,
                                      store::ReadHandler{&S3Handler::OnReadData, &S3Handler::OnReadDone}, this);
  if (!r) {
    MLOG_ERROR("object read failed to start: %s", r.error().ToString().c_str());
    stage_ = Stage::kDone;
    ex_->AbortStream();
    return;
  }
  reader_ = *r;
}

void S3Handler::OnReadData(void* ctx, store::ObjectReader* reader, std::string_view data) {
  auto* self = static_cast<S3Handler*>(ctx);
  self->reader_ = reader;
  self->ex_->StreamChunk(data, &S3Handler::OnChunkSent, self);
}

void S3Handler::OnChunkSent(void* ctx) {
  auto* self = static_cast<S3Handler*>(ctx);
  if (self->reader_ != nullptr) self->reader_->More();
}

void S3Handler::OnReadDone(void* ctx, Status st) {
  auto* self = static_cast<S3Handler*>(ctx);
  self->reader_ = nullptr;
  if (st.ok() && self->ContinueMultipartRead()) return;  // the next part of a multipart object
  if (st.ok() && self->MultipartReadFailed()) {
    st = Status::Internal("a part's read could not start");
  }
  self->stage_ = Stage::kDone;
  if (st.ok()) {
    self->ex_->EndStream();
    return;
  }
  // The head is out: the only honest answer left is to cut the connection, so the
  // client sees a short body rather than bad data presented as good.
  MLOG_ERROR("GET %s aborted: %s", st.code() == Code::kCorruption ? "integrity check failed," : "read failed,",
             st.ToString().c_str());
  self->ex_->AbortStream();
}

// ---------------------------------------------------------------- DeleteObject

void S3Handler::DeleteObject() {
  Status st = svc_->object_io().Delete(bucket_id_, req_.key, &S3Handler::OnDeleteDone, NewPending());
  if (!st.ok()) EnqueueRefused(st);
}

void S3Handler::OnDeleteDone(void* ctx, Status st, bool existed) {
  (void)existed;
  S3Handler* self = TakePending(ctx);
  if (self == nullptr || self->CommitFailed(st, "DELETE")) return;
  self->stage_ = Stage::kDone;
  self->ex_->Respond(204, nullptr, 0, {});  // S3 answers 204 whether or not the key existed
}

}  // namespace mamute::s3
