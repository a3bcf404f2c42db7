// TokenService over a real NodeStore: login, refresh rotation and reuse detection, logout, the
// user behind a token (unknown, disabled, non-admin), signing-key rotation and reload.
#include "mgmt/tokens.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "store/keys.h"
#include "temp_node.h"
#include "util/encoding.h"

namespace mamute::mgmt {
namespace {

constexpr int64_t kT0 = 1800000000000;  // ms
constexpr std::string_view kPassword = "correct horse battery";

class TokensTest : public TempNodeTest {
 protected:
  void SetUp() override {
    TempNodeTest::SetUp();
    PutUser("usr_admin", "admin@example.com", "admin", false);
    PutUser("usr_viewer", "viewer@example.com", "viewer", false);
    PutUser("usr_off", "off@example.com", "admin", true);
    cfg_.access_ttl_s = 900;
    cfg_.refresh_ttl_s = 3600;
    cfg_.key_max_age_s = 0;
    tokens_.emplace(node_.get(), &*box_, cfg_);
    ASSERT_TRUE(tokens_->Init(kT0).ok());
  }
  void TearDown() override {
    tokens_.reset();
    TempNodeTest::TearDown();
  }
  // A user record as bootstrap writes it, with a cheap PBKDF2 (the count is stored per hash).
  void PutUser(const std::string& id, const std::string& email, const std::string& role, bool disabled) {
    const std::string salt = "0123456789abcdef";
    std::string hash(32, '\0');
    ASSERT_EQ(PKCS5_PBKDF2_HMAC(kPassword.data(), static_cast<int>(kPassword.size()),
                                reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), 1000,
                                EVP_sha256(), 32, reinterpret_cast<unsigned char*>(hash.data())),
              1);
    nlohmann::json user = {{"id", id},
                           {"email", email},
                           {"org_id", "org_1"},
                           {"project_id", "prj_1"},
                           {"role", role},
                           {"disabled", disabled},
                           {"password",
                            {{"alg", "pbkdf2-hmac-sha256"},
                             {"iterations", 1000},
                             {"salt", util::Base64UrlEncode(salt.data(), salt.size())},
                             {"hash", util::Base64UrlEncode(hash.data(), hash.size())}}}};
    store::MetaBatch batch(*node_->db);
    ASSERT_TRUE(batch.Put(store::Cf::kMgmt, store::MgmtKey("user", id), EncodeMgmtValue(user)).ok());
    ASSERT_TRUE(batch.Put(store::Cf::kMgmt, store::MgmtKey("user_email", email),
                          EncodeMgmtValue({{"user_id", id}}))
                    .ok());
    ASSERT_TRUE(node_->commits->Write(&batch).ok());
  }

