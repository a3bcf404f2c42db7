#include "mgmt/service.h"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include <exception>
#include <string>
#include <vector>

#include "mgmt/bucket_cors.h"
#include "mgmt/crypto.h"
#include "mgmt/tokens.h"
#include "mgmt/validate.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/time_format.h"

namespace mamute::mgmt {
namespace {

// Route ids index kRouteNames (metrics and the access log). 0 is "unmatched" in every service.
enum RouteId : uint16_t {
  kUnmatched = 0,
  kHealthz,
  kMetrics,
  kNotImplemented,
  kMethodNotAllowed,
  kRotateApiKey,
  kCreateBucket,
  kListBuckets,
  kGetBucket,
  kDeleteBucket,
  kCreateCredential,
  kListCredentials,
  kDeactivateCredential,
  kActivateCredential,
  kRegenerateCredential,
  kDeleteCredential,
  kListFiles,
  kLogin,
  kRefresh,
  kLogout,
  kJwks,
  kRotateJwks,
  kGetBucketCors,
  kPutBucketCors,
  kDeleteBucketCors,
  kCreateProject,
  kListProjects,
  kCreateProjectCredential,
  kListProjectCredentials,
  kDeactivateProjectCredential,
  kActivateProjectCredential,
  kRegenerateProjectCredential,
  kDeleteProjectCredential,
  kRouteCount
};
constexpr std::string_view kRouteNames[kRouteCount] = {
    "unmatched",
    "GET /healthz",
    "GET /metrics",
    "not_implemented",
    "method_not_allowed",
    "POST /security/apikey",
    "POST /storage/object-storage/buckets",
    "GET /storage/object-storage/buckets",
    "GET /storage/object-storage/buckets/{id}",
    "DELETE /storage/object-storage/buckets/{id}",
    "POST /storage/object-storage/buckets/{id}/credentials",
    "GET /storage/object-storage/buckets/{id}/credentials",
    "POST /storage/object-storage/buckets/{id}/credentials/{ak}/deactivate",
    "POST /storage/object-storage/buckets/{id}/credentials/{ak}/activate",
    "POST /storage/object-storage/buckets/{id}/credentials/{ak}/regenerate",
    "DELETE /storage/object-storage/buckets/{id}/credentials/{ak}",
    "GET /storage/object-storage/buckets/{id}/files",
    "POST /auth/login",
    "POST /auth/refresh",
    "POST /auth/logout",
    "GET /.well-known/jwks.json",
    "POST /security/jwks/rotate",
    "GET /storage/object-storage/buckets/{id}/cors",
    "PUT /storage/object-storage/buckets/{id}/cors",
    "DELETE /storage/object-storage/buckets/{id}/cors",
    "POST /projects",
    "GET /projects",
    "POST /storage/object-storage/credentials",
    "GET /storage/object-storage/credentials",
    "POST /storage/object-storage/credentials/{ak}/deactivate",
    "POST /storage/object-storage/credentials/{ak}/activate",
    "POST /storage/object-storage/credentials/{ak}/regenerate",
    "DELETE /storage/object-storage/credentials/{ak}",
};
static_assert(kRouteCount <= http::kMaxRoutes);

constexpr std::string_view kBucketsPath = "/storage/object-storage/buckets";
constexpr std::string_view kCredentialsPath = "/storage/object-storage/credentials";

// The project-credential routes run the bucket-credential code with no bucket (project scope).
RouteId BucketCredentialRoute(RouteId route) {
  switch (route) {
    case kCreateProjectCredential: return kCreateCredential;
    case kListProjectCredentials: return kListCredentials;
    case kDeactivateProjectCredential: return kDeactivateCredential;
    case kActivateProjectCredential: return kActivateCredential;
    case kRegenerateProjectCredential: return kRegenerateCredential;
    case kDeleteProjectCredential: return kDeleteCredential;
    default: return route;
  }
}

const http::OutHeader kJsonHeaders[] = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};

std::string Dump(const nlohmann::json& j) {
  // Object keys may be any bytes: invalid UTF-8 is replaced, never thrown about.
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  s += '\n';
  return s;
}

void RespondJson(http::Exchange& ex, int status, const nlohmann::json& j) {
  ex.Respond(status, kJsonHeaders, 2, Dump(j));
}

std::string Rfc3339(int64_t ms) {
  char buf[32];
  std::size_t n = util::FormatIso8601Ms(ms, buf);
  return std::string(buf, n);
}

nlohmann::json BucketJson(const Bucket& b) {
  return {{"id", FormatBucketId(b.id)},
          {"name", b.name},
          {"storage_class", b.storage_class},
          {"region", b.region},
          {"created_at", Rfc3339(b.created_at_ms)}};
}

nlohmann::json ProjectJson(const Project& p) {
  return {{"id", p.id}, {"name", p.name}, {"org_id", p.org_id}, {"created_at", Rfc3339(p.created_at_ms)}};
}

// `project_id`: the caller's project, which every credential it sees belongs to.
nlohmann::json CredentialJson(const Credential& c, std::string_view project_id) {
  const bool bucket = c.scope == store::ScopeKind::kBucket;
  nlohmann::json j = {{"access_key_id", c.access_key_id},
                      {"scope", bucket ? "bucket" : "project"},
                      {"bucket_id", bucket ? nlohmann::json(FormatBucketId(c.bucket)) : nlohmann::json(nullptr)},
                      {"project_id", project_id},
                      {"status", c.active ? "active" : "inactive"},
                      {"created_at", Rfc3339(c.created_at_ms)}};
  j["last_used_at"] = c.last_used_at_ms > 0 ? nlohmann::json(Rfc3339(c.last_used_at_ms)) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json IssuedJson(const IssuedCredential& c, std::string_view project_id) {
  nlohmann::json j = CredentialJson(c.credential, project_id);
  j["secret_access_key"] = c.secret_access_key;
  return j;
}

}  // namespace

// One place maps a Status to the JSON error vocabulary.
void RespondStatus(http::Exchange& ex, const Status& st, std::string_view route) {
  switch (st.code()) {
    case Code::kNotFound:
      return RespondJsonError(ex, 404, "not_found", st.message());
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
      return RespondJsonError(ex, 409, "conflict", st.message());
    case Code::kInvalidArgument:
      return RespondJsonError(ex, 400, "invalid_request", st.message());
    case Code::kUnauthenticated:
      return RespondJsonError(ex, 401, "unauthorized", st.message());
    case Code::kPermissionDenied:
      return RespondJsonError(ex, 403, "forbidden", st.message());
    case Code::kResourceExhausted:
      return RespondJsonError(ex, 503, "unavailable", "the server is overloaded; retry later");
    default:
      // Status messages name what failed, never a secret.
      MLOG_WARN("mgmt %.*s (request %.*s): %s", static_cast<int>(route.size()), route.data(),
                static_cast<int>(ex.request_id().size()), ex.request_id().data(), st.ToString().c_str());
      return RespondJsonError(ex, 500, "internal", "internal error");
  }
}

namespace {

class HealthzHandler final : public http::Handler {
 public:
  void OnHead(http::Exchange& ex) override { (void)ex; }
  void OnBodyEnd(http::Exchange& ex) override {
    const http::OutHeader headers[] = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
    ex.Respond(200, headers, 2, "{\"status\":\"ok\"}\n");
  }
};

class MetricsHandler final : public http::Handler {
 public:
  explicit MetricsHandler(const MgmtService* svc) : svc_(svc) {}
  void OnHead(http::Exchange& ex) override { (void)ex; }
  void OnBodyEnd(http::Exchange& ex) override {
    std::string text = svc_->metrics().RenderPrometheus();
    text += RenderMgmtMetrics(svc_->counters(), ex.shard().id());
    text += RenderStoreMetrics(svc_->node());
    const http::OutHeader headers[] = {{"Content-Type", "text/plain; version=0.0.4"}, {"Cache-Control", "no-store"}};
    ex.Respond(200, headers, 2, text);
  }

