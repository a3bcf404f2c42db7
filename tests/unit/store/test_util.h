// Shared helpers for the store tests: a temp dir removed at the end of the test.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "store/keys.h"
#include "store/meta_db.h"
#include "store/records.h"

namespace mamute::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mamute-store-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    path_ = p != nullptr ? std::string(p) : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Writes a minimal bucket record for ids [first, last]: records created under a bucket commit
/// only while its bucket record exists (CheckBucketLive), and fsck treats the records of a
/// bucket without one as a deleted bucket's.
inline Status AddTestBuckets(MetaDb& db, BucketId first = 1, BucketId last = 16) {
  for (BucketId id = first; id <= last; ++id) {
    BucketRecord r;
    r.id = id;
    const std::string name = "test-bucket-" + std::to_string(id);
    r.name = name;
    std::string v;
    EncodeBucket(r, &v);
    Status st = db.Put(Cf::kBuckets, BucketKey(id), v, /*sync=*/false);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

/// `s` with every byte outside printable ASCII as \xNN, for failure messages.
inline std::string Printable(std::string_view s) {
  std::string o;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      o.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      o += "\\x";
      o.push_back(kHex[c >> 4]);
      o.push_back(kHex[c & 15]);
    }
  }
  return o;
}

}  // namespace mamute::store::testing
