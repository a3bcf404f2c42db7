#include "store/fault_fs.h"

#ifdef MAMUTE_FAULT_INJECTION

#include <rocksdb/file_system.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "core/fault.h"

namespace mamute::store {
namespace {

using core::fault::FileOp;

rocksdb::IOStatus Injected(int err, const char* what) {
  std::string msg = std::string(what) + " (injected fault): " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) {
    return rocksdb::IOStatus::NoSpace(msg);
  }
  return rocksdb::IOStatus::IOError(msg);
}

bool IsWal(const std::string& fname) {
  return fname.size() > 4 && fname.compare(fname.size() - 4, 4, ".log") == 0;
}

// A WAL file: Append and Sync/Fsync consult the rules. The bytes appended since the last sync
// are kept so that a `walsync` rule can match the keys of the batches that sync would make
// durable (only in armed test runs: the wrapper exists only then).
class FaultWalFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  using FSWritableFileOwnerWrapper::FSWritableFileOwnerWrapper;

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if (const int err = core::fault::Check(FileOp::kWalWrite, std::string_view(data.data(), data.size()));
        err != 0) {
      return Injected(err, "WAL append");
    }
    unsynced_.append(data.data(), data.size());
    return target()->Append(data, o, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& /*info*/,
                           rocksdb::IODebugContext* dbg) override {
    return Append(data, o, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (const int err = CheckSync(); err != 0) {
      return Injected(err, "WAL sync");
    }
    return target()->Sync(o, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (const int err = CheckSync(); err != 0) {
      return Injected(err, "WAL fsync");
    }
    return target()->Fsync(o, dbg);
  }

 private:
  int CheckSync() {
    const int err = core::fault::Check(FileOp::kWalSync, unsynced_);
    if (err == 0) {
      unsynced_.clear();
    }
    return err;
  }

  std::string unsynced_;
};

class FaultFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  const char* Name() const override { return "MamuteFaultFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    return Wrap(f, target()->NewWritableFile(f, o, r, dbg), r);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    return Wrap(f, target()->ReopenWritableFile(f, o, r, dbg), r);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    return Wrap(f, target()->ReuseWritableFile(f, old, o, r, dbg), r);
  }

 private:
  static rocksdb::IOStatus Wrap(const std::string& f, rocksdb::IOStatus s,
                                std::unique_ptr<rocksdb::FSWritableFile>* r) {
    if (s.ok() && IsWal(f)) {
      *r = std::make_unique<FaultWalFile>(std::move(*r));
    }
    return s;
  }
};

}  // namespace

std::unique_ptr<rocksdb::Env> NewFaultEnvIfArmed() {
  if (!core::fault::Armed()) {
    return nullptr;
  }
  return rocksdb::NewCompositeEnv(std::make_shared<FaultFileSystem>(rocksdb::FileSystem::Default()));
}

}  // namespace mamute::store

#else  // !MAMUTE_FAULT_INJECTION

namespace mamute::store {

std::unique_ptr<rocksdb::Env> NewFaultEnvIfArmed() { return nullptr; }

}  // namespace mamute::store

#endif
