#include "s3/cors.h"

#include <gtest/gtest.h>

namespace mamute::s3 {
namespace {

CorsConfig Parse(std::string_view xml, CorsFailure* f) {
  auto c = ParseCorsXml(xml, f);
  return c ? *c : CorsConfig{};
}

constexpr std::string_view kTwoRules =
    "<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<CORSRule><ID>app</ID><AllowedOrigin>https://*.example.com</AllowedOrigin>"
    "<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>"
    "<AllowedHeader>x-amz-*</AllowedHeader><AllowedHeader>Content-Type</AllowedHeader>"
    "<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>"
    "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule>"
    "</CORSConfiguration>";

TEST(Cors, ParsesAndRendersRoundTrip) {
  CorsFailure f{S3Error::kInternalError, {}};
  auto c = ParseCorsXml(kTwoRules, &f);
  ASSERT_TRUE(c.has_value()) << f.message;
  ASSERT_EQ(c->rules.size(), 2u);
  EXPECT_EQ(c->rules[0].id, "app");
  EXPECT_EQ(c->rules[0].allowed_methods, (std::vector<std::string>{"GET", "PUT"}));
  EXPECT_EQ(c->rules[0].max_age_seconds, 3000);
  EXPECT_FALSE(c->rules[1].max_age_seconds.has_value());
  auto again = ParseCorsXml(RenderCorsXml(*c), &f);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *c);
  auto stored = DecodeCors(EncodeCors(*c));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(*stored, *c);
  EXPECT_FALSE(DecodeCors(std::string("\x02") + RenderCorsXml(*c)).has_value());  // unknown version
  EXPECT_FALSE(DecodeCors("").has_value());
}

TEST(Cors, RejectsAsS3Does) {
  struct Case {
    std::string xml;
    S3Error error;
    std::string message_part;
  } cases[] = {
      {"<CORSConfiguration/>", S3Error::kMalformedXML, ""},
      {"<Other><CORSRule/></Other>", S3Error::kMalformedXML, ""},
      {"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
       S3Error::kMalformedXML, ""},
      {"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>",
       S3Error::kMalformedXML, ""},
      {"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"
       "</CORSRule></CORSConfiguration>",
       S3Error::kInvalidRequest, "Unsupported method is PATCH"},
      {"<CORSConfiguration><CORSRule><AllowedOrigin>*.*.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
       "</CORSRule></CORSConfiguration>",
       S3Error::kInvalidRequest, "can not have more than one wildcard"},
      {"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
       "<AllowedHeader>**</AllowedHeader></CORSRule></CORSConfiguration>",
       S3Error::kInvalidRequest, "AllowedHeader"},
      {"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
       "<ExposeHeader>x-*</ExposeHeader></CORSRule></CORSConfiguration>",
       S3Error::kInvalidRequest, "ExposeHeader"},
      {"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
       "<MaxAgeSeconds>soon</MaxAgeSeconds></CORSRule></CORSConfiguration>",
       S3Error::kMalformedXML, ""},
      {"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
       "<Bogus/></CORSRule></CORSConfiguration>",
       S3Error::kMalformedXML, ""},
      {"<CORSConfiguration><CORSRule>", S3Error::kMalformedXML, ""},
  };
  for (const Case& c : cases) {
    CorsFailure f{S3Error::kInternalError, {}};
    EXPECT_FALSE(ParseCorsXml(c.xml, &f).has_value()) << c.xml;
    EXPECT_EQ(f.error, c.error) << c.xml;
    EXPECT_NE(f.message.find(c.message_part), std::string::npos) << f.message;
  }
}

TEST(Cors, EnforcesRuleAndSizeLimits) {
  std::string rule = "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>";
  std::string xml = "<CORSConfiguration>";
  for (int i = 0; i < 100; ++i) xml += rule;
  CorsFailure f{S3Error::kInternalError, {}};
  EXPECT_TRUE(ParseCorsXml(xml + "</CORSConfiguration>", &f).has_value());
  EXPECT_FALSE(ParseCorsXml(xml + rule + "</CORSConfiguration>", &f).has_value());
  EXPECT_EQ(f.error, S3Error::kInvalidRequest);
  std::string big = "<CORSConfiguration><CORSRule><AllowedOrigin>" + std::string(70000, 'a') +
                    "</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";
  EXPECT_FALSE(ParseCorsXml(big, &f).has_value());
}

TEST(Cors, WildcardMatching) {
  struct Case {
    const char* pattern;
    const char* s;
    bool fold;
    bool match;
  } cases[] = {
      {"*", "https://a.b", false, true},
      {"https://*.example.com", "https://app.example.com", false, true},
      {"https://*.example.com", "https://example.com", false, false},
      {"https://*.example.com", "http://app.example.com", false, false},
      {"https://example.com", "https://example.com", false, true},
      {"https://example.com", "https://EXAMPLE.com", false, false},
      {"x-amz-*", "X-Amz-Date", true, true},
      {"content-type", "Content-Type", true, true},
      {"a*a", "a", false, false},  // prefix and suffix may not overlap
      {"a*a", "aa", false, true},
  };
  for (const Case& c : cases) EXPECT_EQ(WildcardMatch(c.pattern, c.s, c.fold), c.match) << c.pattern << " " << c.s;
}

TEST(Cors, MatchesRulesInOrder) {
  CorsFailure f{S3Error::kInternalError, {}};
  CorsConfig c = Parse(kTwoRules, &f);
  ASSERT_EQ(c.rules.size(), 2u);
  EXPECT_EQ(MatchCors(c, "https://app.example.com", "GET"), &c.rules[0]);
  EXPECT_EQ(MatchCors(c, "https://app.example.com", "HEAD"), &c.rules[1]);
  EXPECT_EQ(MatchCors(c, "https://app.example.com", "DELETE"), nullptr);
  EXPECT_EQ(MatchCors(c, "https://evil.com", "GET"), nullptr);
  EXPECT_EQ(MatchPreflight(c, "https://app.example.com", "PUT", "x-amz-date, content-type"), &c.rules[0]);
  EXPECT_EQ(MatchPreflight(c, "https://app.example.com", "PUT", "x-amz-date,authorization"), nullptr);
  EXPECT_EQ(MatchPreflight(c, "https://app.example.com", "PUT", ""), &c.rules[0]);
  EXPECT_EQ(MatchPreflight(c, "https://x.org", "HEAD", ""), &c.rules[1]);
  EXPECT_EQ(MatchPreflight(c, "https://x.org", "HEAD", "x-custom"), nullptr);  // rule 2 allows no headers
}

TEST(Cors, ResponseHeaders) {
  CorsFailure f{S3Error::kInternalError, {}};
  CorsConfig c = Parse(kTwoRules, &f);
  auto find = [](const auto& hs, std::string_view name) -> std::string {
    for (const auto& [n, v] : hs) {
      if (n == name) return v;
    }
    return "<absent>";
  };
  auto pre = CorsResponseHeaders(c.rules[0], "https://app.example.com", true, "X-Amz-Date, Content-Type");
  EXPECT_EQ(find(pre, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(find(pre, "Access-Control-Allow-Methods"), "GET, PUT");
  EXPECT_EQ(find(pre, "Access-Control-Allow-Headers"), "x-amz-date, content-type");
  EXPECT_EQ(find(pre, "Access-Control-Max-Age"), "3000");
  EXPECT_EQ(find(pre, "Access-Control-Expose-Headers"), "ETag");
  EXPECT_EQ(find(pre, "Access-Control-Allow-Credentials"), "true");
  auto any = CorsResponseHeaders(c.rules[1], "https://x.org", false, {});
  EXPECT_EQ(find(any, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(find(any, "Access-Control-Allow-Credentials"), "<absent>");
  EXPECT_EQ(find(any, "Access-Control-Allow-Headers"), "<absent>");
}

}  // namespace
}  // namespace mamute::s3
