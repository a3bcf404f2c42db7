// CopyObject: PUT /bucket/key with x-amz-copy-source, and UploadPartCopy (the same with
// ?partNumber&uploadId, into a part). The source's bytes stream through the
// shard's ring (ObjectReader → ObjectWriter, one read piece at a time, with the writer's
// backpressure), so a copy never holds more than a few chunks in memory, and the new object
// gets its own data file (file ids are never shared between records).
#include "core/shard.h"
#include "s3/handler.h"
#include "s3/object_requests.h"
#include "s3/service.h"
#include "s3/xml.h"
#include "store/keys.h"
#include "store/multipart.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/time_format.h"

namespace mamute::s3 {
namespace {

constexpr uint64_t kMaxCopySize = uint64_t{5} << 30;  // AWS: CopyObject copies at most 5 GiB

// "COPY" (the default) or "REPLACE"; nullopt for anything else.
std::optional<bool> ParseDirective(std::string_view v) {
  if (v.empty() || v == "COPY") return false;
  if (v == "REPLACE") return true;
  return std::nullopt;
}

}  // namespace

// x-amz-copy-source of CopyObject and UploadPartCopy: parsed, authorized (the source must be
// readable by the same credential; Authorize() covered the destination), its record read into
// copy_src_value_ (`rec` borrows) and x-amz-copy-source-if-* checked. False: answered.
bool S3Handler::CopySourceRecord(store::BucketId* src_id, std::string* src_key, store::ObjectRecord* rec) {
  CopySource src;
  if (auto f = ParseCopySource(ex_->head().Find("x-amz-copy-source"), &src)) {
    RespondError(f->error, f->message);
    return false;
  }
  *src_id = bucket_id_;
  if (src.bucket != req_.bucket) {
    auto id = LookupBucket(src.bucket);
    if (!id) {
      if (id.error().code() != Code::kNotFound) {
        MLOG_ERROR("bucket lookup failed: %s", id.error().ToString().c_str());
        RespondError(S3Error::kInternalError);
      } else {
        RespondError(cred_->scope_kind == store::ScopeKind::kBucket ? S3Error::kAccessDenied : S3Error::kNoSuchBucket);
      }
      return false;
    }
    if (cred_->scope_kind == store::ScopeKind::kBucket ? *id != cred_->bucket : !InProject(*id)) {
      RespondError(S3Error::kAccessDenied);
      return false;
    }
    *src_id = *id;
  }
  Status st = svc_->node().db->Get(store::Cf::kObjects, store::ObjectKey(*src_id, src.key), &copy_src_value_);
  if (st.code() == Code::kNotFound) {
    RespondError(S3Error::kNoSuchKey);
    return false;
  }
  if (st.ok()) st = store::DecodeObject(copy_src_value_, rec);
  if (!st.ok()) {
    MLOG_ERROR("copy source record read failed: %s", st.ToString().c_str());
    RespondError(S3Error::kInternalError);
    return false;
  }
  *src_key = std::move(src.key);
  return CopyConditions(*rec);
}

// Streams [first, first + length) of the source record (copy_src_value_) into writer_.
void S3Handler::CopyStart(const store::ObjectRecord& rec, uint64_t first, uint64_t length) {
  copying_ = true;
  const store::ReadHandler handler{&S3Handler::OnCopyData, &S3Handler::OnCopyReadDone};
  if (rec.location.kind == store::LocationKind::kParts) {
    // A multipart source is read part by part (each whole part's XXH3 verified).
    if (StartMultipartRead(copy_src_value_, first, length, handler)) return;
    if (MultipartReadFailed()) {
      CopyFail(S3Error::kInternalError);
    } else {
      CopyFinish();  // nothing to read: every part is empty
    }
    return;
  }
  auto r = svc_->object_io().BeginGet(rec, first, length, handler, this);
  if (!r) {
    MLOG_ERROR("copy source read failed to start: %s", r.error().ToString().c_str());
    CopyFail(S3Error::kInternalError);
    return;
  }
  reader_ = *r;
}

void S3Handler::CopyObject() {
  const http::RequestHead& h = ex_->head();
  auto replace_meta = ParseDirective(h.Find("x-amz-metadata-directive"));
  if (!replace_meta) {
    RespondError(S3Error::kInvalidArgument, "Unknown metadata directive.");
    return;
  }
  auto replace_tags = ParseDirective(h.Find("x-amz-tagging-directive"));
  if (!replace_tags) {
    RespondError(S3Error::kInvalidArgument, "Unknown tagging directive.");
    return;
  }
  store::BucketId src_id = 0;
  std::string src_key;
  store::ObjectRecord rec;
  if (!CopySourceRecord(&src_id, &src_key, &rec)) return;
  if (src_id == bucket_id_ && src_key == req_.key && !*replace_meta) {
    RespondError(S3Error::kInvalidRequest,
                 "This copy request is illegal because it is trying to copy an object to itself without changing "
                 "the object's metadata, storage class, website redirect location or encryption attributes.");
    return;
  }
  if (rec.size > kMaxCopySize) {
    RespondError(S3Error::kInvalidRequest,
                 "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120");
    return;
  }
  if (!PutExtrasStart()) return;  // x-amz-tagging (used with REPLACE), If-None-Match / If-Match
  if (!*replace_tags) {
    tag_text_.clear();
    for (const store::KeyValue& kv : rec.tags) {
      tag_text_.emplace_back(kv.key);
      tag_text_.emplace_back(kv.value);
    }
  }
  // x-amz-checksum-algorithm asks for a checksum the source may not have: computed on the way.
  if (std::string_view ca = h.Find("x-amz-checksum-algorithm"); !ca.empty()) {
    auto algo = ParseChecksumAlgo(ca);
    if (!algo) {
      RespondError(S3Error::kInvalidRequest, "Checksum algorithm provided is unsupported.");
      return;
    }
    checksum_algo_ = *algo;
    checksum_.emplace(*algo);
  }
  auto w = svc_->object_io().BeginPut(bucket_id_, req_.key);
  if (!w) {
    RespondError(w.error().code() == Code::kCancelled ? S3Error::kServiceUnavailable : S3Error::kInternalError);
    return;
  }
  writer_ = *w;
  CopyStart(rec, 0, UINT64_MAX);
}

// UploadPartCopy: the part's bytes are the source's (or x-amz-copy-source-range of them),
// streamed like CopyObject's into a part writer; the upload's checksum algorithm, if any, is
// computed on the way.
void S3Handler::UploadPartCopy() {
  if (!ParsePartNumber() || !LoadUpload()) return;
  store::BucketId src_id = 0;
  std::string src_key;
  store::ObjectRecord rec;
  if (!CopySourceRecord(&src_id, &src_key, &rec)) return;
  uint64_t first = 0, length = rec.size;
  if (std::string_view range = ex_->head().Find("x-amz-copy-source-range"); !range.empty()) {
    if (auto f = ParseCopySourceRange(range, rec.size, &first, &length)) {
      RespondError(f->error, f->message);
      return;
    }
  } else if (rec.size > kMaxCopySize) {
    RespondError(S3Error::kInvalidRequest,
                 "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120");
    return;
  }
  if (length > store::kMaxPartSize) {
    RespondError(S3Error::kEntityTooLarge);
    return;
  }
  if (!UploadPartChecksum()) return;
  auto w = BeginPartWriter();
  if (!w) {
    RespondError(w.error().code() == Code::kCancelled ? S3Error::kServiceUnavailable : S3Error::kInternalError);
    return;
  }
  writer_ = *w;
  CopyStart(rec, first, length);
}

// x-amz-copy-source-if-*: any failing condition is 412 (never 304). If-Match beats
// If-Unmodified-Since and If-None-Match beats If-Modified-Since, as for GET.
bool S3Handler::CopyConditions(const store::ObjectRecord& src) {
  const http::RequestHead& h = ex_->head();
  const std::string etag = store::FormatEtag(src.etag_kind, src.etag);
  const std::string_view hex = std::string_view(etag).substr(1, etag.size() - 2);
  const std::time_t mtime = static_cast<std::time_t>(src.mtime_ms / 1000);
  bool ok = true;
  if (std::string_view im = h.Find("x-amz-copy-source-if-match"); !im.empty()) {
    ok = EtagListMatches(im, hex);
  } else if (std::string_view ius = h.Find("x-amz-copy-source-if-unmodified-since"); !ius.empty()) {
    auto t = util::ParseHttpDate(ius);
    ok = !t || mtime <= *t;
  }
  if (std::string_view inm = h.Find("x-amz-copy-source-if-none-match"); !inm.empty()) {
    ok = ok && !EtagListMatches(inm, hex);
  } else if (std::string_view ims = h.Find("x-amz-copy-source-if-modified-since"); !ims.empty()) {
    auto t = util::ParseHttpDate(ims);
    ok = ok && (!t || mtime > *t);
  }
  if (!ok) RespondError(S3Error::kPreconditionFailed);
  return ok;
}

void S3Handler::OnCopyData(void* ctx, store::ObjectReader* reader, std::string_view data) {
  auto* self = static_cast<S3Handler*>(ctx);
  self->reader_ = reader;
  if (self->checksum_) self->checksum_->Update(data);
  self->copy_piece_ = data;
  self->CopyPump();
}

// Hands the current piece to the writer; the next piece is asked for only once the writer took
// all of it (its window is the copy's only buffer).
void S3Handler::CopyPump() {
  auto took = writer_->Append(copy_piece_, &S3Handler::OnCopyWriterReady, this);
  if (!took) {
    CopyFail(FromStoreStatus(took.error()).error);
    return;
  }
  copy_piece_.remove_prefix(*took);
  if (copy_piece_.empty() && reader_ != nullptr) reader_->More();
}

void S3Handler::OnCopyWriterReady(void* ctx, Status st) {
  auto* self = static_cast<S3Handler*>(ctx);
  if (!st.ok()) {
    self->CopyFail(FromStoreStatus(st).error);
    return;
  }
  if (!self->copy_piece_.empty()) self->CopyPump();
}

void S3Handler::OnCopyReadDone(void* ctx, Status st) {
  auto* self = static_cast<S3Handler*>(ctx);
  self->reader_ = nullptr;
  if (!st.ok()) {
    // NotFound: the source was replaced between its lookup and the open; the client retries.
    MLOG_ERROR("copy source read failed: %s", st.ToString().c_str());
    self->CopyFail(st.code() == Code::kNotFound ? S3Error::kServiceUnavailable : S3Error::kInternalError);
    return;
  }
  if (self->ContinueMultipartRead()) return;  // the next part of a multipart source
  if (self->MultipartReadFailed()) {
    self->CopyFail(S3Error::kInternalError);
    return;
  }
  self->CopyFinish();
}

void S3Handler::CopyFinish() {
  if (req_.op == S3Op::kUploadPartCopy) {
    store::ObjectRecord meta;  // a part keeps only its checksum
    if (checksum_) {
      checksum_raw_ = checksum_->FinishRaw();
      meta.checksums.push_back(store::Checksum{ToStore(checksum_algo_), store::ChecksumType::kFullObject, checksum_raw_});
    }
    finishing_ = true;
    writer_->Finish(meta, nullptr, &S3Handler::OnCopyDone, NewPending());
    return;
  }
  store::ObjectRecord src;
  if (!store::DecodeObject(copy_src_value_, &src).ok()) {  // decoded once already
    CopyFail(S3Error::kInternalError);
    return;
  }
  store::ObjectRecord meta;
  std::vector<std::string> lower_names;
  if (*ParseDirective(ex_->head().Find("x-amz-metadata-directive"))) {
    ReadStoredHeaders(ex_->head(), &meta.headers, &meta.user_meta, &lower_names);
  } else {
    meta.headers = src.headers;
    meta.user_meta = src.user_meta;
  }
  if (checksum_) {
    checksum_raw_ = checksum_->FinishRaw();
    meta.checksums.push_back(store::Checksum{ToStore(checksum_algo_), store::ChecksumType::kFullObject, checksum_raw_});
  } else {
    // The bytes are the same: a full-object checksum stays true (a composite one described
    // the source's parts, which the copy does not have).
    for (const store::Checksum& c : src.checksums) {
      if (c.type == store::ChecksumType::kFullObject) meta.checksums.push_back(c);
    }
    // For the response; the record's views point into copy_src_value_, not here.
    if (!meta.checksums.empty()) {
      checksum_algo_ = FromStore(meta.checksums.front().algorithm);
      checksum_raw_ = std::string(meta.checksums.front().value);
    }
  }
  PutExtrasFinish(&meta);
  finishing_ = true;
  writer_->Finish(meta, nullptr, &S3Handler::OnCopyDone, NewPending());
}

void S3Handler::OnCopyDone(void* ctx, Status st, const store::PutResult& r) {
  auto* p = static_cast<Pending*>(ctx);
  S3Handler* self = p->handler;
  delete p;
  if (self == nullptr) return;
  self->pending_ = nullptr;
  self->writer_ = nullptr;
  if (!st.ok()) {
    if (st.code() == Code::kFailedPrecondition) {
      self->RespondError(S3Error::kPreconditionFailed);
    } else if (st.code() == Code::kNotFound && st.message() == "NoSuchUpload") {
      self->RespondError(S3Error::kNoSuchUpload);  // UploadPartCopy: the upload ended first
    } else {
      if (st.code() != Code::kNoSpace && st.code() != Code::kNotFound) MLOG_ERROR("CopyObject failed: %s", st.ToString().c_str());
      self->RespondStoreFailure(st);
    }
    return;
  }
  char date[32];
  std::size_t n = util::FormatIso8601Ms(r.mtime_ms, date);
  const bool part = self->req_.op == S3Op::kUploadPartCopy;
  const char* root = part ? "CopyPartResult" : "CopyObjectResult";
  std::string body;
  XmlWriter w(&body);
  w.OpenRoot(root);
  w.Element("LastModified", std::string_view(date, n));
  w.Element("ETag", "\"" + r.EtagHex() + "\"");
  if (!self->checksum_raw_.empty()) {
    if (!part) w.Element("ChecksumType", "FULL_OBJECT");
    w.Element("Checksum" + std::string(ChecksumAlgoName(self->checksum_algo_)),
              util::Base64Encode(self->checksum_raw_.data(), self->checksum_raw_.size()));
  }
  w.Close(root);
  self->RespondXml(200, body);
}

void S3Handler::CopyFail(S3Error e, std::string_view message) {
  if (reader_ != nullptr) {
    reader_->Cancel();
    reader_ = nullptr;
  }
  if (writer_ != nullptr && !finishing_) writer_->Abort();
  writer_ = nullptr;
  copy_piece_ = {};
  if (stage_ != Stage::kDone) RespondError(e, message);
}

}  // namespace mamute::s3
