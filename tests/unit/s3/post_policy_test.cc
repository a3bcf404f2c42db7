#include "s3/post_policy.h"

#include <gtest/gtest.h>

#include "util/encoding.h"

namespace mamute::s3 {
namespace {

struct Collect final : FormParser::Sink {
  std::string filename, type, data;
  int starts = 0;
  bool refuse = false;
  bool OnFileStart(std::string_view f, std::string_view t) override {
    ++starts;
    filename = f;
    type = t;
    return !refuse;
  }
  bool OnFileData(std::string_view d) override {
    data.append(d);
    return true;
  }
};

std::string Form(const std::vector<std::pair<std::string, std::string>>& fields, std::string_view file,
                 std::string_view boundary = "XyZ") {
  std::string b;
  for (const auto& [n, v] : fields) {
    b += "--" + std::string(boundary) + "\r\nContent-Disposition: form-data; name=\"" + n + "\"\r\n\r\n" + v + "\r\n";
  }
  b += "--" + std::string(boundary) +
       "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\\\dir\\\\a.txt\"\r\n"
       "Content-Type: text/plain\r\n\r\n";
  b += file;
  b += "\r\n--" + std::string(boundary) + "--\r\n";
  return b;
}

TEST(PostPolicy, Boundary) {
  EXPECT_EQ(FormBoundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(FormBoundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\""), "a b");
  EXPECT_FALSE(FormBoundary("multipart/mixed; boundary=abc").has_value());
  EXPECT_FALSE(FormBoundary("multipart/form-data").has_value());
  EXPECT_FALSE(FormBoundary("multipart/form-data; boundary=" + std::string(71, 'a')).has_value());
  EXPECT_FALSE(FormBoundary("application/octet-stream").has_value());
}

// Every split of the body into two pieces parses the same (delimiters split across pieces).
TEST(PostPolicy, FormParserAnySplit) {
  const std::string file = "line1\r\n--Xy not a delimiter\r\n-XyZ\r\n--Xy\r\nend\r";
  std::string body = Form({{"key", "uploads/${filename}"}, {"x-amz-meta-a", "v\r\nw"}}, file);
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    FormParser p("XyZ");
    Collect sink;
    ASSERT_TRUE(p.Feed(std::string_view(body).substr(0, cut), &sink)) << cut;
    ASSERT_TRUE(p.Feed(std::string_view(body).substr(cut), &sink)) << cut;
    ASSERT_TRUE(p.Finish()) << cut;
    EXPECT_EQ(sink.data, file) << cut;
    EXPECT_EQ(sink.starts, 1);
    EXPECT_EQ(sink.filename, "C:\\dir\\a.txt");
    EXPECT_EQ(sink.type, "text/plain");
    ASSERT_NE(p.Field("KEY"), nullptr);
    EXPECT_EQ(*p.Field("key"), "uploads/${filename}");
    EXPECT_EQ(*p.Field("x-amz-meta-a"), "v\r\nw");
  }
}

TEST(PostPolicy, FormParserFailures) {
  struct Case {
    std::string body;
    S3Error error;
  } cases[] = {
      {"--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--XyZ--\r\n",
       S3Error::kIncorrectNumberOfFilesInPostRequest},
      {"--XyZ\r\nContent-Disposition: attachment; name=\"key\"\r\n\r\nk\r\n--XyZ--\r\n", S3Error::kMalformedPOSTRequest},
      {"--XyZ\r\nno colon here\r\n\r\nk\r\n--XyZ--\r\n", S3Error::kMalformedPOSTRequest},
      {"--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nunterminated", S3Error::kIncompleteBody},
      {"--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n" + std::string(30000, 'k'),
       S3Error::kMaxPostPreDataLengthExceeded},
      {"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ\r\n"
       "Content-Disposition: form-data; name=\"A\"\r\n\r\n2\r\n--XyZ--",
       S3Error::kInvalidArgument},
      {"", S3Error::kIncorrectNumberOfFilesInPostRequest},
  };
  for (const Case& c : cases) {
    FormParser p("XyZ");
    Collect sink;
    bool ok = p.Feed(c.body, &sink) && p.Finish();
    EXPECT_FALSE(ok) << c.body.substr(0, 80);
    ASSERT_TRUE(p.failure().has_value()) << c.body.substr(0, 80);
    EXPECT_EQ(p.failure()->error, c.error) << c.body.substr(0, 80);
  }
  // A sink that refuses the file stops the parser without a failure of its own.
  FormParser p("XyZ");
  Collect sink;
  sink.refuse = true;
  EXPECT_FALSE(p.Feed(Form({{"key", "k"}}, "data"), &sink));
  EXPECT_FALSE(p.failure().has_value());
}

TEST(PostPolicy, FieldsAfterTheFileAreIgnored) {
  std::string body = Form({{"key", "k"}}, "data");
  body.resize(body.size() - 4);  // drop "--\r\n": another part follows
  body += "\r\nContent-Disposition: form-data; name=\"late\"\r\n\r\nx\r\n--XyZ--\r\n";
  FormParser p("XyZ");
  Collect sink;
  ASSERT_TRUE(p.Feed(body, &sink));
  ASSERT_TRUE(p.Finish());
  EXPECT_EQ(sink.data, "data");
  EXPECT_EQ(p.Field("late"), nullptr);
}

std::string B64(std::string_view s) { return util::Base64Encode(s.data(), s.size()); }

TEST(PostPolicy, ParsesPolicy) {
  PostFailure f{S3Error::kInternalError, {}};
  auto p = ParsePostPolicy(B64(R"({"expiration":"2030-01-01T00:00:00.000Z","conditions":[
      {"bucket":"b"},["starts-with","$key","uploads/"],["content-length-range",1,"100"],
      ["eq","$x-amz-meta-a","v"],{"x-amz-date":"20300101T000000Z"}]})"),
                           &f);
  ASSERT_TRUE(p.has_value()) << f.message;
  EXPECT_EQ(p->expiration_s, 1893456000);
  ASSERT_EQ(p->conditions.size(), 5u);
  EXPECT_EQ(p->conditions[1].kind, PolicyCondition::Kind::kStartsWith);
  EXPECT_EQ(p->conditions[1].field, "key");
  ASSERT_TRUE(p->length_range.has_value());
  EXPECT_EQ(p->length_range->first, 1);
  EXPECT_EQ(p->length_range->second, 100);
  for (std::string bad : {std::string("not base64!"), B64("{"), B64("[]"), B64(R"({"conditions":[]})"),
                          B64(R"({"expiration":"tomorrow","conditions":[]})"),
                          B64(R"({"expiration":"2030-01-01T00:00:00Z"})"),
                          B64(R"({"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","key","x"]]})"),
                          B64(R"({"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",5,1]]})"),
                          B64(R"({"expiration":"2030-01-01T00:00:00Z","conditions":[["in","$key","x"]]})"),
                          B64(R"({"expiration":"2030-01-01T00:00:00Z","conditions":[{"a":"1","b":"2"}]})")}) {
    EXPECT_FALSE(ParsePostPolicy(bad, &f).has_value()) << bad;
    EXPECT_EQ(f.error, S3Error::kInvalidPolicyDocument);
  }
}