 private:
  const MgmtService* svc_;
};

class ErrorHandler final : public http::Handler {
 public:
  ErrorHandler(int status, std::string_view code, std::string_view message)
      : status_(status), code_(code), message_(message) {}
  void OnHead(http::Exchange& ex) override { RespondJsonError(ex, status_, code_, message_); }

 private:
  int status_;
  std::string_view code_;
  std::string_view message_;
};

// 405 with the Allow header of the path.
class MethodNotAllowedHandler final : public http::Handler {
 public:
  explicit MethodNotAllowedHandler(std::string_view allow) : allow_(allow) {}
  void OnHead(http::Exchange& ex) override {
    nlohmann::json j = {{"error",
                         {{"code", "method_not_allowed"},
                          {"message", "method not allowed on this route"},
                          {"request_id", ex.request_id()}}}};
    const http::OutHeader headers[] = {{"Content-Type", "application/json"}, {"Allow", allow_}};
    ex.Respond(405, headers, 2, Dump(j));
  }

 private:
  std::string_view allow_;
};

ErrorHandler g_not_found(404, "not_found", "no such route");
ErrorHandler g_method_not_allowed(405, "method_not_allowed", "method not allowed on this route");
ErrorHandler g_not_implemented(501, "not_implemented", "this management route is not implemented by this server yet");
HealthzHandler g_healthz;

bool IsSeedSurface(std::string_view path) {
  // Routes of the management API that the product documents but this build does
  // not serve yet: answer 501, not 404, so clients see the truth.
  static constexpr std::string_view kPrefixes[] = {"/storage/", "/security/", "/auth/", "/.well-known/",
                                                   "/projects", "/dns/", "/cdn/", "/ssl/", "/iam/",
                                                   "/billing/", "/analytics/", "/organization"};
  for (auto p : kPrefixes) {
    if (path.starts_with(p)) return true;
  }
  return false;
}

// An authenticated JSON route: accumulates the body (≤ kMaxBodyBytes), authenticates, runs.
class ApiHandler final : public http::Handler {
 public:
  ApiHandler(MgmtService* svc, RouteId route, std::string_view bucket, std::string_view ak)
      : svc_(svc), route_(route), bucket_(bucket), ak_(ak) {}

