#include "store/records.h"

#include "util/encoding.h"

namespace mamute::store {
namespace {

// Presence bits of the optional fields (ObjectRecord, UploadRecord).
enum : uint64_t {
  kHasContentType = 1u << 0,
  kHasContentEncoding = 1u << 1,
  kHasContentDisposition = 1u << 2,
  kHasContentLanguage = 1u << 3,
  kHasCacheControl = 1u << 4,
  kHasExpires = 1u << 5,
  kHasUserMeta = 1u << 6,
  kHasChecksums = 1u << 7,
  kHasTags = 1u << 8,
  kHasPartSizes = 1u << 9,
  kKnownBits = (1u << 10) - 1,
};

constexpr std::size_t kMaxMultipartEtag = 64;

#define RETURN_IF_ERROR(expr) MAMUTE_RETURN_IF_ERROR(expr)

uint64_t HeaderBits(const ContentHeaders& h) {
  uint64_t b = 0;
  if (!h.content_type.empty()) {
    b |= kHasContentType;
  }
  if (!h.content_encoding.empty()) {
    b |= kHasContentEncoding;
  }
  if (!h.content_disposition.empty()) {
    b |= kHasContentDisposition;
  }
  if (!h.content_language.empty()) {
    b |= kHasContentLanguage;
  }
  if (!h.cache_control.empty()) {
    b |= kHasCacheControl;
  }
  if (!h.expires.empty()) {
    b |= kHasExpires;
  }
  return b;
}

void WriteHeaders(RecordWriter& w, const ContentHeaders& h) {
  // Same order as the bits; absent fields take no bytes.
  for (std::string_view v : {h.content_type, h.content_encoding, h.content_disposition,
                             h.content_language, h.cache_control, h.expires}) {
    if (!v.empty()) {
      w.Bytes(v);
    }
  }
}

Status ReadHeaders(RecordReader& r, uint64_t bits, ContentHeaders* h) {
  std::string_view* fields[] = {&h->content_type,     &h->content_encoding, &h->content_disposition,
                                &h->content_language, &h->cache_control,    &h->expires};
  for (int i = 0; i < 6; ++i) {
    *fields[i] = {};
    if (bits & (uint64_t{1} << i)) {
      RETURN_IF_ERROR(r.Bytes(fields[i]));
      if (fields[i]->empty()) {
        // The encoder never writes an empty present field; one encoding per record.
        return Status::Corruption("record: empty header field marked present");
      }
    }
  }
  return Status::Ok();
}

void WriteKeyValues(RecordWriter& w, const std::vector<KeyValue>& kvs) {
  w.Varint(kvs.size());
  for (const KeyValue& kv : kvs) {
    w.Bytes(kv.key);
    w.Bytes(kv.value);
  }
}

Status ReadKeyValues(RecordReader& r, std::vector<KeyValue>* kvs) {
  std::size_t n = 0;
  RETURN_IF_ERROR(r.Count(2, &n));
  kvs->resize(n);
  for (KeyValue& kv : *kvs) {
    RETURN_IF_ERROR(r.Bytes(&kv.key));
    RETURN_IF_ERROR(r.Bytes(&kv.value));
  }
  return Status::Ok();
}

void WriteChecksums(RecordWriter& w, const std::vector<Checksum>& cs) {
  w.Varint(cs.size());
  for (const Checksum& c : cs) {
    w.U8(static_cast<uint8_t>(c.algorithm));
    w.U8(static_cast<uint8_t>(c.type));
    w.Bytes(c.value);
  }
}

Status ReadChecksumAlgorithm(RecordReader& r, ChecksumAlgorithm* a) {
  uint8_t v = 0;
  RETURN_IF_ERROR(r.U8(&v));
  *a = static_cast<ChecksumAlgorithm>(v);
  if (ChecksumSize(*a) == 0) {
    return Status::Corruption("record: unknown checksum algorithm");
  }
  return Status::Ok();
}

Status ReadChecksumType(RecordReader& r, ChecksumType* t) {
  uint8_t v = 0;
  RETURN_IF_ERROR(r.U8(&v));
  if (v > static_cast<uint8_t>(ChecksumType::kComposite)) {
    return Status::Corruption("record: unknown checksum type");
  }
  *t = static_cast<ChecksumType>(v);
  return Status::Ok();
}

Status ReadChecksums(RecordReader& r, std::vector<Checksum>* cs) {
  std::size_t n = 0;
  RETURN_IF_ERROR(r.Count(3, &n));
  cs->resize(n);
  for (Checksum& c : *cs) {
    RETURN_IF_ERROR(ReadChecksumAlgorithm(r, &c.algorithm));
    RETURN_IF_ERROR(ReadChecksumType(r, &c.type));
    RETURN_IF_ERROR(r.Bytes(&c.value));
    if (c.value.size() != ChecksumSize(c.algorithm)) {
      return Status::Corruption("record: checksum value has the wrong size");
    }
  }
  return Status::Ok();
}

void WriteHash(RecordWriter& w, const Hash128& h) { w.Fixed128(h.high64, h.low64); }
Status ReadHash(RecordReader& r, Hash128* h) { return r.Fixed128(&h->high64, &h->low64); }

void WriteLocation(RecordWriter& w, const DataLocation& l) {
  w.U8(static_cast<uint8_t>(l.kind));
  if (l.kind == LocationKind::kInline) {
    w.Bytes(l.inline_data);
  } else {
    w.Fixed128(l.file.hi, l.file.lo);
    w.Varint(l.data_dir);
  }
}

Status ReadLocation(RecordReader& r, DataLocation* l) {
  uint8_t kind = 0;
  RETURN_IF_ERROR(r.U8(&kind));
  *l = DataLocation{};
  if (kind == static_cast<uint8_t>(LocationKind::kInline)) {
    l->kind = LocationKind::kInline;
    return r.Bytes(&l->inline_data);
  }
  if (kind != static_cast<uint8_t>(LocationKind::kFile)) {
    return Status::Corruption("record: unknown location kind");
  }
  l->kind = LocationKind::kFile;
  RETURN_IF_ERROR(r.Fixed128(&l->file.hi, &l->file.lo));
  if (l->file.is_zero()) {
    return Status::Corruption("record: zero data file id");
  }
  return r.Varint32(&l->data_dir);
}

Status CheckInlineSize(const DataLocation& l, uint64_t size) {
  if (l.kind == LocationKind::kInline && l.inline_data.size() != size) {
    return Status::Corruption("record: inline data size differs from the object size");
  }
  return Status::Ok();
}

}  // namespace

// ---- primitives -------------------------------------------------------------------------------

void RecordWriter::Varint(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void RecordWriter::SignedVarint(int64_t v) {
  Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void RecordWriter::Bytes(std::string_view b) {
  Varint(b.size());
  out_->append(b);
}

void RecordWriter::Fixed128(uint64_t hi, uint64_t lo) {
  AppendBigEndian64(out_, hi);
  AppendBigEndian64(out_, lo);
}

Status RecordReader::U8(uint8_t* v) {
  if (in_.empty()) {
    return Status::Corruption("record: truncated");
  }
  *v = static_cast<uint8_t>(in_[0]);
  in_.remove_prefix(1);
  return Status::Ok();
}

Status RecordReader::Varint(uint64_t* v) {
  uint64_t result = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    if (i >= in_.size()) {
      return Status::Corruption("record: truncated varint");
    }
    uint8_t b = static_cast<uint8_t>(in_[i]);
    if (i == 9 && b > 1) {
      return Status::Corruption("record: varint overflows 64 bits");
    }
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) {
        // Over-long encodings would give one value two encodings.
        return Status::Corruption("record: over-long varint");
      }
      in_.remove_prefix(i + 1);
      *v = result;
      return Status::Ok();
    }
  }
  return Status::Corruption("record: varint too long");
}