TEST(PostPolicy, Iso8601) {
  EXPECT_EQ(ParseIso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseIso8601("2030-01-01T00:00:00.123Z"), 1893456000);
  EXPECT_FALSE(ParseIso8601("2030-01-01T00:00:00").has_value());
  EXPECT_FALSE(ParseIso8601("2030-13-01T00:00:00Z").has_value());
  EXPECT_FALSE(ParseIso8601("2030-01-01T00:00:00.Z").has_value());
  EXPECT_FALSE(ParseIso8601("+030-01-01T00:00:00Z").has_value());
}

TEST(PostPolicy, EvaluatesConditions) {
  PostFailure f{S3Error::kInternalError, {}};
  auto p = ParsePostPolicy(B64(R"({"expiration":"2030-01-01T00:00:00Z","conditions":[
      {"bucket":"b"},["starts-with","$key","uploads/"],["starts-with","$Content-Type","image/"],
      ["eq","$x-amz-meta-a","v"],["content-length-range",0,10]]})"),
                           &f);
  ASSERT_TRUE(p.has_value());
  std::vector<FormField> fields = {{"key", "uploads/${filename}"},
                                   {"Content-Type", "image/png, image/jpeg"},
                                   {"x-amz-meta-a", "v"},
                                   {"policy", "..."},
                                   {"x-amz-signature", "..."},
                                   {"x-ignore-me", "1"}};
  const int64_t now = 1800000000;
  EXPECT_FALSE(CheckPostPolicy(*p, fields, "b", "uploads/a.png", now).has_value());
  auto expect_denied = [&](std::optional<PostFailure> r, std::string_view part) {
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->error, S3Error::kAccessDenied);
    EXPECT_NE(r->message.find(part), std::string::npos) << r->message;
  };
  expect_denied(CheckPostPolicy(*p, fields, "b", "uploads/a.png", 1893456001), "Policy expired.");
  expect_denied(CheckPostPolicy(*p, fields, "other", "uploads/a.png", now), "{\"bucket\":\"b\"}");
  expect_denied(CheckPostPolicy(*p, fields, "b", "elsewhere/a.png", now), "$key");
  auto bad_type = fields;
  bad_type[1].value = "image/png, text/html";
  expect_denied(CheckPostPolicy(*p, bad_type, "b", "uploads/a.png", now), "$Content-Type");
  auto extra = fields;
  extra.push_back({"x-amz-meta-sneaky", "1"});
  expect_denied(CheckPostPolicy(*p, extra, "b", "uploads/a.png", now), "Extra input fields: x-amz-meta-sneaky");
  auto missing = fields;
  missing.erase(missing.begin() + 2);
  expect_denied(CheckPostPolicy(*p, missing, "b", "uploads/a.png", now), "x-amz-meta-a");
}

TEST(PostPolicy, SubstitutesFilename) {
  EXPECT_EQ(SubstituteFilename("uploads/${filename}", "a.txt"), "uploads/a.txt");
  EXPECT_EQ(SubstituteFilename("u/${filename}", "C:\\dir\\a.txt"), "u/a.txt");
  EXPECT_EQ(SubstituteFilename("u/${filename}/${filename}", "../x"), "u/x/x");
  EXPECT_EQ(SubstituteFilename("plain", "a"), "plain");
}

}  // namespace
}  // namespace mamute::s3