  void OnHead(http::Exchange& ex) override {
    const http::RequestHead& h = ex.head();
    if (h.has_content_length && h.content_length > kMaxBodyBytes) TooLarge(ex);
  }
  void OnBody(http::Exchange& ex, std::string_view piece) override {
    if (body_.size() + piece.size() > kMaxBodyBytes) return TooLarge(ex);
    body_.append(piece);
  }
  void OnAbort(http::Exchange& ex) override {
    (void)ex;
    if (later_ != nullptr) later_->ex = nullptr;  // the async answer finds nobody to answer
  }
  void OnBodyEnd(http::Exchange& ex) override {
    try {
      Run(ex);
    } catch (const std::exception& e) {
      // nlohmann or the allocator; never expected. The connection survives.
      MLOG_WARN("mgmt %s: exception: %s", std::string(kRouteNames[route_]).c_str(), e.what());
      if (!ex.responded()) RespondJsonError(ex, 500, "internal", "internal error");
    }
  }

 private:
  void TooLarge(http::Exchange& ex) {
    RespondJsonError(ex, 413, "payload_too_large", "request bodies are limited to 65536 bytes");
  }

  Resources& res() { return svc_->resources(); }

  // ---- the auth middleware: X-API-Key or Authorization: Bearer → an identity ----
  bool Authenticate(http::Exchange& ex) {
    const http::RequestHead& h = ex.head();
    std::string_view key = h.Find("x-api-key");
    std::string_view authz = h.Find("authorization");
    if (!key.empty() && !authz.empty()) {
      RespondJsonError(ex, 400, "invalid_request", "send X-API-Key or Authorization, not both");
      return false;
    }
    if (key.empty() && authz.empty()) {
      Unauthorized(ex, "missing credentials: send X-API-Key or Authorization: Bearer <token>", false);
      return false;
    }
    Result<Identity> who = Err(Status::Unauthenticated(""));
    if (!key.empty()) {
      who = res().AuthenticateApiKey(key);
    } else {
      // RFC 6750 §2.1: the scheme is case-insensitive, one space, then the token.
      constexpr std::string_view kScheme = "bearer ";
      bool bearer = authz.size() > kScheme.size();
      for (std::size_t i = 0; bearer && i < kScheme.size(); ++i) {
        char c = authz[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        bearer = c == kScheme[i];
      }
      if (!bearer) {
        Unauthorized(ex, "unsupported Authorization scheme: use Bearer", false);
        return false;
      }
      who = svc_->tokens().AuthenticateBearer(authz.substr(kScheme.size()), NowMs());
    }
    if (!who) {
      // Every failure looks the same to the client (CONVENTIONS: Errors).
      if (who.error().code() == Code::kUnauthenticated) {
        Unauthorized(ex, key.empty() ? "invalid or expired token" : "invalid API key", key.empty());
      } else {
        RespondStatus(ex, who.error(), kRouteNames[route_]);
      }
      return false;
    }
    who_ = std::move(*who);
    if (!who_.project_admin) {
      // A known user whose role grants no management rights over the project.
      RespondJsonError(ex, 403, "forbidden", "this identity has no rights over the project");
      return false;
    }
    return true;
  }

  // 401 with the RFC 6750 §3 challenge.
  void Unauthorized(http::Exchange& ex, std::string_view message, bool invalid_token) {
    nlohmann::json j = {{"error", {{"code", "unauthorized"}, {"message", message}, {"request_id", ex.request_id()}}}};
    const http::OutHeader headers[] = {
        {"Content-Type", "application/json"},
        {"Cache-Control", "no-store"},
        {"WWW-Authenticate", invalid_token ? "Bearer realm=\"mamute\", error=\"invalid_token\"" : "Bearer realm=\"mamute\""}};
    ex.Respond(401, headers, 3, Dump(j));
  }

  // Parses the body as a JSON object; an empty body is {} when `empty_ok`.
  bool ParseBody(http::Exchange& ex, nlohmann::json* out, bool empty_ok) {
    if (auto err = ParseJsonBody(body_, empty_ok, out)) {
      RespondJsonError(ex, 400, err->code, err->message);
      return false;
    }
    return true;
  }

  bool ParseQueryOrFail(http::Exchange& ex) {
    auto q = ParseQuery(ex.head().query);
    if (!q) {
      RespondJsonError(ex, 400, "invalid_request", "malformed query string");
      return false;
    }
    query_ = std::move(*q);
    return true;
  }
  const std::string* Param(std::string_view name) const {
    for (const auto& p : query_) {
      if (p.name == name) return &p.value;
    }
    return nullptr;
  }
  // ?limit= in [1, 1000], default 100.
  bool Limit(http::Exchange& ex, int64_t* limit) {
    *limit = 100;
    if (const std::string* l = Param("limit")) {
      auto v = ParseBoundedInt(*l, 1, 1000);
      if (!v) {
        RespondJsonError(ex, 400, "invalid_request", "limit must be an integer from 1 to 1000");
        return false;
      }
      *limit = *v;
    }
    return true;
  }
  bool BucketId(http::Exchange& ex, uint64_t* id) {
    auto v = ParseBucketId(bucket_);
    if (!v) {
      RespondJsonError(ex, 404, "not_found", "no such bucket");
      return false;
    }
    *id = *v;
    return true;
  }
  bool AccessKey(http::Exchange& ex) {
    if (!IsAccessKeyIdShape(ak_)) {
      RespondJsonError(ex, 404, "not_found", "no such credential");
      return false;
    }
    return true;
  }

  void Run(http::Exchange& ex) {
    // Public: login and refresh carry their own credential, JWKS is public by nature.
    switch (route_) {
      case kLogin:
        return Login(ex);
      case kRefresh:
        return Refresh(ex);
      case kJwks:
        return RespondJson(ex, 200, svc_->tokens().Jwks());
      default:
        break;
    }
    if (!Authenticate(ex)) return;
    switch (route_) {
      case kLogout:
        return Logout(ex);
      case kRotateJwks:
        return RotateJwks(ex);
      case kRotateApiKey:
        return RotateApiKey(ex);
      case kCreateBucket:
        return CreateBucket(ex);
      case kListBuckets:
        return ListBuckets(ex);
      case kGetBucket:
        return GetBucket(ex);
      case kDeleteBucket:
        return DeleteBucket(ex);
      case kCreateProject:
        return CreateProject(ex);
      case kListProjects:
        return ListProjects(ex);
      case kCreateCredential:
      case kListCredentials:
      case kDeactivateCredential:
      case kActivateCredential:
      case kRegenerateCredential:
      case kDeleteCredential:
        return Credentials(ex, true);
      case kCreateProjectCredential:
      case kListProjectCredentials:
      case kDeactivateProjectCredential:
      case kActivateProjectCredential:
      case kRegenerateProjectCredential:
      case kDeleteProjectCredential:
        return Credentials(ex, false);
      case kListFiles:
        return ListFiles(ex);
      case kGetBucketCors:
      case kPutBucketCors:
      case kDeleteBucketCors:
        return BucketCors(ex);
      default:
        return RespondJsonError(ex, 501, "not_implemented", "not implemented");
    }
  }

  // A required string member of the body; 422 naming it otherwise.
  bool StringField(http::Exchange& ex, const nlohmann::json& body, const char* name, std::string* out) {
    auto it = body.find(name);
    if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      RespondJsonError(ex, 422, "validation_failed", std::string(name) + ": a non-empty string is required");
      return false;
    }
    *out = it->get<std::string>();
    return true;
  }