Status RecordReader::Varint32(uint32_t* v) {
  uint64_t x = 0;
  RETURN_IF_ERROR(Varint(&x));
  if (x > UINT32_MAX) {
    return Status::Corruption("record: varint overflows 32 bits");
  }
  *v = static_cast<uint32_t>(x);
  return Status::Ok();
}

Status RecordReader::SignedVarint(int64_t* v) {
  uint64_t x = 0;
  RETURN_IF_ERROR(Varint(&x));
  *v = static_cast<int64_t>((x >> 1) ^ (~(x & 1) + 1));
  return Status::Ok();
}

Status RecordReader::Bytes(std::string_view* b) {
  uint64_t n = 0;
  RETURN_IF_ERROR(Varint(&n));
  if (n > in_.size()) {
    return Status::Corruption("record: field longer than the record");
  }
  return Raw(static_cast<std::size_t>(n), b);
}

Status RecordReader::Raw(std::size_t n, std::string_view* b) {
  if (n > in_.size()) {
    return Status::Corruption("record: field longer than the record");
  }
  *b = in_.substr(0, n);
  in_.remove_prefix(n);
  return Status::Ok();
}

Status RecordReader::Fixed128(uint64_t* hi, uint64_t* lo) {
  if (in_.size() < 16) {
    return Status::Corruption("record: truncated 128-bit field");
  }
  *hi = LoadBigEndian64(in_.data());
  *lo = LoadBigEndian64(in_.data() + 8);
  in_.remove_prefix(16);
  return Status::Ok();
}

