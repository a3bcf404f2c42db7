#include "store/dirs.h"

#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/write_batch_with_index.h>

#include <memory>
#include <optional>

#include "store/commit_queue.h"
#include "util/encoding.h"

namespace mamute::store {
namespace {

constexpr char kValueByte = static_cast<char>(kDirsValueVersion);
constexpr std::size_t kBuildBatch = 10000;

// Whether any key of `cf` (as `it`'s source sees it) starts with `prefix`.
bool AnyUnder(rocksdb::Iterator* it, std::string_view prefix) {
  it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
  return it->Valid() && std::string_view(it->key().data(), it->key().size()).starts_with(prefix);
}

// The '/' ending the parent of the directory key[0, end) (key[end - 1] is its '/'); npos
// when the directory is top-level.
std::size_t ParentSlash(std::string_view key, std::size_t end) {
  return end < 2 ? std::string_view::npos : key.rfind('/', end - 2);
}

}  // namespace

std::string_view DirsValue() { return std::string_view(&kValueByte, 1); }

void AppendDirsParent(std::string* out, BucketId bucket, std::string_view parent) {
  AppendBigEndian64(out, bucket);
  AppendEscaped(out, parent);
}

std::string DirsKey(BucketId bucket, std::string_view parent, std::string_view child) {
  std::string k;
  k.reserve(kBucketIdSize + parent.size() + 2 + child.size());
  AppendDirsParent(&k, bucket, parent);
  k.append(child);
  return k;
}

Result<DecodedDirsKey> DecodeDirsKey(std::string_view encoded) {
  if (encoded.size() < kBucketIdSize + 2) {
    return Err(Status::Corruption("dirs key: too short"));
  }
  DecodedDirsKey d;
  d.bucket = LoadBigEndian64(encoded.data());
  std::string_view rest = encoded.substr(kBucketIdSize);
  MAMUTE_RETURN_IF_ERROR_R(ConsumeEscaped(&rest, &d.parent));
  d.child = rest;
  if (!d.parent.empty() && d.parent.back() != '/') {
    return Err(Status::Corruption("dirs key: parent does not end in '/'"));
  }
  const std::size_t slash = d.child.find('/');
  if (slash != std::string_view::npos && slash + 1 != d.child.size()) {
    return Err(Status::Corruption("dirs key: child holds a '/' before its end"));
  }
  return d;
}

Status UpdateDirsForKey(const MetaDb& db, const CommitView& view, rocksdb::WriteBatchBase* group,
                        std::string_view objects_key, bool present,
                        const bool* indexed_hint) {
  if (objects_key.size() < kBucketIdSize) {
    return Status::Ok();
  }
  const BucketId bucket = LoadBigEndian64(objects_key.data());
  const std::string_view key = objects_key.substr(kBucketIdSize);
  std::string scratch;
  Status st;
  const std::size_t last = key.rfind('/');
  const std::size_t leaf_at = last == std::string_view::npos ? 0 : last + 1;
  const std::string leaf = DirsKey(bucket, key.substr(0, leaf_at), key.substr(leaf_at));
  bool indexed = false;
  if (indexed_hint != nullptr) {
    indexed = *indexed_hint;
  } else {
    st = view.Get(Cf::kDirs, leaf, &scratch);
    if (!st.ok() && st.code() != Code::kNotFound) {
      return st;
    }
    indexed = st.ok();
  }
  rocksdb::ColumnFamilyHandle* h = db.handle(Cf::kDirs);
  const rocksdb::Slice value(&kValueByte, 1);
  if (present == indexed) {
    return Status::Ok();
  }
  if (present) {
    MAMUTE_RETURN_IF_ERROR(FromRocks(group->Put(h, leaf, value), "dirs put"));
    // Bottom-up: the first DIR entry that exists has every ancestor already (invariant).
    std::size_t end = leaf_at;  // the directory ends at [0, end)
    while (end > 0) {
      const std::size_t prev = ParentSlash(key, end);
      const std::size_t pstart = prev == std::string_view::npos ? 0 : prev + 1;
      const std::string dk = DirsKey(bucket, key.substr(0, pstart), key.substr(pstart, end - pstart));
      st = view.Get(Cf::kDirs, dk, &scratch);
      if (st.ok()) {
        break;
      }
      if (st.code() != Code::kNotFound) {
        return st;
      }
      MAMUTE_RETURN_IF_ERROR(FromRocks(group->Put(h, dk, value), "dirs put"));
      end = pstart;
    }
    return Status::Ok();
  }
  MAMUTE_RETURN_IF_ERROR(FromRocks(group->Delete(h, leaf), "dirs delete"));
  // Bottom-up: a directory goes while no object key starts with it.
  std::string under;
  std::size_t end = leaf_at;
  while (end > 0) {
    under.assign(objects_key.substr(0, kBucketIdSize + end));
    const std::optional<std::string> upper = PrefixSuccessor(under);
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper_slice;
    if (upper) {
      upper_slice = rocksdb::Slice(*upper);
      ro.iterate_upper_bound = &upper_slice;
    }
    bool any = false;
    {
      std::unique_ptr<rocksdb::Iterator> it = view.NewIterator(Cf::kObjects, ro);
      any = AnyUnder(it.get(), under);
      MAMUTE_RETURN_IF_ERROR(FromRocks(it->status(), "dirs: objects probe"));
    }
    if (any) {
      break;
    }
    const std::size_t prev = ParentSlash(key, end);
    const std::size_t pstart = prev == std::string_view::npos ? 0 : prev + 1;
    MAMUTE_RETURN_IF_ERROR(FromRocks(
        group->Delete(h, DirsKey(bucket, key.substr(0, pstart), key.substr(pstart, end - pstart))),
        "dirs delete"));
    end = pstart;
  }
  return Status::Ok();
}

namespace {

// Calls fn(entry key) for every entry the objects CF implies, each once: objects come sorted,
// so a DIR entry was already emitted iff the previous key of the same bucket starts with it.
template <typename Fn>
Status ForEachDerivedEntry(const MetaDb& db, Fn&& fn) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(Cf::kObjects, ro);
  std::string prev;
  std::string entry;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view raw(it->key().data(), it->key().size());
    if (raw.size() < kBucketIdSize) {
      continue;
    }
    const BucketId bucket = LoadBigEndian64(raw.data());
    const std::string_view key = raw.substr(kBucketIdSize);
    // Bytes shared with the previous key (bucket included): directories within them are done.
    std::size_t lcp = 0;
    const std::size_t n = std::min(prev.size(), raw.size());
    while (lcp < n && prev[lcp] == raw[lcp]) {
      ++lcp;
    }
    const std::size_t shared = lcp < kBucketIdSize ? 0 : lcp - kBucketIdSize;
    const bool same_bucket = lcp >= kBucketIdSize;
    Status inner;
    ForEachDirsEntry(key, [&](std::string_view parent, std::string_view child) {
      if (!inner.ok()) {
        return;
      }
      const bool is_dir = !child.empty() && child.back() == '/';
      if (is_dir && same_bucket && parent.size() + child.size() <= shared) {
        return;  // the previous key has this directory
      }
      entry.clear();
      AppendDirsParent(&entry, bucket, parent);
      entry.append(child);
      inner = fn(std::string_view(entry));
    });
    MAMUTE_RETURN_IF_ERROR(inner);
    prev.assign(raw);
  }
  return FromRocks(it->status(), "dirs: objects scan");
}

}  // namespace

