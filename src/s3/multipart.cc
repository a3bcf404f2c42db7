// S3 multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
// AbortMultipartUpload, ListParts, ListMultipartUploads, GET/HEAD ?partNumber and reads of
// multipart objects, and the sweep that aborts abandoned uploads (docs/s3.md, docs/storage.md).
#include <charconv>
#include <cstring>

#include "core/shard.h"
#include "s3/handler.h"
#include "s3/service.h"
#include "s3/xml.h"
#include "s3/xml_reader.h"
#include "store/keys.h"
#include "store/multipart.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/time_format.h"

namespace mamute::s3 {
namespace {

int64_t WallMs() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

std::string IsoMs(int64_t ms) {
  char buf[32];
  std::size_t n = util::FormatIso8601Ms(ms, buf);
  return std::string(buf, n);
}

store::ChecksumAlgorithm StoreAlgo(ChecksumAlgo a) {
  return static_cast<store::ChecksumAlgorithm>(static_cast<uint8_t>(a) + 1);
}
ChecksumAlgo S3Algo(store::ChecksumAlgorithm a) {
  return static_cast<ChecksumAlgo>(static_cast<uint8_t>(a) - 1);
}

// "ChecksumCRC32", ... as the XML elements name them.
std::string ChecksumElement(ChecksumAlgo a) {
  std::string n = "Checksum";
  n += ChecksumAlgoName(a);
  return n;
}

bool ParseU32(std::string_view s, uint32_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

void WriteOwner(XmlWriter& w, std::string_view tag) {
  w.Open(tag);
  w.Element("ID", "mamute");
  w.Element("DisplayName", "mamute");
  w.Close(tag);
}

}  // namespace

// Per-request multipart state (only multipart requests and GETs of multipart objects have one).
struct S3Handler::Multipart {
  store::UploadId upload_id;
  uint32_t part_number = 0;
  std::string upload_value;  // the UploadRecord's bytes (`upload` borrows)
  store::UploadRecord upload;
  // The response, prepared before the commit.
  std::string response;
  std::vector<http::OutHeader> headers;
  std::string header_text;
  // Reads of a multipart object: the parts still to stream.
  std::string record_value;  // the ObjectRecord bytes the parts' inline data borrows from
  std::vector<store::PartLocation> parts;
  std::size_t next_part = 0;
  uint64_t read_pos = 0;  // object offset of the next byte to read
  uint64_t read_end = 0;
  store::ReadHandler read_handler{};  // GET's stream or CopyObject's writer
  bool read_failed = false;           // a part's read could not start
};

void S3Handler::MultipartDeleter::operator()(Multipart* m) const noexcept { delete m; }

bool S3Handler::ExecuteMultipart() {
  switch (req_.op) {
    case S3Op::kCreateMultipartUpload: CreateMultipartUpload(); return true;
    case S3Op::kUploadPart: UploadPartStart(); return true;
    case S3Op::kUploadPartCopy: UploadPartCopy(); return true;
    case S3Op::kCompleteMultipartUpload:
      mpu_.reset(new Multipart);
      XmlBodyStart(XmlLimits{}.max_bytes);  // XmlBodyEnd() runs CompleteRun()
      return true;
    case S3Op::kAbortMultipartUpload: AbortMultipartUpload(); return true;
    case S3Op::kListParts: ListParts(); return true;
    case S3Op::kListMultipartUploads: ListMultipartUploads(); return true;
    default: return false;
  }
}

// ---------------------------------------------------------------- CreateMultipartUpload

void S3Handler::CreateMultipartUpload() {
  const http::RequestHead& h = ex_->head();
  store::UploadRecord rec;
  rec.initiated_ms = WallMs();
  std::vector<std::string> lower_names;
  ReadStoredHeaders(h, &rec.headers, &rec.user_meta, &lower_names);
  std::string_view algo_s = h.Find("x-amz-checksum-algorithm");
  std::string_view type_s = h.Find("x-amz-checksum-type");
  if (!algo_s.empty()) {
    auto algo = ParseChecksumAlgo(algo_s);
    if (!algo) {
      RespondError(S3Error::kInvalidRequest, "Checksum algorithm provided is unsupported.");
      return;
    }
    rec.has_checksum = true;
    rec.checksum_algorithm = StoreAlgo(*algo);
    // AWS's defaults: CRC64NVME is always a full-object checksum, the others composite.
    rec.checksum_type = *algo == ChecksumAlgo::kCrc64Nvme ? store::ChecksumType::kFullObject
                                                          : store::ChecksumType::kComposite;
    if (!type_s.empty()) {
      if (http::EqualsIgnoreCase(type_s, "FULL_OBJECT")) {
        if (*algo == ChecksumAlgo::kSha1 || *algo == ChecksumAlgo::kSha256) {
          RespondError(S3Error::kInvalidRequest,
                       "The FULL_OBJECT checksum type is not supported with the SHA algorithms.");
          return;
        }
        rec.checksum_type = store::ChecksumType::kFullObject;
      } else if (http::EqualsIgnoreCase(type_s, "COMPOSITE")) {
        if (*algo == ChecksumAlgo::kCrc64Nvme) {
          RespondError(S3Error::kInvalidRequest, "The COMPOSITE checksum type is not supported with CRC64NVME.");
          return;
        }
        rec.checksum_type = store::ChecksumType::kComposite;
      } else {
        RespondError(S3Error::kInvalidRequest, "Value for x-amz-checksum-type header is invalid.");
        return;
      }
    }
  } else if (!type_s.empty()) {
    RespondError(S3Error::kInvalidRequest, "The x-amz-checksum-type header requires x-amz-checksum-algorithm.");
    return;
  }
  rec.storage_class = "STANDARD";
  rec.owner = ctx_->auth().access_key;
  const store::UploadId id = store::UploadId::Generate(static_cast<uint64_t>(rec.initiated_ms));
  std::string value;
  store::EncodeUpload(rec, &value);

  auto op = svc_->object_io().NewMetaOp();
  if (!op) {
    RespondError(S3Error::kServiceUnavailable);
    return;
  }
  if (!(*op)->batch().Put(store::Cf::kUploads, store::UploadKey(bucket_id_, req_.key, id), value).ok()) {
    svc_->object_io().Discard(*op);
    RespondError(S3Error::kInternalError);
    return;
  }
  (*op)->require_bucket(bucket_id_);  // no upload of a bucket deleted meanwhile
  mpu_.reset(new Multipart);
  XmlWriter w(&mpu_->response);
  w.OpenRoot("InitiateMultipartUploadResult");
  w.Element("Bucket", req_.bucket);
  w.Element("Key", req_.key);
  w.Element("UploadId", id.ToHex());
  w.Close("InitiateMultipartUploadResult");
  mpu_->headers.push_back({"Content-Type", "application/xml"});
  if (rec.has_checksum) {
    mpu_->headers.push_back({"x-amz-checksum-algorithm", ChecksumAlgoName(S3Algo(rec.checksum_algorithm))});
    mpu_->headers.push_back({"x-amz-checksum-type",
                             rec.checksum_type == store::ChecksumType::kFullObject ? "FULL_OBJECT" : "COMPOSITE"});
  }
  SubmitMultipart(*op);
}

bool S3Handler::SubmitMultipart(store::MetaOp* op) {
  Status st = svc_->object_io().Submit(op, &S3Handler::OnMultipartCommitted, NewPending());
  if (!st.ok()) {
    EnqueueRefused(st);
    return false;
  }
  return true;
}

void S3Handler::OnMultipartCommitted(void* ctx, Status st, bool existed) {
  (void)existed;
  S3Handler* self = TakePending(ctx);
  if (self == nullptr) return;  // the client went away; the commit itself is done
  // Checked at commit time (store::RemoveUpload): another request ended the upload first, or
  // a listed part was uploaded again while the Complete was on its way.
  if (st.code() == Code::kNotFound && st.message() == "NoSuchUpload") {
    self->RespondError(S3Error::kNoSuchUpload);
    return;
  }
  if (st.code() == Code::kFailedPrecondition && st.message().starts_with("InvalidPart")) {
    self->RespondError(S3Error::kInvalidPart, "One or more of the specified parts changed while the upload was "
                                              "being completed; list the parts and complete again.");
    return;
  }
  if (self->CommitFailed(st, S3OpName(self->req_.op).data())) return;
  self->stage_ = Stage::kDone;
  if (self->req_.op == S3Op::kAbortMultipartUpload) {
    self->ex_->Respond(204, nullptr, 0, {});
    return;
  }
  self->ex_->Respond(200, self->mpu_->headers.data(), self->mpu_->headers.size(), self->mpu_->response);
}

// ---------------------------------------------------------------- the upload named by ?uploadId

namespace {
enum class UploadLookup { kOk, kNoSuchUpload, kError };
}  // namespace

// ?uploadId and its upload record: an id that does not parse, or names an upload of another
// bucket or key, is NoSuchUpload, as in S3.
static UploadLookup FindUploadRecordIn(store::NodeStore& node, std::string_view query, store::BucketId bucket,
                                     std::string_view key, store::UploadId* out_id, std::string* value,
                                     store::UploadRecord* rec) {
  auto raw = DecodeQueryValue(FindQuery(query, "uploadId").raw);
  if (!raw) return UploadLookup::kNoSuchUpload;
  auto id = store::UploadId::FromHex(*raw);
  if (!id) return UploadLookup::kNoSuchUpload;
  *out_id = *id;
  Status st = store::LoadUpload(*node.db, bucket, key, *id, value, rec);
  if (st.code() == Code::kNotFound) return UploadLookup::kNoSuchUpload;
  if (!st.ok()) {
    MLOG_ERROR("upload record read failed: %s", st.ToString().c_str());
    return UploadLookup::kError;
  }
  return UploadLookup::kOk;
}

bool S3Handler::LoadUpload() {
  switch (FindUploadRecordIn(svc_->node(), ex_->head().query, bucket_id_, req_.key, &mpu_->upload_id,
                             &mpu_->upload_value, &mpu_->upload)) {
    case UploadLookup::kOk: return true;
    case UploadLookup::kNoSuchUpload: RespondError(S3Error::kNoSuchUpload); return false;
    case UploadLookup::kError: RespondError(S3Error::kInternalError); return false;
  }
  return false;
}

// ---------------------------------------------------------------- UploadPart

// ?partNumber of UploadPart and UploadPartCopy into a new mpu_. False: answered.
bool S3Handler::ParsePartNumber() {
  mpu_.reset(new Multipart);
  auto num = DecodeQueryValue(FindQuery(ex_->head().query, "partNumber").raw);
  if (!num || !ParseU32(*num, &mpu_->part_number) || mpu_->part_number < 1 ||
      mpu_->part_number > store::kMaxPartNumber) {
    RespondError(S3Error::kInvalidArgument, "Part number must be an integer between 1 and 10000, inclusive");
    return false;
  }
  return true;
}

void S3Handler::UploadPartStart() {
  if (!ParsePartNumber() || !LoadUpload()) return;
  PutObjectStart();  // the PutObject data path, with a part writer (BeginPartWriter)
}

// The upload asked for a checksum algorithm: each part carries it (or we compute it), and a
// part with another algorithm is refused.
bool S3Handler::UploadPartChecksum() {
  if (!mpu_->upload.has_checksum) return true;
  const ChecksumAlgo want = S3Algo(mpu_->upload.checksum_algorithm);
  if (!checksum_) {
    checksum_algo_ = want;
    checksum_.emplace(want);
    return true;
  }
  if (checksum_algo_ != want) {
    RespondError(S3Error::kInvalidRequest,
                 std::string("Checksum Type mismatch occurred, expected checksum Type: ") +
                     std::string(ChecksumAlgoName(want)));
    return false;
  }
  return true;
}

Result<store::ObjectWriter*> S3Handler::BeginPartWriter() {
  return svc_->object_io().BeginPart(bucket_id_, req_.key, mpu_->upload_id, mpu_->part_number);
}

// ---------------------------------------------------------------- CompleteMultipartUpload

void S3Handler::CompleteRun() {
  // The XML names the parts (numbers, ETags, optional checksums).
  auto doc = ParseXml(xml_);
  if (!doc || doc->name != "CompleteMultipartUpload") {
    RespondError(S3Error::kMalformedXML);
    return;
  }
  std::vector<store::RequestedPart> requested;
  std::vector<const XmlNode*> requested_nodes;
  for (const XmlNode& part : doc->children) {
    if (part.name != "Part") continue;
    const std::string* num = part.ChildText("PartNumber");
    const std::string* etag = part.ChildText("ETag");
    store::RequestedPart r;
    if (num == nullptr || etag == nullptr || !ParseU32(*num, &r.number)) {
      RespondError(S3Error::kMalformedXML);
      return;
    }
    r.etag = *etag;
    requested.push_back(std::move(r));
    requested_nodes.push_back(&part);
  }
  if (requested.empty()) {
    RespondError(S3Error::kMalformedXML, "The XML you provided was not well-formed or did not validate against "
                                         "our published schema: it lists no parts.");
    return;
  }
  if (!LoadUpload()) return;
  std::vector<store::StoredPart> stored;
  bool truncated = false;
  if (Status st = store::LoadParts(*svc_->node().db, mpu_->upload_id, 0, 0, &stored, &truncated); !st.ok()) {
    MLOG_ERROR("CompleteMultipartUpload: reading parts failed: %s", st.ToString().c_str());
    RespondError(S3Error::kInternalError);
    return;
  }
  std::vector<const store::StoredPart*> chosen;
  uint32_t bad = 0;
  switch (store::CheckCompletion(requested, stored, svc_->config().multipart_min_part_size, &chosen, &bad)) {
    case store::CompleteError::kNone: break;
    case store::CompleteError::kInvalidPartOrder: RespondError(S3Error::kInvalidPartOrder); return;
    case store::CompleteError::kInvalidPart:
      RespondError(S3Error::kInvalidPart, "One or more of the specified parts could not be found.  The part may not "
                                          "have been uploaded, or the specified entity tag may not match the part's "
                                          "entity tag. Part " + std::to_string(bad) + ".");
      return;
    case store::CompleteError::kEntityTooSmall:
      RespondError(S3Error::kEntityTooSmall, "Your proposed upload is smaller than the minimum allowed size. Part " +
                                                 std::to_string(bad) + ".");
      return;
  }

  // The object's checksum: composite ("checksum of checksums") or the parts' CRCs combined.
  const store::UploadRecord& up = mpu_->upload;
  std::string checksum_raw;
  ChecksumAlgo algo = ChecksumAlgo::kCrc32;
  if (up.has_checksum) {
    algo = S3Algo(up.checksum_algorithm);
    std::vector<std::string> raws;
    for (std::size_t i = 0; i < chosen.size(); ++i) {
      std::string_view raw;
      for (const store::Checksum& c : chosen[i]->rec.checksums) {
        if (c.algorithm == up.checksum_algorithm) raw = c.value;
      }
      const std::string* given = requested_nodes[i]->ChildText(ChecksumElement(algo));
      if (raw.empty() || (given != nullptr && util::Base64Encode(raw.data(), raw.size()) != *given)) {
        RespondError(S3Error::kInvalidPart, "The checksum of part " + std::to_string(chosen[i]->number) +
                                                " is missing or does not match.");
        return;
      }
      raws.emplace_back(raw);
    }
    if (up.checksum_type == store::ChecksumType::kComposite) {
      checksum_raw = ComposeChecksums(algo, raws);
    } else {
      const std::size_t width = ChecksumRawSize(algo);
      uint64_t crc = 0;
      for (std::size_t i = 0; i < raws.size(); ++i) {
        uint64_t v = 0;
        for (unsigned char c : raws[i]) v = (v << 8) | c;
        crc = i == 0 ? v : CombineCrc(algo, crc, v, chosen[i]->rec.size);
      }
      checksum_raw.resize(width);
      for (std::size_t i = 0; i < width; ++i) {
        checksum_raw[width - 1 - i] = static_cast<char>((crc >> (8 * i)) & 0xff);
      }
    }
  }

  const std::string etag = store::MultipartEtag(chosen);
  store::ObjectRecord rec;
  rec.mtime_ms = WallMs();
  rec.headers = up.headers;
  rec.user_meta = up.user_meta;
  rec.tags = up.tags;
  if (up.has_checksum) rec.checksums.push_back(store::Checksum{up.checksum_algorithm, up.checksum_type, checksum_raw});
  store::AssembleObject(chosen, etag, &rec);
  if (rec.size > uint64_t{5} << 40) {  // AWS: 5 TiB
    RespondError(S3Error::kEntityTooLarge);
    return;
  }
  std::string value;
  store::EncodeObject(rec, &value);
  std::vector<store::FileRef> keep;
  store::AppendDataFiles(rec, &keep);

  auto op = svc_->object_io().NewMetaOp();
  if (!op) {
    RespondError(S3Error::kServiceUnavailable);
    return;
  }
  const std::string okey = store::ObjectKey(bucket_id_, req_.key);
  if (!(*op)->batch().Put(store::Cf::kObjects, okey, value).ok()) {
    svc_->object_io().Discard(*op);
    RespondError(S3Error::kInternalError);
    return;
  }
  // At commit time, atomically: the upload must still be there and the listed parts unchanged;
  // its records go, and parts not named in the list go with it (their files become garbage),
  // as in S3.
  (*op)->require_bucket(bucket_id_);  // no object in a bucket deleted meanwhile
  (*op)->end_upload(bucket_id_, req_.key, mpu_->upload_id);
  for (const store::StoredPart* p : chosen) (*op)->kept_parts().push_back(store::KeptPart{p->number, p->value});
  (*op)->add_replaced_key(okey);
  (*op)->keep() = keep;  // the replaced record may name our part files (never unlink them)

  XmlWriter w(&mpu_->response);
  w.OpenRoot("CompleteMultipartUploadResult");
  w.Element("Location", "/" + req_.bucket + "/" + req_.key);
  w.Element("Bucket", req_.bucket);
  w.Element("Key", req_.key);
  w.Element("ETag", "\"" + etag + "\"");
  std::string b64;
  if (up.has_checksum) {
    b64 = util::Base64Encode(checksum_raw.data(), checksum_raw.size());
    if (up.checksum_type == store::ChecksumType::kComposite) b64 += "-" + std::to_string(chosen.size());
    w.Element(ChecksumElement(algo), b64);
    w.Element("ChecksumType", up.checksum_type == store::ChecksumType::kComposite ? "COMPOSITE" : "FULL_OBJECT");
  }
  w.Close("CompleteMultipartUploadResult");
  mpu_->headers.push_back({"Content-Type", "application/xml"});
  if (up.has_checksum) {
    mpu_->header_text = b64;
    mpu_->headers.push_back({ChecksumHeaderName(algo), mpu_->header_text});
    mpu_->headers.push_back({"x-amz-checksum-type",
                             up.checksum_type == store::ChecksumType::kComposite ? "COMPOSITE" : "FULL_OBJECT"});
  }
  SubmitMultipart(*op);
}

// ---------------------------------------------------------------- AbortMultipartUpload

void S3Handler::AbortMultipartUpload() {
  mpu_.reset(new Multipart);
  if (!LoadUpload()) return;
  auto op = svc_->object_io().NewMetaOp();
  if (!op) {
    RespondError(S3Error::kServiceUnavailable);
    return;
  }
  (*op)->end_upload(bucket_id_, req_.key, mpu_->upload_id);  // NoSuchUpload if it ends first
  SubmitMultipart(*op);
}

// ---------------------------------------------------------------- ListParts

void S3Handler::ListParts() {
  mpu_.reset(new Multipart);
  std::string_view q = ex_->head().query;
  uint32_t max_parts = store::kMaxListParts, marker = 0;
  if (QueryValue v = FindQuery(q, "max-parts"); v.present) {
    auto d = DecodeQueryValue(v.raw);
    int64_t n = 0;
    if (!d || d->empty() || std::from_chars(d->data(), d->data() + d->size(), n).ec != std::errc() || n < 0) {
      RespondError(S3Error::kInvalidArgument, "Provided max-parts not an integer or within integer range");
      return;
    }
    max_parts = static_cast<uint32_t>(std::min<int64_t>(n, store::kMaxListParts));
  }
  if (QueryValue v = FindQuery(q, "part-number-marker"); v.present) {
    auto d = DecodeQueryValue(v.raw);
    if (!d || !ParseU32(*d, &marker)) {
      RespondError(S3Error::kInvalidArgument, "Provided part-number-marker not an integer or within integer range");
      return;
    }
  }
  if (!LoadUpload()) return;
  std::vector<store::StoredPart> parts;
  bool truncated = false;
  Status st = max_parts == 0 ? Status::Ok()
                             : store::LoadParts(*svc_->node().db, mpu_->upload_id, marker, max_parts, &parts, &truncated);
  if (!st.ok()) {
    MLOG_ERROR("ListParts failed: %s", st.ToString().c_str());
    RespondError(S3Error::kInternalError);
    return;
  }
  const store::UploadRecord& up = mpu_->upload;
  std::string body;
  XmlWriter w(&body);
  w.OpenRoot("ListPartsResult");
  w.Element("Bucket", req_.bucket);
  w.Element("Key", req_.key);
  w.Element("UploadId", mpu_->upload_id.ToHex());
  WriteOwner(w, "Initiator");
  WriteOwner(w, "Owner");
  w.Element("StorageClass", "STANDARD");
  w.Element("PartNumberMarker", static_cast<uint64_t>(marker));
  w.Element("NextPartNumberMarker", static_cast<uint64_t>(parts.empty() ? marker : parts.back().number));
  w.Element("MaxParts", static_cast<uint64_t>(max_parts));
  w.Bool("IsTruncated", truncated);
  if (up.has_checksum) {
    w.Element("ChecksumAlgorithm", ChecksumAlgoName(S3Algo(up.checksum_algorithm)));
    w.Element("ChecksumType", up.checksum_type == store::ChecksumType::kComposite ? "COMPOSITE" : "FULL_OBJECT");
  }
  for (const store::StoredPart& p : parts) {
    w.Open("Part");
    w.Element("PartNumber", static_cast<uint64_t>(p.number));
    w.Element("LastModified", IsoMs(p.rec.mtime_ms));
    w.Element("ETag", store::FormatEtag(store::EtagKind::kMd5, p.rec.etag_md5));
    w.Element("Size", p.rec.size);
    for (const store::Checksum& c : p.rec.checksums) {
      w.Element(ChecksumElement(S3Algo(c.algorithm)), util::Base64Encode(c.value.data(), c.value.size()));
    }
    w.Close("Part");
  }
  w.Close("ListPartsResult");
  RespondXml(200, body);
}

// ---------------------------------------------------------------- ListMultipartUploads

void S3Handler::ListMultipartUploads() {
  std::string_view q = ex_->head().query;
  std::string prefix, delimiter, key_marker, id_marker, max_s, encoding;
  auto get = [&](std::string_view name, std::string* out) { return DecodedQuery(q, name, out); };
  if (!get("prefix", &prefix) || !get("delimiter", &delimiter) || !get("key-marker", &key_marker) ||
      !get("upload-id-marker", &id_marker) || !get("max-uploads", &max_s) || !get("encoding-type", &encoding)) {
    RespondError(S3Error::kInvalidArgument, "Malformed query parameter encoding.");
    return;
  }
  if (!encoding.empty() && encoding != "url") {
    RespondError(S3Error::kInvalidArgument, "Invalid Encoding Method specified in Request");
    return;
  }
  store::ListUploadsRequest lr;
  lr.bucket = bucket_id_;
  lr.prefix = prefix;
  lr.delimiter = delimiter;
  lr.key_marker = key_marker;
  lr.upload_id_marker = key_marker.empty() ? std::string_view() : std::string_view(id_marker);
  if (!max_s.empty()) {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(max_s.data(), max_s.data() + max_s.size(), n);
    if (ec != std::errc() || p != max_s.data() + max_s.size() || n < 0) {
      RespondError(S3Error::kInvalidArgument, "Provided max-uploads not an integer or within integer range");
      return;
    }
    lr.max_uploads = static_cast<uint32_t>(std::min<int64_t>(n, store::kMaxListUploads));
  }
  auto res = store::ListUploads(*svc_->node().db, lr);
  if (!res) {
    RespondListingError(res.error(), "ListMultipartUploads");
    return;
  }
  const bool url = encoding == "url";
  auto enc = [url](std::string_view s) { return MaybeUrlEncode(s, url); };
  std::string body;
  XmlWriter w(&body);
  w.OpenRoot("ListMultipartUploadsResult");
  w.Element("Bucket", req_.bucket);
  w.Element("KeyMarker", enc(key_marker));
  w.Element("UploadIdMarker", lr.upload_id_marker);
  if (res->is_truncated) {
    w.Element("NextKeyMarker", enc(res->next_key_marker));
    w.Element("NextUploadIdMarker", res->next_upload_id_marker);
  }
  if (!delimiter.empty()) w.Element("Delimiter", enc(delimiter));
  w.Element("Prefix", enc(prefix));
  if (url) w.Element("EncodingType", "url");
  w.Element("MaxUploads", static_cast<uint64_t>(lr.max_uploads));
  w.Bool("IsTruncated", res->is_truncated);
  for (const store::ListedUpload& u : res->uploads) {
    w.Open("Upload");
    w.Element("Key", enc(u.key));
    w.Element("UploadId", u.id.ToHex());
    WriteOwner(w, "Initiator");
    WriteOwner(w, "Owner");
    w.Element("StorageClass", "STANDARD");
    w.Element("Initiated", IsoMs(u.initiated_ms));
    w.Close("Upload");
  }
  for (const std::string& p : res->common_prefixes) {
    w.Open("CommonPrefixes");
    w.Element("Prefix", enc(p));
    w.Close("CommonPrefixes");
  }
  w.Close("ListMultipartUploadsResult");
  RespondXml(200, body);
}

// ---------------------------------------------------------------- GET of multipart objects

bool S3Handler::SelectPart(const store::ObjectRecord& rec, uint64_t* first, uint64_t* length) {
  uint32_t n = 0;
  auto d = DecodeQueryValue(FindQuery(ex_->head().query, "partNumber").raw);
  if (!d || !ParseU32(*d, &n) || n < 1 || n > store::kMaxPartNumber) {
    RespondError(S3Error::kInvalidArgument, "Part number must be an integer between 1 and 10000, inclusive");
    return false;
  }
  if (rec.location.kind != store::LocationKind::kParts) {
    if (n != 1) {
      RespondError(S3Error::kInvalidPartNumber);
      return false;
    }
    *first = 0;
    *length = rec.size;
    return true;
  }
  if (n > rec.parts.size()) {
    RespondError(S3Error::kInvalidPartNumber);
    return false;
  }
  uint64_t off = 0;
  for (uint32_t i = 0; i + 1 < n; ++i) off += rec.parts[i].size;
  *first = off;
  *length = rec.parts[n - 1].size;
  return true;
}

bool S3Handler::StartMultipartRead(std::string_view record_value, uint64_t first, uint64_t length,
                                   store::ReadHandler handler) {
  if (mpu_ == nullptr) mpu_.reset(new Multipart);
  // The parts' inline data (empty parts) borrows from the record bytes: keep a copy.
  mpu_->record_value.assign(record_value);
  store::ObjectRecord own;
  mpu_->read_failed = false;
  if (!store::DecodeObject(mpu_->record_value, &own).ok()) {
    mpu_->read_failed = true;
    return false;
  }
  mpu_->parts = std::move(own.parts);
  mpu_->next_part = 0;
  mpu_->read_pos = first;
  mpu_->read_end = first + length;
  mpu_->read_handler = handler;
  return ContinueMultipartRead();
}

bool S3Handler::MultipartReadFailed() const { return mpu_ != nullptr && mpu_->read_failed; }

// Starts the read of the next part overlapping [read_pos, read_end). False when there is none
// left, or when it could not start (read_failed: the caller aborts the stream or the copy).
bool S3Handler::ContinueMultipartRead() {
  if (mpu_ == nullptr || mpu_->parts.empty()) return false;
  Multipart& m = *mpu_;
  uint64_t part_start = 0;
  for (std::size_t i = 0; i < m.parts.size(); ++i) {
    const store::PartLocation& p = m.parts[i];
    const uint64_t part_end = part_start + p.size;
    if (m.read_pos < part_end && m.read_pos < m.read_end && p.size > 0) {
      const uint64_t off = m.read_pos - part_start;
      const uint64_t len = std::min(part_end, m.read_end) - m.read_pos;
      store::ObjectRecord one;  // the part as a single object: a whole-part read verifies its XXH3
      one.size = p.size;
      one.xxh3 = p.xxh3;
      one.location = p.location;
      auto r = svc_->object_io().BeginGet(one, off, len, m.read_handler, this);
      if (!r) {
        MLOG_ERROR("multipart read failed to start: %s", r.error().ToString().c_str());
        m.parts.clear();
        m.read_failed = true;
        return false;
      }
      m.read_pos += len;
      reader_ = *r;
      return true;
    }
    part_start = part_end;
  }
  return false;
}

// ---------------------------------------------------------------- the expiry sweep

void S3Service::StartExpirySweep() {
  const uint64_t expiry_ms = config_.multipart_expiry_s * 1000;
  // Often enough that an upload outlives its expiry by at most a quarter of it (1 s to 1 min).
  const uint32_t tick = static_cast<uint32_t>(std::clamp<uint64_t>(expiry_ms / 4, 1000, 60000));
  expiry_list_ = std::make_unique<core::TimerList>(tick);
  shard_->AddTimerList(expiry_list_.get());
  expiry_timer_.svc = this;
  expiry_timer_.fire = &S3Service::OnExpiryTick;
  expiry_list_->Arm(&expiry_timer_, shard_->now_ms());
}

void S3Service::OnExpiryTick(core::Timer* t) {
  S3Service* self = static_cast<ExpiryTimer*>(t)->svc;
  // At most 256 upload records per tick, and no new round while aborts are in flight.
  if (self->expiry_in_flight_ == 0) {
    std::vector<store::ExpiredUpload> expired;
    const int64_t cutoff = WallMs() - static_cast<int64_t>(self->config_.multipart_expiry_s * 1000);
    Status st = store::ScanExpiredUploads(*self->node_->db, cutoff, 256, &self->expiry_cursor_, &expired);
    if (!st.ok()) MLOG_WARN("multipart expiry scan: %s", st.ToString().c_str());
    for (const store::ExpiredUpload& e : expired) {
      auto op = self->io_->NewMetaOp();
      if (!op) break;
      // Checked at commit time: an upload completed or aborted meanwhile is left alone.
      (*op)->end_upload(e.bucket, e.key, e.id);
      if (!self->io_->Submit(*op, &S3Service::OnExpiryAborted, self).ok()) continue;  // op back in the pool
      ++self->expiry_in_flight_;
      MLOG_INFO("multipart upload %s expired: aborted", e.id.ToHex().c_str());
    }
  }
  self->expiry_list_->Arm(&self->expiry_timer_, self->shard_->now_ms());
}

void S3Service::OnExpiryAborted(void* ctx, Status st, bool existed) {
  (void)existed;
  auto* self = static_cast<S3Service*>(ctx);
  --self->expiry_in_flight_;
  // NotFound: a Complete or Abort ended the upload first.
  if (!st.ok() && st.code() != Code::kNotFound) MLOG_WARN("multipart expiry abort failed: %s", st.ToString().c_str());
}

}  // namespace mamute::s3