  // The response comes later (login verdict, purge); OnAbort detaches it.
  Later* NewLater(http::Exchange& ex) {
    later_ = new Later{&ex, svc_};
    return later_;
  }

  void Login(http::Exchange& ex) {
    nlohmann::json body;
    std::string email, password;
    if (!ParseBody(ex, &body, false) || !StringField(ex, body, "email", &email) ||
        !StringField(ex, body, "password", &password)) {
      return;
    }
    OPENSSL_cleanse(body_.data(), body_.size());  // the password's only other copy
    svc_->StartLogin(ex, NewLater(ex), email, std::move(password));  // PBKDF2 off this loop
  }

  void Refresh(http::Exchange& ex) {
    nlohmann::json body;
    std::string token;
    if (!ParseBody(ex, &body, false) || !StringField(ex, body, "refresh_token", &token)) return;
    auto s = svc_->tokens().Refresh(token, NowMs());
    if (!s) return RespondStatus(ex, s.error(), kRouteNames[route_]);
    RespondSession(ex, *s);
  }

  void Logout(http::Exchange& ex) {
    nlohmann::json body;
    std::string token;
    if (!ParseBody(ex, &body, false) || !StringField(ex, body, "refresh_token", &token)) return;
    Status st = svc_->tokens().Logout(token);
    if (!st.ok()) return RespondStatus(ex, st, kRouteNames[route_]);
    ex.Respond(204, kJsonHeaders + 1, 1, "");
  }

  void RotateJwks(http::Exchange& ex) {
    nlohmann::json body;
    if (!ParseBody(ex, &body, true)) return;
    auto kid = svc_->tokens().RotateSigningKey(NowMs());
    if (!kid) return RespondStatus(ex, kid.error(), kRouteNames[route_]);
    nlohmann::json j = svc_->tokens().Jwks();
    j["active_kid"] = *kid;
    RespondJson(ex, 200, j);
  }

  void RotateApiKey(http::Exchange& ex) {
    nlohmann::json body;
    if (!ParseBody(ex, &body, true)) return;
    const int64_t now = NowMs();
    auto key = res().RotateApiKey(who_.project_id, now);
    if (!key) return RespondStatus(ex, key.error(), kRouteNames[route_]);
    RespondJson(ex, 200, {{"api_key", *key}, {"project_id", who_.project_id}, {"created_at", Rfc3339(now)}});
  }

