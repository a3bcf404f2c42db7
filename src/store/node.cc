#include "store/node.h"

#include "store/data_dirs.h"

namespace mamute::store {

Result<std::unique_ptr<NodeStore>> NodeStore::Open(const std::vector<std::string>& data_dirs,
                                                   const MetaDbOptions& db_options,
                                                   const CommitQueueOptions& commit_options) {
  if (data_dirs.empty()) return Err(Status::InvalidArgument("no data directory"));
  // Before the DB opens: with a changed order, dir #0 may not be the one holding meta/.
  MAMUTE_RETURN_IF_ERROR_R(CheckDataDirs(data_dirs, /*create=*/true));
  auto node = std::make_unique<NodeStore>();
  node->data_dirs = data_dirs;
  auto db = MetaDb::Open(data_dirs.front(), db_options);
  if (!db) return Err(db.error());
  node->db = std::move(*db);
  node->commits = std::make_unique<CommitQueue>(node->db.get(), commit_options);
  MAMUTE_RETURN_IF_ERROR_R(node->commits->Start());
  return node;
}

void NodeStore::Close() {
  if (commits) commits->Stop();
  if (db) db->Close().IgnoreError();
}

}  // namespace mamute::store
