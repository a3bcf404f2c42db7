// S3Handler: one S3 request through its named stages (see service.h).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "auth/aws_chunked.h"
#include "auth/sigv4.h"
#include "http/router.h"
#include "s3/credentials.h"
#include "s3/checksum.h"
#include "s3/errors.h"
#include "s3/request.h"
#include "store/object_io.h"

namespace mamute::s3 {

class S3Service;

/// A listing's key or prefix as returned: unchanged, or URL-encoded for encoding-type=url.
std::string MaybeUrlEncode(std::string_view s, bool url);

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
  void RespondListingError(const Status& st, const char* what);
  Result<store::BucketId> LookupBucket(std::string_view name);

  // operations
  void ListBuckets();
  void HeadBucket();
  void GetBucketLocation();
  void GetBucketVersioning();
  void CreateBucket();
  void ListObjects(bool v2);

  // objects (object_ops.cc)
  void PutObjectStart();
  void PutAppend(std::string_view data);
  void PutFinish();
  bool PutChecksumStart();
  bool PutChecksumFinish();
  void PutFail(S3Error e, std::string_view message = {});
  static void OnWriterReady(void* ctx, Status st);
  static void OnPutDone(void* ctx, Status st, const store::PutResult& r);
  void GetObject(bool head);
  bool CheckConditions(const store::ObjectRecord& rec, std::string_view etag);
  static void OnReadData(void* ctx, store::ObjectReader* reader, std::string_view data);
  static void OnReadDone(void* ctx, Status st);
  static void OnChunkSent(void* ctx);
  void DeleteObject();
  static void OnDeleteDone(void* ctx, Status st, bool existed);
  void AppendObjectHeaders(const store::ObjectRecord& rec, std::string_view etag);
  bool PreparePayload();
  static void ReadStoredHeaders(const http::RequestHead& h, store::ContentHeaders* headers,
                                std::vector<store::KeyValue>* user_meta, std::vector<std::string>* names);

  // multipart uploads (multipart.cc)
  struct Multipart;
  struct MultipartDeleter {
    void operator()(Multipart* m) const noexcept;
  };
  bool ExecuteMultipart();  // false: not a multipart operation
  bool LoadUpload();        // ?uploadId's record into mpu_; false: answered (NoSuchUpload)
  void CreateMultipartUpload();
  void UploadPartStart();
  bool UploadPartChecksum();
  Result<store::ObjectWriter*> BeginPartWriter();
  void CompleteBody(std::string_view piece);
  void CompleteBodyEnd();
  void CompleteRun();
  void AbortMultipartUpload();
  void ListParts();
  void ListMultipartUploads();
  bool SubmitMultipart(store::MetaOp* op);
  static void OnMultipartCommitted(void* ctx, Status st, bool existed);
  // GET of a multipart object: ?partNumber, and reads that span parts.
  bool SelectPart(const store::ObjectRecord& rec, uint64_t* first, uint64_t* length);
  bool StartMultipartRead(const store::ObjectRecord& rec, uint64_t first, uint64_t length);
  bool ContinueMultipartRead();

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

  // Object operations.
  store::BucketId bucket_id_ = 0;
  /// A callback that may run after this handler is gone (the connection died):
  /// it goes through this heap trampoline, which OnAbort detaches.
  struct Pending {
    S3Handler* handler;
  };
  Pending* pending_ = nullptr;
  Pending* NewPending();
  store::ObjectWriter* writer_ = nullptr;
  std::unique_ptr<auth::AwsChunkedDecoder> chunked_;
  std::optional<auth::PayloadVerifier> payload_;
  // x-amz-checksum-*: computed over the decoded body, compared with the header value or
  // the aws-chunked trailer, stored, and returned with x-amz-checksum-mode: ENABLED.
  std::optional<Checksummer> checksum_;
  ChecksumAlgo checksum_algo_ = ChecksumAlgo::kCrc32;
  std::string checksum_expected_;  // base64 from the header; empty: from the trailer
  bool checksum_in_trailer_ = false;
  std::string checksum_raw_;       // computed, for the record and the response
  std::string overflow_;        // body bytes the writer could not take yet (body paused)
  uint64_t expected_size_ = 0;  // decoded body length announced by the client
  bool put_failed_ = false;
  bool finishing_ = false;
  std::string record_value_;     // the ObjectRecord's encoded bytes (views point here)
  store::ObjectReader* reader_ = nullptr;
  bool stream_begun_ = false;
  bool head_only_ = false;
  std::vector<http::OutHeader> out_headers_;
  std::string out_text_;  // storage for header values (reserved up front: views stay valid)
  std::unique_ptr<Multipart, MultipartDeleter> mpu_;
};

}  // namespace mamute::s3