  void CreateBucket(http::Exchange& ex) {
    nlohmann::json body;
    if (!ParseBody(ex, &body, false)) return;
    auto name_it = body.find("name");
    if (name_it == body.end() || !name_it->is_string()) {
      return RespondJsonError(ex, 422, "validation_failed", "name: a string is required");
    }
    std::string name = name_it->get<std::string>();
    if (auto err = BucketNameError(name)) {
      return RespondJsonError(ex, 422, "validation_failed", "name: " + std::string(*err));
    }
    std::string_view storage_class = "STANDARD";
    if (auto sc = body.find("storage_class"); sc != body.end() && !sc->is_null()) {
      std::optional<std::string_view> norm;
      if (sc->is_string()) norm = NormalizeStorageClass(sc->get_ref<const std::string&>());
      if (!norm) {
        std::string allowed;
        for (auto c : kStorageClasses) {
          if (!allowed.empty()) allowed += ", ";
          allowed += c;
        }
        return RespondJsonError(ex, 422, "validation_failed", "storage_class: must be one of " + allowed);
      }
      storage_class = *norm;
    }
    auto b = res().CreateBucket(who_.project_id, name, storage_class, NowMs());
    if (!b) return RespondStatus(ex, b.error(), kRouteNames[route_]);
    RespondJson(ex, 201, BucketJson(*b));
  }

  void ListBuckets(http::Exchange& ex) {
    if (!ParseQueryOrFail(ex)) return;
    int64_t limit = 0;
    if (!Limit(ex, &limit)) return;
    std::string after;
    if (const std::string* c = Param("cursor"); c != nullptr && !c->empty()) {
      auto d = util::Base64UrlDecode(*c);
      if (!d || d->empty() || d->size() > 63) {
        return RespondJsonError(ex, 400, "invalid_request", "cursor is not one this server returned");
      }
      after = std::move(*d);
    }
    auto page = res().ListBuckets(who_.project_id, after, static_cast<std::size_t>(limit));
    if (!page) return RespondStatus(ex, page.error(), kRouteNames[route_]);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& b : page->items) items.push_back(BucketJson(b));
    nlohmann::json j = {{"items", std::move(items)}};
    j["next_cursor"] = page->next_cursor ? nlohmann::json(*page->next_cursor) : nlohmann::json(nullptr);
    RespondJson(ex, 200, j);
  }

  void GetBucket(http::Exchange& ex) {
    uint64_t id = 0;
    if (!BucketId(ex, &id)) return;
    auto b = res().GetBucket(who_.project_id, id);
    if (!b) return RespondStatus(ex, b.error(), kRouteNames[route_]);
    RespondJson(ex, 200, BucketJson(*b));
  }

  void DeleteBucket(http::Exchange& ex) {
    uint64_t id = 0;
    if (!BucketId(ex, &id)) return;
    if (!ParseQueryOrFail(ex)) return;
    bool force = false;
    if (const std::string* f = Param("force")) {
      if (*f == "true" || *f == "1") {
        force = true;
      } else if (*f != "false" && *f != "0") {
        return RespondJsonError(ex, 400, "invalid_request", "force must be true or false");
      }
    }
    Status st = res().DeleteBucket(who_.project_id, id, force);
    if (!st.ok()) return RespondStatus(ex, st, kRouteNames[route_]);
    if (force) return svc_->StartPurge(NewLater(ex), id);  // objects, uploads, data files
    ex.Respond(204, kJsonHeaders + 1, 1, "");
  }

  void CreateProject(http::Exchange& ex) {
    // Projects are an organization's: only a user with the admin role creates them.
    if (who_.kind != Identity::Kind::kUser) {
      return RespondJsonError(ex, 403, "forbidden", "projects are created with an admin user's token, not an API key");
    }
    nlohmann::json body;
    if (!ParseBody(ex, &body, false)) return;
    auto name_it = body.find("name");
    if (name_it == body.end() || !name_it->is_string()) {
      return RespondJsonError(ex, 422, "validation_failed", "name: a string is required");
    }
    const std::string& name = name_it->get_ref<const std::string&>();
    bool printable = !name.empty() && name.size() <= 100;
    for (unsigned char c : name) printable = printable && c >= 0x20 && c != 0x7f;
    if (!printable) {
      return RespondJsonError(ex, 422, "validation_failed", "name: 1 to 100 characters, no control characters");
    }
    auto mine = res().GetProject(who_.project_id);
    if (!mine) return RespondStatus(ex, mine.error(), kRouteNames[route_]);
    auto p = res().CreateProject(mine->org_id, name, NowMs());
    if (!p) return RespondStatus(ex, p.error(), kRouteNames[route_]);
    nlohmann::json j = ProjectJson(p->project);
    j["api_key"] = p->api_key;
    RespondJson(ex, 201, j);
  }

  void ListProjects(http::Exchange& ex) {
    // A user sees its organization's projects; an API key sees its own project only.
    auto mine = res().GetProject(who_.project_id);
    if (!mine) return RespondStatus(ex, mine.error(), kRouteNames[route_]);
    nlohmann::json items = nlohmann::json::array();
    if (who_.kind == Identity::Kind::kUser) {
      auto list = res().ListProjects(mine->org_id);
      if (!list) return RespondStatus(ex, list.error(), kRouteNames[route_]);
      for (const Project& p : *list) items.push_back(ProjectJson(p));
    } else {
      items.push_back(ProjectJson(*mine));
    }
    RespondJson(ex, 200, {{"items", std::move(items)}});
  }

