#include "s3/object_requests.h"

#include <gtest/gtest.h>

#include <string>

namespace mamute::s3 {
namespace {

TEST(CopySource, Table) {
  struct Case {
    std::string in;
    bool ok;
    std::string bucket, key;
    S3Error error = S3Error::kInvalidArgument;
  };
  const Case cases[] = {
      {"b/k", true, "b", "k"},
      {"/b/k", true, "b", "k"},
      {"b/dir/sub/file.txt", true, "b", "dir/sub/file.txt"},
      {"b/a%20b%2Bc", true, "b", "a b+c"},  // '+' stays literal, %2B decodes
      {"b/a+b", true, "b", "a+b"},
      {"b/%E2%9C%93", true, "b", "\xE2\x9C\x93"},
      {"b/k%3Fx", true, "b", "k?x"},
      {"b/k?versionId=null", true, "b", "k"},
      {"/b/k?versionId=null", true, "b", "k"},
      {"b/k?versionId=3HL4kqtJlcpXroDTDmJ", false, "", "", S3Error::kNoSuchVersion},
      {"b/k?other=1", false, "", ""},
      {"b/k?versionId=null&x=1", false, "", ""},
      {"", false, "", ""},
      {"b", false, "", ""},
      {"b/", false, "", ""},
      {"/k", false, "", ""},
      {"//k", false, "", ""},
      {"b/%zz", false, "", ""},
  };
  for (const Case& c : cases) {
    CopySource src;
    auto f = ParseCopySource(c.in, &src);
    EXPECT_EQ(!f.has_value(), c.ok) << c.in;
    if (c.ok && !f) {
      EXPECT_EQ(src.bucket, c.bucket) << c.in;
      EXPECT_EQ(src.key, c.key) << c.in;
    } else if (f) {
      EXPECT_EQ(f->error, c.error) << c.in;
    }
  }
}

TEST(CopySourceRange, Table) {
  struct Case {
    std::string_view in;
    uint64_t size;
    bool ok;
    uint64_t first, length;
  };
  const Case cases[] = {
      {"bytes=0-9", 10, true, 0, 10},
      {"bytes=3-3", 10, true, 3, 1},
      {"bytes=5-9", 10, true, 5, 5},
      {"bytes=0-10", 10, false, 0, 0},  // past the end: InvalidArgument, as AWS
      {"bytes=4-3", 10, false, 0, 0},
      {"bytes=0-0", 0, false, 0, 0},
      {"0-2", 10, false, 0, 0},         // the malformed forms of ceph's s3-tests
      {"bytes=0", 10, false, 0, 0},
      {"bytes=hello-world", 10, false, 0, 0},
      {"bytes=0-bar", 10, false, 0, 0},
      {"bytes=hello-", 10, false, 0, 0},
      {"bytes=0-2,3-5", 10, false, 0, 0},
      {"bytes=-5", 10, false, 0, 0},    // no suffix ranges here
      {"bytes=2-", 10, false, 0, 0},
      {"bytes=+1-2", 10, false, 0, 0},
      {"bytes=99999999999999999999-1", 10, false, 0, 0},
  };
  for (const Case& c : cases) {
    uint64_t first = 99, length = 99;
    auto f = ParseCopySourceRange(c.in, c.size, &first, &length);
    EXPECT_EQ(!f.has_value(), c.ok) << c.in;
    if (f) {
      EXPECT_EQ(f->error, S3Error::kInvalidArgument) << c.in;
    } else {
      EXPECT_EQ(first, c.first) << c.in;
      EXPECT_EQ(length, c.length) << c.in;
    }
  }
}

TEST(TaggingHeader, Table) {
  struct Case {
    std::string in;
    bool ok;
    TagSet want;
  };
  const std::string k129(129, 'k'), k128(128, 'k'), v257(257, 'v'), v256(256, 'v');
  const Case cases[] = {
      {"", true, {}},
      {"a=1", true, {{"a", "1"}}},
      {"a=1&b=2", true, {{"a", "1"}, {"b", "2"}}},
      {"a=&b", true, {{"a", ""}, {"b", ""}}},
      {"k%20x=v+y%26z", true, {{"k x", "v y&z"}}},
      {"a=1&a=2", false, {}},            // duplicate key
      {"=1", false, {}},                 // empty key
      {"aws%3Aname=1", false, {}},       // reserved prefix
      {k128 + "=" + v256, true, {{k128, v256}}},
      {k129 + "=1", false, {}},
      {"a=" + v257, false, {}},
      {"a=%zz", false, {}},
      {"1=1&2=2&3=3&4=4&5=5&6=6&7=7&8=8&9=9&10=10", true,
       {{"1", "1"}, {"2", "2"}, {"3", "3"}, {"4", "4"}, {"5", "5"}, {"6", "6"}, {"7", "7"}, {"8", "8"},
        {"9", "9"}, {"10", "10"}}},
      {"1=1&2=2&3=3&4=4&5=5&6=6&7=7&8=8&9=9&10=10&11=11", false, {}},
  };
  for (const Case& c : cases) {
    TagSet got;
    auto f = ParseTaggingHeader(c.in, &got);
    EXPECT_EQ(!f.has_value(), c.ok) << c.in;
    if (c.ok) {
      EXPECT_EQ(got, c.want) << c.in;
      EXPECT_EQ(FormatTaggingHeader(got).size() > 0, !c.want.empty());
    } else if (f && f->error != S3Error::kInvalidArgument) {
      EXPECT_EQ(f->error, S3Error::kInvalidTag) << c.in;
    }
  }
  // Characters, not bytes: 128 three-byte characters are a valid key.
  std::string wide;
  for (int i = 0; i < 128; ++i) wide += "%E2%9C%93";
  TagSet got;
  EXPECT_FALSE(ParseTaggingHeader(wide + "=v", &got).has_value());
  EXPECT_TRUE(ParseTaggingHeader(wide + "%E2%9C%93=v", &got).has_value());
  // Round trip.
  TagSet tags = {{"a b", "c&d=e"}, {"\xE2\x9C\x93", ""}};
  ASSERT_FALSE(ParseTaggingHeader(FormatTaggingHeader(tags), &got).has_value());
  EXPECT_EQ(got, tags);
}

TEST(TaggingXml, Table) {
  struct Case {
    std::string in;
    bool ok;
    TagSet want;
    S3Error error = S3Error::kMalformedXML;
  };
  const Case cases[] = {
      {"<Tagging><TagSet/></Tagging>", true, {}},
      {"<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet><Tag><Key>a</Key><Value>1</Value></Tag>"
       "<Tag><Key> sp </Key><Value></Value></Tag></TagSet></Tagging>",
       true,
       {{"a", "1"}, {" sp ", ""}}},
      {"<Tagging><TagSet><Tag><Key>a&amp;b</Key><Value>&lt;</Value></Tag></TagSet></Tagging>", true, {{"a&b", "<"}}},
      {"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>", false, {}},
      {"<Tagging><TagSet><Tag><Value>1</Value></Tag></TagSet></Tagging>", false, {}},
      {"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value><X/></Tag></TagSet></Tagging>", false, {}},
      {"<Tagging></Tagging>", false, {}},
      {"<Other><TagSet/></Other>", false, {}},
      {"<Tagging><TagSet>", false, {}},
      {"", false, {}},
      {"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag>"
       "</TagSet></Tagging>",
       false,
       {},
       S3Error::kInvalidTag},
      {"<Tagging><TagSet><Tag><Key>aws:x</Key><Value>1</Value></Tag></TagSet></Tagging>", false, {},
       S3Error::kInvalidTag},
  };
  for (const Case& c : cases) {
    TagSet got;
    auto f = ParseTaggingXml(c.in, &got);
    EXPECT_EQ(!f.has_value(), c.ok) << c.in;
    if (c.ok) {
      EXPECT_EQ(got, c.want) << c.in;
    } else if (f) {
      EXPECT_EQ(f->error, c.error) << c.in;
    }
  }
  std::string eleven = "<Tagging><TagSet>";
  for (int i = 0; i < 11; ++i) {
    eleven += "<Tag><Key>k" + std::to_string(i) + "</Key><Value>v</Value></Tag>";
  }
  eleven += "</TagSet></Tagging>";
  TagSet got;
  auto f = ParseTaggingXml(eleven, &got);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->error, S3Error::kInvalidTag);
}

TEST(DeleteObjectsXml, Table) {
  struct Case {
    std::string in;
    bool ok;
    bool quiet = false;
    std::vector<std::string> keys;
  };
  const Case cases[] = {
      {"<Delete><Object><Key>a</Key></Object></Delete>", true, false, {"a"}},
      {"<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet><Object><Key>a</Key>"
       "</Object><Object><Key> b/c </Key><VersionId>null</VersionId></Object></Delete>",
       true, true, {"a", " b/c "}},
      {"<Delete><Quiet>false</Quiet><Object><Key>x&amp;y</Key></Object></Delete>", true, false, {"x&y"}},
      {"<Delete></Delete>", false},
      {"<Delete><Quiet>yes</Quiet><Object><Key>a</Key></Object></Delete>", false},
      {"<Delete><Object><VersionId>null</VersionId></Object></Delete>", false},
      {"<Delete><Object><Key></Key></Object></Delete>", false},
      {"<Delete><Object><Key>a</Key><Bogus/></Object></Delete>", false},
      {"<Remove><Object><Key>a</Key></Object></Remove>", false},
      {"<Delete><Object><Key>a</Key></Object>", false},
      {"<!DOCTYPE x [<!ENTITY e \"a\">]><Delete><Object><Key>&e;</Key></Object></Delete>", false},
  };
  for (const Case& c : cases) {
    DeleteList list;
    auto f = ParseDeleteObjects(c.in, &list);
    EXPECT_EQ(!f.has_value(), c.ok) << c.in;
    if (c.ok) {
      EXPECT_EQ(list.quiet, c.quiet) << c.in;
      std::vector<std::string> keys;
      for (const auto& e : list.objects) keys.push_back(e.key);
      EXPECT_EQ(keys, c.keys) << c.in;
    } else if (f) {
      EXPECT_EQ(f->error, S3Error::kMalformedXML) << c.in;
    }
  }
  auto many = [](int n) {
    std::string s = "<Delete>";
    for (int i = 0; i < n; ++i) s += "<Object><Key>k" + std::to_string(i) + "</Key></Object>";
    return s + "</Delete>";
  };
  DeleteList list;
  EXPECT_FALSE(ParseDeleteObjects(many(1000), &list).has_value());
  EXPECT_EQ(list.objects.size(), 1000u);
  auto f = ParseDeleteObjects(many(1001), &list);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->error, S3Error::kMalformedXML);
}

