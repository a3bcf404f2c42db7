// Fault injection into RocksDB's own WAL I/O (test builds only; docs/testing.md).
//
// The `meta` fault rule fails a commit group before RocksDB sees it; this one lets RocksDB
// itself meet the error: a rocksdb::FileSystemWrapper whose WAL files (`*.log`) fail an Append
// (`walwrite`) or a Sync/Fsync (`walsync`) when a MAMUTE_FAULTS rule says so, so RocksDB's
// background-error handling (read-only mode, auto-recovery, DB::Resume) runs for real.
#pragma once

#include <rocksdb/env.h>

#include <memory>

namespace mamute::store {

/// An Env over the default one whose file system injects `walwrite`/`walsync` faults, when
/// this build has fault injection and rules are armed (core::fault::Armed()); otherwise null
/// (use the default Env). Start-up only; the Env must outlive the DB opened with it.
std::unique_ptr<rocksdb::Env> NewFaultEnvIfArmed();

}  // namespace mamute::store