Status RecordReader::Count(std::size_t min_size, std::size_t* n) {
  uint64_t c = 0;
  RETURN_IF_ERROR(Varint(&c));
  if (min_size == 0) {
    min_size = 1;
  }
  if (c > in_.size() / min_size) {
    return Status::Corruption("record: list count exceeds the record");
  }
  *n = static_cast<std::size_t>(c);
  return Status::Ok();
}

Status RecordReader::Version(uint8_t expected, std::string_view what) {
  uint8_t v = 0;
  if (!U8(&v).ok()) {
    return Status::Corruption(std::string(what) + ": empty value");
  }
  if (v != expected) {
    return Status::Corruption(std::string(what) + ": unknown format version " + std::to_string(v));
  }
  return Status::Ok();
}

Status RecordReader::Finish(std::string_view what) const {
  if (!in_.empty()) {
    return Status::Corruption(std::string(what) + ": trailing bytes");
  }
  return Status::Ok();
}

// ---- field helpers ------------------------------------------------------------------------------

std::string FormatEtag(EtagKind kind, std::string_view etag) {
  std::string s;
  s.push_back('"');
  if (kind == EtagKind::kMd5) {
    s += util::HexEncode(etag.data(), etag.size());
  } else {
    s.append(etag);
  }
  s.push_back('"');
  return s;
}

std::size_t ChecksumSize(ChecksumAlgorithm a) noexcept {
  switch (a) {
    case ChecksumAlgorithm::kCrc32: return 4;
    case ChecksumAlgorithm::kCrc32c: return 4;
    case ChecksumAlgorithm::kCrc64Nvme: return 8;
    case ChecksumAlgorithm::kSha1: return 20;
    case ChecksumAlgorithm::kSha256: return 32;
  }
  return 0;
}

// ---- bucket -------------------------------------------------------------------------------------

void EncodeBucket(const BucketRecord& r, std::string* out) {
  out->clear();
  RecordWriter w(out);
  w.U8(kFormatV1);
  w.Varint(r.id);
  w.Bytes(r.name);
  w.Bytes(r.project_id);
  w.Bytes(r.storage_class);
  w.Bytes(r.region);
  w.SignedVarint(r.created_at_ms);
  w.Bytes(r.cors);
}