  TokenConfig cfg_;
  std::optional<TokenService> tokens_;
};

TEST_F(TokensTest, LoginIssuesTokensForTheRightUser) {
  auto s = tokens_->Login("Admin@Example.com", kPassword, kT0);  // emails are case-insensitive
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(s->user_id, "usr_admin");
  EXPECT_EQ(s->expires_in_s, 900u);
  EXPECT_TRUE(s->refresh_token.starts_with(kRefreshTokenPrefix));
  auto who = tokens_->AuthenticateBearer(s->access_token, kT0 + 1000);
  ASSERT_TRUE(who.has_value()) << who.error().ToString();
  EXPECT_EQ(who->kind, Identity::Kind::kUser);
  EXPECT_EQ(who->project_id, "prj_1");
  EXPECT_EQ(who->user_id, "usr_admin");
  EXPECT_TRUE(who->project_admin);
  // Expired at iat + ttl.
  EXPECT_FALSE(tokens_->AuthenticateBearer(s->access_token, kT0 + 900 * 1000).has_value());
  // A viewer is a valid identity without project rights (the handler answers 403).
  auto v = tokens_->Login("viewer@example.com", kPassword, kT0);
  ASSERT_TRUE(v.has_value());
  auto vw = tokens_->AuthenticateBearer(v->access_token, kT0);
  ASSERT_TRUE(vw.has_value());
  EXPECT_FALSE(vw->project_admin);
}

TEST_F(TokensTest, BadLoginsAllLookTheSame) {
  for (auto [email, pw] : std::vector<std::pair<std::string, std::string>>{
           {"admin@example.com", "wrong password"},
           {"admin@example.com", std::string(kPassword) + "x"},
           {"nobody@example.com", std::string(kPassword)},
           {"off@example.com", std::string(kPassword)},  // disabled
           {"", std::string(kPassword)},
           {"admin@example.com", ""}}) {
    auto s = tokens_->Login(email, pw, kT0);
    ASSERT_FALSE(s.has_value()) << email;
    EXPECT_EQ(s.error().code(), Code::kUnauthenticated);
    EXPECT_EQ(s.error().message(), "invalid email or password") << email;
  }
}

TEST_F(TokensTest, RefreshRotatesAndReuseRevokesTheFamily) {
  auto s1 = tokens_->Login("admin@example.com", kPassword, kT0);
  ASSERT_TRUE(s1.has_value());
  auto s2 = tokens_->Refresh(s1->refresh_token, kT0 + 1000);
  ASSERT_TRUE(s2.has_value()) << s2.error().ToString();
  EXPECT_NE(s2->refresh_token, s1->refresh_token);
  EXPECT_TRUE(tokens_->AuthenticateBearer(s2->access_token, kT0 + 1000).has_value());
  // The rotated-out token fails, and its reuse revokes the successor too.
  EXPECT_FALSE(tokens_->Refresh(s1->refresh_token, kT0 + 2000).has_value());
  EXPECT_FALSE(tokens_->Refresh(s2->refresh_token, kT0 + 3000).has_value());
  // Another login is another family, unaffected.
  auto s3 = tokens_->Login("admin@example.com", kPassword, kT0);
  ASSERT_TRUE(s3.has_value());
  EXPECT_TRUE(tokens_->Refresh(s3->refresh_token, kT0 + 4000).has_value());
  // Garbage and expired tokens.
  EXPECT_FALSE(tokens_->Refresh("mrt_nope", kT0).has_value());
  EXPECT_FALSE(tokens_->Refresh(s1->access_token, kT0).has_value());
  auto s4 = tokens_->Login("admin@example.com", kPassword, kT0);
  ASSERT_TRUE(s4.has_value());
  EXPECT_FALSE(tokens_->Refresh(s4->refresh_token, kT0 + 3600 * 1000).has_value());
}

TEST_F(TokensTest, LogoutRevokesTheSession) {
  auto s1 = tokens_->Login("admin@example.com", kPassword, kT0);
  ASSERT_TRUE(s1.has_value());
  auto s2 = tokens_->Refresh(s1->refresh_token, kT0 + 1000);
  ASSERT_TRUE(s2.has_value());
  EXPECT_TRUE(tokens_->Logout(s2->refresh_token).ok());
  EXPECT_FALSE(tokens_->Refresh(s2->refresh_token, kT0 + 2000).has_value());
  EXPECT_TRUE(tokens_->Logout(s2->refresh_token).ok());  // idempotent
  EXPECT_TRUE(tokens_->Logout("mrt_unknown").ok());      // RFC 7009 §2.2
}

// The periodic sweep: a live session's rotated record stays (reuse detection needs it); a
// revoked session goes whole; an expired one too; a small budget resumes where it stopped.
TEST_F(TokensTest, PruneSessionsDeletesOnlyDeadRecordsWithinItsBudget) {
  auto live = tokens_->Login("admin@example.com", kPassword, kT0);
  ASSERT_TRUE(live.has_value());
  auto live2 = tokens_->Refresh(live->refresh_token, kT0 + 1);  // live's record is now retired
  ASSERT_TRUE(live2.has_value());
  auto gone = tokens_->Login("admin@example.com", kPassword, kT0);
  ASSERT_TRUE(gone.has_value());
  ASSERT_TRUE(tokens_->Logout(gone->refresh_token).ok());
  auto n = tokens_->PruneSessions(kT0 + 2, 1000);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 2u);  // the logged-out session and its record
  // Reuse detection still sees live's retired token.
  EXPECT_FALSE(tokens_->Refresh(live->refresh_token, kT0 + 3).has_value());
  EXPECT_FALSE(tokens_->Refresh(live2->refresh_token, kT0 + 3).has_value());
  // Budget 1: one record a call, resuming after the last one; three dead records remain.
  uint64_t total = 0;
  for (int i = 0; i < 8; ++i) {
    auto k = tokens_->PruneSessions(kT0 + 4, 1);
    ASSERT_TRUE(k.has_value());
    EXPECT_LE(*k, 1u);
    total += *k;
  }
  EXPECT_EQ(total, 3u);
  // Expiry: a session nobody touched goes once its refresh TTL has passed.
  auto idle = tokens_->Login("admin@example.com", kPassword, kT0);
  ASSERT_TRUE(idle.has_value());
  EXPECT_EQ(*tokens_->PruneSessions(kT0 + 5, 1000), 0u);
  EXPECT_EQ(*tokens_->PruneSessions(kT0 + 3600 * 1000, 1000), 2u);
}

