#include "s3/request.h"

#include <gtest/gtest.h>

#include <string>

namespace mamute::s3 {
namespace {

struct Case {
  const char* method;
  const char* target;
  S3Op op;
  const char* bucket;
  const char* key;
};

http::RequestHead Head(std::string_view method, std::string_view target) {  // views must outlive the head
  http::RequestHead h;
  h.method_name = method;
  h.method = http::ParseMethod(method);
  h.target = target;
  auto q = h.target.find('?');
  h.path = h.target.substr(0, q);
  h.query = q == std::string_view::npos ? std::string_view() : h.target.substr(q + 1);
  return h;
}

TEST(Classify, Table) {
  const Case cases[] = {
      {"GET", "/", S3Op::kListBuckets, "", ""},
      {"GET", "/b", S3Op::kListObjectsV1, "b", ""},
      {"GET", "/b/", S3Op::kListObjectsV1, "b", ""},
      {"GET", "/b?list-type=2&prefix=x", S3Op::kListObjectsV2, "b", ""},
      {"GET", "/b?list-type=3", S3Op::kOther, "b", ""},
      {"GET", "/b?location", S3Op::kGetBucketLocation, "b", ""},
      {"GET", "/b?versioning", S3Op::kGetBucketVersioning, "b", ""},
      {"GET", "/b?uploads", S3Op::kListMultipartUploads, "b", ""},
      {"GET", "/b?uploads&prefix=a&max-uploads=2", S3Op::kListMultipartUploads, "b", ""},
      {"POST", "/b?uploads", S3Op::kOther, "b", ""},
      {"GET", "/b?versions", S3Op::kListObjectVersions, "b", ""},
      {"GET", "/b?versions&key-marker=a&version-id-marker=null", S3Op::kListObjectVersions, "b", ""},
      {"GET", "/b/k?versions", S3Op::kOther, "b", "k"},
      {"HEAD", "/b", S3Op::kHeadBucket, "b", ""},
      {"PUT", "/b", S3Op::kCreateBucket, "b", ""},
      {"PUT", "/b?cors", S3Op::kPutBucketCors, "b", ""},
      {"GET", "/b?cors", S3Op::kGetBucketCors, "b", ""},
      {"DELETE", "/b?cors", S3Op::kDeleteBucketCors, "b", ""},
      {"POST", "/b?cors", S3Op::kOther, "b", ""},
      {"GET", "/b/k?cors", S3Op::kOther, "b", "k"},
      {"DELETE", "/b", S3Op::kDeleteBucket, "b", ""},
      {"POST", "/b?delete", S3Op::kDeleteObjects, "b", ""},
      {"POST", "/b?delete=", S3Op::kDeleteObjects, "b", ""},
      {"GET", "/b?delete", S3Op::kOther, "b", ""},
      {"PUT", "/b/k?tagging", S3Op::kPutObjectTagging, "b", "k"},
      {"DELETE", "/b/k?tagging", S3Op::kDeleteObjectTagging, "b", "k"},
      {"GET", "/b/k?tagging&versionId=null", S3Op::kGetObjectTagging, "b", "k"},
      {"POST", "/b/k?tagging", S3Op::kOther, "b", "k"},
      {"GET", "/b/k?tagging&acl", S3Op::kOther, "b", "k"},
      {"GET", "/b/k?attributes", S3Op::kGetObjectAttributes, "b", "k"},
      {"HEAD", "/b/k?attributes", S3Op::kOther, "b", "k"},
      {"GET", "/b?tagging", S3Op::kOther, "b", ""},
      {"PUT", "/b/k", S3Op::kPutObject, "b", "k"},
      {"PUT", "/b/k?partNumber=1&uploadId=x", S3Op::kUploadPart, "b", "k"},
      {"PUT", "/b/k?uploadId=x", S3Op::kOther, "b", "k"},
      {"POST", "/b/k?uploadId=x", S3Op::kCompleteMultipartUpload, "b", "k"},
      {"DELETE", "/b/k?uploadId=x", S3Op::kAbortMultipartUpload, "b", "k"},
      {"GET", "/b/k?uploadId=x&max-parts=2", S3Op::kListParts, "b", "k"},
      {"GET", "/b/k?partNumber=2", S3Op::kGetObject, "b", "k"},
      {"HEAD", "/b/k?partNumber=2", S3Op::kHeadObject, "b", "k"},
      {"GET", "/b/k?partNumber=2&tagging", S3Op::kOther, "b", "k"},
      {"POST", "/b/k?uploads&tagging", S3Op::kOther, "b", "k"},
      {"GET", "/b/dir/a%20b%2Fc", S3Op::kGetObject, "b", "dir/a b/c"},
      {"GET", "/b/k?tagging", S3Op::kGetObjectTagging, "b", "k"},
      {"HEAD", "/b/k", S3Op::kHeadObject, "b", "k"},
      {"DELETE", "/b/k", S3Op::kDeleteObject, "b", "k"},
      {"POST", "/b/k?uploads", S3Op::kCreateMultipartUpload, "b", "k"},
      {"GET", "/b/..%2F..%2Fetc", S3Op::kGetObject, "b", "../../etc"},
  };
  for (const auto& c : cases) {
    http::RequestHead h = Head(c.method, c.target);
    Classified r = Classify(h);
    EXPECT_FALSE(r.bad_uri) << c.target;
    EXPECT_EQ(r.op, c.op) << c.method << " " << c.target;
    EXPECT_EQ(r.bucket, c.bucket) << c.target;
    EXPECT_EQ(r.key, c.key) << c.target;
  }
}

// With x-amz-copy-source, a PUT is CopyObject, never a plain write, and a part upload is
// UploadPartCopy, never UploadPart.
TEST(Classify, CopySourceIsNotAPlainPut) {
  const std::string target = "/b/k";
  http::RequestHead h = Head("PUT", target);
  h.headers[0] = {"x-amz-copy-source", "/b/other"};
  h.header_count = 1;
  EXPECT_EQ(Classify(h).op, S3Op::kCopyObject);
  // UploadPartCopy is not CopyObject.
  const std::string part = "/b/k?partNumber=1&uploadId=x";
  http::RequestHead hp = Head("PUT", part);
  hp.headers[0] = {"x-amz-copy-source", "/b/other"};
  hp.header_count = 1;
  EXPECT_NE(Classify(hp).op, S3Op::kCopyObject);
  EXPECT_EQ(Classify(hp).op, S3Op::kUploadPartCopy);
}

TEST(DecodedQuery, AbsentPresentMalformed) {
  std::string v = "kept";
  EXPECT_TRUE(DecodedQuery("a=1", "prefix", &v));
  EXPECT_EQ(v, "kept");
  EXPECT_TRUE(DecodedQuery("prefix=a%2Fb+c", "prefix", &v));
  EXPECT_EQ(v, "a/b c");
  EXPECT_FALSE(DecodedQuery("prefix=%zz", "prefix", &v));
}

TEST(Classify, BadPercentEncoding) {
  for (const char* t : {"/b/%zz", "/b/%4", "/%", "/b/a%"}) {
    EXPECT_TRUE(Classify(Head("GET", t)).bad_uri) << t;
  }
}

TEST(PercentDecode, KeepsNulAndHighBytes) {
  EXPECT_EQ(PercentDecode("a%00b%FF"), std::string("a\0b\xff", 4));
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
}

TEST(FindQuery, BareAndValued) {
  EXPECT_TRUE(FindQuery("uploads", "uploads").present);
  EXPECT_TRUE(FindQuery("a=1&uploads&b=2", "uploads").present);
  EXPECT_FALSE(FindQuery("uploadsx=1", "uploads").present);
  EXPECT_EQ(FindQuery("a=1&prefix=x%2Fy", "prefix").raw, "x%2Fy");
}

// Virtual-host style (--domain): the bucket from the Host header, the whole path as the key;
// the domain itself, other hosts and an unset domain stay path style.
TEST(Classify, VirtualHost) {
  struct VCase {
    const char* domain;
    const char* host;
    const char* method;
    const char* target;
    S3Op op;
    const char* bucket;
    const char* key;
  };
  const VCase cases[] = {
      {"s3.local", "b.s3.local:9000", "GET", "/k", S3Op::kGetObject, "b", "k"},
      {"s3.local", "b.s3.local", "GET", "/dir/a%20b", S3Op::kGetObject, "b", "dir/a b"},
      {"s3.local", "B.S3.Local:80", "PUT", "/k", S3Op::kPutObject, "b", "k"},
      {"s3.local", "b.s3.local:9000", "GET", "/", S3Op::kListObjectsV1, "b", ""},
      {"s3.local", "b.s3.local:9000", "GET", "/?list-type=2", S3Op::kListObjectsV2, "b", ""},
      {"s3.local", "b.s3.local", "HEAD", "/", S3Op::kHeadBucket, "b", ""},
      {"s3.local", "my.dotted.bucket.s3.local", "GET", "/k", S3Op::kGetObject, "my.dotted.bucket", "k"},
      {"s3.local", "b.s3.local", "GET", "/b/k", S3Op::kGetObject, "b", "b/k"},  // the path is the key
      {"s3.local", "s3.local:9000", "GET", "/b/k", S3Op::kGetObject, "b", "k"},  // the domain: path style
      {"s3.local", "s3.local", "GET", "/", S3Op::kListBuckets, "", ""},
      {"s3.local", "127.0.0.1:9000", "GET", "/b/k", S3Op::kGetObject, "b", "k"},
      {"s3.local", "bs3.local", "GET", "/b/k", S3Op::kGetObject, "b", "k"},  // not a subdomain
      {"s3.local", ".s3.local", "GET", "/b/k", S3Op::kGetObject, "b", "k"},
      {"s3.local", "[::1]:9000", "GET", "/b/k", S3Op::kGetObject, "b", "k"},
      {"", "b.s3.local", "GET", "/b/k", S3Op::kGetObject, "b", "k"},  // off
  };
  for (const VCase& c : cases) {
    http::RequestHead h = Head(c.method, c.target);
    h.headers[0] = {"host", c.host};
    h.header_count = 1;
    Classified r = Classify(h, c.domain);
    EXPECT_FALSE(r.bad_uri) << c.host << c.target;
    EXPECT_EQ(r.op, c.op) << c.host << c.target;
    EXPECT_EQ(r.bucket, c.bucket) << c.host << c.target;
    EXPECT_EQ(r.key, c.key) << c.host << c.target;
  }
}

}  // namespace
}  // namespace mamute::s3