Status DecodeBucket(std::string_view in, BucketRecord* out) {
  RecordReader r(in);
  RETURN_IF_ERROR(r.Version(kFormatV1, "bucket record"));
  RETURN_IF_ERROR(r.Varint(&out->id));
  RETURN_IF_ERROR(r.Bytes(&out->name));
  RETURN_IF_ERROR(r.Bytes(&out->project_id));
  RETURN_IF_ERROR(r.Bytes(&out->storage_class));
  RETURN_IF_ERROR(r.Bytes(&out->region));
  RETURN_IF_ERROR(r.SignedVarint(&out->created_at_ms));
  RETURN_IF_ERROR(r.Bytes(&out->cors));
  if (out->name.empty()) {
    return Status::Corruption("bucket record: empty name");
  }
  return r.Finish("bucket record");
}

void EncodeBucketName(BucketId id, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kFormatV1));
  AppendBigEndian64(out, id);
}

Status DecodeBucketName(std::string_view in, BucketId* id) {
  RecordReader r(in);
  RETURN_IF_ERROR(r.Version(kFormatV1, "bucket name record"));
  std::string_view raw;
  RETURN_IF_ERROR(r.Raw(kBucketIdSize, &raw));
  *id = LoadBigEndian64(raw.data());
  return r.Finish("bucket name record");
}

// ---- object -------------------------------------------------------------------------------------

void AppendDataFiles(const ObjectRecord& r, std::vector<FileRef>* out) {
  if (r.location.kind == LocationKind::kFile) {
    out->push_back(FileRef{r.location.data_dir, r.location.file});
  }
  if (r.location.kind == LocationKind::kParts) {
    for (const PartLocation& p : r.parts) {
      if (p.location.kind == LocationKind::kFile) {
        out->push_back(FileRef{p.location.data_dir, p.location.file});
      }
    }
  }
}

void EncodeObject(const ObjectRecord& r, std::string* out) {
  out->clear();
  out->reserve(64 + r.etag.size() + r.location.inline_data.size() + r.parts.size() * 40);
  RecordWriter w(out);
  const bool parts = r.location.kind == LocationKind::kParts;
  // v1 stays the format of every object that is not a completed multipart upload, so records
  // written before multipart existed and records written now are the same bytes.
  w.U8(parts ? kFormatV2 : kFormatV1);
  w.Varint(r.size);
  w.SignedVarint(r.mtime_ms);
  w.U8(static_cast<uint8_t>(r.etag_kind));
  w.Bytes(r.etag);
  WriteHash(w, r.xxh3);
  uint64_t bits = HeaderBits(r.headers);
  if (!r.user_meta.empty()) {
    bits |= kHasUserMeta;
  }
  if (!r.checksums.empty()) {
    bits |= kHasChecksums;
  }
  if (!r.tags.empty()) {
    bits |= kHasTags;
  }
  if (!parts && !r.part_sizes.empty()) {
    bits |= kHasPartSizes;  // v2: the sizes are in the parts list
  }
  w.Varint(bits);
  WriteHeaders(w, r.headers);
  if (bits & kHasUserMeta) {
    WriteKeyValues(w, r.user_meta);
  }
  if (bits & kHasChecksums) {
    WriteChecksums(w, r.checksums);
  }
  if (bits & kHasTags) {
    WriteKeyValues(w, r.tags);
  }
  if (bits & kHasPartSizes) {
    w.Varint(r.part_sizes.size());
    for (uint64_t s : r.part_sizes) {
      w.Varint(s);
    }
  }
  // Last, so that a large inline body is one contiguous tail.
  if (parts) {
    w.U8(static_cast<uint8_t>(LocationKind::kParts));
    w.Varint(r.parts.size());
    for (const PartLocation& p : r.parts) {
      w.Varint(p.size);
      WriteHash(w, p.xxh3);
      WriteLocation(w, p.location);
    }
    return;
  }
  WriteLocation(w, r.location);
}

