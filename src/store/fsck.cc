#include "store/fsck.h"

#include <algorithm>
#include <optional>
#include <filesystem>
#include <system_error>
#include <type_traits>

#include "store/data_dirs.h"
#include "store/multipart.h"
#include "store/records.h"
#include "util/encoding.h"

namespace mamute::store {
namespace {

namespace fs = std::filesystem;

struct DiskFile {
  uint32_t dir = 0;
  FileId id;
  bool referenced = false;
};

bool IsHexPair(const std::string& s) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  return s.size() == 2 && hex(s[0]) && hex(s[1]);
}

void AddError(FsckReport* report, const std::string& what, const std::error_code& ec) {
  report->errors.push_back(what + ": " + ec.message());
}

// Lists <dir>/objects/<xx>/<yy>/<id> into `files`; anything else under objects/ is a stray.
void ScanObjectsDir(const std::string& dir, uint32_t index, std::vector<DiskFile>* files,
                    FsckReport* report) {
  const fs::path root = fs::path(dir) / "objects";
  std::error_code ec;
  if (!fs::exists(root, ec)) {
    return;
  }
  for (fs::directory_iterator l1(root, ec), end; !ec && l1 != end; l1.increment(ec)) {
    const std::string n1 = l1->path().filename().string();
    std::error_code tec;
    if (!IsHexPair(n1) || !l1->is_directory(tec)) {
      report->stray_files.push_back(l1->path().string());
      continue;
    }
    std::error_code ec2;
    for (fs::directory_iterator l2(l1->path(), ec2); !ec2 && l2 != end; l2.increment(ec2)) {
      const std::string n2 = l2->path().filename().string();
      std::error_code tec2;
      if (!IsHexPair(n2) || !l2->is_directory(tec2)) {
        report->stray_files.push_back(l2->path().string());
        continue;
      }
      std::error_code ec3;
      for (fs::directory_iterator f(l2->path(), ec3); !ec3 && f != end; f.increment(ec3)) {
        const std::string name = f->path().filename().string();
        Result<FileId> id = FileId::FromHex(name);
        if (!id || name.compare(0, 2, n1) != 0 || name.compare(2, 2, n2) != 0 ||
            !f->is_regular_file(tec2)) {
          report->stray_files.push_back(f->path().string());
          continue;
        }
        files->push_back(DiskFile{index, *id, false});
        ++report->data_files_seen;
      }
      if (ec3) {
        AddError(report, "scan " + l2->path().string(), ec3);
      }
    }
    if (ec2) {
      AddError(report, "scan " + l1->path().string(), ec2);
    }
  }
  if (ec) {
    AddError(report, "scan " + root.string(), ec);
  }
}

void ScanTmpDir(const std::string& dir, FsckReport* report) {
  const fs::path root = fs::path(dir) / "tmp";
  std::error_code ec;
  if (!fs::exists(root, ec)) {
    return;
  }
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (!it->is_directory(ec2)) {
      report->temp_files.push_back(it->path().string());
    }
  }
  if (ec) {
    AddError(report, "scan " + root.string(), ec);
  }
}

std::string PathOf(const std::vector<std::string>& dirs, const DataLocation& loc) {
  if (loc.data_dir >= dirs.size()) {
    return "<data dir #" + std::to_string(loc.data_dir) + ">/" + DataFileRelPath(loc.file);
  }
  return dirs[loc.data_dir] + "/" + DataFileRelPath(loc.file);
}

// Marks the file a record names as referenced, or reports it missing.
void CheckLocation(const std::vector<std::string>& dirs, std::vector<DiskFile>* files, Cf cf,
                   std::string_view key, const DataLocation& loc, FsckReport* report) {
  if (loc.kind != LocationKind::kFile) {
    return;
  }
  auto less = [](const DiskFile& a, const DiskFile& b) {
    return a.dir != b.dir ? a.dir < b.dir : a.id < b.id;
  };
  DiskFile probe{loc.data_dir, loc.file, false};
  auto it = std::lower_bound(files->begin(), files->end(), probe, less);
  if (it != files->end() && it->dir == loc.data_dir && it->id == loc.file) {
    it->referenced = true;
    return;
  }
  report->missing.push_back(MissingData{cf, std::string(key), PathOf(dirs, loc)});
}

