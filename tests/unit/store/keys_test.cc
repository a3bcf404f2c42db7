#include "store/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace mamute::store {
namespace {

using namespace std::string_literals;

TEST(KeysTest, BigEndianRoundTrip) {
  for (uint64_t v : {0ull, 1ull, 0xffull, 0x100ull, 0x0123456789abcdefull, ~0ull}) {
    std::string s;
    AppendBigEndian64(&s, v);
    ASSERT_EQ(s.size(), 8u);
    EXPECT_EQ(LoadBigEndian64(s.data()), v);
  }
  for (uint32_t v : {0u, 1u, 10000u, 0xdeadbeefu, ~0u}) {
    std::string s;
    AppendBigEndian32(&s, v);
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(LoadBigEndian32(s.data()), v);
  }
}

TEST(KeysTest, PrefixSuccessor) {
  struct Case {
    std::string in;
    std::optional<std::string> want;
  };
  const Case cases[] = {
      {"", std::nullopt},
      {"a", "b"},
      {"a/", "a0"},
      {"ab\xff"s, "ac"},
      {"a\xff\xff"s, "b"},
      {"\xff"s, std::nullopt},
      {"\xff\xff"s, std::nullopt},
      {"\x01\xff"s, "\x02"s},
      {"a\x00"s, "a\x01"s},
      {"\xfe"s, "\xff"s},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(PrefixSuccessor(c.in), c.want) << c.in;
  }
}

TEST(KeysTest, ObjectKeyRoundTrip) {
  const std::string keys[] = {
      "",        "a",        "photos/2024/cat.jpg", "\x00"s, "a\x00z"s, "\xff\xfe\xfd"s,
      "\xc3\x28"s /* invalid UTF-8 */, "日本語/キー", std::string(1024, 'k'),
  };
  for (BucketId b : {0ull, 1ull, 42ull, ~0ull}) {
    for (const std::string& k : keys) {
      std::string enc = ObjectKey(b, k);
      ASSERT_EQ(enc.size(), 8 + k.size());
      EXPECT_EQ(enc.substr(0, 8), BucketPrefix(b));
      auto d = DecodeObjectKey(enc);
      ASSERT_TRUE(d.has_value());
      EXPECT_EQ(d->bucket, b);
      EXPECT_EQ(d->key, k);
    }
  }
  EXPECT_EQ(DecodeObjectKey("short").error().code(), Code::kCorruption);
}

TEST(KeysTest, ObjectKeysSortByBucketThenBytes) {
  std::vector<std::pair<BucketId, std::string>> tuples = {
      {1, ""}, {1, "a"}, {1, "a\x00"s}, {1, "a/"}, {1, "ab"}, {1, "\xff"s},
      {2, ""}, {2, "\x00"s}, {255, "z"}, {256, "a"}, {~0ull, "\xff\xff"s},
  };
  std::vector<std::string> enc;
  for (auto& [b, k] : tuples) {
    enc.push_back(ObjectKey(b, k));
  }
  EXPECT_TRUE(std::is_sorted(enc.begin(), enc.end()));
}

TEST(KeysTest, BucketKey) {
  auto d = DecodeBucketKey(BucketKey(77));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, 77u);
  EXPECT_FALSE(DecodeBucketKey("1234567").has_value());
  EXPECT_FALSE(DecodeBucketKey("123456789").has_value());
}

TEST(KeysTest, EscapedRoundTripAndOrder) {
  const std::string raws[] = {"", "\x00"s, "\x00\x00"s, "a", "a\x00"s, "a\x00\x01"s, "a\x01"s,
                              "ab", "\xff"s, "\x00\xff"s};
  std::vector<std::string> sorted_raw(std::begin(raws), std::end(raws));
  std::sort(sorted_raw.begin(), sorted_raw.end());
  std::vector<std::string> enc;
  for (const std::string& r : sorted_raw) {
    std::string e;
    AppendEscaped(&e, r);
    e += "TAIL";
    std::string_view in = e;
    std::string out;
    ASSERT_TRUE(ConsumeEscaped(&in, &out).ok());
    EXPECT_EQ(out, r);
    EXPECT_EQ(in, "TAIL");
    enc.push_back(e);
  }
  // Prefix-free and order-preserving even with a suffix appended.
  EXPECT_TRUE(std::is_sorted(enc.begin(), enc.end()));
}

