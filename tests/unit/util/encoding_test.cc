#include "util/encoding.h"

#include <gtest/gtest.h>

namespace mamute::util {
namespace {

TEST(Hex, RoundTrip) {
  std::string bin("\x00\x01\xab\xff", 4);
  EXPECT_EQ(HexEncode(bin.data(), bin.size()), "0001abff");
  EXPECT_EQ(HexDecode("0001abff"), bin);
  EXPECT_EQ(HexDecode("0001ABFF"), bin);
}

TEST(Hex, Invalid) {
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
  EXPECT_EQ(HexDecode(""), std::string());
}

struct B64Case {
  const char* plain;
  const char* std;
  const char* url;
};

TEST(Base64, Rfc4648Vectors) {
  const B64Case cases[] = {
      {"", "", ""},           {"f", "Zg==", "Zg"},         {"fo", "Zm8=", "Zm8"},
      {"foo", "Zm9v", "Zm9v"}, {"foob", "Zm9vYg==", "Zm9vYg"}, {"fooba", "Zm9vYmE=", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
  };
  for (const auto& c : cases) {
    std::string p(c.plain);
    EXPECT_EQ(Base64Encode(p.data(), p.size()), c.std);
    EXPECT_EQ(Base64UrlEncode(p.data(), p.size()), c.url);
    EXPECT_EQ(Base64Decode(c.std), p);
    EXPECT_EQ(Base64UrlDecode(c.url), p);
  }
}

TEST(Base64, UrlAlphabet) {
  std::string bin("\xfb\xff\xbf", 3);
  EXPECT_EQ(Base64Encode(bin.data(), bin.size()), "+/+/");
  EXPECT_EQ(Base64UrlEncode(bin.data(), bin.size()), "-_-_");
  EXPECT_EQ(Base64UrlDecode("-_-_"), bin);
}

TEST(Base64, RejectsMalformed) {
  const char* bad[] = {"Zg=", "Z===", "Zm9v!", "Zh==" /* non-zero pad bits */, "A"};
  for (const char* b : bad) EXPECT_FALSE(Base64Decode(b).has_value()) << b;
  EXPECT_FALSE(Base64UrlDecode("Zm9v+").has_value());
}

}  // namespace
}  // namespace mamute::util
