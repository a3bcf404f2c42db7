// Store benchmarks (issue #3; scripts/bench-store.sh, results in docs/benchmarks.md). Every
// figure is a ratio against an anchor measured in the same run, in the same directory:
//
//   put      durable 4 KiB PUTs through ObjectIo + CommitQueue (one shard, C PUTs in flight,
//            inline: the bytes ride the group-committed WAL sync) vs a file-per-object store with
//            C threads (create tmp + write + fsync + close + rename + fsync dir per object).
//            Also 64 KiB PUTs (a data file each: write, fdatasync, rename, dir fsync, WAL).
//            Then the first size with the directory index maintained and not (on, off, on,
//            off): what the index costs the commit thread.
//   fillsync RocksDB synced 100-byte writes on MetaDb: one writer (db_bench fillsync's shape)
//            vs C producers through the CommitQueue (group commit).
//   large    16 MiB PUTs through ObjectIo (--sizes: another size), MiB/s; bench-store.sh
//            runs fio's sequential write beside it.
//   large-get 16 MiB GETs through ObjectIo (XXH3 verified), from the page cache and cold;
//            bench-store.sh runs fio's sequential read beside it.
//   list     1M keys under 1,000 prefixes: one delimiter page of 1,000 common prefixes (keys
//            visited, wall time) vs a full scan of the 1M keys; the directory index and the
//            seek path it replaced, timed alternately.
//
// Usage: store_bench DIR [put|large|large-get|fillsync|list|all] [--seconds S] [--concurrency C]
//                        [--keys N] [--prefixes P] [--sizes B,B,...] [--inline-threshold B]
//                        [--gather-us US] [--recycle-wal N] [--write-behind 0|1]
//                        [--direct-io 0|1] [--preallocate 0|1] [--window B] [--chunk B] [--no-size-hint]
//                        [--runs R] [--reuse] [--profile]
//   --runs R   listing repetitions for p50/p99 (default 200)
//   --reuse    list: keep the 1M-key DB an earlier run left in DIR/list (profiling)
//   --profile  list: time only the delimiter page (for perf / callgrind)
//   --block-size B, --restart-interval N   list: MetaDbOptions for the load (A/B of table
//              options; a --reuse'd DB keeps the options it was compacted with)
// Prints Markdown table rows. Release builds only; never a timed test.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/shard.h"
#include "store/commit_queue.h"
#include "store/dirs.h"
#include "store/keys.h"
#include "store/listing.h"
#include "store/meta_db.h"
#include "store/node.h"
#include "store/object_io.h"
#include "store/records.h"

namespace mamute::store {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "store_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    Die(std::string(what) + ": " + s.ToString());
  }
}

struct Config {
  std::string dir;
  std::string what = "all";
  double seconds = 5;
  int concurrency = 32;
  uint64_t keys = 1000000;
  uint64_t prefixes = 1000;
  std::vector<std::size_t> sizes = {4096, 65536};
  bool sizes_set = false;  // --sizes given (large, large-get: else 16 MiB)
  /// ObjectIoOptions::inline_threshold for the ObjectIo side; 0: its default.
  uint32_t inline_threshold = 0;
  /// CommitQueueOptions::max_gather_us; -1: its default.
  int gather_us = -1;
  /// MetaDbOptions::recycle_wal_files; -1: its default.
  int recycle_wal = -1;
  /// ObjectIoOptions::write_behind; -1: its default.
  int write_behind = -1;
  /// ObjectIoOptions::direct_io, preallocate; -1: their defaults.
  int direct_io = -1;
  int preallocate = -1;
  /// ObjectIoOptions::write_window_bytes; 0: its default.
  uint32_t window = 0;
  /// ObjectIoOptions::chunk_bytes; 0: its default.
  uint32_t chunk = 0;
  /// PUTs declare their size (ObjectWriter::ExpectSize, as the S3 layer does with
  /// Content-Length); --no-size-hint: they do not.
  bool size_hint = true;
  int list_runs = 200;  // timed listing repetitions (after one untimed-in-p50 first run)
  bool reuse = false;   // list: keep an earlier load in DIR/list
  bool profile = false;  // list: only the delimiter page, no object page or anchor scan
  MetaDbOptions db;      // list: --block-size / --restart-interval experiments
};

MetaDbOptions DbOptions(const Config& cfg) {
  MetaDbOptions o;
  if (cfg.recycle_wal >= 0) {
    o.recycle_wal_files = cfg.recycle_wal;
  }
  return o;
}

CommitQueueOptions QueueOptions(const Config& cfg, bool dirs_index = true) {
  CommitQueueOptions o;
  o.maintain_dirs_index = dirs_index;
  if (cfg.gather_us >= 0) {
    o.max_gather_us = static_cast<uint32_t>(cfg.gather_us);
  }
  return o;
}

// ---------------------------------------------------------------- PUT through ObjectIo

struct Done {
  std::mutex mu;
  std::condition_variable cv;
  int left = 0;
  void One() {
    std::lock_guard<std::mutex> l(mu);
    if (--left == 0) {
      cv.notify_all();
    }
  }
  void Wait() {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return left == 0; });
  }
};

struct PutBench;

