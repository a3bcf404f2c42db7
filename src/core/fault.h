// Fault injection for tests: makes chosen store file operations (the ring's openat, write,
// fdatasync, renameat, ...) and metadata commits fail with a chosen errno, so the integration
// tests can drive the failure paths of a real server (docs/testing.md, "Fault injection").
//
// Compiled in only with -Dfault_injection (meson option; `auto` = every build type but
// release/minsize/plain). Rules come from the MAMUTE_FAULTS environment variable, read once
// at start-up by main(); a build without fault injection refuses to start when it is set.
// Without rules the cost on the data path is one load of a global bool per file operation.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "mamute/status.h"

namespace mamute::core::fault {

/// The operations a rule can fail.
enum class FileOp : uint8_t {
  kOpen,     ///< openat of a data file (the temp file on PUT, the data file on GET)
  kDirOpen,  ///< openat of objects/<xx>/<yy> (to fsync it) or of a parent after a mkdir
  kWrite,    ///< write of a chunk of a data file
  kSync,     ///< fdatasync of a data file before its rename
  kDirSync,     ///< fsync of the object's directory after the rename
  kParentSync,  ///< fsync of objects/ or objects/<xx> after a mkdir of a data file's directory
  kRename,   ///< renameat tmp/<id> → objects/<xx>/<yy>/<id>
  kMkdir,    ///< mkdirat of objects/<xx> or objects/<xx>/<yy>
  kRead,     ///< read of a data file (GET)
  kUnlink,   ///< unlinkat of a temp or replaced data file
  kMeta,     ///< the synced RocksDB write of a commit group (metadata, WAL)
  kWalWrite, ///< RocksDB's own append to its WAL file (store/fault_fs.h)
  kWalSync,  ///< RocksDB's own sync of its WAL file (store/fault_fs.h)
};

/// True once at least one rule is configured (set before the shards start, never after).
extern bool g_armed;
inline bool Armed() noexcept { return g_armed; }

/// Whether this binary was built with -Dfault_injection.
bool Compiled() noexcept;

/// Parses MAMUTE_FAULTS: rules separated by ';', each a comma-separated list of
///   op=open|diropen|write|sync|dirsync|parentsync|rename|mkdir|read|unlink|meta|walwrite|walsync
///                (required)
///   match=TEXT   the rule applies only when the subject contains TEXT (default: always).
///                Subjects: the object key for a PUT's file ops and for `meta` (the raw keys
///                of the batch), "<upload id>/<part number>" for UploadPart's file ops, the
///                data file's path (objects/xx/yy/<id>) for a GET; for walwrite the bytes
///                RocksDB appends to its WAL (the batch's keys are in them), for walsync the
///                bytes appended since the WAL's last sync.
///   after=N      the first N matching operations succeed (default 0)
///   count=N      then this many fail (default 1; 0: every later one)
///   errno=NAME   EIO (default), ENOSPC, EDQUOT, EROFS, ENOMEM or a number
/// Start-up only (not thread-safe). InvalidArgument on a bad rule; NotImplemented when the
/// build has no fault injection.
[[nodiscard]] Status Configure(std::string_view spec);

/// Drops every rule and disarms (unit tests that arm rules for one case). Not thread-safe:
/// nothing may be calling Check() meanwhile.
void Reset() noexcept;

/// The errno to inject for this operation (> 0), or 0 to let it run. Call only when Armed().
/// Thread-safe (rules are immutable after Configure; counters are atomic). Logs each fault.
int Check(FileOp op, std::string_view subject) noexcept;

}  // namespace mamute::core::fault
