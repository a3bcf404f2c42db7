#include "store/data_dirs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "store/keys.h"

namespace mamute::store {
namespace {

struct DirId {
  std::string set;     // 32 hex
  uint32_t index = 0;  // DataLocation::data_dir
  uint32_t count = 0;  // dirs in the set (authoritative in dir #0)
};

std::string IdPath(const std::string& dir) { return dir + "/" + std::string(kDataDirIdFile); }

// Reads <dir>/mamute-dir: nullopt if absent; Corruption if unreadable or malformed.
Status ReadId(const std::string& dir, std::optional<DirId>* out) {
  out->reset();
  struct stat st {};
  if (::stat(IdPath(dir).c_str(), &st) != 0) {
    return errno == ENOENT ? Status::Ok() : Status::IoError(errno, "stat " + IdPath(dir));
  }
  std::ifstream in(IdPath(dir));
  if (!in) {
    return Status::IoError(errno, "read " + IdPath(dir));
  }
  DirId id;
  std::string magic, version, k1, k2, k3;
  if (!(in >> magic >> version >> k1 >> id.set >> k2 >> id.index >> k3 >> id.count) ||
      magic != "mamute-data-dir" || version != "v1" || k1 != "set" || k2 != "index" ||
      k3 != "count" || id.set.size() != 32 || id.count == 0 || id.index >= id.count) {
    return Status::Corruption("malformed data dir identity file " + IdPath(dir));
  }
  *out = std::move(id);
  return Status::Ok();
}

// Writes the identity file durably: temp file, fsync, rename, fsync of the dir.
Status WriteId(const std::string& dir, const DirId& id) {
  const std::string path = IdPath(dir);
  const std::string tmp = path + ".tmp";
  std::ostringstream text;
  text << "mamute-data-dir v1\nset " << id.set << "\nindex " << id.index << "\ncount " << id.count
       << "\n";
  const std::string s = text.str();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IoError(errno, "create " + tmp);
  }
  const bool ok = ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return Status::IoError(err, "write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IoError(errno, "rename " + tmp);
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    return Status::IoError(errno, "open " + dir);
  }
  const bool synced = ::fsync(dfd) == 0;
  const int serr = errno;
  ::close(dfd);
  return synced ? Status::Ok() : Status::IoError(serr, "fsync " + dir);
}

std::string Name(const std::vector<std::string>& dirs, std::size_t i) {
  return "data dir #" + std::to_string(i) + " (" + dirs[i] + ")";
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status CheckDataDirs(const std::vector<std::string>& dirs, bool create) {
  if (dirs.empty() || dirs.size() > kMaxDataDirs) {
    return Status::InvalidArgument("between 1 and " + std::to_string(kMaxDataDirs) +
                                   " data directories are supported");
  }
  // The same dir twice (under two spellings) would hold two indexes' files in one place.
  std::vector<std::pair<dev_t, ino_t>> seen;
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    struct stat st {};
    if (::stat(dirs[i].c_str(), &st) != 0) {
      return Status::IoError(errno, "stat " + dirs[i]);
    }
    for (std::size_t j = 0; j < seen.size(); ++j) {
      if (seen[j] == std::pair(st.st_dev, st.st_ino)) {
        return Status::FailedPrecondition(Name(dirs, i) + " is the same directory as " +
                                          Name(dirs, j));
      }
    }
    seen.emplace_back(st.st_dev, st.st_ino);
  }
  std::vector<std::optional<DirId>> ids(dirs.size());
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    MAMUTE_RETURN_IF_ERROR(ReadId(dirs[i], &ids[i]));
  }
  DirId base;
  if (!ids[0]) {
    // A first start (or a store from before identity files, which had one dir). Any other dir
    // that already belongs to a set means the order changed.
    for (std::size_t i = 1; i < dirs.size(); ++i) {
      if (ids[i]) {
        return Status::FailedPrecondition(
            Name(dirs, i) + " is data dir #" + std::to_string(ids[i]->index) +
            " of an existing set, but " + Name(dirs, 0) +
            " has no identity file: the order of the data dirs changed, or the first one is "
            "not this node's (it also holds meta/)");
      }
    }
    if (!create) {
      return Status::Ok();
    }
    // Dir #0 first, as a set of one; the others are then adopted as appended dirs. In this
    // order a crash at any point leaves files the next start accepts.
    base.set = FileId::Generate().ToHex();
    base.count = 1;
    MAMUTE_RETURN_IF_ERROR(WriteId(dirs[0], base));
  } else {
    base = *ids[0];
    if (base.index != 0) {
      return Status::FailedPrecondition(Name(dirs, 0) + " was data dir #" +
                                        std::to_string(base.index) +
                                        ": the order of the data dirs changed");
    }
  }
  for (std::size_t i = 1; i < dirs.size(); ++i) {
    if (ids[i]) {
      if (ids[i]->set != base.set) {
        return Status::FailedPrecondition(Name(dirs, i) +
                                          " belongs to another node's data dirs (set " +
                                          ids[i]->set + ", this node's is " + base.set + ")");
      }
      if (ids[i]->index != i) {
        return Status::FailedPrecondition(Name(dirs, i) + " was data dir #" +
                                          std::to_string(ids[i]->index) +
                                          ": the order of the data dirs changed");
      }
    } else if (i < base.count) {
      return Status::FailedPrecondition(
          Name(dirs, i) + " has no identity file, but the node had " +
          std::to_string(base.count) + " data dirs: this is not the dir that was #" +
          std::to_string(i) + " (replaced or wrong mount?)");
    }
  }
  if (dirs.size() < base.count) {
    return Status::FailedPrecondition(
        std::to_string(base.count) + " data dirs were configured before, " +
        std::to_string(dirs.size()) + " given: data dir #" + std::to_string(dirs.size()) +
        " is missing (dropping a data dir would lose the objects stored on it)");
  }
  if (!create || dirs.size() == base.count) {
    return Status::Ok();
  }
  // New dirs appended at the end: write their files first, then the count in dir #0, so a crash
  // in between leaves new dirs that the next start adopts again.
  const uint32_t n = static_cast<uint32_t>(dirs.size());
  for (std::size_t i = 1; i < dirs.size(); ++i) {
    if (!ids[i] || ids[i]->count != n) {
      MAMUTE_RETURN_IF_ERROR(WriteId(dirs[i], DirId{base.set, static_cast<uint32_t>(i), n}));
    }
  }
  return WriteId(dirs[0], DirId{base.set, 0, n});
}

