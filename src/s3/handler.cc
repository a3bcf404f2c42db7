#include "s3/handler.h"

#include <charconv>

#include "core/shard.h"
#include "s3/browser.h"
#include "s3/service.h"
#include "s3/xml.h"
#include "store/buckets.h"
#include "store/listing.h"
#include "util/log.h"
#include "util/time_format.h"

namespace mamute::s3 {
namespace {

// encoding-type=url: S3 URL-encodes keys and prefixes in listings (RFC 3986 unreserved kept).
void AppendUrlEncoded(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || c == '/') {
      out->push_back(static_cast<char>(c));
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
}

std::string MaybeEncode(std::string_view s, bool url) {
  if (!url) return std::string(s);
  std::string out;
  AppendUrlEncoded(&out, s);
  return out;
}

}  // namespace

std::string MaybeUrlEncode(std::string_view s, bool url) { return MaybeEncode(s, url); }

std::string FormatIsoMs(int64_t ms) {
  char buf[32];
  std::size_t n = util::FormatIso8601Ms(ms, buf);
  return std::string(buf, n);
}

S3Handler::~S3Handler() {
  if (queued_) svc_->UnqueueVerify(this);
  if (ctx_ != nullptr) svc_->ReleaseContext(ctx_);
  // The connection may end mid-operation (peer gone, shutdown deadline): stop what
  // still refers to this handler.
  if (reader_ != nullptr) reader_->Cancel();
  if (writer_ != nullptr && !finishing_) writer_->Abort();
  if (pending_ != nullptr) pending_->handler = nullptr;  // its callback will find no handler
}

void S3Handler::OnHead(http::Exchange& ex) {
  ex_ = &ex;
  stage_ = Stage::kClassify;
  req_ = Classify(ex.head(), svc_->config().domain);
  if (req_.bad_uri) {
    RespondError(S3Error::kInvalidURI, "Couldn't parse the specified URI.");
    return;
  }
  ApplyCorsHeaders(*svc_, ex, req_.bucket);  // Origin + a matching rule: Access-Control-* on any answer
  stage_ = Stage::kAuthenticate;
  Authenticate();
}

void S3Handler::OnAbort(http::Exchange& ex) {
  (void)ex;
  if (queued_) {
    svc_->UnqueueVerify(this);
    queued_ = false;
  }
  if (reader_ != nullptr) {
    reader_->Cancel();
    reader_ = nullptr;
  }
  if (writer_ != nullptr && !finishing_) {
    writer_->Abort();  // client vanished mid-upload: nothing is stored
    writer_ = nullptr;
  }
  if (pending_ != nullptr) {
    pending_->handler = nullptr;
    pending_ = nullptr;
  }
  stage_ = Stage::kDone;
}

void S3Handler::Authenticate() {
  const http::RequestHead& h = ex_->head();
  // Header views for SigV4, in the request arena (no per-request heap allocation).
  auto* hv = static_cast<auth::HeaderView*>(
      ex_->arena().Allocate(sizeof(auth::HeaderView) * (h.header_count + 1), alignof(auth::HeaderView)));
  for (uint32_t i = 0; i < h.header_count; ++i) hv[i] = auth::HeaderView{h.headers[i].name, h.headers[i].value};
  auth::SigV4Request sr{h.method_name, h.path, h.query, hv, h.header_count};

  if (svc_->credentials().Refresh()) svc_->signing_keys().Clear();
  // Prepare's single pass over the headers and the query also decides how the request
  // authenticates: anonymous is AccessDenied, SigV2/SigV4A NotImplemented, any other
  // Authorization scheme (Bearer ...) InvalidArgument "Unsupported Authorization Type", as AWS.
  ctx_ = svc_->AcquireContext();
  auto prepared = ctx_->Prepare(sr, svc_->sigv4_config(), ex_->shard().wall_sec());
  if (!prepared) {
    if (ctx_->auth().kind == auth::AuthKind::kNone) {
      RespondError(S3Error::kAccessDenied, "Anonymous access is not allowed; sign requests with SigV4.");
      return;
    }
    RespondSigV4Error(prepared.error());
    return;
  }
  const auth::SigV4Auth& a = ctx_->auth();
  auto cred = svc_->credentials().Lookup(a.access_key);
  if (!cred) {
    if (cred.error().code() == Code::kNotFound) {
      RespondSigV4Error(auth::InvalidAccessKeyIdFailure().error());
    } else {
      MLOG_ERROR("credential lookup failed: %s", cred.error().ToString().c_str());
      RespondError(S3Error::kInternalError);
    }
    return;
  }
  if (!(*cred)->active) {
    // Deactivated keys look exactly like unknown ones to the client.
    RespondSigV4Error(auth::InvalidAccessKeyIdFailure().error());
    return;
  }
  cred_ = *cred;
  key_ = svc_->signing_keys().Get(a.access_key, cred_->secret_version, cred_->secret, a.scope_date, a.region,
                                  a.service);
  stage_ = Stage::kVerify;
  if (!ex_->head().HasBody()) {
    // Verified with every other bodyless request of this completion batch.
    queued_ = true;
    svc_->QueueVerify(this);
    return;
  }
  OnVerified(auth::VerifyOne(*ctx_, key_));
}

void S3Handler::OnVerified(const auth::SigV4Status& verdict) {
  queued_ = false;
  if (stage_ != Stage::kVerify) return;
  if (!verdict) {
    RespondSigV4Error(verdict.error());
    return;
  }
  verified_ = true;
  stage_ = Stage::kAuthorize;
  if (!Authorize()) return;
  stage_ = Stage::kExecute;
  Execute();
}

Result<store::BucketId> S3Handler::LookupBucket(std::string_view name) {
  std::string v;
  Status st = svc_->node().db->Get(store::Cf::kBucketNames, name, &v);
  if (!st.ok()) return Err(std::move(st));
  store::BucketId id = 0;
  MAMUTE_RETURN_IF_ERROR_R(store::DecodeBucketName(v, &id));
  return id;
}

bool S3Handler::Authorize() {
  if (req_.bucket.empty()) return true;  // ListBuckets: filtered by scope when listing
  auto id = LookupBucket(req_.bucket);
  if (!id) {
    if (id.error().code() != Code::kNotFound) {
      MLOG_ERROR("bucket lookup failed: %s", id.error().ToString().c_str());
      RespondError(S3Error::kInternalError);
      return false;
    }
    const bool create = req_.op == S3Op::kCreateBucket;
    if (cred_->scope_kind == store::ScopeKind::kBucket) {
      // A bucket-scoped key learns nothing about other buckets: absent or foreign, both are
      // denied; it creates no bucket.
      RespondError(S3Error::kAccessDenied, create ? "Buckets are created through the management API." : "");
      return false;
    }
    if (create) return true;  // a project-scoped key creates it (bucket_id_ stays 0)
    RespondError(S3Error::kNoSuchBucket);
    return false;
  }
  if (cred_->scope_kind == store::ScopeKind::kBucket) {
    if (*id != cred_->bucket) {
      RespondError(S3Error::kAccessDenied);
      return false;
    }
    bucket_id_ = *id;
    return true;
  }
  if (!InProject(*id)) {
    // Another project's bucket: denied whatever the operation; its name is taken for a create.
    RespondError(req_.op == S3Op::kCreateBucket ? S3Error::kBucketAlreadyExists : S3Error::kAccessDenied);
    return false;
  }
  bucket_id_ = *id;
  return true;
}

// Project-scoped keys (issue 9): the bucket must belong to the key's project.
bool S3Handler::InProject(store::BucketId id) {
  std::string v;
  if (!svc_->node().db->Get(store::Cf::kBuckets, store::BucketKey(id), &v).ok()) return false;
  store::BucketRecord rec;
  return store::DecodeBucket(v, &rec).ok() && rec.project_id == cred_->project_id;
}

void S3Handler::Execute() {
  switch (req_.op) {
    case S3Op::kListBuckets: ListBuckets(); return;
    case S3Op::kHeadBucket: HeadBucket(); return;
    case S3Op::kGetBucketLocation: GetBucketLocation(); return;
    case S3Op::kGetBucketVersioning: GetBucketVersioning(); return;
    case S3Op::kCreateBucket: CreateBucket(); return;
    case S3Op::kDeleteBucket: DeleteBucket(); return;
    case S3Op::kListObjectVersions: ListObjectVersions(); return;
    case S3Op::kListObjectsV1: ListObjects(false); return;
    case S3Op::kListObjectsV2: ListObjects(true); return;
    case S3Op::kPutObject: PutObjectStart(); return;
    case S3Op::kGetObject: GetObject(false); return;
    case S3Op::kHeadObject: GetObject(true); return;
    case S3Op::kDeleteObject: DeleteObject(); return;
    case S3Op::kCopyObject: CopyObject(); return;
    case S3Op::kDeleteObjects: DeleteObjects(); return;
    case S3Op::kGetObjectTagging: GetObjectTagging(); return;
    case S3Op::kPutObjectTagging: PutObjectTagging(); return;
    case S3Op::kDeleteObjectTagging: DeleteObjectTagging(); return;
    case S3Op::kGetObjectAttributes: GetObjectAttributes(); return;
    case S3Op::kGetBucketCors: GetBucketCors(); return;
    case S3Op::kPutBucketCors: PutBucketCors(); return;
    case S3Op::kDeleteBucketCors: DeleteBucketCors(); return;
    default:
      if (ExecuteMultipart()) return;
      RespondError(S3Error::kNotImplemented,
                   std::string("This S3 operation is not implemented by this server yet: ") +
                       std::string(S3OpName(req_.op)));
      return;
  }
}

// ---------------------------------------------------------------- responses

void S3Handler::RespondXml(int status, const std::string& body) {
  stage_ = Stage::kDone;
  const http::OutHeader headers[] = {{"Content-Type", "application/xml"}};
  ex_->Respond(status, headers, 1, body);
}

void S3Handler::RespondError(S3Error e, std::string_view message) {
  std::string body = RenderErrorXml(e, message, ex_->head().path, ex_->request_id());
  RespondXml(HttpStatus(e), body);
}

void S3Handler::RespondSigV4Error(const auth::SigV4Failure& f) {
  std::string out;
  out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
  out.append(auth::SigV4ErrorCode(f.error));
  out.append("</Code><Message>");
  AppendXmlEscaped(&out, f.message);
  out.append("</Message>");
  if (f.error == auth::SigV4Error::kSignatureDoesNotMatch && ctx_ != nullptr) {
    // As AWS does: the client compares these with what it signed. Never logged.
    out.append("<AWSAccessKeyId>");
    AppendXmlEscaped(&out, ctx_->auth().access_key);
    out.append("</AWSAccessKeyId><StringToSign>");
    AppendXmlEscaped(&out, f.string_to_sign);
    out.append("</StringToSign><SignatureProvided>");
    AppendXmlEscaped(&out, ctx_->auth().signature);
    out.append("</SignatureProvided><CanonicalRequest>");
    AppendXmlEscaped(&out, f.canonical_request);
    out.append("</CanonicalRequest>");
  }
  out.append("<RequestId>");
  out.append(ex_->request_id());
  out.append("</RequestId></Error>");
  MLOG_DEBUG("s3 auth failure %.*s: %s", static_cast<int>(auth::SigV4ErrorCode(f.error).size()),
             auth::SigV4ErrorCode(f.error).data(), f.message.c_str());
  RespondXml(auth::SigV4ErrorHttpStatus(f.error), out);
}

// A listing that failed: a bad marker or token is the client's InvalidArgument, anything
// else our InternalError (logged).
void S3Handler::RespondListingError(const Status& st, const char* what) {
  if (st.code() == Code::kInvalidArgument) {
    RespondError(S3Error::kInvalidArgument, st.message());
    return;
  }
  MLOG_ERROR("%s failed: %s", what, st.ToString().c_str());
  RespondError(S3Error::kInternalError);
}

// ---------------------------------------------------------------- operations

void S3Handler::ListBuckets() {
  std::string body;
  XmlWriter w(&body);
  w.OpenRoot("ListAllMyBucketsResult");
  w.Open("Owner");
  w.Element("ID", cred_->scope_kind == store::ScopeKind::kBucket ? std::string_view("mamute") : cred_->project_id);
  w.Element("DisplayName", "mamute");
  w.Close("Owner");
  w.Open("Buckets");
  auto add = [&](const store::BucketRecord& rec) {
    w.Open("Bucket");
    w.Element("Name", rec.name);
    w.Element("CreationDate", FormatIsoMs(rec.created_at_ms));
    w.Close("Bucket");
  };
  if (cred_->scope_kind == store::ScopeKind::kBucket) {
    std::string v;
    store::BucketRecord rec;
    if (svc_->node().db->Get(store::Cf::kBuckets, store::BucketKey(cred_->bucket), &v).ok() &&
        store::DecodeBucket(v, &rec).ok()) {
      add(rec);
    }
  } else {
    // The project's index lists its buckets in name order, as S3 does.
    const std::string prefix = store::ProjectBucketKey(cred_->project_id, "");
    const std::optional<std::string> upper = store::PrefixSuccessor(prefix);
    rocksdb::Slice upper_slice;
    rocksdb::ReadOptions ro;
    if (upper) {
      upper_slice = rocksdb::Slice(*upper);
      ro.iterate_upper_bound = &upper_slice;
    }
    std::unique_ptr<rocksdb::Iterator> it = svc_->node().db->NewIterator(store::Cf::kMgmt, ro);
    std::string v;
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      store::BucketId id = 0;
      store::BucketRecord rec;
      if (store::DecodeBucketName(std::string_view(it->value().data(), it->value().size()), &id).ok() &&
          svc_->node().db->Get(store::Cf::kBuckets, store::BucketKey(id), &v).ok() &&
          store::DecodeBucket(v, &rec).ok() && rec.project_id == cred_->project_id) {
        add(rec);
      }
    }
    if (!it->status().ok()) {
      MLOG_ERROR("ListBuckets failed: %s", it->status().ToString().c_str());
      RespondError(S3Error::kInternalError);
      return;
    }
  }
  w.Close("Buckets");
  w.Close("ListAllMyBucketsResult");
  RespondXml(200, body);
}

