#include "s3/object_requests.h"

#include <charconv>

#include "s3/request.h"
#include "s3/xml_reader.h"

namespace mamute::s3 {
namespace {

S3Fail Fail(S3Error e, std::string_view message) { return S3Fail{e, std::string(message)}; }

// Unicode characters in UTF-8 text (continuation bytes are not counted): AWS counts tag
// lengths in characters.
std::size_t Utf8Chars(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string_view TrimSpace(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Only the children named `name` of `node`; MalformedXML for any other element.
bool OnlyChildren(const XmlNode& node, std::initializer_list<std::string_view> names) {
  for (const XmlNode& c : node.children) {
    bool ok = false;
    for (std::string_view n : names) ok = ok || c.name == n;
    if (!ok) return false;
  }
  return true;
}

std::string_view TrimEtag(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '"' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '"' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

}  // namespace

bool EtagListMatches(std::string_view list, std::string_view etag_hex) {
  std::size_t pos = 0;
  while (pos <= list.size()) {
    auto comma = list.find(',', pos);
    std::string_view item = TrimEtag(list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    if (item.starts_with("W/")) item = TrimEtag(item.substr(2));
    if (item == "*" || item == etag_hex) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

// ---------------------------------------------------------------- tagging

std::optional<S3Fail> ValidateTags(const TagSet& tags) {
  if (tags.size() > kMaxObjectTags) {
    return Fail(S3Error::kInvalidTag, "Object tags cannot be greater than 10");
  }
  for (std::size_t i = 0; i < tags.size(); ++i) {
    const auto& [k, v] = tags[i];
    if (k.empty()) return Fail(S3Error::kInvalidTag, "The TagKey you have provided is invalid");
    if (Utf8Chars(k) > kMaxTagKeyChars) {
      return Fail(S3Error::kInvalidTag, "The TagKey you have provided is too long, max 128");
    }
    if (Utf8Chars(v) > kMaxTagValueChars) {
      return Fail(S3Error::kInvalidTag, "The TagValue you have provided is too long, max 256");
    }
    if (k.starts_with("aws:")) {
      return Fail(S3Error::kInvalidTag, "Your TagKey cannot be prefixed with aws:");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (tags[j].first == k) {
        return Fail(S3Error::kInvalidTag, "Cannot provide multiple Tags with the same key");
      }
    }
  }
  return std::nullopt;
}

std::optional<S3Fail> ParseTaggingHeader(std::string_view value, TagSet* out) {
  out->clear();
  std::size_t pos = 0;
  while (pos < value.size()) {
    std::size_t amp = value.find('&', pos);
    std::string_view kv = value.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    pos = amp == std::string_view::npos ? value.size() : amp + 1;
    if (kv.empty()) continue;
    std::size_t eq = kv.find('=');
    auto k = DecodeQueryValue(kv.substr(0, eq));
    auto v = DecodeQueryValue(eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1));
    if (!k || !v) return Fail(S3Error::kInvalidArgument, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.");
    if (out->size() > kMaxObjectTags) break;  // ValidateTags reports it
    out->emplace_back(std::move(*k), std::move(*v));
  }
  return ValidateTags(*out);
}

std::string FormatTaggingHeader(const TagSet& tags) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  auto enc = [](std::string* o, std::string_view s) {
    for (unsigned char c : s) {
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.' || c == '~') {
        o->push_back(static_cast<char>(c));
      } else {
        o->push_back('%');
        o->push_back(kHex[c >> 4]);
        o->push_back(kHex[c & 15]);
      }
    }
  };
  std::string out;
  for (const auto& [k, v] : tags) {
    if (!out.empty()) out.push_back('&');
    enc(&out, k);
    out.push_back('=');
    enc(&out, v);
  }
  return out;
}

std::optional<S3Fail> ParseTaggingXml(std::string_view body, TagSet* out) {
  out->clear();
  XmlLimits limits;
  limits.max_bytes = kMaxTaggingBodyBytes;
  limits.max_elements = 200;
  auto doc = ParseXml(body, limits);
  if (!doc || doc->name != "Tagging" || !OnlyChildren(*doc, {"TagSet"})) {
    return Fail(S3Error::kMalformedXML, {});
  }
  const XmlNode* set = doc->Child("TagSet");
  if (set == nullptr || !OnlyChildren(*set, {"Tag"})) return Fail(S3Error::kMalformedXML, {});
  for (const XmlNode& tag : set->children) {
    const std::string* k = tag.ChildText("Key");
    const std::string* v = tag.ChildText("Value");
    if (k == nullptr || v == nullptr || tag.children.size() != 2) return Fail(S3Error::kMalformedXML, {});
    if (out->size() > kMaxObjectTags) break;  // ValidateTags reports it
    out->emplace_back(*k, *v);
  }
  return ValidateTags(*out);
}

// ---------------------------------------------------------------- CopyObject

std::optional<S3Fail> ParseCopySource(std::string_view value, CopySource* out) {
  static constexpr std::string_view kBad =
      "Copy Source must mention the source bucket and key: sourcebucket/sourcekey";
  // The query part is not encoded ('?' inside a key arrives as %3F).
  std::string_view path = value;
  if (std::size_t q = value.find('?'); q != std::string_view::npos) {
    path = value.substr(0, q);
    std::string_view query = value.substr(q + 1);
    QueryValue vid = FindQuery(query, "versionId");
    if (!vid.present || query.size() != 10 + vid.raw.size()) {
      return Fail(S3Error::kInvalidArgument, kBad);
    }
    if (vid.raw != "null") {
      return Fail(S3Error::kNoSuchVersion, "The specified version does not exist.");
    }
  }
  if (path.starts_with('/')) path.remove_prefix(1);
  auto decoded = PercentDecode(path);
  if (!decoded) return Fail(S3Error::kInvalidArgument, kBad);
  std::size_t slash = decoded->find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == decoded->size()) {
    return Fail(S3Error::kInvalidArgument, kBad);
  }
  out->bucket = decoded->substr(0, slash);
  out->key = decoded->substr(slash + 1);
  return std::nullopt;
}

std::optional<S3Fail> ParseCopySourceRange(std::string_view value, uint64_t size, uint64_t* first,
                                           uint64_t* length) {
  static constexpr std::string_view kForm =
      "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the "
      "zero-based offsets of the first and last bytes to copy";
  if (!value.starts_with("bytes=")) return Fail(S3Error::kInvalidArgument, kForm);
  value.remove_prefix(6);
  const std::size_t dash = value.find('-');
  if (dash == std::string_view::npos) return Fail(S3Error::kInvalidArgument, kForm);
  auto num = [](std::string_view s, uint64_t* out) {
    if (s.empty() || s.size() > 19) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  uint64_t a = 0, b = 0;
  if (!num(value.substr(0, dash), &a) || !num(value.substr(dash + 1), &b)) {
    return Fail(S3Error::kInvalidArgument, kForm);
  }
  if (a > b || b >= size) {
    return Fail(S3Error::kInvalidArgument,
                "Range specified is not valid for source object of size: " + std::to_string(size));
  }
  *first = a;
  *length = b - a + 1;
  return std::nullopt;
}

// ---------------------------------------------------------------- DeleteObjects

std::optional<S3Fail> ParseDeleteObjects(std::string_view body, DeleteList* out) {
  out->quiet = false;
  out->objects.clear();
  XmlLimits limits;
  limits.max_bytes = kMaxDeleteBodyBytes;
  limits.max_elements = 4 * kMaxDeleteKeys + 16;
  auto doc = ParseXml(body, limits);
  if (!doc || doc->name != "Delete" || !OnlyChildren(*doc, {"Object", "Quiet"})) {
    return Fail(S3Error::kMalformedXML, {});
  }
  if (const std::string* q = doc->ChildText("Quiet")) {
    std::string_view t = TrimSpace(*q);
    if (t == "true") {
      out->quiet = true;
    } else if (t != "false") {
      return Fail(S3Error::kMalformedXML, {});
    }
  }
  for (const XmlNode& o : doc->children) {
    if (o.name != "Object") continue;
    if (out->objects.size() == kMaxDeleteKeys) return Fail(S3Error::kMalformedXML, {});
    const std::string* k = o.ChildText("Key");
    if (k == nullptr || k->empty() || !OnlyChildren(o, {"Key", "VersionId", "ETag", "LastModifiedTime", "Size"})) {
      return Fail(S3Error::kMalformedXML, {});
    }
    DeleteEntry e;
    e.key = *k;
    if (const std::string* v = o.ChildText("VersionId")) {
      e.has_version = true;
      e.version_id = *v;
    }
    out->objects.push_back(std::move(e));
  }
  if (out->objects.empty()) return Fail(S3Error::kMalformedXML, {});
  return std::nullopt;
}

// ---------------------------------------------------------------- GetObjectAttributes

std::optional<S3Fail> ParseObjectAttributes(std::string_view value, uint8_t* mask) {
  *mask = 0;
  std::size_t pos = 0;
  while (pos <= value.size()) {
    std::size_t comma = value.find(',', pos);
    std::string_view item = TrimSpace(value.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    pos = comma == std::string_view::npos ? value.size() + 1 : comma + 1;
    if (item.empty()) continue;
    if (item == "ETag") {
      *mask |= kAttrETag;
    } else if (item == "Checksum") {
      *mask |= kAttrChecksum;
    } else if (item == "ObjectParts") {
      *mask |= kAttrObjectParts;
    } else if (item == "StorageClass") {
      *mask |= kAttrStorageClass;
    } else if (item == "ObjectSize") {
      *mask |= kAttrObjectSize;
    } else {
      return Fail(S3Error::kInvalidArgument, "Invalid attribute name specified.");
    }
  }
  if (*mask == 0) {
    return Fail(S3Error::kInvalidArgument,
                "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty");
  }
  return std::nullopt;
}

}  // namespace mamute::s3