namespace {
// v2 tail: u8 kParts ‖ varint n ‖ (varint size ‖ fixed128 xxh3 ‖ location)*n, n ≥ 1; each
// location inline (its length equal to the part size) or file; the sizes add up to `size`.
Status ReadParts(RecordReader& r, ObjectRecord* out) {
  uint8_t kind = 0;
  RETURN_IF_ERROR(r.U8(&kind));
  if (kind != static_cast<uint8_t>(LocationKind::kParts)) {
    return Status::Corruption("object record v2: location is not a part list");
  }
  out->location = DataLocation{};
  out->location.kind = LocationKind::kParts;
  std::size_t n = 0;
  RETURN_IF_ERROR(r.Count(19, &n));
  if (n == 0) {
    return Status::Corruption("object record v2: empty part list");
  }
  out->parts.resize(n);
  out->part_sizes.resize(n);
  uint64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    PartLocation& p = out->parts[i];
    RETURN_IF_ERROR(r.Varint(&p.size));
    RETURN_IF_ERROR(ReadHash(r, &p.xxh3));
    RETURN_IF_ERROR(ReadLocation(r, &p.location));
    RETURN_IF_ERROR(CheckInlineSize(p.location, p.size));
    out->part_sizes[i] = p.size;
    if (__builtin_add_overflow(sum, p.size, &sum)) {
      return Status::Corruption("object record: part sizes overflow");
    }
  }
  if (sum != out->size) {
    return Status::Corruption("object record: part sizes do not add up to the size");
  }
  return Status::Ok();
}
}  // namespace

Status DecodeObject(std::string_view in, ObjectRecord* out) {
  RecordReader r(in);
  const bool v2 = !in.empty() && static_cast<uint8_t>(in[0]) == kFormatV2;
  RETURN_IF_ERROR(r.Version(v2 ? kFormatV2 : kFormatV1, "object record"));
  RETURN_IF_ERROR(r.Varint(&out->size));
  RETURN_IF_ERROR(r.SignedVarint(&out->mtime_ms));
  uint8_t kind = 0;
  RETURN_IF_ERROR(r.U8(&kind));
  if (kind > static_cast<uint8_t>(EtagKind::kMultipart)) {
    return Status::Corruption("object record: unknown etag kind");
  }
  out->etag_kind = static_cast<EtagKind>(kind);
  RETURN_IF_ERROR(r.Bytes(&out->etag));
  if (out->etag_kind == EtagKind::kMd5 ? out->etag.size() != 16
                                       : (out->etag.empty() || out->etag.size() > kMaxMultipartEtag)) {
    return Status::Corruption("object record: bad etag length");
  }
  RETURN_IF_ERROR(ReadHash(r, &out->xxh3));
  uint64_t bits = 0;
  RETURN_IF_ERROR(r.Varint(&bits));
  if (bits & ~static_cast<uint64_t>(kKnownBits)) {
    return Status::Corruption("object record: unknown field bits");
  }
  RETURN_IF_ERROR(ReadHeaders(r, bits, &out->headers));
  out->user_meta.clear();
  out->checksums.clear();
  out->tags.clear();
  out->part_sizes.clear();
  out->parts.clear();
  if (v2 && (bits & kHasPartSizes)) {
    return Status::Corruption("object record v2: part sizes outside the part list");
  }
  if (bits & kHasUserMeta) {
    RETURN_IF_ERROR(ReadKeyValues(r, &out->user_meta));
  }
  if (bits & kHasChecksums) {
    RETURN_IF_ERROR(ReadChecksums(r, &out->checksums));
  }
  if (bits & kHasTags) {
    RETURN_IF_ERROR(ReadKeyValues(r, &out->tags));
  }
  if (bits & kHasPartSizes) {
    std::size_t n = 0;
    RETURN_IF_ERROR(r.Count(1, &n));
    out->part_sizes.resize(n);
    uint64_t sum = 0;
    for (uint64_t& s : out->part_sizes) {
      RETURN_IF_ERROR(r.Varint(&s));
      if (__builtin_add_overflow(sum, s, &sum)) {
        return Status::Corruption("object record: part sizes overflow");
      }
    }
    if (sum != out->size) {
      return Status::Corruption("object record: part sizes do not add up to the size");
    }
  }
  if ((bits & (kHasUserMeta | kHasChecksums | kHasTags | kHasPartSizes)) &&
      ((bits & kHasUserMeta && out->user_meta.empty()) ||
       (bits & kHasChecksums && out->checksums.empty()) ||
       (bits & kHasTags && out->tags.empty()) ||
       (bits & kHasPartSizes && out->part_sizes.empty()))) {
    return Status::Corruption("object record: empty list marked present");
  }
  if (v2) {
    RETURN_IF_ERROR(ReadParts(r, out));
  } else {
    RETURN_IF_ERROR(ReadLocation(r, &out->location));
    RETURN_IF_ERROR(CheckInlineSize(out->location, out->size));
  }
  return r.Finish("object record");
}