// Whether a bucket's record exists. Keys come sorted by bucket id, so one lookup per bucket;
// dead ones are added to report->dead_buckets (kept sorted and unique).
class BucketLiveness {
 public:
  BucketLiveness(const MetaDb& db, FsckReport* report) : db_(db), report_(report) {}
  // Looks the bucket of `key` (8-byte bucket id first) up; a key too short counts as live
  // (its decode reports it).
  Result<bool> Live(std::string_view key) {
    if (key.size() < kBucketIdSize) {
      return true;
    }
    Result<BucketId> id = DecodeBucketKey(key.substr(0, kBucketIdSize));
    if (!id) {
      return true;
    }
    if (have_ && *id == last_) {
      return live_;
    }
    std::string v;
    Status st = db_.Get(Cf::kBuckets, key.substr(0, kBucketIdSize), &v);
    if (!st.ok() && st.code() != Code::kNotFound) {
      return Err(std::move(st));
    }
    have_ = true;
    last_ = *id;
    live_ = st.ok();
    if (!live_) {
      auto& dead = report_->dead_buckets;
      auto pos = std::lower_bound(dead.begin(), dead.end(), *id);
      if (pos == dead.end() || *pos != *id) {
        dead.insert(pos, *id);
      }
    }
    return live_;
  }

 private:
  const MetaDb& db_;
  FsckReport* report_;
  bool have_ = false;
  BucketId last_ = 0;
  bool live_ = true;
};

// Walks one column family, decoding every record with `decode` (ObjectRecord / PartRecord).
// Records `skip(key)` names (of a deleted bucket) are counted by it and reference nothing.
template <typename Record, typename Skip>
Status ScanRecords(const MetaDb& db, Cf cf, Status (*decode)(std::string_view, Record*),
                   const std::vector<std::string>& dirs, std::vector<DiskFile>* files,
                   uint64_t* checked, FsckReport* report, Skip&& skip) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // one sequential pass; keep the cache for serving
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(cf, ro);
  Record rec;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++*checked;
    const std::string_view key(it->key().data(), it->key().size());
    Result<bool> skipped = skip(key);
    if (!skipped) {
      return skipped.error();
    }
    if (*skipped) {
      continue;
    }
    Status s = decode(std::string_view(it->value().data(), it->value().size()), &rec);
    if (!s.ok()) {
      report->corrupt.push_back(std::string(CfName(cf)) + ": " +
                                util::HexEncode(key.data(), key.size()) + ": " + s.message());
      continue;
    }
    CheckLocation(dirs, files, cf, key, rec.location, report);
    if constexpr (std::is_same_v<Record, ObjectRecord>) {
      // A completed multipart object keeps its bytes in its parts' files.
      for (const PartLocation& p : rec.parts) {
        CheckLocation(dirs, files, cf, key, p.location, report);
      }
    }
  }
  return FromRocks(it->status(), "fsck scan " + std::string(CfName(cf)));
}

// The ids of the uploads in progress (raw, sorted), and of those among them whose bucket is
// gone (their parts keep no file alive). The parts CF is keyed by upload id alone, the uploads
// CF by (bucket, key, id).
Status ScanUploads(const MetaDb& db, BucketLiveness* buckets, std::vector<std::string>* uploads,
                   std::vector<std::string>* dead_uploads, FsckReport* report) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(Cf::kUploads, ro);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    Result<DecodedUploadKey> k = DecodeUploadKey(key);
    if (k) {
      uploads->emplace_back(k->upload_id.view());
      Result<bool> live = buckets->Live(key);
      if (!live) {
        return live.error();
      }
      if (!*live) {
        dead_uploads->emplace_back(k->upload_id.view());
        ++report->dead_bucket_uploads;
      }
    }
  }
  MAMUTE_RETURN_IF_ERROR(FromRocks(it->status(), "fsck scan uploads"));
  std::sort(uploads->begin(), uploads->end());
  std::sort(dead_uploads->begin(), dead_uploads->end());
  return Status::Ok();
}

