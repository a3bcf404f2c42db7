#include <gtest/gtest.h>

#include <cerrno>

#include "mamute/result.h"
#include "mamute/status.h"

namespace mamute {
namespace {

Status Fails() { return Status::NotFound("thing"); }
Status Chain() {
  MAMUTE_RETURN_IF_ERROR(Fails());
  return Status::Internal("not reached");
}
Result<int> Half(int v) {
  if (v % 2 != 0) return Err(Status::InvalidArgument("odd"));
  return v / 2;
}

TEST(Status, Basics) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Status::FromErrno(ENOSPC, "write object");
  EXPECT_EQ(s.code(), Code::kNoSpace);
  EXPECT_EQ(s.err(), ENOSPC);
  EXPECT_NE(s.ToString().find("write object"), std::string::npos);
  EXPECT_EQ(Status::FromErrno(EIO, "x").code(), Code::kIoError);
  EXPECT_EQ(Status::FromErrno(ENOENT, "x").code(), Code::kNotFound);
  EXPECT_EQ(Chain().code(), Code::kNotFound);
}

TEST(Result, ValueOrError) {
  auto a = Half(4);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, 2);
  auto b = Half(3);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace mamute