TEST(KeysTest, EscapedRejectsBadInput) {
  for (std::string bad : {"abc"s, "a\x00"s, "a\x00\x02"s, ""s}) {
    std::string_view in = bad;
    std::string out;
    EXPECT_EQ(ConsumeEscaped(&in, &out).code(), Code::kCorruption) << bad.size();
  }
}

TEST(KeysTest, UploadKeyRoundTripAndOrder) {
  UploadId early = UploadId::Make(1000, 5);
  UploadId late = UploadId::Make(2000, 1);
  std::vector<std::string> enc = {
      UploadKey(1, "a", early),    UploadKey(1, "a", late),   UploadKey(1, "a\x00"s, early),
      UploadKey(1, "ab", early),   UploadKey(2, "", early),
  };
  EXPECT_TRUE(std::is_sorted(enc.begin(), enc.end()));
  auto d = DecodeUploadKey(UploadKey(9, "x\x00y"s, late));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->bucket, 9u);
  EXPECT_EQ(d->object_key, "x\x00y"s);
  EXPECT_EQ(d->upload_id, late);
  EXPECT_TRUE(UploadKey(1, "a", early).starts_with(UploadKeyPrefix(1, "a")));
  EXPECT_FALSE(UploadKey(1, "ab", early).starts_with(UploadKeyPrefix(1, "a")));
  std::string truncated = UploadKey(1, "a", early);
  truncated.pop_back();
  EXPECT_FALSE(DecodeUploadKey(truncated).has_value());
}

TEST(KeysTest, UploadIdHex) {
  UploadId id = UploadId::Generate(1234567);
  std::string hex = id.ToHex();
  EXPECT_EQ(hex.size(), 32u);
  auto back = UploadId::FromHex(hex);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, id);
  EXPECT_FALSE(UploadId::FromHex("zz").has_value());
  EXPECT_FALSE(UploadId::FromHex(std::string(32, 'g')).has_value());
  EXPECT_NE(UploadId::Generate(1), UploadId::Generate(1));
}

TEST(KeysTest, PartKeyRoundTripAndOrder) {
  UploadId id = UploadId::Make(1, 2);
  std::vector<std::string> enc;
  for (uint32_t n : {1u, 2u, 9u, 10u, 255u, 256u, 10000u}) {
    enc.push_back(PartKey(id, n));
    auto d = DecodePartKey(enc.back());
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->upload_id, id);
    EXPECT_EQ(d->part_number, n);
  }
  EXPECT_TRUE(std::is_sorted(enc.begin(), enc.end()));
  EXPECT_FALSE(DecodePartKey("too short").has_value());
}

TEST(KeysTest, FileIdHexAndPath) {
  FileId id{0x0123456789abcdefull, 0xfedcba9876543210ull};
  EXPECT_EQ(id.ToHex(), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(DataFileRelPath(id), "objects/01/23/0123456789abcdeffedcba9876543210");
  auto back = FileId::FromHex(id.ToHex());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, id);
  EXPECT_FALSE(FileId::FromHex("0123456789ABCDEFfedcba9876543210").has_value());
  EXPECT_FALSE(FileId::FromHex("0123").has_value());
  FileId g = FileId::Generate();
  EXPECT_FALSE(g.is_zero());
  EXPECT_NE(g, FileId::Generate());
}

TEST(KeysTest, MgmtKey) { EXPECT_EQ(MgmtKey("user", "u1"), "user\x00u1"s); }

}  // namespace
}  // namespace mamute::store
