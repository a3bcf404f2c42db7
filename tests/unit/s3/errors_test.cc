#include "s3/errors.h"

#include <gtest/gtest.h>

namespace mamute::s3 {
namespace {

TEST(Errors, TableRows) {
  EXPECT_EQ(HttpStatus(S3Error::kNoSuchKey), 404);
  EXPECT_EQ(CodeString(S3Error::kNoSuchKey), "NoSuchKey");
  EXPECT_EQ(HttpStatus(S3Error::kNotImplemented), 501);
  EXPECT_EQ(HttpStatus(S3Error::kBucketAlreadyOwnedByYou), 409);
  EXPECT_EQ(HttpStatus(S3Error::kInvalidRange), 416);
}

TEST(Errors, XmlIsEscapedAndCarriesRequestId) {
  std::string x = RenderErrorXml(S3Error::kNoSuchKey, "", "/b/<k>&", "ABC123");
  EXPECT_NE(x.find("<Code>NoSuchKey</Code>"), std::string::npos);
  EXPECT_NE(x.find("<Resource>/b/&lt;k&gt;&amp;</Resource>"), std::string::npos);
  EXPECT_NE(x.find("<RequestId>ABC123</RequestId>"), std::string::npos);
  EXPECT_NE(x.find("<Message>The specified key does not exist.</Message>"), std::string::npos);
}

}  // namespace
}  // namespace mamute::s3