// One closed-loop client on the shard: a PUT, and when it is acknowledged the next one.
struct PutClient {
  PutBench* bench = nullptr;
  int id = 0;
  uint64_t seq = 0;
  ObjectWriter* writer = nullptr;
  std::string key;
  std::size_t sent = 0;  // body bytes the writer took so far
  void Next();
  // Appends until the window is full (then OnReady resumes) or the body is in, then Finish.
  void Feed();
  static void OnReady(void* ctx, Status st);
  static void OnPut(void* ctx, Status st, const PutResult&);
};

struct PutBench {
  ObjectIo* io = nullptr;
  std::string body;
  bool size_hint = true;
  Clock::time_point deadline;
  uint64_t done = 0;
  uint64_t failed = 0;
  Done finished;
  std::vector<PutClient> clients;
  ObjectRecord meta;
  uint64_t max_puts = 0;  // 0: until the deadline
  uint64_t started = 0;
  std::vector<std::string>* keys = nullptr;  // when set: the acknowledged PUTs' keys
};

void PutClient::Next() {
  if (Clock::now() >= bench->deadline ||
      (bench->max_puts != 0 && bench->started >= bench->max_puts)) {
    bench->finished.One();
    return;
  }
  ++bench->started;
  key = "bench/" + std::to_string(id) + "/" + std::to_string(seq++);
  auto w = bench->io->BeginPut(1, key);
  if (!w) {
    Die("BeginPut: " + w.error().ToString());
  }
  writer = *w;
  if (bench->size_hint) {
    writer->ExpectSize(bench->body.size());
  }
  sent = 0;
  Feed();
}

void PutClient::Feed() {
  while (sent < bench->body.size()) {
    auto took = writer->Append(std::string_view(bench->body).substr(sent), &PutClient::OnReady,
                               this);
    if (!took) {
      Die("Append: " + took.error().ToString());
    }
    sent += *took;
    if (sent < bench->body.size()) {
      return;  // the window is full: OnReady resumes
    }
  }
  writer->Finish(bench->meta, nullptr, &PutClient::OnPut, this);
}

void PutClient::OnReady(void* ctx, Status st) {
  if (!st.ok()) {
    Die("PUT write: " + st.ToString());
  }
  static_cast<PutClient*>(ctx)->Feed();
}

void PutClient::OnPut(void* ctx, Status st, const PutResult&) {
  auto* c = static_cast<PutClient*>(ctx);
  if (st.ok()) {
    ++c->bench->done;
    if (c->bench->keys != nullptr) {
      c->bench->keys->push_back(c->key);
    }
  } else {
    ++c->bench->failed;
  }
  c->Next();
}

struct FnMsg : core::Message {
  std::function<void()> body;
};

void Post(core::Shard& shard, std::function<void()> body) {
  auto* m = new FnMsg;
  m->fn = [](core::Shard&, core::Message* msg) {
    auto* f = static_cast<FnMsg*>(msg);
    f->body();
    delete f;
  };
  m->body = std::move(body);
  shard.Post(m);
}

struct PutRun {
  double ops_per_s = 0;
  double ops = 0;
  double syncs_per_op = 0;
};

// objects/<xx>/<yy> for every xx, yy: a store past ~100k files has them all, while a fresh one
// creates (and fsyncs) two directories per PUT. Benchmarks measure the steady state; both
// stores share the tree (their file names never collide: random 128-bit ids).
void MakeLeafDirs(const std::string& dir) {
  for (int i = 0; i < 65536; ++i) {
    char sub[8];
    std::snprintf(sub, sizeof(sub), "%02x/%02x", i >> 8, i & 0xff);
    fs::create_directories(dir + "/objects/" + sub);
  }
}

// One shard running an ObjectIo over a NodeStore in `dir`, with bucket 1 created: what the
// ObjectIo benchmarks drive. Stop() ends the shard and closes the store.
struct IoRig {
  std::unique_ptr<NodeStore> node;
  std::unique_ptr<core::Shard> shard;
  std::unique_ptr<ObjectIo> io;

  IoRig(const Config& cfg, const std::string& dir, bool dirs_index = true) {
    auto node_or = NodeStore::Open({dir}, DbOptions(cfg), QueueOptions(cfg, dirs_index));
    if (!node_or) {
      Die("NodeStore::Open: " + node_or.error().ToString());
    }
    node = std::move(*node_or);
    {
      // PUTs commit only under a bucket that exists (CheckBucketLive): the bench writes bucket 1.
      BucketRecord b;
      b.id = 1;
      b.name = "bench";
      std::string v;
      EncodeBucket(b, &v);
      if (Status st = node->db->Put(Cf::kBuckets, BucketKey(1), v); !st.ok()) {
        Die("bucket record: " + st.ToString());
      }
    }
    core::ShardConfig sc;
    sc.id = 0;
    sc.recv_buffers = 0;
    sc.ring_entries = 1024;
    sc.name = "store bench";
    shard = std::make_unique<core::Shard>(sc);
    Done ready;
    ready.left = 1;
    Status ready_st;
    ObjectIoOptions opt;
    opt.unlink_grace_ms = 0;
    if (cfg.inline_threshold != 0) {
      opt.inline_threshold = cfg.inline_threshold;
    }
    if (cfg.write_behind >= 0) {
      opt.write_behind = cfg.write_behind != 0;
    }
    if (cfg.direct_io >= 0) {
      opt.direct_io = cfg.direct_io != 0;
    }
    if (cfg.preallocate >= 0) {
      opt.preallocate = cfg.preallocate != 0;
    }
    if (cfg.window != 0) {
      opt.write_window_bytes = cfg.window;
    }
    if (cfg.chunk != 0) {
      opt.chunk_bytes = cfg.chunk;
    }
    shard->Start(
        [&](core::Shard& s) {
          io = std::make_unique<ObjectIo>(s, *node, opt);
          return io->Init();
        },
        [&](Status st) {
          ready_st = std::move(st);
          ready.One();
        });
    ready.Wait();
    Check(ready_st, "ObjectIo::Init");
  }