TEST(ObjectAttributes, Table) {
  struct Case {
    std::string in;
    bool ok;
    uint8_t mask;
  };
  const Case cases[] = {
      {"ETag", true, kAttrETag},
      {"ETag,ObjectSize", true, kAttrETag | kAttrObjectSize},
      {"ETag, Checksum ,ObjectParts,StorageClass,ObjectSize", true,
       kAttrETag | kAttrChecksum | kAttrObjectParts | kAttrStorageClass | kAttrObjectSize},
      {"", false, 0},
      {" , ", false, 0},
      {"ETag,Bogus", false, 0},
      {"etag", false, 0},
  };
  for (const Case& c : cases) {
    uint8_t mask = 0;
    auto f = ParseObjectAttributes(c.in, &mask);
    EXPECT_EQ(!f.has_value(), c.ok) << c.in;
    if (c.ok) {
      EXPECT_EQ(mask, c.mask) << c.in;
    }
    if (f) {
      EXPECT_EQ(f->error, S3Error::kInvalidArgument) << c.in;
    }
  }
}

TEST(EtagList, Table) {
  const std::string hex = "0123456789abcdef0123456789abcdef";
  EXPECT_TRUE(EtagListMatches("*", hex));
  EXPECT_TRUE(EtagListMatches("\"" + hex + "\"", hex));
  EXPECT_TRUE(EtagListMatches(hex, hex));
  EXPECT_TRUE(EtagListMatches("\"x\", \"" + hex + "\"", hex));
  EXPECT_TRUE(EtagListMatches("W/\"" + hex + "\"", hex));
  EXPECT_FALSE(EtagListMatches("\"x\"", hex));
  EXPECT_FALSE(EtagListMatches("", hex));
}

}  // namespace
}  // namespace mamute::s3