  // The credential routes: under a bucket (`bucket_route`), or the project's (no bucket).
  void Credentials(http::Exchange& ex, bool bucket_route) {
    std::optional<uint64_t> scope;
    if (bucket_route) {
      uint64_t id = 0;
      if (!BucketId(ex, &id)) return;
      scope = id;
    }
    const std::string_view project = who_.project_id;
    const RouteId action = BucketCredentialRoute(route_);
    if (action == kCreateCredential) {
      nlohmann::json body;
      if (!ParseBody(ex, &body, true)) return;
      auto c = res().CreateCredential(project, scope, NowMs());
      if (!c) return RespondStatus(ex, c.error(), kRouteNames[route_]);
      return RespondJson(ex, 201, IssuedJson(*c, project));
    }
    if (action == kListCredentials) {
      auto list = res().ListCredentials(project, scope);
      if (!list) return RespondStatus(ex, list.error(), kRouteNames[route_]);
      nlohmann::json items = nlohmann::json::array();
      for (const auto& c : *list) items.push_back(CredentialJson(c, project));
      return RespondJson(ex, 200, {{"items", std::move(items)}});
    }
    if (!AccessKey(ex)) return;
    switch (action) {
      case kDeactivateCredential:
      case kActivateCredential: {
        auto c = res().SetCredentialActive(project, scope, ak_, action == kActivateCredential);
        if (!c) return RespondStatus(ex, c.error(), kRouteNames[route_]);
        return RespondJson(ex, 200, CredentialJson(*c, project));
      }
      case kRegenerateCredential: {
        auto c = res().RegenerateCredential(project, scope, ak_);
        if (!c) return RespondStatus(ex, c.error(), kRouteNames[route_]);
        return RespondJson(ex, 200, IssuedJson(*c, project));
      }
      default: {
        Status st = res().DeleteCredential(project, scope, ak_);
        if (!st.ok()) return RespondStatus(ex, st, kRouteNames[route_]);
        return ex.Respond(204, kJsonHeaders + 1, 1, "");
      }
    }
  }

  void ListFiles(http::Exchange& ex) {
    uint64_t id = 0;
    if (!BucketId(ex, &id)) return;
    if (!ParseQueryOrFail(ex)) return;
    int64_t limit = 0;
    if (!Limit(ex, &limit)) return;
    static const std::string kEmpty;
    const std::string* prefix = Param("prefix");
    const std::string* delimiter = Param("delimiter");
    const std::string* cursor = Param("cursor");
    auto page = res().ListFiles(who_.project_id, id, prefix ? *prefix : kEmpty, delimiter ? *delimiter : kEmpty,
                                cursor ? *cursor : kEmpty, limit);
    if (!page) {
      if (page.error().code() == Code::kInvalidArgument) {
        return RespondJsonError(ex, 400, "invalid_request", "cursor is not one this server returned");
      }
      return RespondStatus(ex, page.error(), kRouteNames[route_]);
    }
    nlohmann::json items = nlohmann::json::array();
    for (const auto& f : page->items) {
      nlohmann::json e = {{"key", f.key},
                          {"size", f.size},
                          {"etag", f.etag},
                          {"last_modified", Rfc3339(f.last_modified_ms)},
                          {"storage_class", page->storage_class}};
      e["content_type"] = f.content_type.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.content_type);
      items.push_back(std::move(e));
    }
    nlohmann::json j = {{"items", std::move(items)}, {"common_prefixes", page->common_prefixes}};
    j["next_cursor"] = page->next_cursor ? nlohmann::json(*page->next_cursor) : nlohmann::json(nullptr);
    RespondJson(ex, 200, j);
  }

  // The bucket's CORS configuration (JSON form of S3's PutBucketCors; mgmt/bucket_cors.h).
  void BucketCors(http::Exchange& ex) {
    uint64_t id = 0;
    if (!BucketId(ex, &id)) return;
    if (auto b = res().GetBucket(who_.project_id, id); !b) return RespondStatus(ex, b.error(), kRouteNames[route_]);
    if (route_ == kGetBucketCors) {
      auto c = s3::LoadCors(svc_->node(), id);
      if (!c && c.error().code() == Code::kNotFound) {
        return RespondJsonError(ex, 404, "not_found", "the bucket has no CORS configuration");
      }
      if (!c) return RespondStatus(ex, c.error(), kRouteNames[route_]);
      return RespondJson(ex, 200, CorsToJson(*c));
    }
    if (route_ == kDeleteBucketCors) {
      Status st = s3::StoreCors(svc_->node(), id, nullptr);
      if (!st.ok()) return RespondStatus(ex, st, kRouteNames[route_]);
      return ex.Respond(204, kJsonHeaders + 1, 1, "");
    }
    nlohmann::json body;
    if (!ParseBody(ex, &body, false)) return;
    auto c = CorsFromJson(body);
    if (!c) return RespondJsonError(ex, 422, "validation_failed", c.error().message());
    Status st = s3::StoreCors(svc_->node(), id, &*c);
    if (!st.ok()) return RespondStatus(ex, st, kRouteNames[route_]);
    RespondJson(ex, 200, CorsToJson(*c));
  }

