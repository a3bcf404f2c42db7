// ShardFixture: a live core::Shard on its own thread, a real NodeStore (RocksDB + commit
// thread) in a temp dir, and an ObjectIo created on the shard. Test bodies run on the shard
// through RunOnShard(); asynchronous results come back through Latch.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/shard.h"
#include "store/node.h"
#include "store/object_io.h"
#include "test_util.h"

namespace mamute::store::testing {

/// One-shot event. The setter notifies while holding the lock, so the waiter may destroy the
/// latch as soon as Wait() returns.
class Latch {
 public:
  void Set() {
    std::lock_guard<std::mutex> lk(mu_);
    set_ = true;
    cv_.notify_all();
  }
  /// False on timeout.
  [[nodiscard]] bool Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return set_; });
  }
  bool is_set() {
    std::lock_guard<std::mutex> lk(mu_);
    return set_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

class ShardFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dirs_ = {dir_.path()};
    options_.unlink_grace_ms = 0;
    Start();
  }
  void TearDown() override { Stop(); }

  /// Opens the NodeStore on data_dirs_ and starts the shard with an ObjectIo(options_).
  void Start() {
    auto node = NodeStore::Open(data_dirs_);
    ASSERT_TRUE(node.has_value()) << node.error().ToString();
    node_ = std::move(*node);
    ASSERT_TRUE(testing::AddTestBuckets(*node_->db).ok());
    core::ShardConfig cfg;
    cfg.id = 0;
    cfg.recv_buffers = 0;
    cfg.ring_entries = 256;
    cfg.name = "objio-test";
    shard_ = std::make_unique<core::Shard>(cfg);
    Latch ready;
    Status ready_status;
    shard_->Start(
        [this](core::Shard& s) {
          io_ = std::make_unique<ObjectIo>(s, *node_, options_);
          return io_->Init();
        },
        [&](Status st) {
          ready_status = std::move(st);
          ready.Set();
        });
    ASSERT_TRUE(ready.Wait());
    ASSERT_TRUE(ready_status.ok()) << ready_status.ToString();
  }

  /// Stops the shard (its stop hook drains ObjectIo), then closes the NodeStore.
  void Stop() {
    if (shard_) {
      shard_->RequestStop(10000);
      shard_->Join();
      shard_.reset();
    }
    io_.reset();
    if (node_) {
      node_->Close();
      node_.reset();
    }
  }

  void Restart(const ObjectIoOptions& options) {
    Stop();
    options_ = options;
    Start();
  }

  /// Runs `fn` on the shard's thread and waits for it to return.
  void RunOnShard(std::function<void()> body) {
    struct FnMsg : core::Message {
      std::function<void()> body;
      Latch* done = nullptr;
    };
    Latch done;
    auto* m = new FnMsg;
    m->fn = [](core::Shard&, core::Message* msg) {
      auto* f = static_cast<FnMsg*>(msg);
      f->body();
      Latch* d = f->done;
      delete f;
      d->Set();
    };
    m->body = std::move(body);
    m->done = &done;
    shard_->Post(m);
    ASSERT_TRUE(done.Wait()) << "shard did not run the test body";
  }

  /// Polls `pred` (on the test thread) until it holds or `timeout` passes.
  static bool WaitFor(const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  /// Waits until the ObjectIo has nothing in flight and no garbage waiting.
  bool WaitDrained() {
    return WaitFor([&] {
      bool drained = false;
      RunOnShard([&] { drained = io_->Drained(); });
      return drained;
    });
  }

  TempDir dir_;
  std::vector<std::string> data_dirs_;
  ObjectIoOptions options_;
  std::unique_ptr<NodeStore> node_;
  std::unique_ptr<core::Shard> shard_;
  std::unique_ptr<ObjectIo> io_;  // created and used on the shard's thread
};

}  // namespace mamute::store::testing