  void Stop() {
    shard->RequestStop(10000);
    shard->Join();
    io.reset();
    node->Close();
  }
};

PutRun RunObjectIoPuts(const Config& cfg, const std::string& dir, std::size_t size,
                       bool dirs_index = true, uint64_t max_puts = 0,
                       std::vector<std::string>* keys = nullptr) {
  IoRig rig(cfg, dir, dirs_index);
  NodeStore* node = rig.node.get();
  core::Shard& shard = *rig.shard;
  PutBench b;
  b.io = rig.io.get();
  b.max_puts = max_puts;
  b.keys = keys;
  b.body.assign(size, 'x');
  b.size_hint = cfg.size_hint;
  b.finished.left = cfg.concurrency;
  b.clients.resize(cfg.concurrency);
  const CommitQueueStats before = node->commits->stats();
  const auto t0 = Clock::now();
  b.deadline = t0 + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(cfg.seconds));
  Post(shard, [&] {
    for (int i = 0; i < cfg.concurrency; ++i) {
      b.clients[i].bench = &b;
      b.clients[i].id = i;
      b.clients[i].Next();
    }
  });
  b.finished.Wait();
  const auto t1 = Clock::now();
  const CommitQueueStats after = node->commits->stats();
  rig.Stop();
  if (b.failed != 0) {
    Die(std::to_string(b.failed) + " PUTs failed");
  }
  PutRun r;
  r.ops_per_s = static_cast<double>(b.done) / Seconds(t0, t1);
  r.ops = static_cast<double>(b.done);
  r.syncs_per_op = b.done == 0 ? 0
                               : static_cast<double>(after.syncs - before.syncs) /
                                     static_cast<double>(b.done);
  return r;
}

