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
struct CorsConfig;

/// A listing's key or prefix as returned: unchanged, or URL-encoded for encoding-type=url.
std::string MaybeUrlEncode(std::string_view s, bool url);
/// A listing's time: ISO 8601 with milliseconds, UTC.
std::string FormatIsoMs(int64_t ms);

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
  void ListObjects(bool v2);
  /// max-keys of a listing into *out (left alone when empty); false: answered InvalidArgument.
  bool ParseMaxKeys(std::string_view s, int64_t* out);

  // buckets of project-scoped keys, ListObjectVersions (bucket_ops.cc)
  void CreateBucket();
  void CreateBucketExecute();
  void DeleteBucket();
  static void OnBucketCommitted(void* ctx, Status st, bool existed);
  void ListObjectVersions();

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
  bool PayloadStart();
  bool PayloadFinish();
  void BodyData(std::string_view data);
  bool InProject(store::BucketId id);

  // PUT extras: x-amz-tagging and If-None-Match / If-Match (tagging.cc).
  bool PutExtrasStart();
  void PutExtrasFinish(store::ObjectRecord* meta);
  // CopyObject (copy_ops.cc): source record → ObjectReader → ObjectWriter, streamed.
  void CopyObject();
  void UploadPartCopy();
  bool CopySourceRecord(store::BucketId* src_id, std::string* src_key, store::ObjectRecord* rec);
  void CopyStart(const store::ObjectRecord& rec, uint64_t first, uint64_t length);
  bool CopyConditions(const store::ObjectRecord& src);
  void CopyFail(S3Error e, std::string_view message = {});
  void CopyFinish();
  static void OnCopyData(void* ctx, store::ObjectReader* reader, std::string_view data);
  static void OnCopyReadDone(void* ctx, Status st);
  static void OnCopyWriterReady(void* ctx, Status st);
  static void OnCopyDone(void* ctx, Status st, const store::PutResult& r);
  void CopyPump();
  // Small XML request bodies (DeleteObjects, PutObjectTagging, CompleteMultipartUpload),
  // collected whole.
  void XmlBodyStart(std::size_t limit);
  void XmlBodyEnd();
  bool RequireBodyChecksum();  // Content-MD5 or x-amz-checksum-*; false: answered
  // DeleteObjects (delete_objects.cc).
  void DeleteObjects();
  void DeleteObjectsExecute();
  static void OnDeleteObjectsDone(void* ctx, Status st, bool existed);
  // Tagging and attributes (tagging.cc).
  void GetObjectTagging();
  void PutObjectTagging();
  void PutObjectTaggingExecute();
  void DeleteObjectTagging();
  void SetObjectTags(const std::vector<store::KeyValue>& tags);
  static void OnTagsDone(void* ctx, Status st, bool existed);
  void GetObjectAttributes();
  // Bucket CORS configuration (cors_ops.cc).
  void GetBucketCors();
  void PutBucketCors();
  void PutBucketCorsExecute();
  void DeleteBucketCors();
  /// Commits (config) or deletes (nullptr) the bucket's CORS configuration through the commit
  /// thread; OnCorsCommitted answers.
  void CommitCors(const CorsConfig* config);
  static void OnCorsCommitted(void* ctx, Status st, bool existed);
  bool ReadObjectRecord(store::ObjectRecord* rec);
  bool CurrentVersionOnly();
  // Content headers and x-amz-meta-* of the request (PutObject, CopyObject with REPLACE,
  // CreateMultipartUpload); views into `h` and `names`.
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
  bool ParsePartNumber();  // ?partNumber into a new mpu_; false: answered
  void UploadPartStart();
  bool UploadPartChecksum();
  Result<store::ObjectWriter*> BeginPartWriter();
  void CompleteRun();
  void AbortMultipartUpload();
  void ListParts();
  void ListMultipartUploads();
  bool SubmitMultipart(store::MetaOp* op);
  static void OnMultipartCommitted(void* ctx, Status st, bool existed);
  // GET (and CopyObject) of a multipart object: ?partNumber, and reads that span parts.
  bool SelectPart(const store::ObjectRecord& rec, uint64_t* first, uint64_t* length);
  bool StartMultipartRead(std::string_view record_value, uint64_t first, uint64_t length,
                          store::ReadHandler handler);
  bool ContinueMultipartRead();
  bool MultipartReadFailed() const;  // a part's read could not start

  S3Service* svc_;
  http::Exchange* ex_ = nullptr;
  Stage stage_ = Stage::kClassify;
  Classified req_;
  auth::SigV4Context* ctx_ = nullptr;
  std::shared_ptr<const Credential> cred_;  ///< owned: the cache may be refreshed mid-request
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
  /// The handler a Pending callback belongs to (nullptr: the connection is gone); frees the
  /// trampoline.
  static S3Handler* TakePending(void* ctx);
  /// The store refused to enqueue: drops the trampoline, answers 503 (stopping, queue full,
  /// metadata store read-only) or 500.
  void EnqueueRefused(const Status& st);
  /// A commit came back failed: logs it and answers RespondStoreFailure's error. Returns !st.ok().
  bool CommitFailed(const Status& st, const char* what);
  /// A store failure that is not the client's fault: 507 (ENOSPC), 503 (the commit queue
  /// refused it: stopping, full, or the metadata store read-only after a disk error), else 500.
  void RespondStoreFailure(const Status& st);
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

  // PUT / CopyObject extras.
  std::vector<std::string> tag_text_;  // key, value, ... for the new record's tags
  std::optional<store::PutCondition> put_cond_;
  // CopyObject.
  bool copying_ = false;
  std::string copy_src_value_;        // the source's encoded record (views point here)
  std::string_view copy_piece_;       // part of the reader's piece the writer has not taken
  std::string copy_meta_value_;       // the new record's metadata (views point here)
  // XML bodies.
  bool xml_body_ = false;
  std::size_t xml_limit_ = 0;
  std::string xml_;
  std::vector<std::string> delete_keys_;
  std::string delete_result_;  // DeleteObjects: the response, built before the commit
  std::unique_ptr<Multipart, MultipartDeleter> mpu_;
};

}  // namespace mamute::s3
