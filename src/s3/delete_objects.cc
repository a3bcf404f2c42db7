// DeleteObjects (POST /bucket?delete) and the small XML request bodies it shares with
// PutObjectTagging.
#include <openssl/evp.h>

#include "core/shard.h"
#include "s3/handler.h"
#include "s3/object_requests.h"
#include "s3/service.h"
#include "s3/xml.h"
#include "util/encoding.h"
#include "util/log.h"

namespace mamute::s3 {

// ---------------------------------------------------------------- XML request bodies

// Collects a small body (at most `limit` bytes) through the same payload verification as a
// PUT (signed SHA-256, aws-chunked, x-amz-checksum-*), then XmlBodyEnd() dispatches it.
// CompleteMultipartUpload's x-amz-checksum-* headers describe the object, not the body.
void S3Handler::XmlBodyStart(std::size_t limit) {
  if (!PayloadStart()) return;
  if (req_.op != S3Op::kCompleteMultipartUpload && !PutChecksumStart()) return;
  if (expected_size_ > limit) {
    RespondError(S3Error::kMalformedXML, "The request body is too large for this operation.");
    return;
  }
  if (std::string_view md5 = ex_->head().Find("content-md5"); !md5.empty()) {
    auto raw = util::Base64Decode(md5);
    if (!raw || raw->size() != 16) {
      RespondError(S3Error::kInvalidDigest);
      return;
    }
  }
  xml_body_ = true;
  xml_limit_ = limit;
  xml_.reserve(static_cast<std::size_t>(expected_size_));
  if (body_done_) XmlBodyEnd();  // an empty body ended before verification finished
}

void S3Handler::XmlBodyEnd() {
  if (put_failed_ || stage_ == Stage::kDone) return;
  if (!PayloadFinish()) return;
  if (xml_.size() != expected_size_) {
    PutFail(S3Error::kIncompleteBody);
    return;
  }
  if (!PutChecksumFinish()) return;
  if (std::string_view md5 = ex_->head().Find("content-md5"); !md5.empty()) {
    auto expected = util::Base64Decode(md5);  // well-formed: XmlBodyStart
    unsigned char got[EVP_MAX_MD_SIZE];
    unsigned int got_len = 0;
    if (EVP_Digest(xml_.data(), xml_.size(), got, &got_len, EVP_md5(), nullptr) != 1 || got_len != 16 ||
        expected->compare(0, 16, reinterpret_cast<const char*>(got), 16) != 0) {
      PutFail(S3Error::kBadDigest);
      return;
    }
  }
  switch (req_.op) {
    case S3Op::kDeleteObjects: DeleteObjectsExecute(); return;
    case S3Op::kPutObjectTagging: PutObjectTaggingExecute(); return;
    case S3Op::kCompleteMultipartUpload: CompleteRun(); return;
    case S3Op::kPutBucketCors: PutBucketCorsExecute(); return;
    case S3Op::kCreateBucket: CreateBucketExecute(); return;
    default: RespondError(S3Error::kInternalError); return;
  }
}

// ---------------------------------------------------------------- DeleteObjects

// The body must carry an integrity check: Content-MD5, or (SDKs since 2025) a flexible
// checksum header or trailer (DeleteObjects, PutBucketCors). false: answered.
bool S3Handler::RequireBodyChecksum() {
  const http::RequestHead& h = ex_->head();
  bool has_checksum = h.Has("content-md5") || h.Has("x-amz-trailer") || h.Has("x-amz-sdk-checksum-algorithm");
  for (uint32_t i = 0; i < h.header_count && !has_checksum; ++i) {
    has_checksum = ChecksumAlgoFromHeader(h.headers[i].name).has_value();
  }
  if (!has_checksum) {
    RespondError(S3Error::kInvalidRequest, "Missing required header for this request: Content-MD5");
  }
  return has_checksum;
}

void S3Handler::DeleteObjects() {
  if (!RequireBodyChecksum()) return;
  XmlBodyStart(kMaxDeleteBodyBytes);
}

void S3Handler::DeleteObjectsExecute() {
  DeleteList list;
  if (auto f = ParseDeleteObjects(xml_, &list)) {
    RespondError(f->error, f->message);
    return;
  }
  // The answer is known before the commit: every key that is not refused here is deleted
  // (an absent key counts as deleted, as in AWS), or the whole commit fails.
  delete_result_.clear();
  delete_result_.reserve(64 + list.objects.size() * 64);
  XmlWriter w(&delete_result_);
  w.OpenRoot("DeleteResult");
  delete_keys_.clear();
  for (const DeleteEntry& e : list.objects) {
    if (e.has_version && e.version_id != "null") {
      w.Open("Error");
      w.Element("Key", e.key);
      w.Element("VersionId", e.version_id);
      w.Element("Code", CodeString(S3Error::kNoSuchVersion));
      w.Element("Message", DefaultMessage(S3Error::kNoSuchVersion));
      w.Close("Error");
      continue;
    }
    delete_keys_.push_back(e.key);
    if (list.quiet) continue;  // Quiet: only errors are listed
    w.Open("Deleted");
    w.Element("Key", e.key);
    if (e.has_version) w.Element("VersionId", e.version_id);
    w.Close("Deleted");
  }
  w.Close("DeleteResult");
  if (delete_keys_.empty()) {
    RespondXml(200, delete_result_);
    return;
  }
  Status st = svc_->object_io().DeleteMany(bucket_id_, delete_keys_, &S3Handler::OnDeleteObjectsDone, NewPending());
  if (!st.ok()) EnqueueRefused(st);
}

void S3Handler::OnDeleteObjectsDone(void* ctx, Status st, bool existed) {
  (void)existed;
  S3Handler* self = TakePending(ctx);
  if (self == nullptr || self->CommitFailed(st, "DeleteObjects")) return;
  self->RespondXml(200, self->delete_result_);
}

}  // namespace mamute::s3