  MgmtService* svc_;
  RouteId route_;
  std::string_view bucket_;  // path segments: views into the request head
  std::string_view ak_;
  std::string body_;
  std::vector<QueryParam> query_;
  Identity who_;
  Later* later_ = nullptr;
};

// Path shapes of the API, with the methods each accepts.
struct PathMatch {
  enum Shape : uint8_t {
    kNone,
    kPostOnly,
    kJwks,
    kProjects,
    kBuckets,
    kBucket,
    kCredentials,
    kCredential,
    kCredentialAction,
    kFiles,
    kCors,
    kProjectCredentials,
    kProjectCredential,
    kProjectCredentialAction,
  };
  Shape shape = kNone;
  RouteId post_route = kUnmatched;  // kPostOnly: the route of the path
  std::string_view bucket;
  std::string_view ak;
  std::string_view action;
};

PathMatch MatchPath(std::string_view path) {
  PathMatch m;
  // Fixed paths that accept POST alone.
  static constexpr std::pair<std::string_view, RouteId> kPostOnly[] = {
      {"/security/apikey", kRotateApiKey}, {"/auth/login", kLogin},   {"/auth/refresh", kRefresh},
      {"/auth/logout", kLogout},           {"/security/jwks/rotate", kRotateJwks}};
  for (const auto& [p, route] : kPostOnly) {
    if (path == p) {
      m.shape = PathMatch::kPostOnly;
      m.post_route = route;
      return m;
    }
  }
  if (path == "/.well-known/jwks.json") {
    m.shape = PathMatch::kJwks;
    return m;
  }
  if (path == "/projects") {
    m.shape = PathMatch::kProjects;
    return m;
  }
  if (path == kBucketsPath) {
    m.shape = PathMatch::kBuckets;
    return m;
  }
  if (path == kCredentialsPath) {
    m.shape = PathMatch::kProjectCredentials;
    return m;
  }
  if (path.starts_with(kCredentialsPath) && path[kCredentialsPath.size()] == '/') {
    // {ak} or {ak}/{action}; anything else under it is no route.
    std::string_view rest = path.substr(kCredentialsPath.size() + 1);
    std::size_t slash = rest.find('/');
    m.ak = rest.substr(0, slash);
    std::string_view action = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (m.ak.empty()) {
      m.action = "404";
    } else if (slash == std::string_view::npos) {
      m.shape = PathMatch::kProjectCredential;
    } else if (action == "activate" || action == "deactivate" || action == "regenerate") {
      m.shape = PathMatch::kProjectCredentialAction;
      m.action = action;
    } else {
      m.ak = {};
      m.action = "404";
    }
    return m;
  }
  if (!path.starts_with(kBucketsPath) || path.size() == kBucketsPath.size() || path[kBucketsPath.size()] != '/') {
    return m;
  }
  std::string_view rest = path.substr(kBucketsPath.size() + 1);
  std::string_view seg[5];
  std::size_t n = 0;
  while (n < 5) {
    std::size_t slash = rest.find('/');
    seg[n++] = rest.substr(0, slash);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
    if (n == 5) {  // too deep
      m.action = "404";
      return m;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (seg[i].empty()) {
      m.action = "404";
      return m;
    }
  }
  m.bucket = seg[0];
  if (n == 1) {
    m.shape = PathMatch::kBucket;
  } else if (n == 2 && seg[1] == "credentials") {
    m.shape = PathMatch::kCredentials;
  } else if (n == 2 && seg[1] == "files") {
    m.shape = PathMatch::kFiles;
  } else if (n == 2 && seg[1] == "cors") {
    m.shape = PathMatch::kCors;
  } else if (n == 3 && seg[1] == "credentials") {
    m.shape = PathMatch::kCredential;
    m.ak = seg[2];
  } else if (n == 4 && seg[1] == "credentials" &&
             (seg[3] == "activate" || seg[3] == "deactivate" || seg[3] == "regenerate")) {
    m.shape = PathMatch::kCredentialAction;
    m.ak = seg[2];
    m.action = seg[3];
  } else {
    // Under a bucket, an unknown shape is no route at all (not the seed surface).
    m.bucket = {};
    m.action = "404";
  }
  return m;
}

MethodNotAllowedHandler g_allow_post("POST");
MethodNotAllowedHandler g_allow_get_post("GET, HEAD, POST");
MethodNotAllowedHandler g_allow_get_delete("GET, HEAD, DELETE");
MethodNotAllowedHandler g_allow_get("GET, HEAD");
MethodNotAllowedHandler g_allow_delete("DELETE");
MethodNotAllowedHandler g_allow_get_put_delete("GET, HEAD, PUT, DELETE");

}  // namespace

