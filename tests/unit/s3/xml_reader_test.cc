#include "s3/xml_reader.h"

#include <gtest/gtest.h>

namespace mamute::s3 {
namespace {

TEST(XmlReader, ParsesCompleteMultipartUpload) {
  auto doc = ParseXml(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Part><PartNumber>1</PartNumber><ETag>\"abc\"</ETag></Part>"
      "<Part><PartNumber>2</PartNumber><ETag>&quot;def&quot;</ETag></Part>"
      "</CompleteMultipartUpload>");
  ASSERT_TRUE(doc.has_value()) << doc.error().ToString();
  EXPECT_EQ(doc->name, "CompleteMultipartUpload");
  ASSERT_EQ(doc->children.size(), 2u);
  EXPECT_EQ(*doc->children[0].ChildText("PartNumber"), "1");
  EXPECT_EQ(*doc->children[0].ChildText("ETag"), "\"abc\"");
  EXPECT_EQ(*doc->children[1].ChildText("ETag"), "\"def\"");
  EXPECT_EQ(doc->children[1].ChildText("Missing"), nullptr);
}

TEST(XmlReader, KeepsSpacesAndDecodesReferences) {
  auto doc = ParseXml("<Delete><Object><Key> a&amp;b&#x20;&lt;c&gt; </Key></Object></Delete>");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(*doc->Child("Object")->ChildText("Key"), " a&b <c> ");
}

TEST(XmlReader, StripsNamespacePrefixes) {
  auto doc = ParseXml("<s3:Tagging xmlns:s3=\"x\"><s3:TagSet/></s3:Tagging>");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(doc->name, "Tagging");
  EXPECT_NE(doc->Child("TagSet"), nullptr);
}

TEST(XmlReader, RejectsMalformedAndHostileDocuments) {
  for (const char* bad : {"", "<a>", "<a></b>", "<a/><b/>", "not xml", "<a>&unknown;</a>",
                          "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
                          "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>"}) {
    EXPECT_FALSE(ParseXml(bad).has_value()) << bad;
  }
}

TEST(XmlReader, EnforcesLimits) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "<a>";
  for (int i = 0; i < 40; ++i) deep += "</a>";
  EXPECT_FALSE(ParseXml(deep).has_value());

  XmlLimits small;
  small.max_elements = 3;
  EXPECT_TRUE(ParseXml("<a><b/><c/></a>", small).has_value());
  EXPECT_FALSE(ParseXml("<a><b/><c/><d/></a>", small).has_value());
  small.max_bytes = 5;
  EXPECT_FALSE(ParseXml("<a>123</a>", small).has_value());
  XmlLimits text;
  text.max_text = 4;
  EXPECT_FALSE(ParseXml("<a>12345</a>", text).has_value());
}

}  // namespace
}  // namespace mamute::s3
