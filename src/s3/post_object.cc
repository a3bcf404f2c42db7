// POST policy browser uploads (POST /bucket, multipart/form-data): the form's fields are
// parsed as they arrive; when the file part begins, the signed policy is verified (SigV4 over
// the base64 policy with the credential's signing key), the key's bucket scope checked and the
// policy's conditions evaluated; then the file streams into the store like a PutObject body.
#include <cstring>

#include "auth/ct_equal.h"
#include "auth/sha256.h"
#include "core/shard.h"
#include "s3/browser.h"
#include "s3/checksum.h"
#include "s3/handler.h"
#include "s3/object_requests.h"
#include "s3/post_policy.h"
#include "s3/request.h"
#include "s3/service.h"
#include "s3/xml.h"
#include "store/keys.h"
#include "store/records.h"
#include "util/encoding.h"
#include "util/log.h"

namespace mamute::s3 {
namespace {

constexpr uint64_t kMaxPostObjectSize = uint64_t{5} << 30;  // as a single PUT

// "<access key>/<yyyymmdd>/<region>/<service>/aws4_request" (SigV4 credential scope).
struct PostCredential {
  std::string_view access_key, date, region, service;
};

std::optional<PostCredential> ParsePostCredential(std::string_view s) {
  std::string_view parts[5];
  for (int i = 0; i < 5; ++i) {
    std::size_t slash = s.find('/');
    if ((i < 4) == (slash == std::string_view::npos)) return std::nullopt;
    parts[i] = s.substr(0, slash);
    s = i < 4 ? s.substr(slash + 1) : std::string_view();
  }
  if (parts[0].empty() || parts[1].size() != 8 || parts[4] != "aws4_request") return std::nullopt;
  return PostCredential{parts[0], parts[1], parts[2], parts[3]};
}

class PostObjectHandler final : public http::Handler, private FormParser::Sink {
 public:
  PostObjectHandler(S3Service* svc, std::string boundary) : svc_(svc), parser_(std::move(boundary)) {}
  ~PostObjectHandler() override {
    if (writer_ != nullptr && !finishing_) writer_->Abort();
    if (pending_ != nullptr) pending_->handler = nullptr;  // its callback will find no handler
  }

  void OnHead(http::Exchange& ex) override {
    ex_ = &ex;
    Classified c = Classify(ex.head());
    if (c.bad_uri) {
      Fail(S3Error::kInvalidURI, "Couldn't parse the specified URI.");
      return;
    }
    bucket_ = std::move(c.bucket);
    ApplyCorsHeaders(*svc_, ex, bucket_);
    if (bucket_.empty() || !c.key.empty()) {
      Fail(S3Error::kMethodNotAllowed);
      return;
    }
    const http::RequestHead& h = ex.head();
    if (h.has_content_length && h.content_length > kMaxPostObjectSize + kMaxPostPreDataBytes + 4096) {
      Fail(S3Error::kEntityTooLarge);
    }
  }

  void OnBody(http::Exchange& ex, std::string_view piece) override {
    (void)ex;
    if (done_) return;
    if (!parser_.Feed(piece, this) && !done_) FailParser();
  }

  void OnBodyEnd(http::Exchange& ex) override {
    (void)ex;
    body_done_ = true;
    if (done_) return;
    if (!parser_.Finish()) {
      FailParser();
      return;
    }
    if (overflow_.empty()) FinishUpload();
  }

  void OnAbort(http::Exchange& ex) override {
    (void)ex;
    if (writer_ != nullptr && !finishing_) writer_->Abort();  // client gone: nothing stored
    writer_ = nullptr;
    if (pending_ != nullptr) pending_->handler = nullptr;
    pending_ = nullptr;
    done_ = true;
  }

 private:
  struct Pending {
    PostObjectHandler* handler;
  };