// Part records whose upload record is gone.
Status ScanOrphanParts(const MetaDb& db, const std::vector<std::string>& uploads, FsckReport* report) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(Cf::kParts, ro);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Result<DecodedPartKey> k = DecodePartKey(std::string_view(it->key().data(), it->key().size()));
    if (k && !std::binary_search(uploads.begin(), uploads.end(), std::string(k->upload_id.view()))) {
      report->orphan_parts.push_back(k->upload_id.ToHex() + " part " + std::to_string(k->part_number));
    }
  }
  return FromRocks(it->status(), "fsck scan parts");
}

}  // namespace

Status ScanOrphans(const MetaDb& db, const std::vector<std::string>& data_dirs,
                   FsckReport* report) {
  std::vector<DiskFile> files;
  for (std::size_t i = 0; i < data_dirs.size(); ++i) {
    ScanObjectsDir(data_dirs[i], static_cast<uint32_t>(i), &files, report);
    ScanTmpDir(data_dirs[i], report);
  }
  // Sorted once so each record costs a binary search: 17 bytes of memory per data file, no
  // per-record memory.
  std::sort(files.begin(), files.end(), [](const DiskFile& a, const DiskFile& b) {
    return a.dir != b.dir ? a.dir < b.dir : a.id < b.id;
  });
  BucketLiveness buckets(db, report);
  // Objects of a deleted bucket keep no file alive.
  MAMUTE_RETURN_IF_ERROR(ScanRecords<ObjectRecord>(
      db, Cf::kObjects, &DecodeObject, data_dirs, &files, &report->objects_checked, report,
      [&](std::string_view key) -> Result<bool> {
        Result<bool> live = buckets.Live(key);
        if (!live) {
          return Err(std::move(live.error()));
        }
        report->dead_bucket_objects += *live ? 0 : 1;
        return !*live;
      }));
  std::vector<std::string> uploads;
  std::vector<std::string> dead_uploads;
  MAMUTE_RETURN_IF_ERROR(ScanUploads(db, &buckets, &uploads, &dead_uploads, report));
  // Parts of uploads in progress keep their files alive (completed objects name theirs in
  // their own record's part list, above), unless the upload's bucket is gone.
  MAMUTE_RETURN_IF_ERROR(ScanRecords<PartRecord>(
      db, Cf::kParts, &DecodePart, data_dirs, &files, &report->parts_checked, report,
      [&](std::string_view key) -> Result<bool> {
        Result<DecodedPartKey> k = DecodePartKey(key);
        return k && std::binary_search(dead_uploads.begin(), dead_uploads.end(),
                                       std::string(k->upload_id.view()));
      }));
  MAMUTE_RETURN_IF_ERROR(ScanOrphanParts(db, uploads, report));
  for (const DiskFile& f : files) {
    if (!f.referenced) {
      report->orphan_files.push_back(data_dirs[f.dir] + "/" + DataFileRelPath(f.id));
    }
  }
  return Status::Ok();
}

void RemoveOrphans(FsckReport* report) {
  for (const std::vector<std::string>* list : {&report->orphan_files, &report->temp_files}) {
    for (const std::string& p : *list) {
      std::error_code ec;
      if (fs::remove(p, ec)) {
        ++report->removed;
      } else if (ec) {
        AddError(report, "remove " + p, ec);
      }
    }
  }
}

