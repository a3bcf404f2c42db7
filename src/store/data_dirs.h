// Several data directories (one per disk): their identity and where new data files go
// (docs/storage.md, "Several data directories").
//
// Each data dir holds an identity file, `<dir>/mamute-dir`, naming the node's data-dir set (128
// random bits shared by all its dirs), the dir's index (DataLocation::data_dir) and, in dir #0
// (which also holds meta/), the number of dirs. Records address data files by index, so a
// changed order or a missing dir would make every record of the moved dirs point at the wrong
// (or no) disk: CheckDataDirs refuses to start instead. Appending a new, empty dir is allowed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mamute/status.h"

namespace mamute::store {

/// Name of the identity file in every data dir.
inline constexpr std::string_view kDataDirIdFile = "mamute-dir";
/// Most data dirs one node takes.
inline constexpr std::size_t kMaxDataDirs = 64;

/// Checks the identity files of `dirs` (in the order given: index i is dirs[i]). `create`:
/// write them where missing (first start, or new dirs appended at the end) and update the dir
/// count; otherwise (fsck) only check. FailedPrecondition with a message that names the dir and
/// what changed: a dir of another set, an index that moved (order changed), a dir dropped (fewer
/// dirs than last time), a known position whose identity file is gone (the dir was replaced),
/// the same dir given twice. Blocking (start-up).
[[nodiscard]] Status CheckDataDirs(const std::vector<std::string>& dirs, bool create);

/// Chooses the data dir of each new data file, weighted by free space: dir i gets a share of
/// the new files proportional to its free bytes above a reserve (1% of its size), picked by a
/// hash of the object's key. Free space is re-read (statvfs) at most every `refresh_ms`, by
/// whichever shard asks first; NoteFull() takes one dir out for `full_hold_ms` (a write there met
/// ENOSPC/EDQUOT: its free space as statvfs reports it did not fit that PUT, and a quota or an
/// inode table can be full while bytes are free), refreshes included. Shared by all shards;
/// lock-free.
class DataDirPlacement {
 public:
  explicit DataDirPlacement(std::vector<std::string> dirs, uint32_t refresh_ms = 1000,
                            uint32_t full_hold_ms = 30000);
  DataDirPlacement(const DataDirPlacement&) = delete;
  DataDirPlacement& operator=(const DataDirPlacement&) = delete;

  /// The dir index for a new file whose key hashes to `hash`. With one dir: 0.
  uint32_t Pick(uint64_t hash) noexcept;
  /// A write in `dir` failed with ENOSPC/EDQUOT: give it no new files for `full_hold_ms`.
  void NoteFull(uint32_t dir) noexcept;
  /// Whether `dir` is held out after a NoteFull (tests, metrics).
  bool HeldFull(uint32_t dir) const noexcept;
  /// Re-reads the free space of every dir now.
  void Refresh() noexcept;
  /// Weight (free bytes above the reserve, as last read) of each dir: tests and logs.
  std::vector<uint64_t> Weights() const;

 private:
  std::vector<std::string> dirs_;
  uint32_t refresh_ms_;
  uint32_t full_hold_ms_;
  std::unique_ptr<std::atomic<uint64_t>[]> weight_;
  std::unique_ptr<std::atomic<int64_t>[]> full_until_ms_;  // NoteFull's hold, 0: none
  std::atomic<int64_t> next_refresh_ms_{0};
};

}  // namespace mamute::store