// ---- upload -------------------------------------------------------------------------------------

void EncodeUpload(const UploadRecord& r, std::string* out) {
  out->clear();
  RecordWriter w(out);
  w.U8(kFormatV1);
  w.SignedVarint(r.initiated_ms);
  uint64_t bits = HeaderBits(r.headers);
  if (!r.user_meta.empty()) {
    bits |= kHasUserMeta;
  }
  if (r.has_checksum) {
    bits |= kHasChecksums;
  }
  if (!r.tags.empty()) {
    bits |= kHasTags;
  }
  w.Varint(bits);
  WriteHeaders(w, r.headers);
  if (bits & kHasUserMeta) {
    WriteKeyValues(w, r.user_meta);
  }
  if (bits & kHasChecksums) {
    w.U8(static_cast<uint8_t>(r.checksum_algorithm));
    w.U8(static_cast<uint8_t>(r.checksum_type));
  }
  if (bits & kHasTags) {
    WriteKeyValues(w, r.tags);
  }
  w.Bytes(r.storage_class);
  w.Bytes(r.owner);
}

Status DecodeUpload(std::string_view in, UploadRecord* out) {
  RecordReader r(in);
  RETURN_IF_ERROR(r.Version(kFormatV1, "upload record"));
  RETURN_IF_ERROR(r.SignedVarint(&out->initiated_ms));
  uint64_t bits = 0;
  RETURN_IF_ERROR(r.Varint(&bits));
  if (bits & ~static_cast<uint64_t>(kKnownBits & ~kHasPartSizes)) {
    return Status::Corruption("upload record: unknown field bits");
  }
  RETURN_IF_ERROR(ReadHeaders(r, bits, &out->headers));
  out->user_meta.clear();
  out->tags.clear();
  if (bits & kHasUserMeta) {
    RETURN_IF_ERROR(ReadKeyValues(r, &out->user_meta));
    if (out->user_meta.empty()) {
      return Status::Corruption("upload record: empty list marked present");
    }
  }
  out->has_checksum = (bits & kHasChecksums) != 0;
  out->checksum_algorithm = ChecksumAlgorithm::kCrc32;
  out->checksum_type = ChecksumType::kComposite;
  if (out->has_checksum) {
    RETURN_IF_ERROR(ReadChecksumAlgorithm(r, &out->checksum_algorithm));
    RETURN_IF_ERROR(ReadChecksumType(r, &out->checksum_type));
  }
  if (bits & kHasTags) {
    RETURN_IF_ERROR(ReadKeyValues(r, &out->tags));
    if (out->tags.empty()) {
      return Status::Corruption("upload record: empty list marked present");
    }
  }
  RETURN_IF_ERROR(r.Bytes(&out->storage_class));
  RETURN_IF_ERROR(r.Bytes(&out->owner));
  return r.Finish("upload record");
}

