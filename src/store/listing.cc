#include "store/listing.h"

#include <rocksdb/snapshot.h>
#include <xxhash.h>

#include <algorithm>
#include <optional>

#include "store/dirs.h"
#include "util/encoding.h"

namespace mamute::store {
namespace {

constexpr uint8_t kTokenVersion = 1;
constexpr std::size_t kTokenCheckSize = 8;
constexpr uint64_t kTokenSeed = 0x6d616d7574656c73ull;  // "mamutels"

uint64_t TokenCheck(BucketId bucket, std::string_view item) {
  std::string buf;
  buf.reserve(kBucketIdSize + item.size());
  AppendBigEndian64(&buf, bucket);
  buf.append(item);
  return XXH3_64bits_withSeed(buf.data(), buf.size(), kTokenSeed);
}

ListedObject ToListed(std::string_view key, const ObjectRecord& rec) {
  ListedObject o;
  o.key.assign(key);
  o.size = rec.size;
  o.mtime_ms = rec.mtime_ms;
  o.etag_kind = rec.etag_kind;
  o.etag.assign(rec.etag);
  if (!rec.checksums.empty()) {
    o.has_checksum = true;
    o.checksum_algorithm = rec.checksums.front().algorithm;
  }
  return o;
}

// ReadOptions over the keys that start with `prefix` (bounded above by its successor) at
// `snapshot`. Not movable: `ro` points at `upper_slice`.
struct BoundedRead {
  BoundedRead(std::string_view prefix, const rocksdb::Snapshot* snapshot)
      : upper(PrefixSuccessor(prefix)) {
    ro.snapshot = snapshot;
    if (upper) {
      upper_slice = rocksdb::Slice(*upper);
      ro.iterate_upper_bound = &upper_slice;
    }
  }
  BoundedRead(const BoundedRead&) = delete;
  BoundedRead& operator=(const BoundedRead&) = delete;