TEST_F(TokensTest, TokensOfDeletedOrDisabledUsersFail) {
  auto s = tokens_->Login("admin@example.com", kPassword, kT0);
  ASSERT_TRUE(s.has_value());
  PutUser("usr_admin", "admin@example.com", "admin", true);
  EXPECT_FALSE(tokens_->AuthenticateBearer(s->access_token, kT0).has_value());
  EXPECT_FALSE(tokens_->Refresh(s->refresh_token, kT0).has_value());
  ASSERT_TRUE(node_->db->Delete(store::Cf::kMgmt, store::MgmtKey("user", "usr_admin")).ok());
  auto who = tokens_->AuthenticateBearer(s->access_token, kT0);
  ASSERT_FALSE(who.has_value());
  EXPECT_EQ(who.error().code(), Code::kUnauthenticated);
}

TEST_F(TokensTest, KeyRotationKeepsOldTokensAndSurvivesRestart) {
  auto s1 = tokens_->Login("admin@example.com", kPassword, kT0);
  ASSERT_TRUE(s1.has_value());
  const std::string kid1 = tokens_->keyring().active()->kid;
  auto kid2 = tokens_->RotateSigningKey(kT0 + 1000);
  ASSERT_TRUE(kid2.has_value());
  EXPECT_NE(*kid2, kid1);
  EXPECT_EQ(tokens_->Jwks()["keys"].size(), 2u);
  auto s2 = tokens_->Login("admin@example.com", kPassword, kT0 + 2000);
  ASSERT_TRUE(s2.has_value());
  EXPECT_TRUE(tokens_->AuthenticateBearer(s1->access_token, kT0 + 2000).has_value());
  EXPECT_TRUE(tokens_->AuthenticateBearer(s2->access_token, kT0 + 2000).has_value());

  // A restart reloads both keys from the store (sealed), so both tokens still verify.
  TokenService again(node_.get(), &*box_, cfg_);
  ASSERT_TRUE(again.Init(kT0 + 3000).ok());
  EXPECT_EQ(again.keyring().active()->kid, *kid2);
  EXPECT_TRUE(again.AuthenticateBearer(s1->access_token, kT0 + 3000).has_value());
  EXPECT_TRUE(again.AuthenticateBearer(s2->access_token, kT0 + 3000).has_value());

  // Once every token of the retired key has expired, a restart prunes it from JWKS and the store.
  TokenService later(node_.get(), &*box_, cfg_);
  ASSERT_TRUE(later.Init(kT0 + 1000 + 901 * 1000 + 1).ok());
  EXPECT_EQ(later.Jwks()["keys"].size(), 1u);
  EXPECT_EQ(later.keyring().Find(kid1), nullptr);

  // Another master key cannot open the sealed signing keys: the start is refused.
  auto other_box = *auth::SecretBox::FromKey(std::string(32, 'x'));
  TokenService wrong(node_.get(), &other_box, cfg_);
  EXPECT_FALSE(wrong.Init(kT0).ok());
}

TEST_F(TokensTest, AgeBasedRotation) {
  TokenConfig c = cfg_;
  c.key_max_age_s = 60;
  TokenService svc(node_.get(), &*box_, c);
  ASSERT_TRUE(svc.Init(kT0).ok());
  const std::string kid1 = svc.keyring().active()->kid;
  auto s1 = svc.Login("admin@example.com", kPassword, kT0 + 59 * 1000);
  ASSERT_TRUE(s1.has_value());
  EXPECT_EQ(svc.keyring().active()->kid, kid1);
  auto s2 = svc.Login("admin@example.com", kPassword, kT0 + 60 * 1000);
  ASSERT_TRUE(s2.has_value());
  EXPECT_NE(svc.keyring().active()->kid, kid1);
  EXPECT_TRUE(svc.AuthenticateBearer(s1->access_token, kT0 + 61 * 1000).has_value());
}

}  // namespace
}  // namespace mamute::mgmt
