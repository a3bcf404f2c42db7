#include "mgmt/bootstrap.h"

#include <openssl/crypto.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "mgmt/crypto.h"
#include "mgmt/resources.h"
#include "store/keys.h"
#include "util/encoding.h"
#include "util/log.h"

namespace mamute::mgmt {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

bool IsVisibleAscii(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

Result<std::string> NewId(std::string_view prefix) {
  auto raw = RandomBytes(8);
  if (!raw) return Err(raw.error());
  return std::string(prefix) + util::HexEncode(raw->data(), raw->size());
}

Status Fail(Status st) {
  MLOG_ERROR("management bootstrap failed: %s", st.ToString().c_str());
  return st;
}

}  // namespace

Status Bootstrap(store::NodeStore& node) {
  const std::string marker_key = store::MgmtKey("meta", "bootstrap");
  std::string marker;
  Status st = node.db->Get(store::Cf::kMgmt, marker_key, &marker);
  if (st.ok()) return Status::Ok();  // bootstrapped on an earlier start: nothing to print
  if (st.code() != Code::kNotFound) return Fail(st);

  std::string email = Env("MAMUTE_ADMIN_EMAIL");
  if (email.empty()) email = "admin@localhost";
  for (char& c : email) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (email.size() > 254 || email.find('@') == std::string::npos || !IsVisibleAscii(email)) {
    return Fail(Status::InvalidArgument("MAMUTE_ADMIN_EMAIL is not an email address"));
  }
  std::string password = Env("MAMUTE_ADMIN_PASSWORD");
  const bool password_given = !password.empty();
  if (password_given && password.size() < 8) {
    return Fail(Status::InvalidArgument("MAMUTE_ADMIN_PASSWORD must be at least 8 characters"));
  }
  if (!password_given) {
    auto p = NewPassword();
    if (!p) return Fail(p.error());
    password = std::move(*p);
  }
  std::string api_key = Env("MAMUTE_API_KEY");
  const bool key_given = !api_key.empty();
  if (key_given && (api_key.size() < 16 || api_key.size() > 256 || !IsVisibleAscii(api_key))) {
    return Fail(Status::InvalidArgument("MAMUTE_API_KEY must be 16 to 256 visible ASCII characters"));
  }
  if (!key_given) {
    auto k = NewApiKey();
    if (!k) return Fail(k.error());
    api_key = std::move(*k);
  }

  auto org_id = NewId("org_");
  auto project_id = NewId("prj_");
  auto user_id = NewId("usr_");
  if (!org_id || !project_id || !user_id) return Fail(Status::Internal("RAND_bytes failed"));
  auto pw = HashPassword(password);
  if (!pw) return Fail(pw.error());
  const int64_t now = NowMs();

  nlohmann::json org = {{"id", *org_id}, {"name", "default"}, {"created_at_ms", now}};
  nlohmann::json project = {{"id", *project_id},
                            {"org_id", *org_id},
                            {"name", "default"},
                            {"api_key_id", ApiKeyId(api_key)},
                            {"api_key_created_at_ms", now},
                            {"created_at_ms", now}};
  nlohmann::json user = {
      {"id", *user_id},
      {"email", email},
      {"org_id", *org_id},
      {"project_id", *project_id},
      {"role", "admin"},
      {"password",
       {{"alg", "pbkdf2-hmac-sha256"},
        {"iterations", pw->iterations},
        {"salt", util::Base64UrlEncode(pw->salt.data(), pw->salt.size())},
        {"hash", util::Base64UrlEncode(pw->hash.data(), pw->hash.size())}}},
      {"created_at_ms", now}};
  nlohmann::json meta = {
      {"org_id", *org_id}, {"project_id", *project_id}, {"user_id", *user_id}, {"created_at_ms", now}};

  store::MetaBatch batch(*node.db);
  Status w;
  auto put = [&](std::string_view k, const nlohmann::json& v) {
    if (w.ok()) w = batch.Put(store::Cf::kMgmt, k, EncodeMgmtValue(v));
  };
  put(store::MgmtKey("org", *org_id), org);
  put(ProjectKey(*project_id), project);
  put(store::MgmtKey("user", *user_id), user);
  put(store::MgmtKey("user_email", email), nlohmann::json{{"user_id", *user_id}});
  put(marker_key, meta);
  if (w.ok()) w = PutApiKey(&batch, *project_id, api_key, now);
  if (w.ok()) w = node.commits->Write(&batch);
  if (!w.ok()) {
    OPENSSL_cleanse(password.data(), password.size());
    OPENSSL_cleanse(api_key.data(), api_key.size());
    return Fail(w);
  }

  MLOG_INFO("management bootstrap: organization %s, project %s, admin user %s", org_id->c_str(),
            project_id->c_str(), email.c_str());
  // The only place a secret is ever printed: generated values, once, to stderr.
  if (!password_given) {
    std::fprintf(stderr, "mamute: bootstrap: admin password for %s (shown once): %s\n", email.c_str(),
                 password.c_str());
  }
  if (!key_given) {
    std::fprintf(stderr, "mamute: bootstrap: project API key for %s (shown once): %s\n", project_id->c_str(),
                 api_key.c_str());
  }
  std::fflush(stderr);
  OPENSSL_cleanse(password.data(), password.size());
  OPENSSL_cleanse(api_key.data(), api_key.size());
  return Status::Ok();
}

}  // namespace mamute::mgmt