  std::optional<std::string> upper;
  rocksdb::Slice upper_slice;
  rocksdb::ReadOptions ro;
};

// A truncated page's continuation token and (with a delimiter) NextMarker.
void FinishPage(const ListRequest& req, ListResult* res) {
  if (!res->is_truncated) {
    return;
  }
  // The last item is whichever of the last object / last common prefix sorts later: both
  // lists are in order and every item is distinct.
  std::string_view last_obj = res->objects.empty() ? std::string_view() : res->objects.back().key;
  std::string_view last_cp =
      res->common_prefixes.empty() ? std::string_view() : res->common_prefixes.back();
  const std::string_view last_item = std::max(last_obj, last_cp);
  res->next_continuation_token = EncodeContinuationToken(req.bucket, last_item);
  if (!req.delimiter.empty()) {
    res->next_marker.assign(last_item);
  }
}

// Delimiter "/" through the directory index (store/dirs.h): the request prefix P splits into
// D (P up to its last '/', or "") and the partial segment after it; the entries under parent D
// whose child starts with the partial segment are the page, in order, one Next each. A child
// ending in '/' is a common prefix D+child; any other is the object D+child, whose record the
// objects iterator reads (still positioned from the previous leaf: Next once, else Seek). Both
// iterators read one snapshot: the commit thread writes an object and its entries atomically.
Result<ListResult> ListWithDirs(const MetaDb& db, const ListRequest& req,
                                const std::optional<std::string>& after, ListResult res) {
  const std::size_t max = static_cast<std::size_t>(res.max_keys);
  const std::string_view prefix = req.prefix;
  const std::size_t slash = prefix.rfind('/');
  const std::string_view dir = slash == std::string_view::npos ? std::string_view()
                                                               : prefix.substr(0, slash + 1);
  const std::string_view partial = prefix.substr(dir.size());
  res.used_dirs_index = true;

  std::string base;  // bucket + escaped D: every entry under D
  AppendDirsParent(&base, req.bucket, dir);
  const std::size_t child_at = base.size();
  base.append(partial);
  std::string seek = base;
  if (after) {
    const std::string_view a = *after;
    if (a.starts_with(dir)) {
      // Children up to and including a's tail are at or before the marker; the loop skips the
      // one equal to it, and any common prefix the marker lies under (cp <= marker).
      std::string from(base, 0, child_at);
      from.append(a.substr(dir.size()));
      if (from > seek) {
        seek = std::move(from);
      }
    } else if (a > dir) {
      return res;  // the marker sorts after every key under D
    }
  }
  rocksdb::ManagedSnapshot snap(db.db());
  const BoundedRead dirs_read(base, snap.snapshot());
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(Cf::kDirs, dirs_read.ro);

  // The objects iterator, bounded to bucket + P, opened at the first leaf.
  std::string obj_prefix = BucketPrefix(req.bucket);
  obj_prefix.append(prefix);
  const BoundedRead obj_read(obj_prefix, snap.snapshot());
  std::unique_ptr<rocksdb::Iterator> obj;

  ObjectRecord rec;
  std::size_t count = 0;
  std::string item;
  std::string okey = BucketPrefix(req.bucket);
  ++res.seeks;
  for (it->Seek(rocksdb::Slice(seek)); it->Valid(); it->Next()) {
    ++res.keys_visited;
    const rocksdb::Slice k = it->key();
    const std::string_view entry(k.data(), k.size());
    if (!entry.starts_with(base)) {
      break;  // the upper bound makes this unreachable; kept as a guard
    }
    const std::string_view child = entry.substr(child_at);
    item.assign(dir);
    item.append(child);
    if (after && item <= *after) {
      continue;
    }
    if (count == max) {
      res.is_truncated = true;
      break;
    }
    ++count;
    if (!child.empty() && child.back() == '/') {
      res.common_prefixes.push_back(item);
      continue;
    }
    okey.resize(kBucketIdSize);
    okey.append(item);
    const rocksdb::Slice target(okey);
    if (!obj) {
      obj = db.NewIterator(Cf::kObjects, obj_read.ro);
      ++res.seeks;
      obj->Seek(target);
    } else if (obj->Valid() && obj->key().compare(target) < 0) {
      obj->Next();
      if (obj->Valid() && obj->key().compare(target) < 0) {
        ++res.seeks;
        obj->Seek(target);
      }
    } else if (!obj->Valid() || obj->key().compare(target) != 0) {
      ++res.seeks;
      obj->Seek(target);
    }
    if (!obj->Valid() || obj->key().compare(target) != 0) {
      if (!obj->status().ok()) {
        return Err(FromRocks(obj->status(), "list objects"));
      }
      return Err(Status::Corruption("listing: directory index names a missing object"));
    }
    const rocksdb::Slice v = obj->value();
    Status s = DecodeObject(std::string_view(v.data(), v.size()), &rec);
    if (!s.ok()) {
      return Err(Status::Corruption("listing: " + s.message()));
    }
    res.objects.push_back(ToListed(item, rec));
  }
  if (!it->status().ok()) {
    return Err(FromRocks(it->status(), "list directory index"));
  }
  FinishPage(req, &res);
  return res;
}

// The one engine behind v1 and v2. `after` (when set) is the exclusive lower bound: the marker,
// start-after, or the last item of the previous page. A common prefix that sorts at or before
// `after` was either returned already or lies before the marker, so it is skipped whole; that
// is what makes a continuation from a common prefix resume after all of its keys.
Result<ListResult> List(const MetaDb& db, const ListRequest& req,
                        const std::optional<std::string>& after) {
  if (req.max_keys < 0) {
    return Err(Status::InvalidArgument("max-keys must not be negative"));
  }
  ListResult res;
  res.max_keys = std::min(req.max_keys, kMaxListKeys);
  if (res.max_keys == 0) {
    // AWS answers max-keys=0 with an empty page and IsTruncated=false.
    return res;
  }
  if (req.delimiter == "/" && req.use_dirs_index && db.dirs_ready()) {
    return ListWithDirs(db, req, after, std::move(res));
  }
  const std::size_t max = static_cast<std::size_t>(res.max_keys);
  const std::string_view prefix = req.prefix;
  const std::string_view delim = req.delimiter;

  const std::string bucket_prefix = BucketPrefix(req.bucket);
  std::string seek = bucket_prefix;
  seek.append(prefix);
  // Every key under the request prefix sorts below its successor; an unbounded range only
  // happens for the last bucket id with an all-0xff prefix.
  const std::optional<std::string> upper = PrefixSuccessor(seek);
  rocksdb::Slice upper_slice;
  rocksdb::ReadOptions ro;
  if (upper) {
    upper_slice = rocksdb::Slice(*upper);
    ro.iterate_upper_bound = &upper_slice;
  }
  if (after) {
    std::string start = bucket_prefix;
    start.append(*after);
    start.push_back('\0');  // the smallest key strictly greater than `after`
    if (!delim.empty() && std::string_view(*after).starts_with(prefix)) {
      // A marker under a common prefix: that prefix sorts before the marker, so resume after
      // all of its keys at once rather than visiting the next one only to skip it.
      const std::size_t pos = after->find(delim, prefix.size());
      if (pos != std::string::npos) {
        std::string cp = bucket_prefix;
        cp.append(*after, 0, pos + delim.size());
        std::optional<std::string> succ = PrefixSuccessor(cp);
        if (!succ) {
          return res;  // nothing sorts after it
        }
        start = std::move(*succ);
      }
    }
    if (start > seek) {
      seek = std::move(start);
    }
  }

  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(Cf::kObjects, ro);
  ObjectRecord rec;
  std::size_t count = 0;
  std::string next_seek;
  int probe_skip = 0;  // common prefixes left to Seek past without a Next() probe first
  ++res.seeks;
  for (it->Seek(rocksdb::Slice(seek)); it->Valid();) {
    ++res.keys_visited;
    const rocksdb::Slice k = it->key();
    if (k.size() < kBucketIdSize) {
      return Err(Status::Corruption("objects: key shorter than a bucket id"));
    }
    const std::string_view key(k.data() + kBucketIdSize, k.size() - kBucketIdSize);
    if (!key.starts_with(prefix)) {
      break;  // the upper bound makes this unreachable; kept as a guard
    }
    if (!delim.empty()) {
      const std::size_t pos = key.find(delim, prefix.size());
      if (pos != std::string_view::npos) {
        const std::string_view cp = key.substr(0, pos + delim.size());
        const bool seen = after && cp <= std::string_view(*after);
        if (!seen) {
          if (count == max) {
            res.is_truncated = true;
            break;
          }
          res.common_prefixes.emplace_back(cp);
          ++count;
        }
        // bucket‖cp, copied: `k` and `cp` die with the iterator's position.
        next_seek.assign(k.data(), kBucketIdSize + cp.size());
        if (probe_skip == 0) {
          // Next-before-Seek: a prefix of one key is left by this Next alone.
          it->Next();
          if (!it->Valid()) {
            continue;  // the end (or an error, checked below)
          }
          const rocksdb::Slice n = it->key();
          if (!std::string_view(n.data(), n.size()).starts_with(next_seek)) {
            continue;  // the first key after cp: the loop takes it from here
          }
          ++res.keys_visited;
          probe_skip = kListProbeBackoff;
        } else {
          --probe_skip;
        }
        // Skip every key under cp with one seek instead of visiting them.
        std::optional<std::string> succ = PrefixSuccessor(next_seek);
        if (!succ) {
          break;
        }
        next_seek = std::move(*succ);
        ++res.seeks;
        it->Seek(rocksdb::Slice(next_seek));
        continue;
      }
    }
    if (count == max) {
      res.is_truncated = true;
      break;
    }
    const rocksdb::Slice v = it->value();
    Status s = DecodeObject(std::string_view(v.data(), v.size()), &rec);
    if (!s.ok()) {
      return Err(Status::Corruption("listing: " + s.message()));
    }
    res.objects.push_back(ToListed(key, rec));
    ++count;
    it->Next();
  }
  if (!it->status().ok()) {
    return Err(FromRocks(it->status(), "list objects"));
  }
  FinishPage(req, &res);
  return res;
}

}  // namespace

std::string EncodeContinuationToken(BucketId bucket, std::string_view last_item) {
  std::string raw;
  raw.reserve(1 + last_item.size() + kTokenCheckSize);
  raw.push_back(static_cast<char>(kTokenVersion));
  raw.append(last_item);
  AppendBigEndian64(&raw, TokenCheck(bucket, last_item));
  return util::Base64UrlEncode(raw.data(), raw.size());
}

Result<std::string> DecodeContinuationToken(BucketId bucket, std::string_view token) {
  std::optional<std::string> raw = util::Base64UrlDecode(token);
  if (!raw || raw->size() < 1 + kTokenCheckSize ||
      static_cast<uint8_t>((*raw)[0]) != kTokenVersion) {
    return Err(Status::InvalidArgument("The continuation token provided is incorrect"));
  }
  std::string item = raw->substr(1, raw->size() - 1 - kTokenCheckSize);
  const uint64_t check = LoadBigEndian64(raw->data() + raw->size() - kTokenCheckSize);
  if (check != TokenCheck(bucket, item)) {
    return Err(Status::InvalidArgument("The continuation token provided is incorrect"));
  }
  return item;
}

Result<ListResult> ListObjectsV2(const MetaDb& db, const ListRequest& req) {
  std::optional<std::string> after;
  if (!req.continuation_token.empty()) {
    Result<std::string> item = DecodeContinuationToken(req.bucket, req.continuation_token);
    if (!item) {
      return Err(std::move(item.error()));
    }
    after = std::move(*item);
  } else if (!req.start_after.empty()) {
    after.emplace(req.start_after);
  }
  return List(db, req, after);
}

Result<ListResult> ListObjectsV1(const MetaDb& db, const ListRequest& req) {
  if (!req.continuation_token.empty()) {
    return Err(Status::InvalidArgument("ListObjects v1 takes a marker, not a continuation token"));
  }
  std::optional<std::string> after;
  if (!req.start_after.empty()) {
    after.emplace(req.start_after);
  }
  Result<ListResult> r = List(db, req, after);
  if (r) {
    r->next_continuation_token.clear();
  }
  return r;
}

}  // namespace mamute::store