// ---- part ---------------------------------------------------------------------------------------

void EncodePart(const PartRecord& r, std::string* out) {
  out->clear();
  RecordWriter w(out);
  w.U8(kFormatV1);
  w.Varint(r.size);
  w.SignedVarint(r.mtime_ms);
  w.Bytes(r.etag_md5);
  WriteHash(w, r.xxh3);
  WriteChecksums(w, r.checksums);
  WriteLocation(w, r.location);
}

Status DecodePart(std::string_view in, PartRecord* out) {
  RecordReader r(in);
  RETURN_IF_ERROR(r.Version(kFormatV1, "part record"));
  RETURN_IF_ERROR(r.Varint(&out->size));
  RETURN_IF_ERROR(r.SignedVarint(&out->mtime_ms));
  RETURN_IF_ERROR(r.Bytes(&out->etag_md5));
  if (out->etag_md5.size() != 16) {
    return Status::Corruption("part record: etag is not 16 bytes");
  }
  RETURN_IF_ERROR(ReadHash(r, &out->xxh3));
  RETURN_IF_ERROR(ReadChecksums(r, &out->checksums));
  RETURN_IF_ERROR(ReadLocation(r, &out->location));
  RETURN_IF_ERROR(CheckInlineSize(out->location, out->size));
  return r.Finish("part record");
}

// ---- credential ---------------------------------------------------------------------------------

void EncodeCredential(const CredentialRecord& r, std::string* out) {
  out->clear();
  RecordWriter w(out);
  w.U8(kFormatV1);
  w.Bytes(r.access_key_id);
  w.Bytes(r.sealed_secret);
  w.U8(static_cast<uint8_t>(r.scope.kind));
  if (r.scope.kind == ScopeKind::kBucket) {
    w.Varint(r.scope.bucket);
  } else {
    w.Bytes(r.scope.project_id);
  }
  w.U8(static_cast<uint8_t>(r.status));
  w.SignedVarint(r.created_at_ms);
  w.SignedVarint(r.last_used_at_ms);
  w.Varint(r.secret_version);
}

Status DecodeCredential(std::string_view in, CredentialRecord* out) {
  RecordReader r(in);
  RETURN_IF_ERROR(r.Version(kFormatV1, "credential record"));
  RETURN_IF_ERROR(r.Bytes(&out->access_key_id));
  if (out->access_key_id.empty()) {
    return Status::Corruption("credential record: empty access key id");
  }
  RETURN_IF_ERROR(r.Bytes(&out->sealed_secret));
  uint8_t v = 0;
  RETURN_IF_ERROR(r.U8(&v));
  out->scope = CredentialScope{};
  if (v == static_cast<uint8_t>(ScopeKind::kBucket)) {
    out->scope.kind = ScopeKind::kBucket;
    RETURN_IF_ERROR(r.Varint(&out->scope.bucket));
  } else if (v == static_cast<uint8_t>(ScopeKind::kProject)) {
    out->scope.kind = ScopeKind::kProject;
    RETURN_IF_ERROR(r.Bytes(&out->scope.project_id));
  } else {
    return Status::Corruption("credential record: unknown scope kind");
  }
  RETURN_IF_ERROR(r.U8(&v));
  if (v != static_cast<uint8_t>(CredentialStatus::kActive) &&
      v != static_cast<uint8_t>(CredentialStatus::kInactive)) {
    return Status::Corruption("credential record: unknown status");
  }
  out->status = static_cast<CredentialStatus>(v);
  RETURN_IF_ERROR(r.SignedVarint(&out->created_at_ms));
  RETURN_IF_ERROR(r.SignedVarint(&out->last_used_at_ms));
  RETURN_IF_ERROR(r.Varint32(&out->secret_version));
  return r.Finish("credential record");
}

}  // namespace mamute::store
