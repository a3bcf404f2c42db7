// CORS over S3: Put/Get/DeleteBucketCors, the preflight handler (OPTIONS), and the
// Access-Control-* headers of actual requests.
#include "core/shard.h"
#include "s3/browser.h"
#include "s3/cors.h"
#include "s3/handler.h"
#include "s3/service.h"
#include "util/log.h"

namespace mamute::s3 {
namespace {

// Copies the headers into the request arena and hands them to the exchange.
void SetArenaHeaders(http::Exchange& ex, const std::vector<std::pair<std::string_view, std::string>>& hs) {
  auto* arr = static_cast<http::OutHeader*>(
      ex.arena().Allocate(sizeof(http::OutHeader) * hs.size(), alignof(http::OutHeader)));
  for (std::size_t i = 0; i < hs.size(); ++i) arr[i] = http::OutHeader{hs[i].first, ex.arena().Copy(hs[i].second)};
  ex.SetExtraHeaders(arr, hs.size());
}

// The answer when the bucket has a configuration but no rule matched: Vary alone.
constexpr http::OutHeader kVaryOnly[] = {{"Vary", kCorsVary}};

/// OPTIONS: S3 answers a preflight without authentication, from the bucket's rules alone.
class PreflightHandler final : public http::Handler {
 public:
  explicit PreflightHandler(S3Service* svc) : svc_(svc) {}
  void OnHead(http::Exchange& ex) override {
    const http::RequestHead& h = ex.head();
    std::string_view origin = h.Find("origin");
    std::string_view method = h.Find("access-control-request-method");
    if (origin.empty()) {
      RespondS3Error(ex, S3Error::kBadRequest, "Insufficient information. Origin request header needed.");
      return;
    }
    if (method.empty()) {
      RespondS3Error(ex, S3Error::kBadRequest, "Invalid Access-Control-Request-Method: null");
      return;
    }
    Classified c = Classify(h);
    // A missing bucket answers like one without CORS: an unauthenticated caller learns nothing.
    std::shared_ptr<const CorsConfig> cfg = c.bad_uri || c.bucket.empty() ? nullptr : svc_->cors().Find(c.bucket);
    if (!cfg) {
      RespondS3Error(ex, S3Error::kCORSResponse, "CORS is not enabled for this bucket.");
      return;
    }
    std::string_view req_headers = h.Find("access-control-request-headers");
    const CorsRule* rule = MatchPreflight(*cfg, origin, method, req_headers);
    if (rule == nullptr) {
      ex.SetExtraHeaders(kVaryOnly, 1);
      RespondS3Error(ex, S3Error::kCORSResponse,
                     "This CORS request is not allowed. This is usually because the evalution of Origin, request "
                     "method / Access-Control-Request-Method or Access-Control-Request-Headers are not "
                     "whitelisted by the resource's CORS spec.");
      return;
    }
    SetArenaHeaders(ex, CorsResponseHeaders(*rule, origin, /*preflight=*/true, req_headers));
    ex.Respond(200, nullptr, 0, {});
  }

 private:
  S3Service* svc_;
};

}  // namespace

void RespondS3Error(http::Exchange& ex, S3Error e, std::string_view message) {
  std::string body = RenderErrorXml(e, message, ex.head().path, ex.request_id());
  const http::OutHeader headers[] = {{"Content-Type", "application/xml"}};
  ex.Respond(HttpStatus(e), headers, 1, body);
}

void ApplyCorsHeaders(S3Service& svc, http::Exchange& ex, std::string_view bucket) {
  std::string_view origin = ex.head().Find("origin");
  if (origin.empty() || bucket.empty()) return;
  std::shared_ptr<const CorsConfig> cfg = svc.cors().Find(bucket);
  if (!cfg) return;
  const CorsRule* rule = MatchCors(*cfg, origin, ex.head().method_name);
  if (rule == nullptr) {
    ex.SetExtraHeaders(kVaryOnly, 1);
    return;
  }
  SetArenaHeaders(ex, CorsResponseHeaders(*rule, origin, /*preflight=*/false, {}));
}

http::Handler* MakePreflightHandler(http::Exchange& ex, S3Service* svc) {
  return http::MakeHandler<PreflightHandler>(ex, svc);
}

// ---------------------------------------------------------------- Put/Get/DeleteBucketCors

void S3Handler::GetBucketCors() {
  auto c = LoadCors(svc_->node(), bucket_id_);
  if (!c) {
    if (c.error().code() == Code::kNotFound) {
      RespondError(S3Error::kNoSuchCORSConfiguration);
      return;
    }
    MLOG_ERROR("CORS configuration read failed: %s", c.error().ToString().c_str());
    RespondError(S3Error::kInternalError);
    return;
  }
  RespondXml(200, RenderCorsXml(*c));
}

void S3Handler::PutBucketCors() {
  if (!RequireBodyChecksum()) return;  // as AWS: Content-MD5 or a flexible checksum
  XmlBodyStart(kMaxCorsConfigBytes);  // XmlBodyEnd() runs PutBucketCorsExecute()
}

void S3Handler::PutBucketCorsExecute() {
  CorsFailure f{S3Error::kMalformedXML, {}};
  auto c = ParseCorsXml(xml_, &f);
  if (!c) {
    RespondError(f.error, f.message);
    return;
  }
  CommitCors(&*c);
}

void S3Handler::DeleteBucketCors() { CommitCors(nullptr); }

// A synced write like every other S3 commit: through the commit thread (group commit), never a
// blocking RocksDB write on the shard. At commit time the bucket must still exist (no
// configuration outlives a bucket deleted meanwhile); once durable, the epoch moves so every
// shard's CorsCache reloads.
void S3Handler::CommitCors(const CorsConfig* config) {
  auto op = svc_->object_io().NewMetaOp();
  if (!op) {
    RespondError(S3Error::kServiceUnavailable);
    return;
  }
  const std::string key = CorsKey(bucket_id_);
  Status st = config != nullptr ? (*op)->batch().Put(store::Cf::kMgmt, key, EncodeCors(*config))
                                : (*op)->batch().Delete(store::Cf::kMgmt, key);
  if (!st.ok()) {
    svc_->object_io().Discard(*op);
    RespondError(S3Error::kInternalError);
    return;
  }
  (*op)->require_bucket(bucket_id_);
  (*op)->bump_config_epoch();
  st = svc_->object_io().Submit(*op, &S3Handler::OnCorsCommitted, NewPending());
  if (!st.ok()) EnqueueRefused(st);
}

void S3Handler::OnCorsCommitted(void* ctx, Status st, bool /*existed*/) {
  S3Handler* self = TakePending(ctx);
  if (self == nullptr) return;  // the client went away; the commit itself is done
  if (self->CommitFailed(st, S3OpName(self->req_.op).data())) return;
  self->stage_ = Stage::kDone;
  self->ex_->Respond(self->req_.op == S3Op::kDeleteBucketCors ? 204 : 200, nullptr, 0, {});
}

}  // namespace mamute::s3
