#include "store/buckets.h"

#include <memory>

#include "store/multipart.h"

namespace mamute::store {
namespace {

bool IsLowerOrDigit(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsDigit(char c) noexcept { return c >= '0' && c <= '9'; }

// "192.168.5.4": four dot-separated groups of 1-3 digits. S3 refuses every name of that form
// (not only valid addresses), so "999.1.1.1" is refused too.
bool LooksLikeIpv4(std::string_view s) noexcept {
  int groups = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    std::size_t len = i - start;
    if (len == 0 || len > 3) return false;
    ++groups;
    if (i == s.size()) return groups == 4;
    if (s[i] != '.') return false;
    ++i;
  }
}

std::string TwoPart(std::string_view kind, std::string_view a, std::string_view b) {
  std::string id(a);
  id.push_back('\0');
  id.append(b);
  return MgmtKey(kind, id);
}

}  // namespace

std::optional<std::string_view> BucketNameError(std::string_view name) noexcept {
  if (name.size() < 3 || name.size() > 63) return "bucket names must be between 3 and 63 characters long";
  for (char c : name) {
    if (!IsLowerOrDigit(c) && c != '.' && c != '-') {
      return "bucket names can consist only of lowercase letters, numbers, dots (.) and hyphens (-)";
    }
  }
  if (!IsLowerOrDigit(name.front()) || !IsLowerOrDigit(name.back())) {
    return "bucket names must begin and end with a letter or number";
  }
  if (name.find("..") != std::string_view::npos) return "bucket names must not contain two adjacent periods";
  if (LooksLikeIpv4(name)) return "bucket names must not be formatted as an IP address (for example, 192.168.5.4)";
  if (name.starts_with("xn--")) return "bucket names must not start with the prefix xn--";
  if (name.starts_with("sthree-")) return "bucket names must not start with the prefix sthree-";
  if (name.ends_with("-s3alias")) return "bucket names must not end with the suffix -s3alias";
  if (name.ends_with("--ol-s3")) return "bucket names must not end with the suffix --ol-s3";
  return std::nullopt;
}

std::string ProjectBucketKey(std::string_view project_id, std::string_view bucket_name) {
  return TwoPart("project_bucket", project_id, bucket_name);
}

std::string BucketCredentialPrefix(BucketId bucket) {
  std::string id;
  AppendBigEndian64(&id, bucket);
  return MgmtKey("bucket_cred", id);
}

std::string BucketCredentialKey(BucketId bucket, std::string_view ak) {
  std::string k = BucketCredentialPrefix(bucket);
  k.append(ak);
  return k;
}

std::string ProjectCredentialPrefix(std::string_view project_id) {
  return TwoPart("project_cred", project_id, "");
}

std::string ProjectCredentialKey(std::string_view project_id, std::string_view ak) {
  return TwoPart("project_cred", project_id, ak);
}

std::string CredentialIndexKey(const CredentialScope& scope, std::string_view ak) {
  return scope.kind == ScopeKind::kBucket ? BucketCredentialKey(scope.bucket, ak)
                                          : ProjectCredentialKey(scope.project_id, ak);
}

Status AddBucketCreation(const BucketRecord& rec, MetaBatch* batch) {
  std::string rec_bytes, name_bytes;
  EncodeBucket(rec, &rec_bytes);
  EncodeBucketName(rec.id, &name_bytes);
  // Record, name and project index in ONE batch: they appear together.
  MAMUTE_RETURN_IF_ERROR(batch->Put(Cf::kBuckets, BucketKey(rec.id), rec_bytes));
  MAMUTE_RETURN_IF_ERROR(batch->Put(Cf::kBucketNames, rec.name, name_bytes));
  return batch->Put(Cf::kMgmt, ProjectBucketKey(rec.project_id, rec.name), name_bytes);
}

Status CheckBucketCreation(void* ctx, const CommitView& view, MetaBatch* /*batch*/) {
  auto* c = static_cast<BucketCreationCheck*>(ctx);
  std::string v;
  Status st = view.Get(Cf::kBucketNames, c->name, &v);
  if (st.ok()) {
    BucketId id = 0;
    BucketRecord rec;
    std::string raw;
    c->owned = DecodeBucketName(v, &id).ok() && view.Get(Cf::kBuckets, BucketKey(id), &raw).ok() &&
               DecodeBucket(raw, &rec).ok() && rec.project_id == c->project_id;
    return Status::AlreadyExists("a bucket with this name already exists");
  }
  if (st.code() != Code::kNotFound) return st;
  st = view.Get(Cf::kBuckets, BucketKey(c->id), &v);
  if (st.ok()) return Status::AlreadyExists("bucket id in use");
  return st.code() == Code::kNotFound ? Status::Ok() : st;
}

Status CheckBucketLive(const CommitView& view, BucketId bucket) {
  std::string v;
  Status st = view.Get(Cf::kBuckets, BucketKey(bucket), &v);
  if (st.code() == Code::kNotFound) return Status::NotFound(std::string(kBucketDeleted));
  return st;
}

Result<bool> BucketHasObjects(const MetaDb& db, BucketId bucket) {
  bool found = false;
  MAMUTE_RETURN_IF_ERROR_R(ScanPrefix(db, Cf::kObjects, BucketPrefix(bucket), "", [&](std::string_view, std::string_view) {
    found = true;
    return false;
  }));
  return found;
}

Status AddBucketRemoval(const MetaDb& db, const BucketRecord& rec, MetaBatch* batch,
                        std::size_t* credentials_removed) {
  MAMUTE_RETURN_IF_ERROR(batch->Delete(Cf::kBuckets, BucketKey(rec.id)));
  MAMUTE_RETURN_IF_ERROR(batch->Delete(Cf::kBucketNames, rec.name));
  MAMUTE_RETURN_IF_ERROR(batch->Delete(Cf::kMgmt, ProjectBucketKey(rec.project_id, rec.name)));
  const std::string cprefix = BucketCredentialPrefix(rec.id);
  std::vector<std::string> cred_keys;
  MAMUTE_RETURN_IF_ERROR(ScanPrefix(db, Cf::kMgmt, cprefix, "", [&](std::string_view k, std::string_view) {
    cred_keys.emplace_back(k);
    return true;
  }));
  for (const auto& k : cred_keys) {
    MAMUTE_RETURN_IF_ERROR(batch->Delete(Cf::kMgmt, k));
    MAMUTE_RETURN_IF_ERROR(batch->Delete(Cf::kCredentials, std::string_view(k).substr(cprefix.size())));
  }
  *credentials_removed = cred_keys.size();
  return Status::Ok();
}

Status RemoveBucketUploads(void* ctx, const CommitView& view, MetaBatch* batch) {
  auto* r = static_cast<BucketUploadsRemoval*>(ctx);
  const std::string prefix = BucketPrefix(r->bucket);
  const std::optional<std::string> upper = PrefixSuccessor(prefix);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper_slice;
  if (upper) {
    upper_slice = rocksdb::Slice(*upper);
    ro.iterate_upper_bound = &upper_slice;
  }
  std::vector<DecodedUploadKey> uploads;
  {
    std::unique_ptr<rocksdb::Iterator> it = view.NewIterator(Cf::kUploads, ro);
    for (it->Seek(rocksdb::Slice(prefix)); it->Valid(); it->Next()) {
      auto d = DecodeUploadKey(std::string_view(it->key().data(), it->key().size()));
      if (!d) return d.error();
      uploads.push_back(std::move(*d));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "bucket uploads");
  }
  for (const DecodedUploadKey& u : uploads) {
    Status st = RemoveUpload(view, r->bucket, u.object_key, u.upload_id, {}, batch, r->garbage);
    if (!st.ok() && st.code() != Code::kNotFound) return st;
  }
  return Status::Ok();
}

}  // namespace mamute::store
