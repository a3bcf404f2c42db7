// The management API's resources over the node store: projects' API keys, buckets, S3
// credentials, file listings. Called on the management shard only; every call is a blocking
// RocksDB read or a synced write through CommitQueue::Write (docs/management-api.md,
// "Threading"). Errors: NotFound (absent, or another project's: callers answer 404),
// AlreadyExists (409), FailedPrecondition (409), InvalidArgument (400), others (500).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/secret_box.h"
#include "mamute/result.h"
#include "mamute/status.h"
#include "store/buckets.h"
#include "store/keys.h"
#include "store/meta_db.h"
#include "store/node.h"

namespace mamute::mgmt {

/// mgmt and apikeys CF values: u8 version (1) ‖ JSON object text (docs/storage.md, "Management").
inline constexpr uint8_t kMgmtValueV1 = 1;
std::string EncodeMgmtValue(const nlohmann::json& j);
Result<nlohmann::json> DecodeMgmtValue(std::string_view v);
/// j[field] when it is a string, else "".
std::string JsonString(const nlohmann::json& j, const char* field);

/// Who is calling: a project API key, or a user through a Bearer token.
struct Identity {
  enum class Kind : uint8_t { kApiKey, kUser };
  Kind kind = Kind::kApiKey;
  std::string project_id;
  std::string user_id;         ///< kUser only
  bool project_admin = true;   ///< full rights over project_id (an API key; a user of role admin)
};

struct Project {
  std::string id;
  std::string org_id;
  std::string name;
  int64_t created_at_ms = 0;
};

/// A new project with its API key: returned by create, never stored in the clear.
struct CreatedProject {
  Project project;
  std::string api_key;
};

struct Bucket {
  uint64_t id = 0;
  std::string name;
  std::string project_id;
  std::string storage_class;
  std::string region;
  int64_t created_at_ms = 0;
};

struct BucketPage {
  std::vector<Bucket> items;
  std::optional<std::string> next_cursor;  ///< opaque: base64url of the last name returned
};

struct Credential {
  std::string access_key_id;
  store::ScopeKind scope = store::ScopeKind::kBucket;
  uint64_t bucket = 0;     ///< kBucket: the bucket it is scoped to
  std::string project_id;  ///< kProject: the project it is scoped to
  bool active = true;
  int64_t created_at_ms = 0;
  int64_t last_used_at_ms = 0;  ///< 0 = never
  uint32_t secret_version = 0;
};

/// A credential with its secret: returned by create and regenerate, never stored in the clear.
struct IssuedCredential {
  Credential credential;
  std::string secret_access_key;
};

struct FileEntry {
  std::string key;
  uint64_t size = 0;
  std::string etag;  ///< unquoted
  std::string content_type;
  int64_t last_modified_ms = 0;
};
struct FilePage {
  std::vector<FileEntry> items;
  std::vector<std::string> common_prefixes;
  std::optional<std::string> next_cursor;
  std::string storage_class;  ///< the bucket's (objects have no class of their own yet)
};

inline constexpr std::string_view kRegion = "us-east-1";

int64_t NowMs() noexcept;

class Resources {
 public:
  Resources(store::NodeStore* node, const auth::SecretBox* box) : node_(node), box_(box) {}

  // ---- API keys ----
  /// The project of a presented X-API-Key; Unauthenticated when unknown (same error however it
  /// fails).
  Result<Identity> AuthenticateApiKey(std::string_view api_key) const;
  /// Replaces the project's API key in one synced batch; the old one fails from then on.
  Result<std::string> RotateApiKey(std::string_view project_id, int64_t now_ms);

  // ---- projects ----
  /// A project of organization `org_id` with its own API key. AlreadyExists when the
  /// organization has a project of that name.
  Result<CreatedProject> CreateProject(std::string_view org_id, std::string_view name, int64_t now_ms);
  /// NotFound when absent.
  Result<Project> GetProject(std::string_view project_id) const;
  /// The organization's projects, in id order.
  Result<std::vector<Project>> ListProjects(std::string_view org_id) const;

  // ---- buckets ----
  Result<Bucket> CreateBucket(std::string_view project_id, std::string_view name,
                              std::string_view storage_class, int64_t now_ms);
  /// `after` is the decoded cursor (a bucket name; "" = from the start).
  Result<BucketPage> ListBuckets(std::string_view project_id, std::string_view after, std::size_t limit) const;
  Result<Bucket> GetBucket(std::string_view project_id, uint64_t id) const;
  /// FailedPrecondition when objects or multipart uploads remain, unless `force`. Deletes the
  /// bucket record, its name and its credentials in one synced batch: from then on no client
  /// can address it. With `force` the caller then purges the contents with
  /// store::PurgeBucketContents (MgmtService::StartPurge): they are still there on return.
  Status DeleteBucket(std::string_view project_id, uint64_t id, bool force);

  // ---- S3 credentials ----
  // `bucket` given: the bucket routes, credentials scoped to that bucket of the project.
  // nullopt: the project routes; create makes a project-scoped credential, the others act on
  // any credential of the project (project-scoped, or scoped to one of its buckets).
  Result<IssuedCredential> CreateCredential(std::string_view project_id, std::optional<uint64_t> bucket,
                                            int64_t now_ms);
  Result<std::vector<Credential>> ListCredentials(std::string_view project_id, std::optional<uint64_t> bucket) const;
  Result<Credential> SetCredentialActive(std::string_view project_id, std::optional<uint64_t> bucket,
                                         std::string_view ak, bool active);
  Result<IssuedCredential> RegenerateCredential(std::string_view project_id, std::optional<uint64_t> bucket,
                                                std::string_view ak);
  Status DeleteCredential(std::string_view project_id, std::optional<uint64_t> bucket, std::string_view ak);

  // ---- files ----
  Result<FilePage> ListFiles(std::string_view project_id, uint64_t bucket, std::string_view prefix,
                             std::string_view delimiter, std::string_view cursor, int64_t limit) const;

 private:
  /// The caller's view of `bucket` (NotFound: absent or another project's); OK when nullopt.
  Status CheckBucket(std::string_view project_id, std::optional<uint64_t> bucket) const;
  /// The credential `ak` if it is the caller's (see the S3 credentials section), else NotFound.
  Result<Credential> LoadCredential(std::string_view project_id, std::optional<uint64_t> bucket,
                                    std::string_view ak, std::string* raw) const;
  /// The one credential transition: loads the bucket's credential, applies `edit(record&)` (a
  /// Status), commits it and bumps the credential epoch. Returns the credential written.
  template <typename Edit>
  Result<Credential> UpdateCredential(std::string_view project_id, std::optional<uint64_t> bucket,
                                      std::string_view ak, Edit&& edit);
  Status Commit(store::MetaBatch* batch);
  void CredentialsChanged() noexcept;

  store::NodeStore* node_;
  const auth::SecretBox* box_;
};

using store::ScanPrefix;

/// mgmt CF keys.
std::string ProjectKey(std::string_view project_id);
using store::BucketCredentialKey;
using store::ProjectBucketKey;

/// Adds the records of a new API key for `project_id` to `batch` (bootstrap, rotation).
Status PutApiKey(store::MetaBatch* batch, std::string_view project_id, std::string_view api_key, int64_t now_ms);

}  // namespace mamute::mgmt
