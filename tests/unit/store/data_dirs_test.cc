#include "store/data_dirs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_util.h"

namespace mamute::store {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

class DataDirsTest : public ::testing::Test {
 protected:
  DataDirsTest() {
    for (const char* n : {"a", "b", "c", "d"}) {
      dirs_.push_back(root_.path() + "/" + n);
      fs::create_directories(dirs_.back());
    }
  }
  std::vector<std::string> Dirs(std::initializer_list<int> idx) {
    std::vector<std::string> out;
    for (int i : idx) {
      out.push_back(dirs_[i]);
    }
    return out;
  }
  TempDir root_;
  std::vector<std::string> dirs_;
};

TEST_F(DataDirsTest, FirstStartWritesIdentityFilesAndAcceptsTheSameOrder) {
  ASSERT_TRUE(CheckDataDirs(Dirs({0, 1, 2}), true).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(fs::exists(dirs_[i] + "/" + std::string(kDataDirIdFile)));
  }
  EXPECT_TRUE(CheckDataDirs(Dirs({0, 1, 2}), true).ok());
  EXPECT_TRUE(CheckDataDirs(Dirs({0, 1, 2}), false).ok());
}

// Every way the configured list can disagree with the dirs on disk is refused, with a message
// naming what changed.
TEST_F(DataDirsTest, ChangesAreRefused) {
  ASSERT_TRUE(CheckDataDirs(Dirs({0, 1, 2}), true).ok());
  // A dir of another node's set.
  ASSERT_TRUE(CheckDataDirs(Dirs({3}), true).ok());
  struct Case {
    const char* name;
    std::vector<std::string> dirs;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"swapped", Dirs({0, 2, 1}), "order of the data dirs changed"},
      {"first moved", Dirs({1, 0, 2}), "order of the data dirs changed"},
      {"last dropped", Dirs({0, 1}), "data dir #2 is missing"},
      {"middle dropped", Dirs({0, 2}), "order of the data dirs changed"},
      {"replaced by another set's dir", Dirs({0, 1, 3}), "another node's data dirs"},
      {"only #0", Dirs({0}), "data dir #1 is missing"},
      {"same dir twice", {dirs_[0], dirs_[1], dirs_[1] + "/."}, "same directory"},
  };
  for (const Case& c : cases) {
    for (bool create : {true, false}) {
      Status s = CheckDataDirs(c.dirs, create);
      EXPECT_FALSE(s.ok()) << c.name;
      EXPECT_NE(s.message().find(c.expect), std::string::npos) << c.name << ": " << s.ToString();
    }
  }
  // A known position whose identity file is gone (an empty disk mounted in its place).
  fs::remove(dirs_[1] + "/" + std::string(kDataDirIdFile));
  Status s = CheckDataDirs(Dirs({0, 1, 2}), true);
  EXPECT_NE(s.message().find("has no identity file"), std::string::npos) << s.ToString();
  // #0 without its file while another dir has one: the first dir is not this node's.
  Status s2 = CheckDataDirs(Dirs({1, 2}), true);
  EXPECT_NE(s2.message().find("order of the data dirs changed"), std::string::npos)
      << s2.ToString();
}

TEST_F(DataDirsTest, AppendingADirIsAllowed) {
  ASSERT_TRUE(CheckDataDirs(Dirs({0}), true).ok());
  ASSERT_TRUE(CheckDataDirs(Dirs({0, 1}), true).ok());
  // Now two dirs are known: dropping the new one is refused.
  EXPECT_FALSE(CheckDataDirs(Dirs({0}), true).ok());
  // fsck (create = false) does not adopt a new dir.
  Status s = CheckDataDirs(Dirs({0, 1, 2}), false);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(fs::exists(dirs_[2] + "/" + std::string(kDataDirIdFile)));
}

// A crash while a first start writes the identity files: dir #0 is written first (a set of
// one), so any prefix of the writes is accepted by the next start.
TEST_F(DataDirsTest, CrashDuringFirstStartIsAdoptedNextTime) {
  ASSERT_TRUE(CheckDataDirs(Dirs({0, 1, 2}), true).ok());
  // As if the crash came after dir #1's file but before #2's and the final count in #0.
  std::string id0;
  {
    std::ifstream in(dirs_[0] + "/" + std::string(kDataDirIdFile));
    id0.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto count_pos = id0.find("count 3");
  ASSERT_NE(count_pos, std::string::npos);
  std::ofstream(dirs_[0] + "/" + std::string(kDataDirIdFile))
      << id0.substr(0, count_pos) << "count 1\n";
  fs::remove(dirs_[2] + "/" + std::string(kDataDirIdFile));
  Status s = CheckDataDirs(Dirs({0, 1, 2}), true);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(fs::exists(dirs_[2] + "/" + std::string(kDataDirIdFile)));
  EXPECT_FALSE(CheckDataDirs(Dirs({0, 1}), true).ok());  // the count is 3 again
}

TEST_F(DataDirsTest, MalformedIdentityFileIsCorruption) {
  std::ofstream(dirs_[0] + "/" + std::string(kDataDirIdFile)) << "garbage\n";
  Status s = CheckDataDirs(Dirs({0}), true);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
}

TEST_F(DataDirsTest, PlacementSpreadsOverDirsWithSpace) {
  DataDirPlacement one({dirs_[0]});
  EXPECT_EQ(one.Pick(12345), 0u);

  // Two dirs on the same file system: equal weights, both get files.
  DataDirPlacement two({dirs_[0], dirs_[1]}, /*refresh_ms=*/60000);
  int count[2] = {0, 0};
  for (uint64_t h = 0; h < 1000; ++h) {
    ++count[two.Pick(h * 0x9E3779B97F4A7C15ull)];
  }
  const std::vector<uint64_t> w = two.Weights();
  if (w[0] >> 20 == 0) {
    GTEST_SKIP() << "the temp file system has under 1 MiB free";
  }
  EXPECT_GT(count[0], 300);
  EXPECT_GT(count[1], 300);
  // A dir that met ENOSPC gets nothing for the hold, refreshes included (statvfs may show free
  // bytes the failed PUT did not fit in, or a quota or inode table may be what is full) ...
  two.NoteFull(0);
  EXPECT_TRUE(two.HeldFull(0));
  for (uint64_t h = 0; h < 100; ++h) {
    EXPECT_EQ(two.Pick(h * 0x9E3779B97F4A7C15ull), 1u);
  }
  two.Refresh();
  EXPECT_EQ(two.Weights()[0], 0u);
  EXPECT_EQ(two.Pick(7), 1u);

  // ... and is back, by its free space, once the hold has passed.
  DataDirPlacement short_hold({dirs_[0], dirs_[1]}, /*refresh_ms=*/60000, /*full_hold_ms=*/50);
  short_hold.Refresh();
  short_hold.NoteFull(1);
  short_hold.Refresh();
  EXPECT_EQ(short_hold.Weights()[1], 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_FALSE(short_hold.HeldFull(1));
  short_hold.Refresh();
  EXPECT_GT(short_hold.Weights()[1], 0u);
}

}  // namespace
}  // namespace mamute::store
