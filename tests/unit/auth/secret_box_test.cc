#include "auth/secret_box.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace mamute::auth {
namespace {

SecretBox Box(char fill) { return *SecretBox::FromKey(std::string(kMasterKeySize, fill)); }

TEST(SecretBox, RoundTripsAndHasTheDocumentedLayout) {
  SecretBox box = Box('k');
  for (std::string plain : {std::string(), std::string("a"), std::string(40, 'x'), std::string(1000, '\0')}) {
    auto sealed = box.Seal(plain, "AKID");
    ASSERT_TRUE(sealed.has_value());
    EXPECT_EQ(sealed->size(), plain.size() + kSecretBoxOverhead);
    EXPECT_EQ(static_cast<uint8_t>((*sealed)[0]), kSecretBoxV1);
    // Only long plaintexts: a 1-byte one appears in ~11% of random nonces/tags by chance.
    if (plain.size() >= 8 && plain.find_first_not_of('\0') != std::string::npos) {
      EXPECT_EQ(sealed->find(plain), std::string::npos) << "plaintext visible in sealed bytes";
    }
    auto opened = box.Open(*sealed, "AKID");
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(*opened, plain);
  }
}

TEST(SecretBox, NoncesAreFresh) {
  SecretBox box = Box('k');
  auto a = box.Seal("same secret", "x");
  auto b = box.Seal("same secret", "x");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

// Attack table: every tampering and every context confusion fails with Corruption.
TEST(SecretBox, RejectsTamperingWrongKeyAndWrongAad) {
  SecretBox box = Box('k');
  auto sealed = *box.Seal("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "MKAAAAAAAAAAAAAAAAAA");
  struct Case {
    const char* name;
    std::string value;
    std::string aad;
    bool other_key;
  };
  std::vector<Case> cases;
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string t = sealed;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    cases.push_back({"bit flip", t, "MKAAAAAAAAAAAAAAAAAA", false});
  }
  cases.push_back({"wrong aad (record swap)", sealed, "MKBBBBBBBBBBBBBBBBBB", false});
  cases.push_back({"empty aad", sealed, "", false});
  cases.push_back({"wrong key", sealed, "MKAAAAAAAAAAAAAAAAAA", true});
  cases.push_back({"truncated tag", sealed.substr(0, sealed.size() - 1), "MKAAAAAAAAAAAAAAAAAA", false});
  cases.push_back({"too short", sealed.substr(0, kSecretBoxOverhead - 1), "MKAAAAAAAAAAAAAAAAAA", false});
  cases.push_back({"empty", "", "MKAAAAAAAAAAAAAAAAAA", false});
  cases.push_back({"appended byte", sealed + "x", "MKAAAAAAAAAAAAAAAAAA", false});
  SecretBox other = Box('o');
  for (const auto& c : cases) {
    auto r = (c.other_key ? other : box).Open(c.value, c.aad);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error().code(), Code::kCorruption) << c.name;
  }
}

TEST(SecretBox, FromKeyNeeds32Bytes) {
  EXPECT_FALSE(SecretBox::FromKey("short").has_value());
  EXPECT_FALSE(SecretBox::FromKey(std::string(33, 'a')).has_value());
}

class SecretBoxLoad : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("MAMUTE_MASTER_KEY");
    char tmpl[] = "/tmp/secret_box_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    ::unsetenv("MAMUTE_MASTER_KEY");
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(SecretBoxLoad, CreatesThenReusesA0600KeyFile) {
  auto a = SecretBox::Load(dir_);
  ASSERT_TRUE(a.has_value()) << a.error().ToString();
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  auto sealed = *a->Seal("s", "aad");
  auto b = SecretBox::Load(dir_);
  ASSERT_TRUE(b.has_value());
  auto opened = b->Open(sealed, "aad");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, "s");
}

TEST_F(SecretBoxLoad, RefusesLoosePermissionsAndBadSizes) {
  ASSERT_TRUE(SecretBox::Load(dir_).has_value());
  std::string path = dir_ + "/master.key";
  for (mode_t mode : {0640, 0604, 0660, 0644}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto r = SecretBox::Load(dir_);
    ASSERT_FALSE(r.has_value()) << std::oct << mode;
    EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
  }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  { std::ofstream(path, std::ios::app) << "x"; }
  auto r = SecretBox::Load(dir_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
}

TEST_F(SecretBoxLoad, TakesTheKeyFromTheEnvironment) {
  ::setenv("MAMUTE_MASTER_KEY", std::string(64, 'a').c_str(), 1);
  auto a = SecretBox::Load(dir_);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/master.key"));
  auto b = *SecretBox::FromKey(std::string(32, '\xaa'));
  EXPECT_EQ(*b.Open(*a->Seal("p", "x"), "x"), "p");
  for (const char* bad : {"", "abc", "zz", "0123"}) {
    ::setenv("MAMUTE_MASTER_KEY", bad, 1);
    EXPECT_FALSE(SecretBox::Load(dir_).has_value()) << bad;
  }
  ::setenv("MAMUTE_MASTER_KEY", std::string(63, 'a').append("g").c_str(), 1);
  EXPECT_FALSE(SecretBox::Load(dir_).has_value());
}

}  // namespace
}  // namespace mamute::auth
