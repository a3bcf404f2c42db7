#include "mgmt/validate.h"

#include <gtest/gtest.h>

#include <string>

namespace mamute::mgmt {
namespace {

// S3 bucket naming rules: one row per rule, each with the phrase its message must carry.
TEST(BucketName, EachRuleIsEnforcedAndNamed) {
  struct Case {
    std::string name;
    const char* rule;  // nullptr: valid
  };
  const Case cases[] = {
      {"my-app-uploads", nullptr},
      {"abc", nullptr},
      {std::string(63, 'a'), nullptr},
      {"a.b-c.1", nullptr},
      {"1bucket9", nullptr},
      {"192.168.5.4x", nullptr},
      {"xn-bucket", nullptr},
      {"bucket-s3alia", nullptr},
      {"ab", "between 3 and 63"},
      {"", "between 3 and 63"},
      {std::string(64, 'a'), "between 3 and 63"},
      {"My-Bucket", "only of lowercase letters"},
      {"bucket_name", "only of lowercase letters"},
      {"bucket name", "only of lowercase letters"},
      {"bücket", "only of lowercase letters"},
      {"-bucket", "begin and end"},
      {"bucket-", "begin and end"},
      {".bucket", "begin and end"},
      {"bucket.", "begin and end"},
      {"my..bucket", "two adjacent periods"},
      {"192.168.5.4", "IP address"},
      {"999.1.1.1", "IP address"},
      {"xn--bucket", "xn--"},
      {"sthree-bucket", "sthree-"},
      {"bucket-s3alias", "-s3alias"},
      {"bucket--ol-s3", "--ol-s3"},
  };
  for (const auto& c : cases) {
    auto err = BucketNameError(c.name);
    if (c.rule == nullptr) {
      EXPECT_FALSE(err.has_value()) << c.name << ": " << *err;
    } else {
      ASSERT_TRUE(err.has_value()) << c.name;
      EXPECT_NE(err->find(c.rule), std::string_view::npos) << c.name << ": " << *err;
    }
  }
}

TEST(StorageClass, CaseInsensitiveFromTheEnum) {
  EXPECT_EQ(NormalizeStorageClass("Standard"), "STANDARD");
  EXPECT_EQ(NormalizeStorageClass("STANDARD"), "STANDARD");
  EXPECT_EQ(NormalizeStorageClass("standard_ia"), "STANDARD_IA");
  EXPECT_EQ(NormalizeStorageClass("Glacier_IR"), "GLACIER_IR");
  EXPECT_FALSE(NormalizeStorageClass("").has_value());
  EXPECT_FALSE(NormalizeStorageClass("COLD").has_value());
  EXPECT_FALSE(NormalizeStorageClass("STANDARD ").has_value());
}

TEST(Query, DecodesAndRejectsBadEscapes) {
  auto q = ParseQuery("prefix=a%2Fb&delimiter=%2F&flag&limit=10&&x=a+b");
  ASSERT_TRUE(q.has_value());
  ASSERT_EQ(q->size(), 5u);
  EXPECT_EQ((*q)[0].name, "prefix");
  EXPECT_EQ((*q)[0].value, "a/b");
  EXPECT_EQ((*q)[1].value, "/");
  EXPECT_EQ((*q)[2].name, "flag");
  EXPECT_EQ((*q)[2].value, "");
  EXPECT_EQ((*q)[4].value, "a b");
  for (const char* bad : {"a=%", "a=%2", "a=%zz", "%g1=1"}) EXPECT_FALSE(ParseQuery(bad).has_value()) << bad;
  EXPECT_EQ(*PercentDecode("%00"), std::string(1, '\0'));
}

TEST(Query, BoundedInts) {
  EXPECT_EQ(ParseBoundedInt("1", 1, 1000), 1);
  EXPECT_EQ(ParseBoundedInt("1000", 1, 1000), 1000);
  for (const char* bad : {"0", "1001", "", "-1", "+1", "1x", " 1", "99999999999999999999"}) {
    EXPECT_FALSE(ParseBoundedInt(bad, 1, 1000).has_value()) << bad;
  }
}

TEST(BucketId, RoundTripsAs16LowercaseHex) {
  EXPECT_EQ(FormatBucketId(0xdb2b15ae4bfdcf16ull), "db2b15ae4bfdcf16");
  EXPECT_EQ(FormatBucketId(1), "0000000000000001");
  EXPECT_EQ(ParseBucketId("db2b15ae4bfdcf16"), 0xdb2b15ae4bfdcf16ull);
  for (const char* bad : {"", "1", "DB2B15AE4BFDCF16", "db2b15ae4bfdcf1g", "db2b15ae4bfdcf160"}) {
    EXPECT_FALSE(ParseBucketId(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace mamute::mgmt