// The anchor: a file per object, made durable the classic way, by C threads, in the same
// objects/<xx>/<yy>/<id> layout with every directory made beforehand.
double RunFilePerObject(const Config& cfg, const std::string& dir, std::size_t size) {
  fs::create_directories(dir + "/tmp");
  const int tmp_fd = ::open((dir + "/tmp").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int objects_fd = ::open((dir + "/objects").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const std::string body(size, 'x');
  std::atomic<uint64_t> ops{0};
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(cfg.seconds));
  std::vector<std::thread> threads;
  for (int t = 0; t < cfg.concurrency; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t seq = 0; Clock::now() < deadline; ++seq) {
        const FileId id = FileId::Generate();
        const std::string hex = id.ToHex();
        const int fd = ::openat(tmp_fd, hex.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || ::write(fd, body.data(), body.size()) != static_cast<ssize_t>(body.size()) ||
            ::fsync(fd) != 0 || ::close(fd) != 0) {
          Die("file-per-object write: " + std::string(std::strerror(errno)));
        }
        const std::string leaf = hex.substr(0, 2) + "/" + hex.substr(2, 2);
        const int dfd = ::openat(objects_fd, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || ::renameat(tmp_fd, hex.c_str(), dfd, hex.c_str()) != 0 ||
            ::fsync(dfd) != 0 || ::close(dfd) != 0) {
          Die("file-per-object rename: " + std::string(std::strerror(errno)));
        }
        ops.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  const auto t1 = Clock::now();
  ::close(objects_fd);
  ::close(tmp_fd);
  return static_cast<double>(ops.load()) / Seconds(t0, t1);
}

void BenchPut(const Config& cfg) {
  std::printf("| Durable PUT (%d in flight, %.0f s each) | mamute ObjectIo ops/s | "
              "file-per-object ops/s | ratio | WAL syncs per PUT |\n|---|---:|---:|---:|---:|\n",
              cfg.concurrency, cfg.seconds);
  // One data dir for both stores and both sizes: the directory tree is made once.
  const std::string dir = cfg.dir + "/put";
  MakeLeafDirs(dir);
  const uint32_t threshold =
      cfg.inline_threshold != 0 ? cfg.inline_threshold : ObjectIoOptions{}.inline_threshold;
  for (std::size_t size : cfg.sizes) {
    const PutRun m = RunObjectIoPuts(cfg, dir, size);
    const double f = RunFilePerObject(cfg, dir, size);
    std::printf("| %zu B%s | %.0f | %.0f | %.2fx | %.3f |\n", size,
                size <= threshold ? " (inline)" : " (data file)", m.ops_per_s, f, m.ops_per_s / f,
                m.syncs_per_op);
    std::fflush(stdout);
  }
  if (cfg.sizes.empty()) {
    return;
  }
  // What the directory index costs the commit thread: the first size again, with and without
  // its maintenance, interleaved (on, off, on, off); the mean of each and their ratio.
  const std::size_t size = cfg.sizes.front();
  double on = 0;
  double off = 0;
  for (int round = 0; round < 2; ++round) {
    on += RunObjectIoPuts(cfg, dir, size, /*dirs_index=*/true).ops_per_s / 2;
    off += RunObjectIoPuts(cfg, dir, size, /*dirs_index=*/false).ops_per_s / 2;
  }
  std::printf("\n| Directory index cost, %zu B PUTs (on/off/on/off, %.0f s each) | index on ops/s | "
              "index off ops/s | ratio on/off |\n|---|---:|---:|---:|\n"
              "| mean of 2 each | %.0f | %.0f | %.3fx |\n",
              size, cfg.seconds, on, off, on / off);
  std::fflush(stdout);
}

// Large PUTs (16 MiB by default) streamed through ObjectIo: temp file written through the
// ring, fdatasync, rename, directory fsync, synced commit. Prints MiB/s (2^20 bytes); the
// anchor (fio sequential write) is bench-store.sh's, in the same run.
void BenchLarge(const Config& cfg) {
  // No MakeLeafDirs: at 16 MiB the few directories the first PUTs make cost nothing.
  const std::string dir = cfg.dir + "/large";
  const std::size_t size = cfg.sizes_set ? cfg.sizes.front() : std::size_t{16} << 20;
  fs::create_directories(dir);  // NodeStore::Open wants an existing directory
  // CPU of the whole process (the shard's hashing and copying, the ring's io-wq workers that
  // run buffered writes and syncs, the commit thread) per MiB stored.
  rusage ru0{};
  rusage ru1{};
  ::getrusage(RUSAGE_SELF, &ru0);
  const PutRun m = RunObjectIoPuts(cfg, dir, size);
  ::getrusage(RUSAGE_SELF, &ru1);
  const auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  const double cpu = secs(ru1.ru_utime) - secs(ru0.ru_utime) + secs(ru1.ru_stime) - secs(ru0.ru_stime);
  const double mib = m.ops * static_cast<double>(size) / (1 << 20);
  std::printf("| %zu MiB PUT through ObjectIo, %d in flight, %.0f s | %.1f ops/s | %.1f MiB/s | "
              "%.2f ms CPU/MiB |\n",
              size >> 20, cfg.concurrency, cfg.seconds, m.ops_per_s,
              m.ops_per_s * static_cast<double>(size) / (1 << 20), mib > 0 ? cpu * 1e3 / mib : 0.0);
  std::fflush(stdout);
}

// ---------------------------------------------------------------- large GET through ObjectIo

struct GetBench;

// One closed-loop reader on the shard: a full GET (XXH3 verified), then the next object.
struct GetClient {
  GetBench* bench = nullptr;
  int id = 0;
  uint64_t seq = 0;
  void Next();
  static void OnData(void* ctx, ObjectReader* reader, std::string_view data);
  static void OnDone(void* ctx, Status st);
};

struct GetBench {
  ObjectIo* io = nullptr;
  std::vector<ObjectRecord> records;
  std::vector<std::string> paths;  // each record's data file
  bool cold = false;               // drop each file's page cache before reading it
  Clock::time_point deadline;
  uint64_t done = 0;
  uint64_t failed = 0;
  uint64_t bytes = 0;
  Done finished;
  std::vector<GetClient> clients;
};

void GetClient::Next() {
  if (Clock::now() >= bench->deadline) {
    bench->finished.One();
    return;
  }
  const std::size_t n = bench->records.size();
  const std::size_t i = (static_cast<std::size_t>(id) + seq++ * bench->clients.size()) % n;
  if (bench->cold) {
    // A plain syscall on the shard's thread (a few µs, counted in the reader's time): the read
    // that follows comes from the device, as fio's invalidated reads do.
    const int fd = ::open(bench->paths[i].c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) {
      Die("fadvise " + bench->paths[i]);
    }
    ::close(fd);
  }
  const ObjectRecord& rec = bench->records[i];
  auto r = bench->io->BeginGet(rec, 0, rec.size, ReadHandler{&GetClient::OnData, &GetClient::OnDone},
                               this);
  if (!r) {
    Die("BeginGet: " + r.error().ToString());
  }
}

void GetClient::OnData(void* ctx, ObjectReader* reader, std::string_view data) {
  static_cast<GetClient*>(ctx)->bench->bytes += data.size();
  reader->More();
}

void GetClient::OnDone(void* ctx, Status st) {
  auto* c = static_cast<GetClient*>(ctx);
  if (st.ok()) {
    ++c->bench->done;
  } else {
    std::fprintf(stderr, "store_bench: GET: %s\n", st.ToString().c_str());
    ++c->bench->failed;
  }
  c->Next();
}

// Large GETs (16 MiB by default): C readers stream whole objects through ObjectIo (reads on the
// ring into its buffers, XXH3-128 verified over every byte) for S seconds, first from the page
// cache (the objects were just written), then cold (each file's cache dropped with
// posix_fadvise before its GET). bench-store.sh runs fio's sequential read of files of the
// same size beside it, warm and invalidated.
void BenchLargeGet(const Config& cfg) {
  const std::string dir = cfg.dir + "/large-get";
  const std::size_t size = cfg.sizes_set ? cfg.sizes.front() : std::size_t{16} << 20;
  fs::create_directories(dir);
  const uint64_t objects = static_cast<uint64_t>(cfg.concurrency) * 2;
  std::vector<std::string> keys;
  {
    Config setup = cfg;
    setup.seconds = 3600;  // ends after `objects` PUTs
    RunObjectIoPuts(setup, dir, size, /*dirs_index=*/true, objects, &keys);
  }
  if (keys.size() != objects) {
    Die("large-get: " + std::to_string(keys.size()) + " objects written of " + std::to_string(objects));
  }
  IoRig rig(cfg, dir);
  GetBench b;
  b.io = rig.io.get();
  std::vector<std::string> values(keys.size());
  b.records.resize(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    Check(rig.node->db->Get(Cf::kObjects, ObjectKey(1, keys[i]), &values[i]), "record");
    Check(DecodeObject(values[i], &b.records[i]), "DecodeObject");
    if (b.records[i].location.kind != LocationKind::kFile) {
      Die("large-get: object " + keys[i] + " not in a data file: kind " + std::to_string(static_cast<int>(b.records[i].location.kind)) + ", size " + std::to_string(b.records[i].size));
    }
    b.paths.push_back(dir + "/" + DataFileRelPath(b.records[i].location.file));
  }
  for (const bool cold : {false, true}) {
    b.cold = cold;
    b.done = b.failed = b.bytes = 0;
    b.clients.assign(static_cast<std::size_t>(cfg.concurrency), GetClient{});
    b.finished.left = cfg.concurrency;
    const auto t0 = Clock::now();
    b.deadline = t0 + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(cfg.seconds));
    Post(*rig.shard, [&] {
      for (int i = 0; i < cfg.concurrency; ++i) {
        b.clients[i].bench = &b;
        b.clients[i].id = i;
        b.clients[i].Next();
      }
    });
    b.finished.Wait();
    const double secs = Seconds(t0, Clock::now());
    if (b.failed != 0) {
      Die(std::to_string(b.failed) + " GETs failed");
    }
    std::printf("| %zu MiB GET through ObjectIo, %s, %d in flight, %.0f s | %.1f ops/s | %.1f MiB/s |\n",
                size >> 20, cold ? "cold (page cache dropped per GET)" : "page cache", cfg.concurrency,
                cfg.seconds, static_cast<double>(b.done) / secs,
                static_cast<double>(b.bytes) / secs / (1 << 20));
    std::fflush(stdout);
  }
  rig.Stop();
}

// ---------------------------------------------------------------- RocksDB fillsync

std::unique_ptr<MetaDb> OpenDb(const std::string& dir, const MetaDbOptions& o = {}) {
  fs::create_directories(dir);
  auto db = MetaDb::Open(dir, o);
  if (!db) {
    Die("MetaDb::Open: " + db.error().ToString());
  }
  return std::move(*db);
}

void BenchFillSync(const Config& cfg) {
  std::unique_ptr<MetaDb> db = OpenDb(cfg.dir + "/fillsync");
  const std::string value(100, 'v');
  const auto span = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(cfg.seconds));

  // One synced writer: db_bench --benchmarks=fillsync (100-byte values, 16-byte keys).
  uint64_t single = 0;
  auto t0 = Clock::now();
  while (Clock::now() < t0 + span) {
    char key[32];
    std::snprintf(key, sizeof(key), "s%015llu", static_cast<unsigned long long>(single++));
    Check(db->Put(Cf::kObjects, key, value, /*sync=*/true), "synced Put");
  }
  const double single_rate = static_cast<double>(single) / Seconds(t0, Clock::now());

  // C producers, one synced request each in flight, through the CommitQueue.
  CommitQueue queue(db.get(), QueueOptions(cfg));
  Check(queue.Start(), "CommitQueue::Start");
  struct Producer {
    std::unique_ptr<CommitRequest> req;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Status st;
  };
  std::vector<std::unique_ptr<Producer>> producers;
  std::atomic<uint64_t> total{0};
  const CommitQueueStats before = queue.stats();
  t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int p = 0; p < cfg.concurrency; ++p) {
    producers.push_back(std::make_unique<Producer>());
    Producer* pr = producers.back().get();
    pr->req = std::make_unique<CommitRequest>(*db);
    threads.emplace_back([&, pr, p] {
      uint64_t n = 0;
      while (Clock::now() < t0 + span) {
        char key[32];
        std::snprintf(key, sizeof(key), "q%03d%012llu", p, static_cast<unsigned long long>(n++));
        pr->req->batch.Clear();
        Check(pr->req->batch.Put(Cf::kObjects, key, value), "batch Put");
        pr->req->ctx = pr;
        pr->req->callback = [](void* ctx, Status st) {
          auto* x = static_cast<Producer*>(ctx);
          std::lock_guard<std::mutex> l(x->mu);
          x->st = std::move(st);
          x->done = true;
          x->cv.notify_one();
        };
        {
          std::lock_guard<std::mutex> l(pr->mu);
          pr->done = false;
        }
        Check(queue.Enqueue(pr->req.get()), "Enqueue");
        std::unique_lock<std::mutex> l(pr->mu);
        pr->cv.wait(l, [&] { return pr->done; });
        Check(pr->st, "group commit");
        total.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  const double group_rate = static_cast<double>(total.load()) / Seconds(t0, Clock::now());
  const CommitQueueStats after = queue.stats();
  queue.Stop();
  Check(db->Close(), "MetaDb::Close");
  std::printf("| RocksDB synced 100 B writes (%.0f s each) | ops/s | syncs | ratio to one writer |\n"
              "|---|---:|---:|---:|\n",
              cfg.seconds);
  std::printf("| one writer, sync=true (db_bench fillsync) | %.0f | %llu | 1.00x |\n", single_rate,
              static_cast<unsigned long long>(single));
  std::printf("| %d producers through the CommitQueue | %.0f | %llu | %.2fx |\n", cfg.concurrency,
              group_rate, static_cast<unsigned long long>(after.syncs - before.syncs),
              group_rate / single_rate);
  std::fflush(stdout);
}

// ---------------------------------------------------------------- delimiter listing

struct ListTiming {
  double first = 0;  // the first run: block cache cold for these blocks (warm index)
  double p50 = 0;
  double p99 = 0;
  double cpu_p50 = 0;  // this thread's CPU time: what the listing costs without preemption
  ListResult result;
};

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(q * (v.size() - 1) + 0.5));
  return v[i];
}

// Two requests timed alternately (a, b, a, b, ...): an A/B that shares the machine's state.
std::pair<ListTiming, ListTiming> TimeListingAB(const MetaDb& db, const ListRequest& a,
                                                const ListRequest& b, int runs) {
  ListTiming t[2];
  std::vector<double> times[2], cpu[2];
  for (int i = 0; i <= runs; ++i) {
    for (int w = 0; w < 2; ++w) {
      const double c0 = ThreadCpuSeconds();
      const auto t0 = Clock::now();
      auto r = ListObjectsV2(db, w == 0 ? a : b);
      const double s = Seconds(t0, Clock::now());
      const double c = ThreadCpuSeconds() - c0;
      if (!r) {
        Die("ListObjectsV2: " + r.error().ToString());
      }
      if (i == 0) {
        t[w].first = s;
        t[w].result = std::move(*r);
      } else {
        times[w].push_back(s);
        cpu[w].push_back(c);
      }
    }
  }
  for (int w = 0; w < 2; ++w) {
    t[w].cpu_p50 = Percentile(cpu[w], 0.5);
    t[w].p50 = Percentile(times[w], 0.5);
    t[w].p99 = Percentile(times[w], 0.99);
  }
  return {std::move(t[0]), std::move(t[1])};
}

// `runs` repetitions after the first; p50/p99 over them (the first is reported on its own).
ListTiming TimeListing(const MetaDb& db, const ListRequest& req, int runs) {
  ListTiming t;
  std::vector<double> times, cpu;
  times.reserve(static_cast<std::size_t>(runs));
  cpu.reserve(static_cast<std::size_t>(runs));
  for (int i = 0; i <= runs; ++i) {
    const double c0 = ThreadCpuSeconds();
    const auto t0 = Clock::now();
    auto r = ListObjectsV2(db, req);
    const double s = Seconds(t0, Clock::now());
    const double c = ThreadCpuSeconds() - c0;
    if (!r) {
      Die("ListObjectsV2: " + r.error().ToString());
    }
    if (i == 0) {
      t.first = s;
      t.result = std::move(*r);
    } else {
      times.push_back(s);
      cpu.push_back(c);
    }
  }
  t.cpu_p50 = Percentile(cpu, 0.5);
  t.p50 = Percentile(times, 0.5);
  t.p99 = Percentile(times, 0.99);
  return t;
}

std::string ListKey(uint64_t p, uint64_t k) {
  char key[64];
  std::snprintf(key, sizeof(key), "dir%05llu/object-%07llu.json", static_cast<unsigned long long>(p),
                static_cast<unsigned long long>(k));
  return key;
}

// Loads `keys` keys under `prefixes` prefixes into bucket 7, flushed and compacted. With --reuse
// an earlier load in the same directory is kept (its last key is checked).
double LoadListing(const Config& cfg, MetaDb& db, BucketId bucket, double* index_build_s) {
  const uint64_t per_prefix = cfg.keys / cfg.prefixes;
  if (cfg.reuse) {
    std::string v;
    if (db.Get(Cf::kObjects, ObjectKey(bucket, ListKey(cfg.prefixes - 1, per_prefix - 1)), &v)
            .ok()) {
      return 0;
    }
  }
  ObjectRecord rec;
  rec.size = 0;
  rec.etag = std::string(16, '\x01');
  std::string value;
  EncodeObject(rec, &value);
  const auto l0 = Clock::now();
  MetaBatch mb(db);
  uint64_t loaded = 0;
  for (uint64_t p = 0; p < cfg.prefixes; ++p) {
    for (uint64_t k = 0; k < per_prefix; ++k) {
      Check(mb.Put(Cf::kObjects, ObjectKey(bucket, ListKey(p, k)), value), "batch Put");
      if (++loaded % 10000 == 0) {
        Check(db.Write(mb.rep(), /*sync=*/false), "bulk Write");
        mb.Clear();
      }
    }
  }
  Check(db.Write(mb.rep(), /*sync=*/true), "bulk Write");
  // Loaded around the commit queue: derive the directory index, as an upgrade's first open
  // does (timed apart).
  const auto b0 = Clock::now();
  Check(RebuildDirsIndex(db), "RebuildDirsIndex");
  *index_build_s = Seconds(b0, Clock::now());
  // Flush and compact so the listing reads SSTs as a long-lived bucket would.
  for (Cf cf : {Cf::kObjects, Cf::kDirs}) {
    Check(FromRocks(db.db()->Flush(rocksdb::FlushOptions(), db.handle(cf)), "flush"), "flush");
    Check(FromRocks(db.db()->CompactRange(rocksdb::CompactRangeOptions(), db.handle(cf), nullptr,
                                          nullptr),
                    "compact"),
          "compact");
  }
  return Seconds(l0, Clock::now());
}

void BenchList(const Config& cfg) {
  std::unique_ptr<MetaDb> db = OpenDb(cfg.dir + "/list", cfg.db);
  const BucketId bucket = 7;
  double index_build_s = 0;
  const double load_s = LoadListing(cfg, *db, bucket, &index_build_s);
  std::string files;
  db->db()->GetProperty(db->handle(Cf::kObjects), "rocksdb.num-files-at-level0", &files);
  std::string l0_files = files;
  db->db()->GetProperty(db->handle(Cf::kObjects), "rocksdb.estimate-num-keys", &files);
  const uint64_t loaded = std::stoull(files);

  // The delimiter page: 1,000 common prefixes; then one prefix's 1,000 keys without a
  // delimiter (a page of objects). The first run of each is reported apart (its data blocks
  // come into the block cache); p50/p99 over the next `runs`.
  ListRequest delim;
  delim.bucket = bucket;
  delim.delimiter = "/";
  delim.max_keys = 1000;
  // The directory index (today's path for delimiter "/") and the seek path it replaced,
  // timed alternately.
  ListRequest delim_seek = delim;
  delim_seek.use_dirs_index = false;
  ListTiming list;
  ListTiming list_seek;
  if (cfg.profile) {
    list = TimeListing(*db, delim, cfg.list_runs);
  } else {
    std::tie(list, list_seek) = TimeListingAB(*db, delim, delim_seek, cfg.list_runs);
  }
  if (cfg.profile) {
    std::printf("delimiter page: %zu common prefixes, %llu keys touched, p50 %.3f ms, CPU p50 "
                "%.3f ms, first %.2f ms\n",
                list.result.common_prefixes.size(),
                static_cast<unsigned long long>(list.result.keys_visited), list.p50 * 1e3,
                list.cpu_p50 * 1e3, list.first * 1e3);
    return;
  }
  ListRequest page;
  page.bucket = bucket;
  page.prefix = "dir00500/";
  page.max_keys = 1000;
  const ListTiming one = TimeListing(*db, page, cfg.list_runs);
  // Next-before-Seek's shape: 1,000 prefixes of one key each in another bucket.
  const BucketId small_bucket = 8;
  {
    std::string v;
    if (!db->Get(Cf::kObjects, ObjectKey(small_bucket, ListKey(cfg.prefixes - 1, 0)), &v).ok()) {
      ObjectRecord rec;
      rec.etag = std::string(16, '\x01');
      EncodeObject(rec, &v);
      MetaBatch mb(*db);
      for (uint64_t p = 0; p < cfg.prefixes; ++p) {
        const std::string key = ListKey(p, 0);
        Check(mb.Put(Cf::kObjects, ObjectKey(small_bucket, key), v), "batch Put");
        // Its directory index entries, as the commit thread would write them.
        ForEachDirsEntry(key, [&](std::string_view parent, std::string_view child) {
          Check(mb.Put(Cf::kDirs, DirsKey(small_bucket, parent, child), DirsValue()), "dirs Put");
        });
      }
      Check(db->Write(mb.rep(), /*sync=*/false), "small Write");
      for (Cf cf : {Cf::kObjects, Cf::kDirs}) {
        Check(FromRocks(db->db()->Flush(rocksdb::FlushOptions(), db->handle(cf)), "flush"),
              "flush");
      }
    }
  }
  ListRequest small = delim;
  small.bucket = small_bucket;
  ListRequest small_seek = small;
  small_seek.use_dirs_index = false;
  const auto [one_key, one_key_seek] = TimeListingAB(*db, small, small_seek, cfg.list_runs);
  const std::size_t prefixes_returned = list.result.common_prefixes.size();
  // The anchor: every key of the bucket, one iterator pass (what a naive delimiter listing
  // does), best of 3.
  double best_scan = 1e9;
  uint64_t scanned = 0;
  for (int i = 0; i < 3; ++i) {
    rocksdb::ReadOptions ro;
    const std::string lo = ObjectKey(bucket, "");
    const std::string hi = ObjectKey(bucket + 1, "");
    rocksdb::Slice upper(hi);
    ro.iterate_upper_bound = &upper;
    const auto t0 = Clock::now();
    auto it = db->NewIterator(Cf::kObjects, ro);
    scanned = 0;
    for (it->Seek(lo); it->Valid(); it->Next()) {
      ++scanned;
    }
    best_scan = std::min(best_scan, Seconds(t0, Clock::now()));
  }
  Check(db->Close(), "MetaDb::Close");
  char how[96] = "reused";
  if (load_s > 0) {
    std::snprintf(how, sizeof(how), "loaded + compacted in %.1f s, index built in %.1f s", load_s,
                  index_build_s);
  }
  std::printf("| Listing, ~%llu keys under %llu prefixes (%s; L0 files: %s) | keys touched | "
              "Seeks | p50 | p99 | CPU p50 | first run | p50 ratio to the full scan |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|\n",
              static_cast<unsigned long long>(loaded), static_cast<unsigned long long>(cfg.prefixes),
              how, l0_files.c_str());
  auto row = [&](const char* what, std::size_t items, const ListTiming& t) {
    std::printf("| %s: %zu common prefixes (%d runs) | %llu | %llu | %.3f ms | %.3f ms | %.3f ms | "
                "%.2f ms | %.4fx |\n",
                what, items, cfg.list_runs, static_cast<unsigned long long>(t.result.keys_visited),
                static_cast<unsigned long long>(t.result.seeks), t.p50 * 1e3, t.p99 * 1e3,
                t.cpu_p50 * 1e3, t.first * 1e3, t.p50 / best_scan);
  };
  row("delimiter '/', max-keys 1000, directory index", prefixes_returned, list);
  row("same, seek path (before the index; A/B alternated)", list_seek.result.common_prefixes.size(),
      list_seek);
  row("same, another bucket, prefixes of one key each, directory index",
      one_key.result.common_prefixes.size(), one_key);
  row("same, that bucket, seek path (A/B alternated)", one_key_seek.result.common_prefixes.size(),
      one_key_seek);
  std::printf("| one prefix, no delimiter, 1000 objects (%d runs) | %llu | %llu | %.3f ms | "
              "%.3f ms | %.3f ms | %.2f ms | %.4fx |\n",
              cfg.list_runs, static_cast<unsigned long long>(one.result.keys_visited),
              static_cast<unsigned long long>(one.result.seeks),
              one.p50 * 1e3, one.p99 * 1e3, one.cpu_p50 * 1e3, one.first * 1e3,
              one.p50 / best_scan);
  std::printf("| anchor: iterate all keys of the bucket (best of 3) | %llu | 1 | %.1f ms | | | | 1.00x |\n",
              static_cast<unsigned long long>(scanned), best_scan * 1e3);
  std::printf("\ndelimiter page p50, directory index vs seek path: %.3f ms vs %.3f ms (%.2fx faster); "
              "CPU p50 %.3f ms vs %.3f ms\n",
              list.p50 * 1e3, list_seek.p50 * 1e3, list_seek.p50 / list.p50, list.cpu_p50 * 1e3,
              list_seek.cpu_p50 * 1e3);
  std::fflush(stdout);
}

}  // namespace
}  // namespace mamute::store

