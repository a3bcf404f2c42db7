#include "s3/request.h"

#include <cctype>

namespace mamute::s3 {
namespace {
int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Sub-resources that turn a bucket or object request into another operation;
// any of them we do not serve makes the request kOther (501), never a wrong answer.
constexpr std::string_view kSubresources[] = {
    "acl", "accelerate", "analytics", "attributes", "cors", "delete", "encryption", "intelligent-tiering",
    "inventory", "legal-hold", "lifecycle", "location", "logging", "metrics", "notification",
    "object-lock", "ownershipControls", "partNumber", "policy", "policyStatus", "publicAccessBlock",
    "replication", "requestPayment", "restore", "retention", "select", "tagging", "torrent", "uploadId",
    "uploads", "versioning", "versions", "website"};

// Object sub-resources served here: ?tagging and ?attributes, alone (any other sub-resource
// with them stays kOther).
void ClassifyObjectSubresource(http::Method m, std::string_view q, Classified* c) {
  int subs = 0;
  for (auto s : kSubresources) subs += FindQuery(q, s).present ? 1 : 0;
  if (subs != 1) return;
  if (FindQuery(q, "tagging").present) {
    if (m == http::Method::kGet) c->op = S3Op::kGetObjectTagging;
    if (m == http::Method::kPut) c->op = S3Op::kPutObjectTagging;
    if (m == http::Method::kDelete) c->op = S3Op::kDeleteObjectTagging;
  } else if (FindQuery(q, "attributes").present && m == http::Method::kGet) {
    c->op = S3Op::kGetObjectAttributes;
  }
}

// Multipart sub-resources (?uploads, ?uploadId, ?partNumber). nullopt: not a multipart
// request (or one we do not serve: 501).
std::optional<S3Op> ClassifyMultipart(http::Method m, std::string_view q, bool bucket_level,
                                      bool copy) {
  const bool uploads = FindQuery(q, "uploads").present;
  const bool upload_id = FindQuery(q, "uploadId").present;
  const bool part = FindQuery(q, "partNumber").present;
  for (auto s : kSubresources) {
    if (s != "uploads" && s != "uploadId" && s != "partNumber" && FindQuery(q, s).present) {
      return std::nullopt;
    }
  }
  if (bucket_level) {
    if (m == http::Method::kGet && uploads && !upload_id && !part) return S3Op::kListMultipartUploads;
    return std::nullopt;
  }
  if (uploads) {
    if (m == http::Method::kPost && !upload_id && !part) return S3Op::kCreateMultipartUpload;
    return std::nullopt;
  }
  if (upload_id) {
    switch (m) {
      case http::Method::kPut:
        if (!part) return std::nullopt;
        return copy ? S3Op::kUploadPartCopy : S3Op::kUploadPart;
      case http::Method::kPost: return part ? std::nullopt : std::optional(S3Op::kCompleteMultipartUpload);
      case http::Method::kDelete: return part ? std::nullopt : std::optional(S3Op::kAbortMultipartUpload);
      case http::Method::kGet: return part ? std::nullopt : std::optional(S3Op::kListParts);
      default: return std::nullopt;
    }
  }
  if (part) {  // GetObject / HeadObject of one part
    if (m == http::Method::kGet) return S3Op::kGetObject;
    if (m == http::Method::kHead) return S3Op::kHeadObject;
  }
  return std::nullopt;
}
}  // namespace

std::string_view S3OpName(S3Op op) noexcept {
  switch (op) {
    case S3Op::kListBuckets: return "ListBuckets";
    case S3Op::kHeadBucket: return "HeadBucket";
    case S3Op::kGetBucketLocation: return "GetBucketLocation";
    case S3Op::kGetBucketVersioning: return "GetBucketVersioning";
    case S3Op::kListObjectVersions: return "ListObjectVersions";
    case S3Op::kListObjectsV1: return "ListObjects";
    case S3Op::kListObjectsV2: return "ListObjectsV2";
    case S3Op::kCreateBucket: return "CreateBucket";
    case S3Op::kDeleteBucket: return "DeleteBucket";
    case S3Op::kPutObject: return "PutObject";
    case S3Op::kGetObject: return "GetObject";
    case S3Op::kHeadObject: return "HeadObject";
    case S3Op::kDeleteObject: return "DeleteObject";
    case S3Op::kCopyObject: return "CopyObject";
    case S3Op::kDeleteObjects: return "DeleteObjects";
    case S3Op::kGetObjectTagging: return "GetObjectTagging";
    case S3Op::kPutObjectTagging: return "PutObjectTagging";
    case S3Op::kDeleteObjectTagging: return "DeleteObjectTagging";
    case S3Op::kGetObjectAttributes: return "GetObjectAttributes";
    case S3Op::kGetBucketCors: return "GetBucketCors";
    case S3Op::kPutBucketCors: return "PutBucketCors";
    case S3Op::kDeleteBucketCors: return "DeleteBucketCors";
    case S3Op::kCreateMultipartUpload: return "CreateMultipartUpload";
    case S3Op::kUploadPart: return "UploadPart";
    case S3Op::kUploadPartCopy: return "UploadPartCopy";
    case S3Op::kCompleteMultipartUpload: return "CompleteMultipartUpload";
    case S3Op::kAbortMultipartUpload: return "AbortMultipartUpload";
    case S3Op::kListParts: return "ListParts";
    case S3Op::kListMultipartUploads: return "ListMultipartUploads";
    case S3Op::kOther: return "Other";
  }
  return "?";
}

std::optional<std::string> PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = HexVal(in[i + 1]), lo = HexVal(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>((hi << 4) | lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::optional<std::string> DecodeQueryValue(std::string_view raw) {
  std::string tmp(raw);
  for (char& c : tmp) {
    if (c == '+') c = ' ';
  }
  return PercentDecode(tmp);
}

QueryValue FindQuery(std::string_view query, std::string_view name) noexcept {
  std::size_t pos = 0;
  while (pos < query.size()) {
    std::size_t amp = query.find('&', pos);
    std::string_view kv = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    std::size_t eq = kv.find('=');
    std::string_view k = eq == std::string_view::npos ? kv : kv.substr(0, eq);
    if (k == name) return QueryValue{true, eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1)};
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return {};
}

bool DecodedQuery(std::string_view query, std::string_view name, std::string* out) {
  QueryValue v = FindQuery(query, name);
  if (!v.present) return true;
  auto d = DecodeQueryValue(v.raw);
  if (!d) return false;
  *out = std::move(*d);
  return true;
}

std::string_view VirtualHostBucket(std::string_view host, std::string_view domain) noexcept {
  if (domain.empty() || host.starts_with('[')) return {};  // off, or an IPv6 literal
  if (std::size_t colon = host.rfind(':'); colon != std::string_view::npos) host = host.substr(0, colon);
  if (host.size() > domain.size() && host.ends_with('.')) host.remove_suffix(1);  // "b.s3.local."
  if (host.size() < domain.size() + 2 || host[host.size() - domain.size() - 1] != '.' ||
      !http::EqualsIgnoreCase(host.substr(host.size() - domain.size()), domain)) {
    return {};
  }
  return host.substr(0, host.size() - domain.size() - 1);
}

Classified Classify(const http::RequestHead& head, std::string_view domain) {
  Classified c;
  std::string_view path = head.path;
  if (path.empty() || path[0] != '/') {
    c.bad_uri = true;
    return c;
  }
  path.remove_prefix(1);
  auto slash = path.find('/');
  std::string_view raw_bucket = slash == std::string_view::npos ? path : path.substr(0, slash);
  std::string_view raw_key = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  // Virtual-host style: the bucket is in the Host header, the whole path is the key.
  const std::string_view vhost_bucket = VirtualHostBucket(head.Find("host"), domain);
  if (!vhost_bucket.empty()) {
    raw_bucket = vhost_bucket;
    raw_key = path;
  }
  auto bucket = PercentDecode(raw_bucket);
  auto key = PercentDecode(raw_key);
  if (!bucket || !key) {
    c.bad_uri = true;
    return c;
  }
  c.bucket = std::move(*bucket);
  if (!vhost_bucket.empty()) {  // host names are case-insensitive, bucket names lowercase
    for (char& ch : c.bucket) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  c.key = std::move(*key);
  const http::Method m = head.method;
  std::string_view q = head.query;
  bool has_sub = false;
  for (auto s : kSubresources) {
    if (FindQuery(q, s).present) {
      has_sub = true;
      break;
    }
  }
  if (c.bucket.empty()) {
    if (m == http::Method::kGet && !has_sub) c.op = S3Op::kListBuckets;
    return c;
  }
  if (auto mp = ClassifyMultipart(m, q, c.key.empty(), head.Has("x-amz-copy-source"))) {
    c.op = *mp;
    return c;
  }
  if (c.key.empty()) {
    if (m == http::Method::kGet) {
      if (FindQuery(q, "location").present) {
        c.op = S3Op::kGetBucketLocation;
      } else if (FindQuery(q, "versioning").present) {
        c.op = S3Op::kGetBucketVersioning;
      } else if (FindQuery(q, "cors").present) {
        c.op = S3Op::kGetBucketCors;
      } else if (FindQuery(q, "versions").present) {
        c.op = S3Op::kListObjectVersions;
      } else if (!has_sub) {
        QueryValue lt = FindQuery(q, "list-type");
        if (lt.present && lt.raw == "2") {
          c.op = S3Op::kListObjectsV2;
        } else if (!lt.present) {
          c.op = S3Op::kListObjectsV1;
        }
      }
    } else if (m == http::Method::kPost && FindQuery(q, "delete").present) {
      c.op = S3Op::kDeleteObjects;
    } else if (FindQuery(q, "cors").present && (m == http::Method::kPut || m == http::Method::kDelete)) {
      c.op = m == http::Method::kPut ? S3Op::kPutBucketCors : S3Op::kDeleteBucketCors;
    } else if (!has_sub) {
      if (m == http::Method::kHead) c.op = S3Op::kHeadBucket;
      if (m == http::Method::kPut) c.op = S3Op::kCreateBucket;
      if (m == http::Method::kDelete) c.op = S3Op::kDeleteBucket;
    }
    return c;
  }
  if (has_sub) {
    ClassifyObjectSubresource(m, q, &c);
    return c;
  }
  switch (m) {
    case http::Method::kPut:
      c.op = head.Has("x-amz-copy-source") ? S3Op::kCopyObject : S3Op::kPutObject;
      break;
    case http::Method::kGet: c.op = S3Op::kGetObject; break;
    case http::Method::kHead: c.op = S3Op::kHeadObject; break;
    case http::Method::kDelete: c.op = S3Op::kDeleteObject; break;
    default: break;
  }
  return c;
}

}  // namespace mamute::s3
