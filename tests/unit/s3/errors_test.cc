#include "s3/errors.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "store/buckets.h"
#include "store/meta_db.h"

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

// Every handler maps a failed store write through this one function: the same failure gets the
// same answer from PUT, POST, Copy and Complete.
TEST(Errors, StoreFailures) {
  EXPECT_EQ(FromStoreStatus(Status::NotFound(std::string(store::kBucketDeleted))).error, S3Error::kNoSuchBucket);
  EXPECT_EQ(FromStoreStatus(Status::NotFound("some record")).error, S3Error::kInternalError);
  EXPECT_EQ(FromStoreStatus(Status::FromErrno(ENOSPC, "write")).error, S3Error::kInsufficientStorage);
  const StoreFailure ro = FromStoreStatus(
      Status::ResourceExhausted(std::string(store::kMetaReadOnly) + " (WAL sync failed)"));
  EXPECT_EQ(ro.error, S3Error::kServiceUnavailable);
  EXPECT_NE(ro.message.find("read-only"), std::string_view::npos);
  const StoreFailure full = FromStoreStatus(Status::ResourceExhausted("commit queue full"));
  EXPECT_EQ(full.error, S3Error::kServiceUnavailable);
  EXPECT_TRUE(full.message.empty());
  EXPECT_EQ(FromStoreStatus(Status::Cancelled("stopping")).error, S3Error::kServiceUnavailable);
  EXPECT_EQ(FromStoreStatus(Status::FromErrno(EIO, "write")).error, S3Error::kInternalError);
}

}  // namespace
}  // namespace mamute::s3