int main(int argc, char** argv) {
  using mamute::store::Config;
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: store_bench DIR [put|large|large-get|fillsync|list|all] [--seconds S] [--concurrency C] "
                 "[--keys N] [--prefixes P] [--sizes B,B,...] [--inline-threshold B]\n"
                 "       [--gather-us US] [--recycle-wal N] [--write-behind 0|1] [--runs R] [--reuse]\n"
                 "       [--direct-io 0|1] [--preallocate 0|1] [--window B] [--chunk B] [--no-size-hint]\n"
                 "       [--profile] [--block-size B] [--restart-interval N]\n");
    return 2;
  }
  Config cfg;
  cfg.dir = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        mamute::store::Die(a + " needs a value");
      }
      return argv[++i];
    };
    if (a == "--seconds") {
      cfg.seconds = std::stod(next());
    } else if (a == "--concurrency") {
      cfg.concurrency = std::stoi(next());
    } else if (a == "--keys") {
      cfg.keys = std::stoull(next());
    } else if (a == "--prefixes") {
      cfg.prefixes = std::stoull(next());
    } else if (a == "--sizes") {
      cfg.sizes.clear();
      cfg.sizes_set = true;
      const std::string list = next();
      for (std::size_t pos = 0; pos < list.size();) {
        std::size_t comma = list.find(',', pos);
        if (comma == std::string::npos) {
          comma = list.size();
        }
        cfg.sizes.push_back(std::stoull(list.substr(pos, comma - pos)));
        pos = comma + 1;
      }
    } else if (a == "--gather-us") {
      cfg.gather_us = std::stoi(next());
    } else if (a == "--recycle-wal") {
      cfg.recycle_wal = std::stoi(next());
    } else if (a == "--write-behind") {
      cfg.write_behind = std::stoi(next());
    } else if (a == "--direct-io") {
      cfg.direct_io = std::stoi(next());
    } else if (a == "--preallocate") {
      cfg.preallocate = std::stoi(next());
    } else if (a == "--window") {
      cfg.window = static_cast<uint32_t>(std::stoul(next()));
    } else if (a == "--chunk") {
      cfg.chunk = static_cast<uint32_t>(std::stoul(next()));
    } else if (a == "--no-size-hint") {
      cfg.size_hint = false;
    } else if (a == "--inline-threshold") {
      cfg.inline_threshold = static_cast<uint32_t>(std::stoul(next()));
    } else if (a == "--runs") {
      cfg.list_runs = std::max(1, std::stoi(next()));
    } else if (a == "--reuse") {
      cfg.reuse = true;
    } else if (a == "--profile") {
      cfg.profile = true;
    } else if (a == "--block-size") {
      cfg.db.data_block_bytes = std::stoull(next());
    } else if (a == "--restart-interval") {
      cfg.db.block_restart_interval = std::stoi(next());
    } else {
      cfg.what = a;
    }
  }
  if (cfg.what == "put" || cfg.what == "all") {
    mamute::store::BenchPut(cfg);
  }
  if (cfg.what == "large") {
    mamute::store::BenchLarge(cfg);
  }
  if (cfg.what == "large-get") {
    mamute::store::BenchLargeGet(cfg);
  }
  if (cfg.what == "fillsync" || cfg.what == "all") {
    mamute::store::BenchFillSync(cfg);
  }
  if (cfg.what == "list" || cfg.what == "all") {
    mamute::store::BenchList(cfg);
  }
  return 0;
}
