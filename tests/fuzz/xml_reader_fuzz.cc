// libFuzzer target: the S3 request-body XML reader (expat with limits) on arbitrary bytes.
// Checks: no crash or sanitizer report; limits hold on everything accepted (depth, element
// count, text size); a parse is deterministic.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "s3/xml_reader.h"

namespace {

using mamute::s3::XmlLimits;
using mamute::s3::XmlNode;

void Check(const XmlNode& n, const XmlLimits& lim, uint32_t depth, uint32_t* count) {
  if (depth > lim.max_depth || n.text.size() > lim.max_text) std::abort();
  if (++*count > lim.max_elements) std::abort();
  for (const XmlNode& c : n.children) Check(c, lim, depth + 1, count);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  XmlLimits lim;
  lim.max_depth = 8;
  lim.max_elements = 200;
  lim.max_text = 256;
  auto a = mamute::s3::ParseXml(in, lim);
  auto b = mamute::s3::ParseXml(in, lim);
  if (a.has_value() != b.has_value()) std::abort();
  if (a) {
    uint32_t count = 0;
    Check(*a, lim, 1, &count);
  }
  return 0;
}
