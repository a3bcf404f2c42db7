#include "mgmt/resources.h"

#include <chrono>

#include "auth/ct_equal.h"
#include "mgmt/crypto.h"
#include "s3/cors.h"
#include "store/keys.h"
#include "store/listing.h"
#include "store/records.h"
#include "util/encoding.h"

namespace mamute::mgmt {

using store::Cf;

int64_t NowMs() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string EncodeMgmtValue(const nlohmann::json& j) {
  std::string out(1, static_cast<char>(kMgmtValueV1));
  out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return out;
}

Result<nlohmann::json> DecodeMgmtValue(std::string_view v) {
  if (v.empty() || static_cast<uint8_t>(v[0]) != kMgmtValueV1) {
    return Err(Status::Corruption("mgmt value: unknown version"));
  }
  nlohmann::json j = nlohmann::json::parse(v.substr(1), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Err(Status::Corruption("mgmt value: bad JSON"));
  return j;
}

std::string ProjectKey(std::string_view project_id) { return store::MgmtKey("project", project_id); }

namespace {

using store::BucketCredentialPrefix;

Bucket FromRecord(const store::BucketRecord& r) {
  return Bucket{r.id, std::string(r.name), std::string(r.project_id), std::string(r.storage_class),
                std::string(r.region), r.created_at_ms};
}

Credential FromRecord(const store::CredentialRecord& r) {
  return Credential{std::string(r.access_key_id),
                    r.scope.kind,
                    r.scope.kind == store::ScopeKind::kBucket ? r.scope.bucket : 0,
                    std::string(r.scope.project_id),
                    r.status == store::CredentialStatus::kActive,
                    r.created_at_ms,
                    r.last_used_at_ms,
                    r.secret_version};
}

Result<Project> ProjectFromValue(std::string_view raw) {
  auto v = DecodeMgmtValue(raw);
  if (!v) return Err(v.error());
  Project p;
  p.id = JsonString(*v, "id");
  p.org_id = JsonString(*v, "org_id");
  p.name = JsonString(*v, "name");
  if (auto it = v->find("created_at_ms"); it != v->end() && it->is_number_integer()) {
    p.created_at_ms = it->get<int64_t>();
  }
  if (p.id.empty()) return Err(Status::Corruption("project without an id"));
  return p;
}

}  // namespace

std::string JsonString(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Status PutApiKey(store::MetaBatch* batch, std::string_view project_id, std::string_view api_key, int64_t now_ms) {
  std::string id = ApiKeyId(api_key);
  nlohmann::json v = {{"project_id", project_id}, {"sha256", id}, {"created_at_ms", now_ms}};
  return batch->Put(Cf::kApiKeys, id, EncodeMgmtValue(v));
}

// ---------------------------------------------------------------- API keys

Result<Identity> Resources::AuthenticateApiKey(std::string_view api_key) const {
  const Status kBad = Status::Unauthenticated("invalid API key");
  if (api_key.empty() || api_key.size() > 512) return Err(kBad);
  std::string id = ApiKeyId(api_key);
  std::string raw;
  Status st = node_->db->Get(Cf::kApiKeys, id, &raw);
  if (st.code() == Code::kNotFound) return Err(kBad);
  if (!st.ok()) return Err(st);
  auto v = DecodeMgmtValue(raw);
  if (!v) return Err(v.error());
  // The lookup was by hash; compare the stored hash in constant time anyway (habit 7).
  if (!auth::CtEqual(JsonString(*v, "sha256"), id)) return Err(kBad);
  Identity who;
  who.kind = Identity::Kind::kApiKey;
  who.project_id = JsonString(*v, "project_id");
  if (who.project_id.empty()) return Err(Status::Corruption("api key without project"));
  return who;
}

Result<std::string> Resources::RotateApiKey(std::string_view project_id, int64_t now_ms) {
  std::string raw;
  MAMUTE_RETURN_IF_ERROR_R(node_->db->Get(Cf::kMgmt, ProjectKey(project_id), &raw));
  auto project = DecodeMgmtValue(raw);
  if (!project) return Err(project.error());
  auto key = NewApiKey();
  if (!key) return Err(key.error());
  store::MetaBatch batch(*node_->db);
  std::string old_id = JsonString(*project, "api_key_id");
  if (!old_id.empty()) MAMUTE_RETURN_IF_ERROR_R(batch.Delete(Cf::kApiKeys, old_id));
  MAMUTE_RETURN_IF_ERROR_R(PutApiKey(&batch, project_id, *key, now_ms));
  (*project)["api_key_id"] = ApiKeyId(*key);
  (*project)["api_key_created_at_ms"] = now_ms;
  MAMUTE_RETURN_IF_ERROR_R(batch.Put(Cf::kMgmt, ProjectKey(project_id), EncodeMgmtValue(*project)));
  MAMUTE_RETURN_IF_ERROR_R(Commit(&batch));
  return key;
}

Status Resources::Commit(store::MetaBatch* batch) { return node_->commits->Write(batch); }

void Resources::CredentialsChanged() noexcept {
  // Data shards compare this epoch before each authentication (store/node.h).
  node_->credential_epoch.fetch_add(1, std::memory_order_release);
}

// ---------------------------------------------------------------- projects

Result<CreatedProject> Resources::CreateProject(std::string_view org_id, std::string_view name, int64_t now_ms) {
  auto existing = ListProjects(org_id);
  if (!existing) return Err(existing.error());
  for (const Project& p : *existing) {
    if (p.name == name) return Err(Status::AlreadyExists("the organization has a project of this name"));
  }
  auto raw = RandomBytes(8);
  if (!raw) return Err(raw.error());
  std::string id = "prj_" + util::HexEncode(raw->data(), raw->size());
  auto key = NewApiKey();
  if (!key) return Err(key.error());
  nlohmann::json project = {{"id", id},
                            {"org_id", org_id},
                            {"name", name},
                            {"api_key_id", ApiKeyId(*key)},
                            {"api_key_created_at_ms", now_ms},
                            {"created_at_ms", now_ms}};
  // The project and its API key appear together.
  store::MetaBatch batch(*node_->db);
  MAMUTE_RETURN_IF_ERROR_R(batch.Put(Cf::kMgmt, ProjectKey(id), EncodeMgmtValue(project)));
  MAMUTE_RETURN_IF_ERROR_R(PutApiKey(&batch, id, *key, now_ms));
  MAMUTE_RETURN_IF_ERROR_R(Commit(&batch));
  return CreatedProject{Project{id, std::string(org_id), std::string(name), now_ms}, std::move(*key)};
}

Result<Project> Resources::GetProject(std::string_view project_id) const {
  std::string raw;
  Status st = node_->db->Get(Cf::kMgmt, ProjectKey(project_id), &raw);
  if (st.code() == Code::kNotFound) return Err(Status::NotFound("no such project"));
  if (!st.ok()) return Err(st);
  return ProjectFromValue(raw);
}

Result<std::vector<Project>> Resources::ListProjects(std::string_view org_id) const {
  std::vector<Project> out;
  Status inner;
  MAMUTE_RETURN_IF_ERROR_R(ScanPrefix(*node_->db, Cf::kMgmt, ProjectKey(""), "", [&](std::string_view, std::string_view v) {
    auto p = ProjectFromValue(v);
    if (!p) {
      inner = p.error();
      return false;
    }
    if (p->org_id == org_id) out.push_back(std::move(*p));
    return true;
  }));
  MAMUTE_RETURN_IF_ERROR_R(inner);
  return out;
}

// ---------------------------------------------------------------- buckets

Result<Bucket> Resources::CreateBucket(std::string_view project_id, std::string_view name,
                                       std::string_view storage_class, int64_t now_ms) {
  uint64_t id = 0;
  while (id == 0) {
    auto r = RandomU64();
    if (!r) return Err(r.error());
    id = *r;
  }
  Bucket b{id, std::string(name), std::string(project_id), std::string(storage_class), std::string(kRegion), now_ms};
  store::BucketRecord rec;
  rec.id = b.id;
  rec.name = b.name;
  rec.project_id = b.project_id;
  rec.storage_class = b.storage_class;
  rec.region = b.region;
  rec.created_at_ms = b.created_at_ms;
  store::MetaBatch batch(*node_->db);
  MAMUTE_RETURN_IF_ERROR_R(store::AddBucketCreation(rec, &batch));
  // The name is checked at commit time: S3's CreateBucket on a data shard may race with us.
  store::BucketCreationCheck check{b.name, b.project_id, id};
  MAMUTE_RETURN_IF_ERROR_R(node_->commits->Write(&batch, &store::CheckBucketCreation, &check));
  return b;
}

Result<BucketPage> Resources::ListBuckets(std::string_view project_id, std::string_view after,
                                          std::size_t limit) const {
  std::string prefix = ProjectBucketKey(project_id, "");
  std::string start;
  if (!after.empty()) {
    start = ProjectBucketKey(project_id, after);
    start.push_back('\0');  // strictly after `after`
  }
  BucketPage page;
  bool more = false;
  Status inner;
  Status st = ScanPrefix(*node_->db, Cf::kMgmt, prefix, start, [&](std::string_view, std::string_view v) {
    if (page.items.size() == limit) {
      more = true;
      return false;
    }
    store::BucketId id = 0;
    inner = store::DecodeBucketName(v, &id);
    if (!inner.ok()) return false;
    std::string raw;
    inner = node_->db->Get(Cf::kBuckets, store::BucketKey(id), &raw);
    if (inner.code() == Code::kNotFound) {  // index without record: skip (fsck territory)
      inner = Status::Ok();
      return true;
    }
    if (!inner.ok()) return false;
    store::BucketRecord rec;
    inner = store::DecodeBucket(raw, &rec);
    if (!inner.ok()) return false;
    page.items.push_back(FromRecord(rec));
    return true;
  });
  if (!st.ok()) return Err(st);
  if (!inner.ok()) return Err(inner);
  if (more && !page.items.empty()) {
    const std::string& last = page.items.back().name;
    page.next_cursor = util::Base64UrlEncode(last.data(), last.size());
  }
  return page;
}

Result<Bucket> Resources::GetBucket(std::string_view project_id, uint64_t id) const {
  std::string raw;
  Status st = node_->db->Get(Cf::kBuckets, store::BucketKey(id), &raw);
  if (st.code() == Code::kNotFound) return Err(Status::NotFound("no such bucket"));
  if (!st.ok()) return Err(st);
  store::BucketRecord rec;
  MAMUTE_RETURN_IF_ERROR_R(store::DecodeBucket(raw, &rec));
  // Another project's bucket is indistinguishable from a missing one.
  if (rec.project_id != project_id) return Err(Status::NotFound("no such bucket"));
  return FromRecord(rec);
}

Status Resources::DeleteBucket(std::string_view project_id, uint64_t id, bool force) {
  auto b = GetBucket(project_id, id);
  if (!b) return b.error();
  const std::string bprefix = store::BucketPrefix(id);
  bool has_objects = false, has_uploads = false;
  MAMUTE_RETURN_IF_ERROR(ScanPrefix(*node_->db, Cf::kObjects, bprefix, "", [&](std::string_view, std::string_view) {
    has_objects = true;
    return false;
  }));
  MAMUTE_RETURN_IF_ERROR(ScanPrefix(*node_->db, Cf::kUploads, bprefix, "", [&](std::string_view, std::string_view) {
    has_uploads = true;
    return false;
  }));
  if ((has_objects || has_uploads) && !force) {
    return Status::FailedPrecondition("the bucket is not empty (objects or multipart uploads remain); use ?force=true");
  }
  // The bucket, its name, its index entry and its credentials go first, in one batch: from then
  // on no client can address it; the object metadata is purged after.
  store::MetaBatch batch(*node_->db);
  MAMUTE_RETURN_IF_ERROR(batch.Delete(Cf::kBuckets, store::BucketKey(id)));
  MAMUTE_RETURN_IF_ERROR(batch.Delete(Cf::kBucketNames, b->name));
  MAMUTE_RETURN_IF_ERROR(batch.Delete(Cf::kMgmt, ProjectBucketKey(project_id, b->name)));
  MAMUTE_RETURN_IF_ERROR(batch.Delete(Cf::kMgmt, s3::CorsKey(id)));
  std::string cprefix = BucketCredentialPrefix(id);
  std::vector<std::string> cred_keys;
  MAMUTE_RETURN_IF_ERROR(ScanPrefix(*node_->db, Cf::kMgmt, cprefix, "", [&](std::string_view k, std::string_view) {
    cred_keys.emplace_back(k);
    return true;
  }));
  for (const auto& k : cred_keys) {
    MAMUTE_RETURN_IF_ERROR(batch.Delete(Cf::kMgmt, k));
    MAMUTE_RETURN_IF_ERROR(batch.Delete(Cf::kCredentials, std::string_view(k).substr(cprefix.size())));
  }
  MAMUTE_RETURN_IF_ERROR(Commit(&batch));
  if (!cred_keys.empty()) CredentialsChanged();
  node_->bucket_config_epoch.fetch_add(1, std::memory_order_release);  // per-shard CORS caches
  // With force, the caller purges the contents next (store::PurgeBucketContents): object,
  // upload and part records, and their data files once each purge commit is durable.
  return Status::Ok();
}

// ---------------------------------------------------------------- credentials

Status Resources::CheckBucket(std::string_view project_id, std::optional<uint64_t> bucket) const {
  if (!bucket) return Status::Ok();
  auto b = GetBucket(project_id, *bucket);
  return b ? Status::Ok() : b.error();
}

Result<IssuedCredential> Resources::CreateCredential(std::string_view project_id, std::optional<uint64_t> bucket,
                                                     int64_t now_ms) {
  MAMUTE_RETURN_IF_ERROR_R(CheckBucket(project_id, bucket));
  std::string ak;
  for (int attempt = 0; attempt < 8 && ak.empty(); ++attempt) {
    auto cand = NewAccessKeyId();
    if (!cand) return Err(cand.error());
    std::string unused;
    Status g = node_->db->Get(Cf::kCredentials, *cand, &unused);
    if (g.code() == Code::kNotFound) ak = *cand;
    else if (!g.ok()) return Err(g);
  }
  if (ak.empty()) return Err(Status::Internal("no free access key id"));
  auto secret = NewSecretAccessKey();
  if (!secret) return Err(secret.error());
  if (box_ == nullptr) return Err(Status::Internal("the node master key is not loaded"));
  auto sealed = box_->Seal(*secret, ak);
  if (!sealed) return Err(sealed.error());
  store::CredentialRecord rec;
  rec.access_key_id = ak;
  rec.sealed_secret = *sealed;
  if (bucket) {
    rec.scope.kind = store::ScopeKind::kBucket;
    rec.scope.bucket = *bucket;
  } else {
    rec.scope.kind = store::ScopeKind::kProject;
    rec.scope.project_id = project_id;
  }
  rec.status = store::CredentialStatus::kActive;
  rec.created_at_ms = now_ms;
  rec.last_used_at_ms = 0;
  rec.secret_version = 1;
  std::string bytes;
  store::EncodeCredential(rec, &bytes);
  store::MetaBatch batch(*node_->db);
  MAMUTE_RETURN_IF_ERROR_R(batch.Put(Cf::kCredentials, ak, bytes));
  MAMUTE_RETURN_IF_ERROR_R(batch.Put(Cf::kMgmt, store::CredentialIndexKey(rec.scope, ak), std::string(1, '\x01')));
  MAMUTE_RETURN_IF_ERROR_R(Commit(&batch));
  CredentialsChanged();
  return IssuedCredential{FromRecord(rec), std::move(*secret)};
}

Result<Credential> Resources::LoadCredential(std::string_view project_id, std::optional<uint64_t> bucket,
                                             std::string_view ak, std::string* raw) const {
  const Status kNone = Status::NotFound("no such credential");
  Status st = node_->db->Get(Cf::kCredentials, ak, raw);
  if (st.code() == Code::kNotFound) return Err(kNone);
  if (!st.ok()) return Err(st);
  store::CredentialRecord rec;
  MAMUTE_RETURN_IF_ERROR_R(store::DecodeCredential(*raw, &rec));
  if (bucket) {
    // The bucket routes see the credentials of that bucket only (CheckBucket ran before).
    if (rec.scope.kind != store::ScopeKind::kBucket || rec.scope.bucket != *bucket) return Err(kNone);
  } else if (rec.scope.kind == store::ScopeKind::kProject) {
    if (rec.scope.project_id != project_id) return Err(kNone);
  } else {
    // Another project's credential is indistinguishable from a missing one.
    Status own = CheckBucket(project_id, rec.scope.bucket);
    if (own.code() == Code::kNotFound) return Err(kNone);
    MAMUTE_RETURN_IF_ERROR_R(own);
  }
  return FromRecord(rec);
}

Result<std::vector<Credential>> Resources::ListCredentials(std::string_view project_id,
                                                           std::optional<uint64_t> bucket) const {
  MAMUTE_RETURN_IF_ERROR_R(CheckBucket(project_id, bucket));
  // The index prefixes to list: the bucket's, or the project's own and each of its buckets'.
  std::vector<std::string> prefixes;
  if (bucket) {
    prefixes.push_back(BucketCredentialPrefix(*bucket));
  } else {
    prefixes.push_back(store::ProjectCredentialPrefix(project_id));
    Status inner;
    MAMUTE_RETURN_IF_ERROR_R(ScanPrefix(*node_->db, Cf::kMgmt, ProjectBucketKey(project_id, ""), "",
                                        [&](std::string_view, std::string_view v) {
                                          store::BucketId id = 0;
                                          inner = store::DecodeBucketName(v, &id);
                                          if (inner.ok()) prefixes.push_back(BucketCredentialPrefix(id));
                                          return inner.ok();
                                        }));
    MAMUTE_RETURN_IF_ERROR_R(inner);
  }
  std::vector<Credential> out;
  for (const std::string& prefix : prefixes) {
    Status inner;
    MAMUTE_RETURN_IF_ERROR_R(ScanPrefix(*node_->db, Cf::kMgmt, prefix, "", [&](std::string_view k, std::string_view) {
      std::string raw;
      auto c = LoadCredential(project_id, bucket, k.substr(prefix.size()), &raw);
      if (!c) {
        if (c.error().code() == Code::kNotFound) return true;  // index without record: skip
        inner = c.error();
        return false;
      }
      out.push_back(std::move(*c));
      return true;
    }));
    MAMUTE_RETURN_IF_ERROR_R(inner);
  }
  return out;
}

template <typename Edit>
Result<Credential> Resources::UpdateCredential(std::string_view project_id, std::optional<uint64_t> bucket,
                                               std::string_view ak, Edit&& edit) {
  MAMUTE_RETURN_IF_ERROR_R(CheckBucket(project_id, bucket));
  std::string raw;
  auto c = LoadCredential(project_id, bucket, ak, &raw);
  if (!c) return Err(c.error());
  store::CredentialRecord rec;
  MAMUTE_RETURN_IF_ERROR_R(store::DecodeCredential(raw, &rec));
  MAMUTE_RETURN_IF_ERROR_R(edit(rec));
  std::string bytes;
  store::EncodeCredential(rec, &bytes);
  store::MetaBatch batch(*node_->db);
  MAMUTE_RETURN_IF_ERROR_R(batch.Put(Cf::kCredentials, ak, bytes));
  MAMUTE_RETURN_IF_ERROR_R(Commit(&batch));
  CredentialsChanged();
  return FromRecord(rec);  // before `raw`, which rec's views point into, goes away
}

Result<Credential> Resources::SetCredentialActive(std::string_view project_id, std::optional<uint64_t> bucket,
                                                  std::string_view ak, bool active) {
  return UpdateCredential(project_id, bucket, ak, [&](store::CredentialRecord& r) {
    r.status = active ? store::CredentialStatus::kActive : store::CredentialStatus::kInactive;
    return Status::Ok();
  });
}

Result<IssuedCredential> Resources::RegenerateCredential(std::string_view project_id, std::optional<uint64_t> bucket,
                                                         std::string_view ak) {
  std::string secret, sealed;  // the record holds a view of `sealed` until it is encoded
  auto c = UpdateCredential(project_id, bucket, ak, [&](store::CredentialRecord& r) -> Status {
    auto s = NewSecretAccessKey();
    if (!s) return s.error();
    if (box_ == nullptr) return Status::Internal("the node master key is not loaded");
    auto sl = box_->Seal(*s, ak);
    if (!sl) return sl.error();
    secret = std::move(*s);
    sealed = std::move(*sl);
    r.sealed_secret = sealed;
    r.secret_version += 1;
    return Status::Ok();
  });
  if (!c) return Err(c.error());
  return IssuedCredential{std::move(*c), std::move(secret)};
}

Status Resources::DeleteCredential(std::string_view project_id, std::optional<uint64_t> bucket,
                                   std::string_view ak) {
  MAMUTE_RETURN_IF_ERROR(CheckBucket(project_id, bucket));
  std::string raw;
  auto c = LoadCredential(project_id, bucket, ak, &raw);
  if (!c) return c.error();
  store::CredentialRecord rec;
  MAMUTE_RETURN_IF_ERROR(store::DecodeCredential(raw, &rec));
  store::MetaBatch batch(*node_->db);
  MAMUTE_RETURN_IF_ERROR(batch.Delete(Cf::kCredentials, ak));
  MAMUTE_RETURN_IF_ERROR(batch.Delete(Cf::kMgmt, store::CredentialIndexKey(rec.scope, ak)));
  MAMUTE_RETURN_IF_ERROR(Commit(&batch));
  CredentialsChanged();
  return Status::Ok();
}

// ---------------------------------------------------------------- files

Result<FilePage> Resources::ListFiles(std::string_view project_id, uint64_t bucket, std::string_view prefix,
                                      std::string_view delimiter, std::string_view cursor, int64_t limit) const {
  auto b = GetBucket(project_id, bucket);
  if (!b) return Err(b.error());
  store::ListRequest req;
  req.bucket = bucket;
  req.prefix = prefix;
  req.delimiter = delimiter;
  req.continuation_token = cursor;
  req.max_keys = limit;
  auto r = store::ListObjectsV2(*node_->db, req);
  if (!r) return Err(r.error());
  FilePage page;
  page.storage_class = b->storage_class;
  page.items.reserve(r->objects.size());
  std::string raw;
  for (auto& o : r->objects) {
    FileEntry e;
    e.size = o.size;
    e.last_modified_ms = o.mtime_ms;
    std::string etag = store::FormatEtag(o.etag_kind, o.etag);
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
    e.etag = std::move(etag);
    // The listing does not carry the content type: one point read per entry (≤ 1000).
    if (node_->db->Get(Cf::kObjects, store::ObjectKey(bucket, o.key), &raw).ok()) {
      store::ObjectRecord rec;
      if (store::DecodeObject(raw, &rec).ok()) e.content_type = std::string(rec.headers.content_type);
    }
    e.key = std::move(o.key);
    page.items.push_back(std::move(e));
  }
  page.common_prefixes = std::move(r->common_prefixes);
  if (r->is_truncated) page.next_cursor = std::move(r->next_continuation_token);
  return page;
}

}  // namespace mamute::mgmt
