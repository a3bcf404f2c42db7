#include "store/multipart.h"

#include <openssl/evp.h>
#include <rocksdb/db.h>
#include <xxhash.h>

#include <algorithm>
#include <cctype>

#include "util/encoding.h"

namespace mamute::store {
namespace {

std::string_view AsView(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

// The escaped form of `s` without its terminator: every escaped key that starts with `s`
// starts with these bytes (the escaping is order-preserving and prefix-free).
std::string EscapedPrefix(BucketId bucket, std::string_view s) {
  std::string k = UploadKeyPrefix(bucket, s);
  k.resize(k.size() - 2);  // drop the 0x00 0x01 terminator
  return k;
}

bool EtagMatches(std::string_view given, std::string_view raw_md5) {
  while (!given.empty() && (given.front() == '"' || given.front() == ' ')) given.remove_prefix(1);
  while (!given.empty() && (given.back() == '"' || given.back() == ' ')) given.remove_suffix(1);
  const std::string hex = util::HexEncode(raw_md5.data(), raw_md5.size());
  if (given.size() != hex.size()) {
    return false;
  }
  for (std::size_t i = 0; i < hex.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(given[i])) != hex[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

Status LoadParts(const MetaDb& db, const UploadId& upload, uint32_t after, uint32_t max,
                 std::vector<StoredPart>* out, bool* truncated) {
  out->clear();
  *truncated = false;
  if (after >= kMaxPartNumber) {
    return Status::Ok();
  }
  const std::string start = PartKey(upload, after + 1);
  const std::optional<std::string> end = PrefixSuccessor(upload.view());
  rocksdb::Slice upper;
  rocksdb::ReadOptions ro;
  if (end) {
    upper = rocksdb::Slice(*end);
    ro.iterate_upper_bound = &upper;
  }
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(Cf::kParts, ro);
  for (it->Seek(start); it->Valid(); it->Next()) {
    if (max != 0 && out->size() == max) {
      *truncated = true;
      break;
    }
    Result<DecodedPartKey> k = DecodePartKey(AsView(it->key()));
    if (!k) {
      return k.error();
    }
    out->push_back(StoredPart{k->part_number, std::string(AsView(it->value())), {}});
  }
  MAMUTE_RETURN_IF_ERROR(FromRocks(it->status(), "list parts"));
  // Decoded only now: the vector no longer moves the strings the records borrow from.
  for (StoredPart& p : *out) {
    MAMUTE_RETURN_IF_ERROR(DecodePart(p.value, &p.rec));
  }
  return Status::Ok();
}

Status LoadUpload(const MetaDb& db, BucketId bucket, std::string_view key, const UploadId& id,
                  std::string* value, UploadRecord* rec) {
  MAMUTE_RETURN_IF_ERROR(db.Get(Cf::kUploads, UploadKey(bucket, key, id), value));
  return DecodeUpload(*value, rec);
}

CompleteError CheckCompletion(const std::vector<RequestedPart>& requested,
                              const std::vector<StoredPart>& stored, uint64_t min_part_size,
                              std::vector<const StoredPart*>* chosen, uint32_t* bad_part) {
  chosen->clear();
  *bad_part = 0;
  // Order first, as S3 does: a list out of order is InvalidPartOrder even if a part is missing.
  for (std::size_t i = 1; i < requested.size(); ++i) {
    if (requested[i].number <= requested[i - 1].number) {
      *bad_part = requested[i].number;
      return CompleteError::kInvalidPartOrder;
    }
  }
  std::size_t j = 0;
  for (const RequestedPart& r : requested) {
    while (j < stored.size() && stored[j].number < r.number) {
      ++j;
    }
    if (j == stored.size() || stored[j].number != r.number ||
        !EtagMatches(r.etag, stored[j].rec.etag_md5)) {
      *bad_part = r.number;
      chosen->clear();
      return CompleteError::kInvalidPart;
    }
    chosen->push_back(&stored[j]);
  }
  for (std::size_t i = 0; i + 1 < chosen->size(); ++i) {
    if ((*chosen)[i]->rec.size < min_part_size) {
      *bad_part = (*chosen)[i]->number;
      chosen->clear();
      return CompleteError::kEntityTooSmall;
    }
  }
  return CompleteError::kNone;
}

std::string MultipartEtag(const std::vector<const StoredPart*>& parts) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestInit_ex(ctx, EVP_md5(), nullptr);
  for (const StoredPart* p : parts) {
    EVP_DigestUpdate(ctx, p->rec.etag_md5.data(), p->rec.etag_md5.size());
  }
  EVP_DigestFinal_ex(ctx, md, &n);
  EVP_MD_CTX_free(ctx);
  return util::HexEncode(md, n) + "-" + std::to_string(parts.size());
}

void AssembleObject(const std::vector<const StoredPart*>& parts, std::string_view etag,
                    ObjectRecord* rec) {
  rec->size = 0;
  rec->etag_kind = EtagKind::kMultipart;
  rec->etag = etag;
  rec->parts.clear();
  rec->part_sizes.clear();
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  for (const StoredPart* p : parts) {
    rec->parts.push_back(PartLocation{p->rec.size, p->rec.xxh3, p->rec.location});
    rec->part_sizes.push_back(p->rec.size);
    rec->size += p->rec.size;
    std::string canon;
    AppendBigEndian64(&canon, p->rec.xxh3.high64);
    AppendBigEndian64(&canon, p->rec.xxh3.low64);
    XXH3_128bits_update(st, canon.data(), canon.size());
  }
  const XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  rec->xxh3 = Hash128{h.low64, h.high64};
  rec->location = DataLocation{};
  rec->location.kind = LocationKind::kParts;
}

Status RemoveUpload(const CommitView& view, BucketId bucket, std::string_view key,
                    const UploadId& id, const std::vector<KeptPart>& kept, MetaBatch* batch,
                    std::vector<FileRef>* garbage) {
  const std::string upload_key = UploadKey(bucket, key, id);
  std::string value;
  Status st = view.Get(Cf::kUploads, upload_key, &value);
  if (st.code() == Code::kNotFound) {
    return Status::NotFound("NoSuchUpload");
  }
  MAMUTE_RETURN_IF_ERROR(st);
  MAMUTE_RETURN_IF_ERROR(batch->Delete(Cf::kUploads, upload_key));
  // Every part record there is now, including one an UploadPart committed after the caller
  // read the parts: none is left without its upload.
  const std::string start = PartKey(id, 1);
  const std::optional<std::string> end = PrefixSuccessor(id.view());
  rocksdb::Slice upper;
  rocksdb::ReadOptions ro;
  if (end) {
    upper = rocksdb::Slice(*end);
    ro.iterate_upper_bound = &upper;
  }
  std::unique_ptr<rocksdb::Iterator> it = view.NewIterator(Cf::kParts, ro);
  std::size_t k = 0;  // next kept part
  PartRecord rec;
  for (it->Seek(start); it->Valid(); it->Next()) {
    Result<DecodedPartKey> pk = DecodePartKey(AsView(it->key()));
    if (!pk) {
      return pk.error();
    }
    if (pk->upload_id.view() != id.view()) {
      break;  // past this upload (the bound is the base iterator's; the group's writes are not bounded)
    }
    MAMUTE_RETURN_IF_ERROR(batch->Delete(Cf::kParts, AsView(it->key())));
    if (k < kept.size() && kept[k].number < pk->part_number) {
      return Status::FailedPrecondition("InvalidPart: a listed part is gone");
    }
    if (k < kept.size() && kept[k].number == pk->part_number) {
      if (AsView(it->value()) != kept[k].value) {
        return Status::FailedPrecondition("InvalidPart: a listed part was uploaded again");
      }
      ++k;
      continue;
    }
    if (DecodePart(AsView(it->value()), &rec).ok() && rec.location.kind == LocationKind::kFile) {
      garbage->push_back(FileRef{rec.location.data_dir, rec.location.file});
    }
  }
  MAMUTE_RETURN_IF_ERROR(FromRocks(it->status(), "scan parts"));
  if (k != kept.size()) {
    return Status::FailedPrecondition("InvalidPart: a listed part is gone");
  }
  return Status::Ok();
}

Result<ListUploadsResult> ListUploads(const MetaDb& db, const ListUploadsRequest& req) {
  ListUploadsResult res;
  const uint32_t max = std::min(req.max_uploads, kMaxListUploads);
  std::string start = EscapedPrefix(req.bucket, req.prefix);
  if (!req.key_marker.empty()) {
    std::string after;
    if (!req.upload_id_marker.empty()) {
      Result<UploadId> id = UploadId::FromHex(req.upload_id_marker);
      if (!id) {
        return Err(Status::InvalidArgument("Invalid uploadId marker"));
      }
      after = UploadKey(req.bucket, req.key_marker, *id);
      after.push_back('\0');  // strictly after the marker upload
    } else if (!req.delimiter.empty() && req.key_marker.size() > req.prefix.size() &&
               req.key_marker.starts_with(req.prefix) && req.key_marker.ends_with(req.delimiter) &&
               req.key_marker.substr(req.prefix.size()).find(req.delimiter) ==
                   req.key_marker.size() - req.prefix.size() - req.delimiter.size()) {
      // The marker is a common prefix this listing returned (NextKeyMarker): past every key
      // under it, or the next page would roll the same keys up into it again.
      after = PrefixSuccessor(EscapedPrefix(req.bucket, req.key_marker)).value_or(std::string());
    } else {
      // Past every upload of key-marker.
      after = PrefixSuccessor(UploadKeyPrefix(req.bucket, req.key_marker)).value_or(std::string());
    }
    if (after > start) {
      start = std::move(after);
    }
  }
  const std::optional<std::string> end = PrefixSuccessor(EscapedPrefix(req.bucket, req.prefix));
  rocksdb::Slice upper;
  rocksdb::ReadOptions ro;
  if (end) {
    upper = rocksdb::Slice(*end);
    ro.iterate_upper_bound = &upper;
  }
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(Cf::kUploads, ro);
  std::string last_key;
  it->Seek(start);
  while (it->Valid()) {
    Result<DecodedUploadKey> k = DecodeUploadKey(AsView(it->key()));
    if (!k) {
      return Err(k.error());
    }
    if (k->bucket != req.bucket || !std::string_view(k->object_key).starts_with(req.prefix)) {
      break;
    }
    std::string_view rest = std::string_view(k->object_key).substr(req.prefix.size());
    const std::size_t d =
        req.delimiter.empty() ? std::string_view::npos : rest.find(req.delimiter);
    if (res.uploads.size() + res.common_prefixes.size() == max) {
      res.is_truncated = true;
      break;
    }
    if (d != std::string_view::npos) {
      std::string cp = k->object_key.substr(0, req.prefix.size() + d + req.delimiter.size());
      res.common_prefixes.push_back(cp);
      res.next_key_marker = cp;
      res.next_upload_id_marker.clear();
      std::optional<std::string> past = PrefixSuccessor(EscapedPrefix(req.bucket, cp));
      if (!past) {
        break;
      }
      it->Seek(*past);
      continue;
    }
    UploadRecord rec;
    Status s = DecodeUpload(AsView(it->value()), &rec);
    if (!s.ok()) {
      return Err(std::move(s));
    }
    res.uploads.push_back(ListedUpload{k->object_key, k->upload_id, rec.initiated_ms});
    res.next_key_marker = k->object_key;
    res.next_upload_id_marker = k->upload_id.ToHex();
    it->Next();
  }
  MAMUTE_RETURN_IF_ERROR_R(FromRocks(it->status(), "list uploads"));
  if (!res.is_truncated) {
    res.next_key_marker.clear();
    res.next_upload_id_marker.clear();
  }
  return res;
}

Status ScanExpiredUploads(const MetaDb& db, int64_t cutoff_ms, uint32_t budget,
                          std::string* cursor, std::vector<ExpiredUpload>* out) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(Cf::kUploads, ro);
  if (cursor->empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(*cursor);
  }
  uint32_t seen = 0;
  UploadRecord rec;
  for (; it->Valid() && seen < budget; it->Next(), ++seen) {
    if (!DecodeUpload(AsView(it->value()), &rec).ok() || rec.initiated_ms >= cutoff_ms) {
      continue;
    }
    Result<DecodedUploadKey> k = DecodeUploadKey(AsView(it->key()));
    if (k) {
      out->push_back(ExpiredUpload{k->bucket, std::move(k->object_key), k->upload_id});
    }
  }
  if (it->Valid()) {
    cursor->assign(it->key().data(), it->key().size());
  } else {
    cursor->clear();
  }
  return FromRocks(it->status(), "scan uploads");
}

}  // namespace mamute::store