Status ReclaimDeadBuckets(MetaDb& db, FsckReport* report) {
  MetaBatch batch(db);
  auto flush = [&](bool force) -> Status {
    if (batch.Count() == 0 || (!force && batch.Count() < 1000)) {
      return Status::Ok();
    }
    report->records_reclaimed += batch.Count();
    MAMUTE_RETURN_IF_ERROR(db.Write(batch.rep(), /*sync=*/true));
    batch.Clear();
    return Status::Ok();
  };
  // Deletes every key of `cf` under `prefix`; `each(key)` may add more deletions.
  auto sweep = [&](Cf cf, const std::string& prefix, auto&& each) -> Status {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::optional<std::string> upper = PrefixSuccessor(prefix);
    rocksdb::Slice upper_slice;
    if (upper) {
      upper_slice = rocksdb::Slice(*upper);
      ro.iterate_upper_bound = &upper_slice;
    }
    std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(cf, ro);
    for (it->Seek(rocksdb::Slice(prefix)); it->Valid(); it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      MAMUTE_RETURN_IF_ERROR(each(key));
      MAMUTE_RETURN_IF_ERROR(batch.Delete(cf, key));
      MAMUTE_RETURN_IF_ERROR(flush(false));
    }
    return FromRocks(it->status(), "fsck reclaim scan");
  };
  auto nothing = [](std::string_view) { return Status::Ok(); };
  for (BucketId bucket : report->dead_buckets) {
    const std::string prefix = BucketPrefix(bucket);
    // Uploads first, with their parts (keyed by upload id alone).
    MAMUTE_RETURN_IF_ERROR(sweep(Cf::kUploads, prefix, [&](std::string_view key) -> Status {
      Result<DecodedUploadKey> k = DecodeUploadKey(key);
      if (!k) {
        return Status::Ok();  // undecodable: reported as corrupt elsewhere, deleted with the bucket
      }
      return sweep(Cf::kParts, std::string(k->upload_id.view()), nothing);
    }));
    MAMUTE_RETURN_IF_ERROR(sweep(Cf::kObjects, prefix, nothing));
  }
  MAMUTE_RETURN_IF_ERROR(flush(true));
  // Then each bucket's directory index range, one synced range delete each (not counted in
  // records_reclaimed; a crash before it leaves stale entries the next check repairs).
  for (BucketId bucket : report->dead_buckets) {
    const std::string prefix = BucketPrefix(bucket);
    const std::optional<std::string> upper = PrefixSuccessor(prefix);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    MAMUTE_RETURN_IF_ERROR(FromRocks(
        db.db()->DeleteRange(wo, db.handle(Cf::kDirs), prefix,
                             upper ? rocksdb::Slice(*upper) : rocksdb::Slice(std::string(9, '\xff'))),
        "fsck reclaim directory index"));
  }
  return Status::Ok();
}

Result<FsckReport> Fsck(MetaDb& db, const FsckOptions& options) {
  if (options.data_dirs.empty()) {
    return Err(Status::InvalidArgument("fsck: no data dirs"));
  }
  FsckReport report;
  Status s = ScanOrphans(db, options.data_dirs, &report);
  if (!s.ok()) {
    return Err(std::move(s));
  }
  if (!options.repair) {
    s = CheckDirsIndex(db, /*repair=*/false, &report.dirs);
    if (!s.ok()) {
      return Err(std::move(s));
    }
  }
  if (options.repair) {
    // Records first (synced), then the files they named: a crash in between leaves only
    // orphan files, which the next run removes.
    if (Status r = ReclaimDeadBuckets(db, &report); !r.ok()) {
      report.errors.push_back("reclaim records of deleted buckets: " + r.ToString());
      // Their files are orphans only once their records are gone: keep them this time.
      return report;
    }
    // The directory index only derives from the objects CF: rewrite it to match what is left.
    s = CheckDirsIndex(db, /*repair=*/true, &report.dirs);
    if (!s.ok()) {
      return Err(std::move(s));
    }
    RemoveOrphans(&report);
  }
  return report;
}

Result<FsckReport> Fsck(std::string_view data_dir, bool repair) {
  return Fsck(std::vector<std::string>{std::string(data_dir)}, repair);
}

Result<FsckReport> Fsck(const std::vector<std::string>& data_dirs, bool repair) {
  // The same identity check as a start (order, set, none dropped), without writing anything.
  MAMUTE_RETURN_IF_ERROR_R(CheckDataDirs(data_dirs, /*create=*/false));
  MetaDbOptions mo;
  mo.create_if_missing = false;
  // Report-only runs write nothing: an index never built is reported, built by repair.
  mo.build_dirs_index = repair;
  mo.block_cache_bytes = 32u << 20;
  Result<std::unique_ptr<MetaDb>> db = MetaDb::Open(data_dirs.front(), mo);
  if (!db) {
    return Err(std::move(db.error()));
  }
  FsckOptions o;
  o.data_dirs = data_dirs;
  o.repair = repair;
  Result<FsckReport> r = Fsck(**db, o);
  Status closed = (*db)->Close();
  if (r && !closed.ok()) {
    return Err(std::move(closed));
  }
  return r;
}

}  // namespace mamute::store
