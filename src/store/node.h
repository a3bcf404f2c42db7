// NodeStore: the store objects one node shares between its shards: the metadata
// DB, the group-commit queue, and the credential epoch.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "store/commit_queue.h"
#include "store/meta_db.h"

namespace mamute::store {

struct NodeStore {
  std::vector<std::string> data_dirs;
  std::unique_ptr<MetaDb> db;
  std::unique_ptr<CommitQueue> commits;
  /// Bumped (release) by the management shard after it committed any change to a
  /// credential (deactivate, activate, regenerate, delete). Data shards compare it
  /// (acquire) with the epoch of their credential cache before each authentication
  /// and drop the cache when it moved — so a change is seen by the very next
  /// request on every shard, with no message that could race with that request.
  std::atomic<uint64_t> credential_epoch{0};
  /// Bumped (release) after a bucket's configuration changed (CORS) or a bucket was deleted;
  /// data shards drop their per-bucket configuration cache when it moved (s3/cors.h).
  std::atomic<uint64_t> bucket_config_epoch{0};

  /// Checks the data dirs' identity files (CheckDataDirs: same set, same order, none dropped;
  /// writes them on a first start or for dirs appended at the end), then opens
  /// <data_dirs[0]>/meta and starts the commit thread. Blocking (start-up).
  static Result<std::unique_ptr<NodeStore>> Open(const std::vector<std::string>& data_dirs,
                                                 const MetaDbOptions& db_options = {},
                                                 const CommitQueueOptions& commit_options = {});
  /// Stops the commit thread (draining it) and closes the DB.
  void Close();
};

}  // namespace mamute::store
