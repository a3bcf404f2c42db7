// Object tagging (Get/Put/DeleteObjectTagging, x-amz-tagging on PUT and CopyObject,
// x-amz-tagging-count on GET/HEAD), conditional PUT headers, and GetObjectAttributes.
#include "core/shard.h"
#include "s3/handler.h"
#include "s3/object_requests.h"
#include "s3/service.h"
#include "s3/xml.h"
#include "store/keys.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/time_format.h"

namespace mamute::s3 {

// x-amz-tagging and If-None-Match / If-Match of a PUT (or of a CopyObject's destination).
// false: answered.
bool S3Handler::PutExtrasStart() {
  const http::RequestHead& h = ex_->head();
  tag_text_.clear();
  if (h.Has("x-amz-tagging")) {
    TagSet tags;
    if (auto f = ParseTaggingHeader(h.Find("x-amz-tagging"), &tags)) {
      RespondError(f->error, f->message);
      return false;
    }
    for (auto& [k, v] : tags) {
      tag_text_.push_back(std::move(k));
      tag_text_.push_back(std::move(v));
    }
  }
  std::string_view inm = h.Find("if-none-match");
  std::string_view im = h.Find("if-match");
  if (inm.empty() && im.empty()) return true;
  store::PutCondition c;
  if (!inm.empty()) {
    if (inm != "*" && inm != "\"*\"") {
      // AWS accepts only '*' on writes.
      RespondError(S3Error::kNotImplemented,
                   "A header you provided implies functionality that is not implemented: If-None-Match other than *");
      return false;
    }
    c.if_none_match_any = true;
  }
  if (!im.empty()) {
    c.if_match = true;
    c.if_match_list = std::string(im);
  }
  put_cond_ = std::move(c);
  return true;
}

// Adds the new record's tags (views into tag_text_) and arms the commit-time condition.
void S3Handler::PutExtrasFinish(store::ObjectRecord* meta) {
  for (std::size_t i = 0; i + 1 < tag_text_.size(); i += 2) {
    meta->tags.push_back(store::KeyValue{tag_text_[i], tag_text_[i + 1]});
  }
  if (put_cond_ && writer_ != nullptr) writer_->SetCondition(*put_cond_);
}

// Buckets are unversioned: ?versionId=null names the current object, any other id none.
bool S3Handler::CurrentVersionOnly() {
  QueryValue v = FindQuery(ex_->head().query, "versionId");
  if (!v.present || v.raw == "null") return true;
  RespondError(S3Error::kNoSuchVersion);
  return false;
}

// The object's current record into record_value_ / *rec. false: answered (NoSuchKey, 500).
bool S3Handler::ReadObjectRecord(store::ObjectRecord* rec) {
  if (!CurrentVersionOnly()) return false;
  Status st = svc_->node().db->Get(store::Cf::kObjects, store::ObjectKey(bucket_id_, req_.key), &record_value_);
  if (st.code() == Code::kNotFound) {
    RespondError(S3Error::kNoSuchKey);
    return false;
  }
  if (st.ok()) st = store::DecodeObject(record_value_, rec);
  if (!st.ok()) {
    MLOG_ERROR("object record read failed: %s", st.ToString().c_str());
    RespondError(S3Error::kInternalError);
    return false;
  }
  return true;
}

// ---------------------------------------------------------------- GetObjectTagging

void S3Handler::GetObjectTagging() {
  store::ObjectRecord rec;
  if (!ReadObjectRecord(&rec)) return;
  std::string body;
  XmlWriter w(&body);
  w.OpenRoot("Tagging");
  w.Open("TagSet");
  for (const store::KeyValue& kv : rec.tags) {
    w.Open("Tag");
    w.Element("Key", kv.key);
    w.Element("Value", kv.value);
    w.Close("Tag");
  }
  w.Close("TagSet");
  w.Close("Tagging");
  RespondXml(200, body);
}

// ---------------------------------------------------------------- Put/DeleteObjectTagging

void S3Handler::PutObjectTagging() {
  if (!CurrentVersionOnly()) return;
  XmlBodyStart(kMaxTaggingBodyBytes);
}

void S3Handler::PutObjectTaggingExecute() {
  TagSet tags;
  if (auto f = ParseTaggingXml(xml_, &tags)) {
    RespondError(f->error, f->message);
    return;
  }
  std::vector<store::KeyValue> kvs;
  kvs.reserve(tags.size());
  for (const auto& [k, v] : tags) kvs.push_back(store::KeyValue{k, v});
  SetObjectTags(kvs);
}

void S3Handler::DeleteObjectTagging() {
  if (!CurrentVersionOnly()) return;
  SetObjectTags({});
}

// The record's tags are replaced inside the commit thread (SetTags copies them).
void S3Handler::SetObjectTags(const std::vector<store::KeyValue>& tags) {
  Status st = svc_->object_io().SetTags(bucket_id_, req_.key, tags, &S3Handler::OnTagsDone, NewPending());
  if (!st.ok()) EnqueueRefused(st);
}

void S3Handler::OnTagsDone(void* ctx, Status st, bool existed) {
  S3Handler* self = TakePending(ctx);
  if (self == nullptr || self->CommitFailed(st, "tagging update")) return;
  if (!existed) {
    self->RespondError(S3Error::kNoSuchKey);
    return;
  }
  self->stage_ = Stage::kDone;
  // PutObjectTagging answers 200, DeleteObjectTagging 204 (AWS).
  self->ex_->Respond(self->req_.op == S3Op::kDeleteObjectTagging ? 204 : 200, nullptr, 0, {});
}

// ---------------------------------------------------------------- GetObjectAttributes

void S3Handler::GetObjectAttributes() {
  uint8_t mask = 0;
  if (auto f = ParseObjectAttributes(ex_->head().Find("x-amz-object-attributes"), &mask)) {
    RespondError(f->error, f->message);
    return;
  }
  store::ObjectRecord rec;
  if (!ReadObjectRecord(&rec)) return;
  std::string body;
  XmlWriter w(&body);
  w.OpenRoot("GetObjectAttributesResponse");
  if (mask & kAttrETag) {
    std::string etag = store::FormatEtag(rec.etag_kind, rec.etag);
    w.Element("ETag", std::string_view(etag).substr(1, etag.size() - 2));  // unquoted, as AWS
  }
  if ((mask & kAttrChecksum) && !rec.checksums.empty()) {
    const store::Checksum& c = rec.checksums.front();
    std::string b64 = util::Base64Encode(c.value.data(), c.value.size());
    if (c.type == store::ChecksumType::kComposite) b64 = FormatCompositeChecksum(c.value, rec.part_sizes.size());
    w.Open("Checksum");
    std::string name = "Checksum" + std::string(ChecksumAlgoName(FromStore(c.algorithm)));
    w.Element(name, b64);
    w.Element("ChecksumType", c.type == store::ChecksumType::kFullObject ? "FULL_OBJECT" : "COMPOSITE");
    w.Close("Checksum");
  }
  // ObjectParts only describes multipart objects; a single PUT has none (AWS omits it).
  if ((mask & kAttrObjectParts) && !rec.part_sizes.empty()) {
    w.Open("ObjectParts");
    w.Element("PartsCount", static_cast<uint64_t>(rec.part_sizes.size()));
    w.Close("ObjectParts");
  }
  if (mask & kAttrStorageClass) w.Element("StorageClass", "STANDARD");
  if (mask & kAttrObjectSize) w.Element("ObjectSize", rec.size);
  w.Close("GetObjectAttributesResponse");
  char date[32];
  std::size_t n = util::FormatHttpDate(static_cast<std::time_t>(rec.mtime_ms / 1000), date);
  const http::OutHeader headers[] = {{"Content-Type", "application/xml"},
                                     {"Last-Modified", ex_->arena().Copy(std::string_view(date, n))}};
  stage_ = Stage::kDone;
  ex_->Respond(200, headers, 2, body);
}

}  // namespace mamute::s3