DataDirPlacement::DataDirPlacement(std::vector<std::string> dirs, uint32_t refresh_ms,
                                   uint32_t full_hold_ms)
    : dirs_(std::move(dirs)),
      refresh_ms_(refresh_ms),
      full_hold_ms_(full_hold_ms),
      weight_(std::make_unique<std::atomic<uint64_t>[]>(dirs_.size())),
      full_until_ms_(std::make_unique<std::atomic<int64_t>[]>(dirs_.size())) {
  for (std::size_t i = 0; i < dirs_.size(); ++i) {
    weight_[i].store(1, std::memory_order_relaxed);
    full_until_ms_[i].store(0, std::memory_order_relaxed);
  }
}

void DataDirPlacement::Refresh() noexcept {
  const int64_t now = NowMs();
  for (std::size_t i = 0; i < dirs_.size(); ++i) {
    if (now < full_until_ms_[i].load(std::memory_order_relaxed)) {
      weight_[i].store(0, std::memory_order_relaxed);  // held out after an ENOSPC
      continue;
    }
    struct statvfs sv {};
    if (::statvfs(dirs_[i].c_str(), &sv) != 0) {
      continue;  // keep the last value; the write itself will report the error
    }
    const uint64_t free_bytes = static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize;
    const uint64_t reserve = static_cast<uint64_t>(sv.f_blocks) * sv.f_frsize / 100;
    weight_[i].store(free_bytes > reserve ? free_bytes - reserve : 0, std::memory_order_relaxed);
  }
  next_refresh_ms_.store(NowMs() + refresh_ms_, std::memory_order_relaxed);
}

uint32_t DataDirPlacement::Pick(uint64_t hash) noexcept {
  const std::size_t n = dirs_.size();
  if (n <= 1) {
    return 0;
  }
  const int64_t now = NowMs();
  int64_t due = next_refresh_ms_.load(std::memory_order_relaxed);
  // One caller refreshes (a statvfs per dir, microseconds); the others use the last values.
  if (now >= due && next_refresh_ms_.compare_exchange_strong(due, now + refresh_ms_,
                                                             std::memory_order_relaxed)) {
    Refresh();
  }
  // Weights in MiB so the sum cannot overflow; a dir with less than 1 MiB to give gets none.
  uint64_t total = 0;
  uint64_t w[kMaxDataDirs];
  const std::size_t m = n < kMaxDataDirs ? n : kMaxDataDirs;
  for (std::size_t i = 0; i < m; ++i) {
    w[i] = weight_[i].load(std::memory_order_relaxed) >> 20;
    total += w[i];
  }
  if (total == 0) {
    // Every dir is (nearly) full: spread by hash; the write reports ENOSPC where it fails.
    return static_cast<uint32_t>(hash % m);
  }
  uint64_t r = hash % total;
  for (std::size_t i = 0; i < m; ++i) {
    if (r < w[i]) {
      return static_cast<uint32_t>(i);
    }
    r -= w[i];
  }
  return 0;
}

void DataDirPlacement::NoteFull(uint32_t dir) noexcept {
  if (dir < dirs_.size()) {
    full_until_ms_[dir].store(NowMs() + full_hold_ms_, std::memory_order_relaxed);
    weight_[dir].store(0, std::memory_order_relaxed);
  }
}

bool DataDirPlacement::HeldFull(uint32_t dir) const noexcept {
  return dir < dirs_.size() && NowMs() < full_until_ms_[dir].load(std::memory_order_relaxed);
}

std::vector<uint64_t> DataDirPlacement::Weights() const {
  std::vector<uint64_t> out(dirs_.size());
  for (std::size_t i = 0; i < dirs_.size(); ++i) {
    out[i] = weight_[i].load(std::memory_order_relaxed);
  }
  return out;
}

}  // namespace mamute::store