Status RebuildDirsIndex(MetaDb& db, uint64_t* entries_written) {
  db.set_dirs_ready(false);
  MetaBatch batch(db);
  uint64_t written = 0;
  {
    // Drop whatever is there (a build interrupted by a crash, a damaged index).
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(Cf::kDirs, ro);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      MAMUTE_RETURN_IF_ERROR(batch.Delete(Cf::kDirs, std::string_view(it->key().data(), it->key().size())));
      if (batch.Count() >= kBuildBatch) {
        MAMUTE_RETURN_IF_ERROR(db.Write(batch.rep(), /*sync=*/false));
        batch.Clear();
      }
    }
    MAMUTE_RETURN_IF_ERROR(FromRocks(it->status(), "dirs: clear scan"));
  }
  Status derived = ForEachDerivedEntry(db, [&](std::string_view entry) -> Status {
    MAMUTE_RETURN_IF_ERROR(batch.Put(Cf::kDirs, entry, DirsValue()));
    ++written;
    if (batch.Count() >= kBuildBatch) {
      MAMUTE_RETURN_IF_ERROR(db.Write(batch.rep(), /*sync=*/false));
      batch.Clear();
    }
    return Status::Ok();
  });
  MAMUTE_RETURN_IF_ERROR(derived);
  MAMUTE_RETURN_IF_ERROR(batch.Put(Cf::kDirs, kDirsBuiltKey, DirsValue()));
  MAMUTE_RETURN_IF_ERROR(db.Write(batch.rep(), /*sync=*/true));
  if (entries_written != nullptr) {
    *entries_written = written;
  }
  db.set_dirs_ready(true);
  return Status::Ok();
}