  void Fail(S3Error e, std::string_view message = {}) {
    if (done_) return;
    done_ = true;
    if (writer_ != nullptr && !finishing_) writer_->Abort();
    writer_ = nullptr;
    overflow_.clear();
    RespondS3Error(*ex_, e, message);
  }
  void FailParser() {
    const auto& f = parser_.failure();
    if (f) {
      Fail(f->error, f->message);
    } else {
      Fail(S3Error::kMalformedPOSTRequest);
    }
  }

  const std::string* Field(std::string_view name) const { return parser_.Field(name); }

  // The form up to the file: signature, credential scope, policy. false: answered.
  bool Admit(std::string_view filename) {
    const std::string* policy_b64 = Field("policy");
    const std::string* algorithm = Field("x-amz-algorithm");
    if (policy_b64 == nullptr && Field("x-amz-signature") == nullptr && Field("signature") == nullptr) {
      Fail(S3Error::kAccessDenied, "Anonymous access is not allowed; sign the POST policy with SigV4.");
      return false;
    }
    if (Field("AWSAccessKeyId") != nullptr || (algorithm != nullptr && *algorithm != "AWS4-HMAC-SHA256")) {
      Fail(S3Error::kNotImplemented, "Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported.");
      return false;
    }
    for (const char* name : {"policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "key"}) {
      if (Field(name) == nullptr) {
        Fail(S3Error::kInvalidArgument, std::string("Bucket POST must contain a field named '") + name +
                                            "'.  If it is specified, please check the order of the fields.");
        return false;
      }
    }
    auto pc = ParsePostCredential(*Field("x-amz-credential"));
    const std::string& amz_date = *Field("x-amz-date");
    const auth::SigV4Config& cfg = svc_->sigv4_config();
    if (!pc || !amz_date.starts_with(pc->date) || pc->service != cfg.service ||
        (!cfg.any_region && pc->region != cfg.region)) {
      Fail(S3Error::kInvalidArgument, "Invalid x-amz-credential or x-amz-date in the POST form.");
      return false;
    }
    if (!Authenticate(*pc, *policy_b64)) return false;
    PostFailure pf{S3Error::kInvalidPolicyDocument, {}};
    auto policy = ParsePostPolicy(*policy_b64, &pf);
    if (!policy) {
      Fail(pf.error, pf.message);
      return false;
    }
    if (!Authorize()) return false;
    key_ = SubstituteFilename(*Field("key"), filename);
    if (key_.empty()) {
      Fail(S3Error::kInvalidArgument, "User key must have a length greater than 0.");
      return false;
    }
    if (auto f = CheckPostPolicy(*policy, parser_.fields(), bucket_, key_, ex_->shard().wall_sec())) {
      Fail(f->error, f->message);
      return false;
    }
    range_ = policy->length_range;
    return ChecksumFields();
  }

  // x-amz-checksum-<algorithm> (a base64 value the file must match) and x-amz-checksum-algorithm
  // (compute and store), as the headers of a PutObject are (S3Handler::PutChecksumStart). Like
  // any field, they must be named by a policy condition. false: answered.
  bool ChecksumFields() {
    std::optional<ChecksumAlgo> named;  // x-amz-checksum-algorithm
    int values = 0;
    for (const FormField& f : parser_.fields()) {
      std::string_view n = f.name;
      if (n.size() <= 15 || !http::EqualsIgnoreCase(n.substr(0, 15), "x-amz-checksum-")) continue;
      if (http::EqualsIgnoreCase(n, "x-amz-checksum-algorithm")) {
        named = ParseChecksumAlgo(f.value);
        if (!named) {
          Fail(S3Error::kInvalidRequest, "Checksum algorithm provided is unsupported.");
          return false;
        }
        continue;
      }
      auto algo = ChecksumAlgoFromHeader(n);
      if (!algo) {  // x-amz-checksum-type, -mode, ...
        Fail(S3Error::kNotImplemented, std::string(n) + " fields of POST uploads are not supported.");
        return false;
      }
      if (!ValidateBase64Checksum(*algo, f.value)) {
        Fail(S3Error::kInvalidRequest, std::string("Value for ") + std::string(ChecksumHeaderName(*algo)) +
                                           " header is invalid.");
        return false;
      }
      ++values;
      checksum_algo_ = *algo;
      checksum_expected_ = f.value;
    }
    if (values > 1) {
      Fail(S3Error::kInvalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
      return false;
    }
    if (named && values == 1 && *named != checksum_algo_) {
      Fail(S3Error::kInvalidRequest, "Checksum Type mismatch occurred, expected checksum Type: " +
                                         std::string(ChecksumAlgoName(*named)) + ", actual checksum Type: " +
                                         std::string(ChecksumAlgoName(checksum_algo_)));
      return false;
    }
    if (named) checksum_algo_ = *named;
    if (named || values != 0) checksum_.emplace(checksum_algo_);
    return true;
  }

  // The credential and the signature over the base64 policy (SigV4 POST, "Calculating a
  // Signature": HMAC-SHA256(signing key, policy), hex). false: answered.
  bool Authenticate(const PostCredential& pc, std::string_view policy_b64) {
    if (svc_->credentials().Refresh()) svc_->signing_keys().Clear();
    auto cred = svc_->credentials().Lookup(pc.access_key);
    if (!cred && cred.error().code() != Code::kNotFound) {
      MLOG_ERROR("credential lookup failed: %s", cred.error().ToString().c_str());
      Fail(S3Error::kInternalError);
      return false;
    }
    if (!cred || !(*cred)->active) {
      Fail(S3Error::kInvalidAccessKeyId);  // unknown and deactivated keys look the same
      return false;
    }
    cred_ = *cred;
    const auth::HmacSha256Key& key = svc_->signing_keys().Get(pc.access_key, cred_->secret_version, cred_->secret,
                                                               pc.date, pc.region, pc.service);
    auth::Sha256Digest mac = auth::HmacSha256(key, policy_b64);
    char hex[2 * auth::kSha256DigestSize];
    util::HexEncode(mac.data(), mac.size(), hex);
    std::string provided = *Field("x-amz-signature");
    for (char& ch : provided) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!auth::CtEqual(std::string_view(hex, sizeof(hex)), provided)) {
      MLOG_DEBUG("POST policy signature mismatch for a known access key");
      Fail(S3Error::kSignatureDoesNotMatch);
      return false;
    }
    return true;
  }

  // The credential's scope, as for PutObject (S3Handler::Authorize). false: answered.
  bool Authorize() {
    std::string v;
    Status st = svc_->node().db->Get(store::Cf::kBucketNames, bucket_, &v);
    if (st.ok()) st = store::DecodeBucketName(v, &bucket_id_);
    if (st.code() == Code::kNotFound) {
      // A bucket-scoped key learns nothing about other buckets.
      Fail(cred_->scope_kind == store::ScopeKind::kBucket ? S3Error::kAccessDenied : S3Error::kNoSuchBucket);
      return false;
    }
    if (!st.ok()) {
      MLOG_ERROR("bucket lookup failed: %s", st.ToString().c_str());
      Fail(S3Error::kInternalError);
      return false;
    }
    bool allowed;
    if (cred_->scope_kind == store::ScopeKind::kBucket) {
      allowed = bucket_id_ == cred_->bucket;
    } else {
      store::BucketRecord rec;
      allowed = svc_->node().db->Get(store::Cf::kBuckets, store::BucketKey(bucket_id_), &v).ok() &&
                store::DecodeBucket(v, &rec).ok() && rec.project_id == cred_->project_id;
    }
    if (!allowed) Fail(S3Error::kAccessDenied);
    return allowed;
  }

  // ---- FormParser::Sink
  bool OnFileStart(std::string_view filename, std::string_view content_type) override {
    (void)content_type;  // S3 stores the Content-Type field, not the part's
    if (done_ || !Admit(filename)) return false;
    auto w = svc_->object_io().BeginPut(bucket_id_, key_);
    if (!w) {
      Fail(w.error().code() == Code::kCancelled ? S3Error::kServiceUnavailable : S3Error::kInternalError);
      return false;
    }
    writer_ = *w;
    return true;
  }

  bool OnFileData(std::string_view data) override {
    if (done_ || writer_ == nullptr) return false;
    received_ += data.size();
    const uint64_t max = range_ ? static_cast<uint64_t>(range_->second) : kMaxPostObjectSize;
    if (received_ > max) {
      Fail(S3Error::kEntityTooLarge);
      return false;
    }
    if (checksum_) checksum_->Update(data);
    if (!overflow_.empty()) {
      overflow_.append(data);  // bounded: the body is paused, at most one receive buffer more
      return true;
    }
    auto took = writer_->Append(data, &PostObjectHandler::OnWriterReady, this);
    if (!took) {
      Fail(FromStoreStatus(took.error()).error);
      return false;
    }
    if (*took < data.size()) {
      overflow_.assign(data.substr(*took));
      ex_->PauseBody();
    }
    return true;
  }

  static void OnWriterReady(void* ctx, Status st) {
    auto* self = static_cast<PostObjectHandler*>(ctx);
    if (self->done_ || self->writer_ == nullptr) return;
    if (!st.ok()) {
      self->Fail(FromStoreStatus(st).error);
      return;
    }
    if (self->overflow_.empty()) return;
    auto took = self->writer_->Append(self->overflow_, &PostObjectHandler::OnWriterReady, self);
    if (!took) {
      self->Fail(FromStoreStatus(took.error()).error);
      return;
    }
    self->overflow_.erase(0, *took);
    if (!self->overflow_.empty()) return;
    if (self->body_done_) {
      self->FinishUpload();
    } else {
      self->ex_->ResumeBody();
    }
  }

  void FinishUpload() {
    if (done_ || finishing_ || writer_ == nullptr) return;
    if (range_ && received_ < static_cast<uint64_t>(range_->first)) {
      Fail(S3Error::kEntityTooSmall);
      return;
    }
    store::ObjectRecord meta;
    if (checksum_) {
      checksum_raw_ = checksum_->FinishRaw();
      if (!checksum_expected_.empty()) {
        auto raw = util::Base64Decode(checksum_expected_);
        if (!raw || *raw != checksum_raw_) {  // nothing stored (Fail aborts the writer)
          Fail(S3Error::kBadDigest, std::string("The ") + std::string(ChecksumAlgoName(checksum_algo_)) +
                                        " you specified did not match the calculated checksum.");
          return;
        }
      }
      meta.checksums.push_back(store::Checksum{ToStore(checksum_algo_), store::ChecksumType::kFullObject, checksum_raw_});
    }
    auto field = [&](std::string_view name) -> std::string_view {
      const std::string* v = Field(name);
      return v == nullptr ? std::string_view() : std::string_view(*v);
    };
    meta.headers.content_type = field("content-type");
    if (meta.headers.content_type.empty()) meta.headers.content_type = "binary/octet-stream";
    meta.headers.content_encoding = field("content-encoding");
    meta.headers.content_disposition = field("content-disposition");
    meta.headers.content_language = field("content-language");
    meta.headers.cache_control = field("cache-control");
    meta.headers.expires = field("expires");
    std::vector<std::string> names;
    names.reserve(parser_.fields().size());
    for (const FormField& f : parser_.fields()) {
      if (f.name.size() > 11 && http::EqualsIgnoreCase(std::string_view(f.name).substr(0, 11), "x-amz-meta-")) {
        std::string ln = f.name.substr(11);
        for (char& ch : ln) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        names.push_back(std::move(ln));
        meta.user_meta.push_back(store::KeyValue{names.back(), f.value});
      }
    }
    finishing_ = true;
    pending_ = new Pending{this};
    writer_->Finish(meta, nullptr, &PostObjectHandler::OnPutDone, pending_);
  }

  static void OnPutDone(void* ctx, Status st, const store::PutResult& r) {
    auto* p = static_cast<Pending*>(ctx);
    PostObjectHandler* self = p->handler;
    delete p;
    if (self == nullptr) return;  // the connection went away
    self->pending_ = nullptr;
    self->writer_ = nullptr;
    if (!st.ok()) {
      const StoreFailure f = FromStoreStatus(st);
      if (f.error != S3Error::kNoSuchBucket) {  // a bucket deleted before the commit is no fault
        MLOG_ERROR("POST upload failed: %s", st.ToString().c_str());
      }
      self->Fail(f.error, f.message);
      return;
    }
    self->Respond("\"" + r.EtagHex() + "\"");
  }

  // success_action_redirect (303), else success_action_status 200, 201 (XML) or 204 (default);
  // the checksum headers, as on a PutObject answer, when the form had a checksum field.
  void Respond(const std::string& etag) {
    done_ = true;
    core::Arena& ar = ex_->arena();
    http::OutHeader hs[5];
    std::size_t n = 0;
    hs[n++] = {"ETag", ar.Copy(etag)};
    if (checksum_) {
      hs[n++] = {ChecksumHeaderName(checksum_algo_),
                 ar.Copy(util::Base64Encode(checksum_raw_.data(), checksum_raw_.size()))};
      hs[n++] = {"x-amz-checksum-type", "FULL_OBJECT"};
    }
    const http::RequestHead& h = ex_->head();
    std::string location = "http://" + std::string(h.Find("host")) + "/" + MaybeUrlEncode(bucket_, true) + "/" +
                           MaybeUrlEncode(key_, true);
    const std::string* redirect = Field("success_action_redirect");
    if (redirect == nullptr) redirect = Field("redirect");
    if (redirect != nullptr && !redirect->empty()) {
      std::string to = *redirect;
      to += to.find('?') == std::string::npos ? '?' : '&';
      to += "bucket=" + MaybeUrlEncode(bucket_, true) + "&key=" + MaybeUrlEncode(key_, true) +
            "&etag=" + MaybeUrlEncode(etag, true);
      hs[n++] = {"Location", ar.Copy(to)};
      ex_->Respond(303, hs, n, {});
      return;
    }
    const std::string* status_field = Field("success_action_status");
    int status = 204;
    if (status_field != nullptr && (*status_field == "200" || *status_field == "201")) {
      status = *status_field == "200" ? 200 : 201;
    }
    if (status == 201) {
      std::string body;
      XmlWriter w(&body);
      w.Open("PostResponse");
      w.Element("Location", location);
      w.Element("Bucket", bucket_);
      w.Element("Key", key_);
      w.Element("ETag", etag);
      w.Close("PostResponse");
      hs[n++] = {"Location", ar.Copy(location)};
      hs[n++] = {"Content-Type", "application/xml"};
      ex_->Respond(201, hs, n, body);
      return;
    }
    hs[n++] = {"Location", ar.Copy(location)};
    ex_->Respond(status, hs, n, {});
  }

  S3Service* svc_;
  http::Exchange* ex_ = nullptr;
  FormParser parser_;
  std::string bucket_;
  std::string key_;
  store::BucketId bucket_id_ = 0;
  std::shared_ptr<const Credential> cred_;
  std::optional<std::pair<int64_t, int64_t>> range_;
  store::ObjectWriter* writer_ = nullptr;
  Pending* pending_ = nullptr;
  std::string overflow_;
  uint64_t received_ = 0;
  std::optional<Checksummer> checksum_;  // a checksum field was given: computed over the file
  ChecksumAlgo checksum_algo_ = ChecksumAlgo::kCrc32;
  std::string checksum_expected_;  // base64 from x-amz-checksum-<algorithm>; empty: only compute
  std::string checksum_raw_;       // computed, for the record and the answer
  bool body_done_ = false;
  bool finishing_ = false;
  bool done_ = false;
};

}  // namespace

http::Handler* MakePostObjectHandler(http::Exchange& ex, S3Service* svc, std::string boundary) {
  return http::MakeHandler<PostObjectHandler>(ex, svc, std::move(boundary));
}

}  // namespace mamute::s3