void S3Handler::HeadBucket() {
  stage_ = Stage::kDone;
  const http::OutHeader headers[] = {{"x-amz-bucket-region", "us-east-1"}};
  ex_->Respond(200, headers, 1, {});
}

void S3Handler::GetBucketLocation() {
  // us-east-1 is an empty LocationConstraint, as AWS answers.
  RespondXml(200,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>");
}

void S3Handler::GetBucketVersioning() {
  // Buckets are unversioned: AWS answers an empty configuration.
  RespondXml(200,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>");
}

bool S3Handler::ParseMaxKeys(std::string_view s, int64_t* out) {
  if (s.empty()) return true;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range && s[0] != '-') {
    v = store::kMaxListKeys;  // huge values clamp, as AWS does
  } else if (ec != std::errc() || p != s.data() + s.size() || v < 0) {
    RespondError(S3Error::kInvalidArgument, "Provided max-keys not an integer or within integer range");
    return false;
  }
  *out = v;
  return true;
}

void S3Handler::ListObjects(bool v2) {
  std::string_view q = ex_->head().query;
  auto get = [&](std::string_view name, std::string* out) -> bool {
    QueryValue v = FindQuery(q, name);
    if (!v.present) return true;
    auto d = DecodeQueryValue(v.raw);
    if (!d) return false;
    *out = std::move(*d);
    return true;
  };
  std::string prefix, delimiter, token, start_after, marker, max_keys_s, encoding, fetch_owner;
  if (!get("prefix", &prefix) || !get("delimiter", &delimiter) || !get("continuation-token", &token) ||
      !get("start-after", &start_after) || !get("marker", &marker) || !get("max-keys", &max_keys_s) ||
      !get("encoding-type", &encoding) || !get("fetch-owner", &fetch_owner)) {
    RespondError(S3Error::kInvalidArgument, "Malformed query parameter encoding.");
    return;
  }
  bool url = false;
  if (!encoding.empty()) {
    if (encoding != "url") {
      RespondError(S3Error::kInvalidArgument, "Invalid Encoding Method specified in Request");
      return;
    }
    url = true;
  }
  int64_t max_keys = store::kMaxListKeys;
  if (!ParseMaxKeys(max_keys_s, &max_keys)) return;
  auto bucket = LookupBucket(req_.bucket);
  if (!bucket) {
    RespondError(S3Error::kNoSuchBucket);
    return;
  }
  store::ListRequest lr;
  lr.bucket = *bucket;
  lr.prefix = prefix;
  lr.delimiter = delimiter;
  lr.max_keys = max_keys;
  if (v2) {
    lr.continuation_token = token;
    lr.start_after = start_after;
  } else {
    lr.start_after = marker;
  }
  auto res = v2 ? store::ListObjectsV2(*svc_->node().db, lr) : store::ListObjectsV1(*svc_->node().db, lr);
  if (!res) {
    RespondListingError(res.error(), "listing");
    return;
  }
  const store::ListResult& r = *res;
  std::string body;
  body.reserve(512 + r.objects.size() * 256);
  XmlWriter w(&body);
  w.OpenRoot("ListBucketResult");
  w.Element("Name", req_.bucket);
  w.Element("Prefix", MaybeEncode(prefix, url));
  if (v2) {
    if (!token.empty()) w.Element("ContinuationToken", token);
    if (!start_after.empty()) w.Element("StartAfter", MaybeEncode(start_after, url));
    w.Element("KeyCount", static_cast<uint64_t>(r.key_count()));
  } else {
    w.Element("Marker", MaybeEncode(marker, url));
  }
  w.Element("MaxKeys", static_cast<uint64_t>(r.max_keys));
  if (!delimiter.empty()) w.Element("Delimiter", MaybeEncode(delimiter, url));
  if (url) w.Element("EncodingType", "url");
  w.Bool("IsTruncated", r.is_truncated);
  if (r.is_truncated) {
    if (v2) {
      w.Element("NextContinuationToken", r.next_continuation_token);
    } else if (!r.next_marker.empty()) {
      w.Element("NextMarker", MaybeEncode(r.next_marker, url));
    }
  }
  const bool owner = !v2 || fetch_owner == "true";
  for (const store::ListedObject& o : r.objects) {
    w.Open("Contents");
    w.Element("Key", MaybeEncode(o.key, url));
    w.Element("LastModified", FormatIsoMs(o.mtime_ms));
    w.Element("ETag", store::FormatEtag(o.etag_kind, o.etag));
    w.Element("Size", o.size);
    w.Element("StorageClass", "STANDARD");
    if (owner) {
      w.Open("Owner");
      w.Element("ID", "mamute");
      w.Element("DisplayName", "mamute");
      w.Close("Owner");
    }
    w.Close("Contents");
  }
  for (const std::string& p : r.common_prefixes) {
    w.Open("CommonPrefixes");
    w.Element("Prefix", MaybeEncode(p, url));
    w.Close("CommonPrefixes");
  }
  w.Close("ListBucketResult");
  RespondXml(200, body);
}

}  // namespace mamute::s3