Status EnsureDirsIndex(MetaDb& db) {
  std::string v;
  Status st = db.Get(Cf::kDirs, kDirsBuiltKey, &v);
  if (st.ok()) {
    db.set_dirs_ready(true);
    return Status::Ok();
  }
  if (st.code() != Code::kNotFound) {
    return st;
  }
  return RebuildDirsIndex(db);
}

Status CheckDirsIndex(MetaDb& db, bool repair, DirsCheck* out) {
  std::string v;
  Status st = db.Get(Cf::kDirs, kDirsBuiltKey, &v);
  if (!st.ok() && st.code() != Code::kNotFound) {
    return st;
  }
  if (!st.ok()) {
    out->marker_missing = true;
    if (repair) {
      uint64_t n = 0;
      MAMUTE_RETURN_IF_ERROR(RebuildDirsIndex(db, &n));
      out->repaired += n;
    }
    return Status::Ok();
  }
  MetaBatch batch(db);
  auto note = [&](const char* what, std::string_view key) {
    if (out->samples.size() < kDirsCheckSamples) {
      out->samples.push_back(std::string(what) + " " + util::HexEncode(key.data(), key.size()));
    }
  };
  auto flush = [&](bool force) -> Status {
    if (batch.Count() == 0 || (!force && batch.Count() < 1000)) {
      return Status::Ok();
    }
    out->repaired += batch.Count();
    MAMUTE_RETURN_IF_ERROR(db.Write(batch.rep(), /*sync=*/true));
    batch.Clear();
    return Status::Ok();
  };
  // 1. Every entry the objects imply is there.
  Status derived = ForEachDerivedEntry(db, [&](std::string_view entry) -> Status {
    Status g = db.Get(Cf::kDirs, entry, &v);
    if (g.ok()) {
      return Status::Ok();
    }
    if (g.code() != Code::kNotFound) {
      return g;
    }
    ++out->missing;
    note("missing", entry);
    if (repair) {
      MAMUTE_RETURN_IF_ERROR(batch.Put(Cf::kDirs, entry, DirsValue()));
      return flush(false);
    }
    return Status::Ok();
  });
  MAMUTE_RETURN_IF_ERROR(derived);
  // 2. Every entry there is justified by an object.
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(Cf::kDirs, ro);
  std::unique_ptr<rocksdb::Iterator> objects = db.NewIterator(Cf::kObjects, ro);
  std::string target;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key == kDirsBuiltKey) {
      continue;
    }
    ++out->entries_checked;
    Result<DecodedDirsKey> d = DecodeDirsKey(key);
    bool ok = false;
    if (d) {
      target.clear();
      AppendBigEndian64(&target, d->bucket);
      target.append(d->parent);
      target.append(d->child);
      const bool is_dir = !d->child.empty() && d->child.back() == '/';
      if (is_dir) {
        ok = AnyUnder(objects.get(), target);
        MAMUTE_RETURN_IF_ERROR(FromRocks(objects->status(), "dirs check: objects probe"));
      } else {
        Status g = db.Get(Cf::kObjects, target, &v);
        if (!g.ok() && g.code() != Code::kNotFound) {
          return g;
        }
        ok = g.ok();
      }
    }
    const bool value_ok = it->value().size() == 1 && it->value()[0] == kValueByte;
    if (ok && !value_ok) {
      ++out->stale;  // justified, but not a value this version wrote: rewrite it
      note("bad-value", key);
      if (repair) {
        MAMUTE_RETURN_IF_ERROR(batch.Put(Cf::kDirs, key, DirsValue()));
        MAMUTE_RETURN_IF_ERROR(flush(false));
      }
    }
    if (!ok) {
      ++out->stale;
      note("stale", key);
      if (repair) {
        MAMUTE_RETURN_IF_ERROR(batch.Delete(Cf::kDirs, key));
        MAMUTE_RETURN_IF_ERROR(flush(false));
      }
    }
  }
  MAMUTE_RETURN_IF_ERROR(FromRocks(it->status(), "dirs check scan"));
  return flush(true);
}

}  // namespace mamute::store
