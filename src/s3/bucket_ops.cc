// Bucket operations of project-scoped keys (issue 9): CreateBucket and DeleteBucket over S3, and
// ListObjectVersions (every bucket is unversioned: each object is its one version, "null").
// Bucket-scoped keys keep the management API as the only way to create or delete a bucket.
#include <sys/random.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "s3/handler.h"
#include "s3/service.h"
#include "s3/xml.h"
#include "store/buckets.h"
#include "store/listing.h"
#include "util/log.h"

namespace mamute::s3 {
namespace {

constexpr std::size_t kMaxCreateBucketBody = 4096;

// A bucket commit's state: on the heap until its callback ran, which may be after the handler
// is gone (the commit-time check reads it on the commit thread).
struct BucketCommit {
  std::string name;
  std::string project_id;
  store::BucketCreationCheck check;
  store::BucketUploadsRemoval uploads;  // DeleteBucket
  std::size_t credentials_removed = 0;
  std::atomic<uint64_t>* credential_epoch = nullptr;
  void* pending = nullptr;  // the handler's Pending trampoline
};


// The <LocationConstraint> of a CreateBucketConfiguration body ("" when absent).
std::string_view LocationConstraint(std::string_view xml) {
  constexpr std::string_view kOpen = "<LocationConstraint>";
  std::size_t a = xml.find(kOpen);
  if (a == std::string_view::npos) return {};
  a += kOpen.size();
  std::size_t b = xml.find("</LocationConstraint>", a);
  return b == std::string_view::npos ? xml.substr(a) : xml.substr(a, b - a);
}

}  // namespace

// ---------------------------------------------------------------- CreateBucket

void S3Handler::CreateBucket() {
  if (cred_->scope_kind == store::ScopeKind::kBucket) {
    // Authorize() passed: the bucket exists and is the key's own.
    RespondError(S3Error::kBucketAlreadyOwnedByYou);
    return;
  }
  if (auto err = store::BucketNameError(req_.bucket)) {
    RespondError(S3Error::kInvalidBucketName, *err);
    return;
  }
  XmlBodyStart(kMaxCreateBucketBody);  // an optional CreateBucketConfiguration
}

void S3Handler::CreateBucketExecute() {
  std::string_view location = LocationConstraint(xml_);
  if (!location.empty() && location != "us-east-1") {
    RespondError(S3Error::kInvalidArgument, "The specified location-constraint is not valid: this server serves us-east-1.");
    return;
  }
  const http::OutHeader created[] = {{"Location", ex_->head().path}};
  if (bucket_id_ != 0) {
    // Authorize() found the bucket in the key's project: us-east-1's legacy answer, 200, and
    // the bucket (its objects) untouched.
    stage_ = Stage::kDone;
    ex_->Respond(200, created, 1, {});
    return;
  }
  auto bc = std::make_unique<BucketCommit>();
  bc->name = req_.bucket;
  bc->project_id = cred_->project_id;
  store::BucketId id = 0;
  while (id == 0) {
    if (getrandom(&id, sizeof(id), 0) != static_cast<ssize_t>(sizeof(id))) {
      RespondError(S3Error::kInternalError);
      return;
    }
  }
  store::BucketRecord rec;
  rec.id = id;
  rec.name = bc->name;
  rec.project_id = bc->project_id;
  rec.storage_class = "STANDARD";
  rec.region = "us-east-1";
  rec.created_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  bc->check = store::BucketCreationCheck{bc->name, bc->project_id, id};
  auto op = svc_->object_io().NewMetaOp();
  if (!op) {
    RespondError(S3Error::kServiceUnavailable);
    return;
  }
  Status st = store::AddBucketCreation(rec, &(*op)->batch());
  if (!st.ok()) {
    svc_->object_io().Discard(*op);
    MLOG_ERROR("CreateBucket failed: %s", st.ToString().c_str());
    RespondError(S3Error::kInternalError);
    return;
  }
  // The name is checked again at commit time: another shard or the management API may be
  // creating it right now.
  (*op)->set_check(&store::CheckBucketCreation, &bc->check);
  bc->pending = NewPending();
  st = svc_->object_io().Submit(*op, &S3Handler::OnBucketCommitted, bc.get());
  if (!st.ok()) {
    EnqueueRefused(st);
    return;
  }
  bc.release();  // the callback owns it
}

void S3Handler::OnBucketCommitted(void* ctx, Status st, bool existed) {
  (void)existed;
  std::unique_ptr<BucketCommit> bc(static_cast<BucketCommit*>(ctx));
  if (st.ok() && bc->credentials_removed > 0) {
    // The deleted bucket's credentials: every shard drops its cache before the next request.
    bc->credential_epoch->fetch_add(1, std::memory_order_release);
  }
  S3Handler* self = TakePending(bc->pending);
  if (self == nullptr) return;
  if (self->req_.op == S3Op::kCreateBucket && st.code() == Code::kAlreadyExists) {
    if (bc->check.owned) {
      self->stage_ = Stage::kDone;
      const http::OutHeader created[] = {{"Location", self->ex_->head().path}};
      self->ex_->Respond(200, created, 1, {});
    } else {
      self->RespondError(S3Error::kBucketAlreadyExists);
    }
    return;
  }
  if (self->CommitFailed(st, S3OpName(self->req_.op).data())) return;
  self->stage_ = Stage::kDone;
  if (self->req_.op == S3Op::kCreateBucket) {
    const http::OutHeader created[] = {{"Location", self->ex_->head().path}};
    self->ex_->Respond(200, created, 1, {});
  } else {
    self->ex_->Respond(204, nullptr, 0, {});
  }
}

// ---------------------------------------------------------------- DeleteBucket

void S3Handler::DeleteBucket() {
  if (cred_->scope_kind == store::ScopeKind::kBucket) {
    RespondError(S3Error::kAccessDenied, "Buckets are deleted through the management API.");
    return;
  }
  const store::MetaDb& db = *svc_->node().db;
  auto has_objects = store::BucketHasObjects(db, bucket_id_);
  std::string raw;
  store::BucketRecord rec;
  Status st = has_objects ? db.Get(store::Cf::kBuckets, store::BucketKey(bucket_id_), &raw) : has_objects.error();
  if (st.code() == Code::kNotFound) {
    RespondError(S3Error::kNoSuchBucket);  // deleted since Authorize()
    return;
  }
  if (st.ok()) st = store::DecodeBucket(raw, &rec);
  if (!st.ok()) {
    MLOG_ERROR("DeleteBucket failed: %s", st.ToString().c_str());
    RespondError(S3Error::kInternalError);
    return;
  }
  if (*has_objects) {
    RespondError(S3Error::kBucketNotEmpty);
    return;
  }
  auto op = svc_->object_io().NewMetaOp();
  if (!op) {
    RespondError(S3Error::kServiceUnavailable);
    return;
  }
  auto bc = std::make_unique<BucketCommit>();
  bc->credential_epoch = &svc_->node().credential_epoch;
  // Incomplete multipart uploads do not keep a bucket alive: they are aborted with it, and
  // their part files become garbage once the removal is durable.
  st = store::AddBucketRemoval(db, rec, &(*op)->batch(), &bc->credentials_removed);
  bc->uploads = store::BucketUploadsRemoval{rec.id, &(*op)->garbage()};
  (*op)->set_check(&store::RemoveBucketUploads, &bc->uploads);
  if (!st.ok()) {
    svc_->object_io().Discard(*op);
    MLOG_ERROR("DeleteBucket failed: %s", st.ToString().c_str());
    RespondError(S3Error::kInternalError);
    return;
  }
  bc->pending = NewPending();
  st = svc_->object_io().Submit(*op, &S3Handler::OnBucketCommitted, bc.get());
  if (!st.ok()) {
    EnqueueRefused(st);
    return;
  }
  bc.release();
}

// ---------------------------------------------------------------- ListObjectVersions

void S3Handler::ListObjectVersions() {
  std::string_view q = ex_->head().query;
  std::string prefix, delimiter, key_marker, version_marker, max_keys_s, encoding;
  if (!DecodedQuery(q, "prefix", &prefix) || !DecodedQuery(q, "delimiter", &delimiter) ||
      !DecodedQuery(q, "key-marker", &key_marker) || !DecodedQuery(q, "version-id-marker", &version_marker) ||
      !DecodedQuery(q, "max-keys", &max_keys_s) || !DecodedQuery(q, "encoding-type", &encoding)) {
    RespondError(S3Error::kInvalidArgument, "Malformed query parameter encoding.");
    return;
  }
  const bool url = encoding == "url";
  if (!encoding.empty() && !url) {
    RespondError(S3Error::kInvalidArgument, "Invalid Encoding Method specified in Request");
    return;
  }
  if (!version_marker.empty()) {
    if (key_marker.empty()) {
      RespondError(S3Error::kInvalidArgument, "A version-id marker cannot be specified without a key marker.");
      return;
    }
    if (version_marker != "null") {
      RespondError(S3Error::kInvalidArgument, "Invalid version id specified");
      return;
    }
  }
  int64_t max_keys = store::kMaxListKeys;
  if (!ParseMaxKeys(max_keys_s, &max_keys)) return;
  // Each key has exactly one version ("null"), so the versions after (key-marker, "null") and
  // those after key-marker are the same: a ListObjects (v1) from the marker.
  store::ListRequest lr;
  lr.bucket = bucket_id_;
  lr.prefix = prefix;
  lr.delimiter = delimiter;
  lr.max_keys = max_keys;
  lr.start_after = key_marker;
  auto res = store::ListObjectsV1(*svc_->node().db, lr);
  if (!res) {
    RespondListingError(res.error(), "version listing");
    return;
  }
  const store::ListResult& r = *res;
  std::string body;
  body.reserve(512 + r.objects.size() * 320);
  XmlWriter w(&body);
  w.OpenRoot("ListVersionsResult");
  w.Element("Name", req_.bucket);
  w.Element("Prefix", MaybeUrlEncode(prefix, url));
  w.Element("KeyMarker", MaybeUrlEncode(key_marker, url));
  w.Element("VersionIdMarker", version_marker);
  w.Element("MaxKeys", static_cast<uint64_t>(r.max_keys));
  if (!delimiter.empty()) w.Element("Delimiter", MaybeUrlEncode(delimiter, url));
  if (url) w.Element("EncodingType", "url");
  w.Bool("IsTruncated", r.is_truncated);
  if (r.is_truncated) {
    // The last entry returned, object or common prefix (both lists are in key order).
    const std::string* last_key = r.objects.empty() ? nullptr : &r.objects.back().key;
    const std::string* last_prefix = r.common_prefixes.empty() ? nullptr : &r.common_prefixes.back();
    const bool prefix_last = last_prefix != nullptr && (last_key == nullptr || *last_prefix > *last_key);
    w.Element("NextKeyMarker", MaybeUrlEncode(prefix_last ? *last_prefix : *last_key, url));
    if (!prefix_last) w.Element("NextVersionIdMarker", "null");
  }
  for (const store::ListedObject& o : r.objects) {
    w.Open("Version");
    w.Element("Key", MaybeUrlEncode(o.key, url));
    w.Element("VersionId", "null");
    w.Bool("IsLatest", true);
    w.Element("LastModified", FormatIsoMs(o.mtime_ms));
    w.Element("ETag", store::FormatEtag(o.etag_kind, o.etag));
    w.Element("Size", o.size);
    w.Element("StorageClass", "STANDARD");
    w.Open("Owner");
    w.Element("ID", "mamute");
    w.Element("DisplayName", "mamute");
    w.Close("Owner");
    w.Close("Version");
  }
  for (const std::string& p : r.common_prefixes) {
    w.Open("CommonPrefixes");
    w.Element("Prefix", MaybeUrlEncode(p, url));
    w.Close("CommonPrefixes");
  }
  w.Close("ListVersionsResult");
  RespondXml(200, body);
}

}  // namespace mamute::s3