MgmtService::MgmtService(const http::MetricsRegistry* metrics, store::NodeStore* node, const auth::SecretBox* box,
                         const TokenConfig& tokens)
    : metrics_(metrics), node_(node), resources_(node, box), tokens_(node, box, tokens) {}

Status MgmtService::Init() {
  Status st = tokens_.Init(NowMs());
  if (!st.ok()) MLOG_ERROR("management API: cannot load the JWT signing keys: %s", st.ToString().c_str());
  return st;
}

void RespondJsonError(http::Exchange& ex, int status, std::string_view code, std::string_view message) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}, {"request_id", ex.request_id()}}}};
  const http::OutHeader headers[] = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
  ex.Respond(status, headers, 2, Dump(j));
}

void RespondSession(http::Exchange& ex, const Session& s) {
  RespondJson(ex, 200, {{"access_token", s.access_token},
                        {"token_type", "Bearer"},
                        {"expires_in", s.expires_in_s},
                        {"refresh_token", s.refresh_token},
                        {"refresh_expires_in", s.refresh_expires_in_s},
                        {"user_id", s.user_id}});
}

const std::string_view* MgmtService::route_names(std::size_t* count) const noexcept {
  *count = kRouteCount;
  return kRouteNames;
}

http::Route MgmtService::Dispatch(http::Exchange& ex) {
  const http::RequestHead& h = ex.head();
  const bool get = h.method == http::Method::kGet || h.method == http::Method::kHead;
  const bool post = h.method == http::Method::kPost;
  const bool del = h.method == http::Method::kDelete;
  if (h.path == "/healthz") {
    if (!get) return {&g_method_not_allowed, kMethodNotAllowed, false};
    return {&g_healthz, kHealthz, false};
  }
  if (h.path == "/metrics") {
    if (!get) return {&g_method_not_allowed, kMethodNotAllowed, false};
    return {http::MakeHandler<MetricsHandler>(ex, this), kMetrics, true};
  }
  PathMatch m = MatchPath(h.path);
  RouteId route = kUnmatched;
  MethodNotAllowedHandler* wrong_method = nullptr;
  switch (m.shape) {
    case PathMatch::kPostOnly:
      route = post ? m.post_route : kUnmatched;
      wrong_method = &g_allow_post;
      break;
    case PathMatch::kJwks:
      route = get ? kJwks : kUnmatched;
      wrong_method = &g_allow_get;
      break;
    case PathMatch::kProjects:
      route = get ? kListProjects : post ? kCreateProject : kUnmatched;
      wrong_method = &g_allow_get_post;
      break;
    case PathMatch::kBuckets:
      route = get ? kListBuckets : post ? kCreateBucket : kUnmatched;
      wrong_method = &g_allow_get_post;
      break;
    case PathMatch::kProjectCredentials:
      route = get ? kListProjectCredentials : post ? kCreateProjectCredential : kUnmatched;
      wrong_method = &g_allow_get_post;
      break;
    case PathMatch::kProjectCredential:
      route = del ? kDeleteProjectCredential : kUnmatched;
      wrong_method = &g_allow_delete;
      break;
    case PathMatch::kProjectCredentialAction:
      route = !post                       ? kUnmatched
              : m.action == "activate"   ? kActivateProjectCredential
              : m.action == "deactivate" ? kDeactivateProjectCredential
                                         : kRegenerateProjectCredential;
      wrong_method = &g_allow_post;
      break;
    case PathMatch::kBucket:
      route = get ? kGetBucket : del ? kDeleteBucket : kUnmatched;
      wrong_method = &g_allow_get_delete;
      break;
    case PathMatch::kCredentials:
      route = get ? kListCredentials : post ? kCreateCredential : kUnmatched;
      wrong_method = &g_allow_get_post;
      break;
    case PathMatch::kCredential:
      route = del ? kDeleteCredential : kUnmatched;
      wrong_method = &g_allow_delete;
      break;
    case PathMatch::kCredentialAction:
      route = !post                       ? kUnmatched
              : m.action == "activate"   ? kActivateCredential
              : m.action == "deactivate" ? kDeactivateCredential
                                         : kRegenerateCredential;
      wrong_method = &g_allow_post;
      break;
    case PathMatch::kFiles:
      route = get ? kListFiles : kUnmatched;
      wrong_method = &g_allow_get;
      break;
    case PathMatch::kCors:
      route = get                                ? kGetBucketCors
              : h.method == http::Method::kPut ? kPutBucketCors
              : del                              ? kDeleteBucketCors
                                                 : kUnmatched;
      wrong_method = &g_allow_get_put_delete;
      break;
    case PathMatch::kNone:
      if (m.action == "404") return {&g_not_found, kUnmatched, false};
      if (IsSeedSurface(h.path)) return {&g_not_implemented, kNotImplemented, false};
      return {&g_not_found, kUnmatched, false};
  }
  if (route == kUnmatched) return {wrong_method, kMethodNotAllowed, false};
  return {http::MakeHandler<ApiHandler>(ex, this, route, m.bucket, m.ak), route, true};
}

}  // namespace mamute::mgmt
