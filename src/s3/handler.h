// S3Handler: one S3 request through its named stages (see service.h).
#pragma once

#include "auth/sigv4.h"
#include "http/router.h"
#include "s3/credentials.h"
#include "s3/errors.h"
#include "s3/request.h"

namespace mamute::s3 {

class S3Service;

class S3Handler final : public http::Handler {
 public:
  enum class Stage : uint8_t { kClassify, kAuthenticate, kVerify, kAuthorize, kExecute, kDone };

  explicit S3Handler(S3Service* svc) noexcept : svc_(svc) {}
  ~S3Handler() override;

  void OnHead(http::Exchange& ex) override;
  void OnBody(http::Exchange& ex, std::string_view piece) override;
  void OnBodyEnd(http::Exchange& ex) override;
  void OnAbort(http::Exchange& ex) override;

  /// Batched verification result (called by the service at the end of the batch).
  void OnVerified(const auth::SigV4Status& verdict);
  auth::SigV4Context* context() noexcept { return ctx_; }
  const auth::HmacSha256Key* signing_key() const noexcept { return &key_; }

 private:
  void Authenticate();
  void Continue();  // authorize + execute, once verified
  bool Authorize();
  void Execute();
  void RespondError(S3Error e, std::string_view message = {});
  void RespondSigV4Error(const auth::SigV4Failure& f);
  void RespondXml(int status, const std::string& body);
  Result<store::BucketId> LookupBucket(std::string_view name);

  // operations
  void ListBuckets();
  void HeadBucket();
  void GetBucketLocation();
  void GetBucketVersioning();
  void CreateBucket();
  void ListObjects(bool v2);

  S3Service* svc_;
  http::Exchange* ex_ = nullptr;
  Stage stage_ = Stage::kClassify;
  Classified req_;
  auth::SigV4Context* ctx_ = nullptr;
  const Credential* cred_ = nullptr;
  auth::HmacSha256Key key_;
  bool queued_ = false;
  bool body_done_ = false;
  bool verified_ = false;
};

}  // namespace mamute::s3
