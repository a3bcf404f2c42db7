#include "mgmt/tokens.h"

#include <openssl/crypto.h>

#include <unordered_map>
#include <vector>

#include "auth/ct_equal.h"
#include "store/keys.h"
#include "util/encoding.h"
#include "util/log.h"

namespace mamute::mgmt {

using store::Cf;

namespace {

constexpr std::string_view kKeyAadPrefix = "mamute-jwt-key:";

const Status& BadLogin() {
  static const Status kBad = Status::Unauthenticated("invalid email or password");
  return kBad;
}
const Status& BadRefresh() {
  static const Status kBad = Status::Unauthenticated("invalid or expired refresh token");
  return kBad;
}

std::string KeyAad(std::string_view kid) { return std::string(kKeyAadPrefix) + std::string(kid); }

Result<std::string> RandomHexId() {
  auto raw = RandomBytes(16);
  if (!raw) return Err(raw.error());
  return util::HexEncode(raw->data(), raw->size());
}

int64_t JsonInt(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

bool JsonTrue(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// Reads one mgmt CF JSON record; NotFound passes through.
Result<nlohmann::json> GetRecord(const store::NodeStore& node, const std::string& key) {
  std::string raw;
  Status st = node.db->Get(Cf::kMgmt, key, &raw);
  if (!st.ok()) return Err(st);
  return DecodeMgmtValue(raw);
}

std::optional<PasswordHash> StoredPassword(const nlohmann::json& user) {
  auto it = user.find("password");
  if (it == user.end() || !it->is_object() || JsonString(*it, "alg") != "pbkdf2-hmac-sha256") return std::nullopt;
  auto salt = util::Base64UrlDecode(JsonString(*it, "salt"));
  auto hash = util::Base64UrlDecode(JsonString(*it, "hash"));
  const int64_t iterations = JsonInt(*it, "iterations");
  if (!salt || !hash || iterations <= 0 || iterations > 100000000) return std::nullopt;
  PasswordHash h;
  h.iterations = static_cast<uint32_t>(iterations);
  h.salt = std::move(*salt);
  h.hash = std::move(*hash);
  return h;
}

}  // namespace

// ---------------------------------------------------------------- signing keys

Status TokenService::Init(int64_t now_ms) {
  if (box_ == nullptr) return Status::FailedPrecondition("the node master key is not loaded");
  const std::string prefix = store::MgmtKey("jwk", "");
  Status inner;
  MAMUTE_RETURN_IF_ERROR(ScanPrefix(*node_->db, Cf::kMgmt, prefix, "", [&](std::string_view, std::string_view v) {
    auto rec = DecodeMgmtValue(v);
    if (!rec) {
      inner = rec.error();
      return false;
    }
    const std::string kid = JsonString(*rec, "kid");
    auto sealed = util::Base64UrlDecode(JsonString(*rec, "sealed"));
    if (!sealed) {
      inner = Status::Corruption("jwt signing key: bad sealed value");
      return false;
    }
    auto seed = box_->Open(*sealed, KeyAad(kid));
    if (!seed) {
      inner = Status::Corruption("jwt signing key does not open with the master key");
      return false;
    }
    auto key = Ed25519Key::FromPrivate(*seed);
    OPENSSL_cleanse(seed->data(), seed->size());
    if (!key || key->Thumbprint() != kid) {
      inner = Status::Corruption("jwt signing key does not match its kid");
      return false;
    }
    keys_.Add({kid, std::move(*key), JsonInt(*rec, "created_at_ms"), JsonInt(*rec, "retired_at_ms")});
    return true;
  }));
  MAMUTE_RETURN_IF_ERROR(inner);

  store::MetaBatch batch(*node_->db);
  PruneKeys(now_ms, &batch);
  // Expired refresh records and sessions: nothing can use them any more.
  for (const char* kind : {"refresh", "refresh_family"}) {
    MAMUTE_RETURN_IF_ERROR(ScanPrefix(*node_->db, Cf::kMgmt, store::MgmtKey(kind, ""), "",
                                      [&](std::string_view k, std::string_view v) {
                                        auto rec = DecodeMgmtValue(v);
                                        if (!rec || JsonInt(*rec, "expires_at_ms") <= now_ms) {
                                          batch.Delete(Cf::kMgmt, k).IgnoreError();  // fails only for a bad Cf
                                        }
                                        return true;
                                      }));
  }
  if (batch.Count() > 0) MAMUTE_RETURN_IF_ERROR(node_->commits->Write(&batch));
  // The dummy hash of unknown emails: random, never matched by anything (PrepareLogin).
  auto salt = RandomBytes(kPasswordSaltSize);
  auto hash = RandomBytes(32);
  if (!salt || !hash) return Status::Internal("no random bytes for the dummy password hash");
  dummy_hash_.salt = std::move(*salt);
  dummy_hash_.hash = std::move(*hash);
  if (keys_.active() == nullptr) {
    auto kid = RotateSigningKey(now_ms);
    if (!kid) return kid.error();
  }
  return Status::Ok();
}

void TokenService::PruneKeys(int64_t now_ms, store::MetaBatch* batch) {
  // A key retired at R signed its last token before R; that token expires by R + access TTL
  // (iat is R rounded down to the second). One more second of margin.
  const int64_t cutoff = now_ms - (static_cast<int64_t>(cfg_.access_ttl_s) + 1) * 1000;
  for (const auto& e : keys_.entries()) {
    if (e.retired_at_ms != 0 && e.retired_at_ms <= cutoff) {
      batch->Delete(Cf::kMgmt, store::MgmtKey("jwk", e.kid)).IgnoreError();
    }
  }
  keys_.PruneRetiredBefore(cutoff);
}

Result<std::string> TokenService::RotateSigningKey(int64_t now_ms) {
  if (box_ == nullptr) return Err(Status::FailedPrecondition("the node master key is not loaded"));
  auto key = Ed25519Key::Generate();
  if (!key) return Err(key.error());
  auto seed = key->PrivateSeed();
  if (!seed) return Err(seed.error());
  const std::string kid = key->Thumbprint();
  auto sealed = box_->Seal(*seed, KeyAad(kid));
  OPENSSL_cleanse(seed->data(), seed->size());
  if (!sealed) return Err(sealed.error());

  store::MetaBatch batch(*node_->db);
  PruneKeys(now_ms, &batch);
  std::vector<JwtKeyring::Entry> retiring;
  for (const auto& e : keys_.entries()) {
    if (e.retired_at_ms != 0) continue;
    auto rec = GetRecord(*node_, store::MgmtKey("jwk", e.kid));
    if (!rec) return Err(rec.error());
    (*rec)["retired_at_ms"] = now_ms;
    MAMUTE_RETURN_IF_ERROR_R(batch.Put(Cf::kMgmt, store::MgmtKey("jwk", e.kid), EncodeMgmtValue(*rec)));
    retiring.push_back(e);
  }
  nlohmann::json rec = {{"kid", kid},
                        {"alg", "EdDSA"},
                        {"x", util::Base64UrlEncode(key->public_key().data(), key->public_key().size())},
                        {"sealed", util::Base64UrlEncode(sealed->data(), sealed->size())},
                        {"created_at_ms", now_ms},
                        {"retired_at_ms", 0}};
  MAMUTE_RETURN_IF_ERROR_R(batch.Put(Cf::kMgmt, store::MgmtKey("jwk", kid), EncodeMgmtValue(rec)));
  MAMUTE_RETURN_IF_ERROR_R(node_->commits->Write(&batch));
  // Memory follows the committed state only.
  for (auto& e : retiring) {
    e.retired_at_ms = now_ms;
    keys_.Add(std::move(e));
  }
  keys_.Add({kid, std::move(*key), now_ms, 0});
  MLOG_INFO("management API: new JWT signing key %s", kid.c_str());  // a kid is public
  return kid;
}

// ---------------------------------------------------------------- users and sessions

Result<TokenService::User> TokenService::LoadUser(std::string_view id, nlohmann::json* record) const {
  auto rec = GetRecord(*node_, store::MgmtKey("user", id));
  if (!rec) {
    if (rec.error().code() == Code::kNotFound) return Err(Status::Unauthenticated("unknown user"));
    return Err(rec.error());
  }
  if (JsonTrue(*rec, "disabled")) return Err(Status::Unauthenticated("disabled user"));
  User u;
  u.id = std::string(id);
  u.admin = JsonString(*rec, "role") == "admin";
  u.project_id = JsonString(*rec, "project_id");
  if (u.project_id.empty()) {
    // Users bootstrapped before project_id was recorded: the bootstrap project of their org.
    auto meta = GetRecord(*node_, store::MgmtKey("meta", "bootstrap"));
    if (!meta) return Err(meta.error());
    if (JsonString(*meta, "org_id") == JsonString(*rec, "org_id")) u.project_id = JsonString(*meta, "project_id");
  }
  if (u.project_id.empty()) return Err(Status::Corruption("user without a project"));
  if (record != nullptr) *record = std::move(*rec);
  return u;
}

Result<Session> TokenService::Issue(const User& user, std::string_view family, store::MetaBatch* batch,
                                    int64_t now_ms) {
  const JwtKeyring::Entry* active = keys_.active();
  if (active == nullptr ||
      (cfg_.key_max_age_s > 0 && now_ms - active->created_at_ms >= static_cast<int64_t>(cfg_.key_max_age_s) * 1000)) {
    auto kid = RotateSigningKey(now_ms);  // age-based rotation, before signing
    if (!kid) return Err(kid.error());
  }
  auto jti = RandomHexId();
  if (!jti) return Err(jti.error());
  JwtClaims c;
  c.iss = kJwtIssuer;
  c.aud = kJwtAudience;
  c.sub = user.id;
  c.jti = std::move(*jti);
  c.iat = now_ms / 1000;
  c.nbf = c.iat;
  c.exp = c.iat + cfg_.access_ttl_s;
  auto access = keys_.Sign(c);
  if (!access) return Err(access.error());

  auto raw = RandomBytes(32);
  if (!raw) return Err(raw.error());
  std::string refresh = std::string(kRefreshTokenPrefix) + util::Base64UrlEncode(raw->data(), raw->size());
  OPENSSL_cleanse(raw->data(), raw->size());
  const std::string hash = ApiKeyId(refresh);
  const int64_t expires = now_ms + static_cast<int64_t>(cfg_.refresh_ttl_s) * 1000;
  nlohmann::json rec = {{"sha256", hash},        {"user_id", user.id},       {"family", family},
                        {"created_at_ms", now_ms}, {"expires_at_ms", expires}, {"revoked", false}};
  nlohmann::json fam = {{"user_id", user.id}, {"current", hash}, {"expires_at_ms", expires}, {"revoked", false}};
  MAMUTE_RETURN_IF_ERROR_R(batch->Put(Cf::kMgmt, store::MgmtKey("refresh", hash), EncodeMgmtValue(rec)));
  MAMUTE_RETURN_IF_ERROR_R(batch->Put(Cf::kMgmt, store::MgmtKey("refresh_family", family), EncodeMgmtValue(fam)));
  MAMUTE_RETURN_IF_ERROR_R(node_->commits->Write(batch));
  return Session{std::move(*access), std::move(refresh), user.id, cfg_.access_ttl_s, cfg_.refresh_ttl_s};
}

Result<Session> TokenService::Login(std::string_view email, std::string_view password, int64_t now_ms) {
  auto plan = PrepareLogin(email, password);
  if (!plan) return Err(plan.error());
  const bool ok = VerifyPassword(password, plan->hash);
  return CompleteLogin(*plan, ok, now_ms);
}

Result<TokenService::LoginPlan> TokenService::PrepareLogin(std::string_view email_in,
                                                           std::string_view password) const {
  if (email_in.empty() || email_in.size() > 254 || password.empty() || password.size() > 1024) {
    return Err(BadLogin());
  }
  std::string email(email_in);
  for (char& ch : email) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  LoginPlan plan;
  plan.hash = dummy_hash_;
  auto index = GetRecord(*node_, store::MgmtKey("user_email", email));
  if (!index) {
    if (index.error().code() != Code::kNotFound) return Err(index.error());
    return plan;  // unknown email: check the dummy hash all the same
  }
  nlohmann::json record;
  auto user = LoadUser(JsonString(*index, "user_id"), &record);
  if (!user) {
    if (user.error().code() == Code::kUnauthenticated) return plan;
    return Err(user.error());
  }
  auto stored = StoredPassword(record);
  if (!stored) return plan;  // no usable password: never matches
  plan.user_id = user->id;
  plan.hash = std::move(*stored);
  return plan;
}

Result<Session> TokenService::CompleteLogin(const LoginPlan& plan, bool password_ok, int64_t now_ms) {
  if (!password_ok || plan.user_id.empty()) return Err(BadLogin());
  auto user = LoadUser(plan.user_id, nullptr);
  if (!user) {
    if (user.error().code() == Code::kUnauthenticated) return Err(BadLogin());
    return Err(user.error());
  }
  auto family = RandomHexId();
  if (!family) return Err(family.error());
  store::MetaBatch batch(*node_->db);
  return Issue(*user, *family, &batch, now_ms);
}

Result<uint64_t> TokenService::PruneSessions(int64_t now_ms, uint32_t budget) {
  // mgmt keys sort as "refresh\0…" < "refresh_family\0…": one scan over both kinds.
  const std::string refresh_prefix = store::MgmtKey("refresh", "");
  const std::string family_prefix = store::MgmtKey("refresh_family", "");
  const std::string prefix = "refresh";
  std::string start = prune_cursor_.empty() ? prefix : prune_cursor_;
  if (!prune_cursor_.empty()) start.push_back('\0');  // strictly after the last key visited
  store::MetaBatch batch(*node_->db);
  uint32_t visited = 0;
  std::string last;
  // A family is dead once revoked (logout, reuse detected) or expired; its refresh records
  // go with it. Families looked up here are cached for this call.
  std::unordered_map<std::string, bool> family_dead;
  auto dead_family = [&](const std::string& family) {
    auto it = family_dead.find(family);
    if (it != family_dead.end()) return it->second;
    auto fam = GetRecord(*node_, store::MgmtKey("refresh_family", family));
    const bool dead = fam ? JsonTrue(*fam, "revoked") || JsonInt(*fam, "expires_at_ms") <= now_ms
                          : fam.error().code() == Code::kNotFound;
    family_dead.emplace(family, dead);
    return dead;
  };
  Status inner;
  MAMUTE_RETURN_IF_ERROR_R(ScanPrefix(*node_->db, Cf::kMgmt, prefix, start, [&](std::string_view k, std::string_view v) {
    last.assign(k);
    auto rec = DecodeMgmtValue(v);
    bool dead = !rec;
    if (rec && k.starts_with(family_prefix)) {
      dead = JsonTrue(*rec, "revoked") || JsonInt(*rec, "expires_at_ms") <= now_ms;
    } else if (rec && k.starts_with(refresh_prefix)) {
      dead = JsonInt(*rec, "expires_at_ms") <= now_ms || dead_family(JsonString(*rec, "family"));
    } else if (rec) {
      dead = false;  // another kind that starts with "refresh": not ours
    }
    if (dead) inner = batch.Delete(Cf::kMgmt, k);
    return inner.ok() && ++visited < budget;
  }));
  MAMUTE_RETURN_IF_ERROR_R(inner);
  // Wrap around once the scan reached the end of the range.
  prune_cursor_ = visited < budget ? std::string() : last;
  const uint64_t n = batch.Count();
  if (n > 0) MAMUTE_RETURN_IF_ERROR_R(node_->commits->Write(&batch));
  return n;
}

Result<Session> TokenService::Refresh(std::string_view token, int64_t now_ms) {
  if (!token.starts_with(kRefreshTokenPrefix) || token.size() > 128) return Err(BadRefresh());
  const std::string hash = ApiKeyId(token);
  const std::string key = store::MgmtKey("refresh", hash);
  auto rec = GetRecord(*node_, key);
  if (!rec) return rec.error().code() == Code::kNotFound ? Err(BadRefresh()) : Err(rec.error());
  // The lookup was by hash; compare the stored hash in constant time anyway (habit 7).
  if (!auth::CtEqual(JsonString(*rec, "sha256"), hash)) return Err(BadRefresh());
  const std::string family = JsonString(*rec, "family");
  const std::string fam_key = store::MgmtKey("refresh_family", family);
  auto fam = GetRecord(*node_, fam_key);
  if (!fam) return fam.error().code() == Code::kNotFound ? Err(BadRefresh()) : Err(fam.error());

  if (JsonTrue(*rec, "revoked") || JsonTrue(*fam, "revoked") || JsonString(*fam, "current") != hash) {
    // A retired token presented again: whoever holds the family's tokens is not one party any
    // more. Revoke the whole family (RFC 9700 §4.14.2).
    if (!JsonTrue(*fam, "revoked")) {
      (*fam)["revoked"] = true;
      store::MetaBatch batch(*node_->db);
      MAMUTE_RETURN_IF_ERROR_R(batch.Put(Cf::kMgmt, fam_key, EncodeMgmtValue(*fam)));
      MAMUTE_RETURN_IF_ERROR_R(node_->commits->Write(&batch));
      MLOG_INFO("management API: a rotated refresh token was reused; session of user %s revoked",
                JsonString(*rec, "user_id").c_str());
    }
    return Err(BadRefresh());
  }
  if (JsonInt(*rec, "expires_at_ms") <= now_ms) return Err(BadRefresh());
  auto user = LoadUser(JsonString(*rec, "user_id"), nullptr);
  if (!user) return user.error().code() == Code::kUnauthenticated ? Err(BadRefresh()) : Err(user.error());

  // Rotation: the presented token is retired in the same batch that records its successor.
  (*rec)["revoked"] = true;
  store::MetaBatch batch(*node_->db);
  MAMUTE_RETURN_IF_ERROR_R(batch.Put(Cf::kMgmt, key, EncodeMgmtValue(*rec)));
  return Issue(*user, family, &batch, now_ms);
}

Status TokenService::Logout(std::string_view token) {
  if (!token.starts_with(kRefreshTokenPrefix) || token.size() > 128) return Status::Ok();
  const std::string hash = ApiKeyId(token);
  auto rec = GetRecord(*node_, store::MgmtKey("refresh", hash));
  if (!rec) return rec.error().code() == Code::kNotFound ? Status::Ok() : rec.error();
  const std::string fam_key = store::MgmtKey("refresh_family", JsonString(*rec, "family"));
  auto fam = GetRecord(*node_, fam_key);
  if (!fam) return fam.error().code() == Code::kNotFound ? Status::Ok() : fam.error();
  if (JsonTrue(*fam, "revoked")) return Status::Ok();
  (*fam)["revoked"] = true;
  store::MetaBatch batch(*node_->db);
  MAMUTE_RETURN_IF_ERROR(batch.Put(Cf::kMgmt, fam_key, EncodeMgmtValue(*fam)));
  return node_->commits->Write(&batch);
}

Result<Identity> TokenService::AuthenticateBearer(std::string_view token, int64_t now_ms) const {
  std::string why;
  auto claims = keys_.Verify(token, {kJwtIssuer, kJwtAudience, now_ms / 1000}, &why);
  if (!claims) {
    MLOG_DEBUG("management API: bearer token refused: %s", why.c_str());  // the reason, never the token
    return Err(claims.error());
  }
  auto user = LoadUser(claims->sub, nullptr);
  if (!user) {
    if (user.error().code() == Code::kUnauthenticated) return Err(Status::Unauthenticated("invalid or expired token"));
    return Err(user.error());
  }
  Identity who;
  who.kind = Identity::Kind::kUser;
  who.project_id = user->project_id;
  who.user_id = user->id;
  who.project_admin = user->admin;
  return who;
}

}  // namespace mamute::mgmt
