// XmlReader: S3 request bodies (CompleteMultipartUpload, DeleteObjects, Tagging, CORS, ...)
// parsed by expat into a small element tree, with hard limits.
//
// Namespaces are ignored (a "ns:Name" element is "Name"); attributes are ignored; a DOCTYPE
// is rejected (no entity definitions, so no entity expansion attacks); the five predefined
// entities and character references are decoded by expat. Text is kept exactly (no trimming:
// object keys may start or end with spaces).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mamute/result.h"

namespace mamute::s3 {

struct XmlNode {
  std::string name;
  std::string text;  ///< character data directly inside this element
  std::vector<XmlNode> children;

  /// The first child named `name`, or nullptr.
  const XmlNode* Child(std::string_view child_name) const noexcept;
  /// The text of the first child named `name`, or nullptr when there is none.
  const std::string* ChildText(std::string_view child_name) const noexcept;
};

struct XmlLimits {
  std::size_t max_bytes = 2u << 20;  ///< body size
  uint32_t max_depth = 16;
  uint32_t max_elements = 20000;
  std::size_t max_text = 64u << 10;  ///< bytes of text in one element
};

/// Parses a whole document. InvalidArgument (→ S3 MalformedXML) when it is not well-formed,
/// has a DOCTYPE, or breaks a limit.
Result<XmlNode> ParseXml(std::string_view body, const XmlLimits& limits = {});

}  // namespace mamute::s3
