// mamute: S3-compatible storage gateway. Options (cold path), shards pinned to
// cores, the management shard on its own core and port, graceful shutdown.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "auth/secret_box.h"
#include "core/cpu.h"
#include "core/fault.h"
#include "core/shard.h"
#include "http/metrics.h"
#include "http/server.h"
#include "mamute/options.h"
#include "mgmt/bootstrap.h"
#include "mgmt/service.h"
#include "s3/service.h"
#include "store/data_dirs.h"
#include "store/fsck.h"
#include "store/node.h"
#include "store/object_io.h"
#include "util/log.h"
#include "util/options_parse.h"

namespace mamute {
namespace {

constexpr const char* kVersion = "0.1.0";

struct OptionSpec {
  const char* flag;  // without the leading "--"
  const char* env;
  const char* value_name;
  const char* help;
  std::function<std::string(Options&)> get;  // default rendering
  std::function<bool(Options&, std::string_view, bool first)> set;
};

template <typename T>
std::function<bool(Options&, std::string_view, bool)> U32(T Options::*field, uint64_t min, uint64_t max) {
  return [field, min, max](Options& o, std::string_view v, bool) {
    auto n = util::ParseU64(v);
    if (!n || *n < min || *n > max) return false;
    o.*field = static_cast<T>(*n);
    return true;
  };
}

std::function<bool(Options&, std::string_view, bool)> Bool(bool Options::*field) {
  return [field](Options& o, std::string_view v, bool) {
    auto b = util::ParseBool(v);
    if (!b) return false;
    o.*field = *b;
    return true;
  };
}

std::vector<OptionSpec> Specs() {
  std::vector<OptionSpec> s;
  s.push_back({"data-dir", "MAMUTE_DATA_DIR", "DIR",
               "Data directory (repeatable: one per disk; the environment variable takes a comma-separated list).",
               [](Options& o) { return o.data_dirs.front(); },
               [](Options& o, std::string_view v, bool first) {
                 if (v.empty()) return false;
                 if (first) o.data_dirs.clear();
                 std::size_t pos = 0;
                 while (pos <= v.size()) {
                   auto comma = v.find(',', pos);
                   auto part = v.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
                   if (!part.empty()) o.data_dirs.emplace_back(part);
                   if (comma == std::string_view::npos) break;
                   pos = comma + 1;
                 }
                 return !o.data_dirs.empty();
               }});
  s.push_back({"s3-listen", "MAMUTE_S3_LISTEN", "HOST:PORT", "S3 data-plane address (every data shard listens, SO_REUSEPORT).",
               [](Options& o) { return o.s3_listen; },
               [](Options& o, std::string_view v, bool) { o.s3_listen = v; return util::ParseHostPort(v).has_value(); }});
  s.push_back({"domain", "MAMUTE_DOMAIN", "DOMAIN",
               "Enables virtual-host style S3 requests: Host bucket.DOMAIN[:port] names the bucket (path style still works).",
               [](Options& o) { return o.domain; },
               [](Options& o, std::string_view v, bool) {
                 o.domain.clear();
                 for (char c : v) {
                   c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                   if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) return false;
                   o.domain.push_back(c);
                 }
                 return o.domain.empty() || (o.domain.front() != '.' && o.domain.back() != '.');
               }});
  s.push_back({"api-listen", "MAMUTE_API_LISTEN", "HOST:PORT", "Management API address (the management shard).",
               [](Options& o) { return o.api_listen; },
               [](Options& o, std::string_view v, bool) { o.api_listen = v; return util::ParseHostPort(v).has_value(); }});
  s.push_back({"data-cores", "MAMUTE_DATA_CORES", "N", "Data shards, one per core; 0 = all cores but one (at least 1).",
               [](Options& o) { return std::to_string(o.data_cores); }, U32(&Options::data_cores, 0, 1024)});
  s.push_back({"log-level", "MAMUTE_LOG_LEVEL", "LEVEL", "debug, info, warn, error or off.",
               [](Options& o) { return o.log_level; },
               [](Options& o, std::string_view v, bool) {
                 log::Level l;
                 o.log_level = v;
                 return log::ParseLevel(v, &l);
               }});
  s.push_back({"access-log", "MAMUTE_ACCESS_LOG", "BOOL", "One JSON line per request on stdout.",
               [](Options& o) { return o.access_log ? "true" : "false"; }, Bool(&Options::access_log)});
  s.push_back({"max-connections", "MAMUTE_MAX_CONNECTIONS", "N",
               "Open connections per port for the whole node, split evenly over the shards; more get 503 and are closed.",
               [](Options& o) { return std::to_string(o.max_connections); }, U32(&Options::max_connections, 1, 10000000)});
  s.push_back({"header-timeout-ms", "MAMUTE_HEADER_TIMEOUT_MS", "MS", "Time to receive a whole request head (slowloris): 408 and close.",
               [](Options& o) { return std::to_string(o.header_timeout_ms); }, U32(&Options::header_timeout_ms, 100, 3600000)});
  s.push_back({"idle-timeout-ms", "MAMUTE_IDLE_TIMEOUT_MS", "MS", "Idle keep-alive connections are closed after this.",
               [](Options& o) { return std::to_string(o.idle_timeout_ms); }, U32(&Options::idle_timeout_ms, 100, 86400000)});
  s.push_back({"body-timeout-ms", "MAMUTE_BODY_TIMEOUT_MS", "MS",
               "A body read (or response write) making no progress this long: 408 and close.",
               [](Options& o) { return std::to_string(o.body_timeout_ms); }, U32(&Options::body_timeout_ms, 100, 3600000)});
  s.push_back({"min-body-rate", "MAMUTE_MIN_BODY_RATE", "BYTES",
               "Bytes/s a request body must average over each window (a trickled body): 408 and close. 0: off.",
               [](Options& o) { return std::to_string(o.min_body_rate); }, U32(&Options::min_body_rate, 0, 1u << 30)});
  s.push_back({"min-body-rate-window-ms", "MAMUTE_MIN_BODY_RATE_WINDOW_MS", "MS",
               "The window --min-body-rate is averaged over (time the server holds the body back is not counted).",
               [](Options& o) { return std::to_string(o.min_body_rate_window_ms); },
               U32(&Options::min_body_rate_window_ms, 100, 3600000)});
  s.push_back({"shutdown-timeout-ms", "MAMUTE_SHUTDOWN_TIMEOUT_MS", "MS",
               "On SIGTERM/SIGINT, in-flight requests get this long to finish.",
               [](Options& o) { return std::to_string(o.shutdown_timeout_ms); }, U32(&Options::shutdown_timeout_ms, 0, 3600000)});
  s.push_back({"max-header-bytes", "MAMUTE_MAX_HEADER_BYTES", "BYTES", "Request line + headers limit: 431 beyond.",
               [](Options& o) { return std::to_string(o.max_header_bytes); }, U32(&Options::max_header_bytes, 1024, 1048576)});
  s.push_back({"max-uri-bytes", "MAMUTE_MAX_URI_BYTES", "BYTES", "Request-target limit: 414 beyond.",
               [](Options& o) { return std::to_string(o.max_uri_bytes); }, U32(&Options::max_uri_bytes, 256, 1048576)});
  s.push_back({"recv-buffer-size", "MAMUTE_RECV_BUFFER_SIZE", "BYTES", "Size of each provided receive buffer.",
               [](Options& o) { return std::to_string(o.recv_buffer_size); }, U32(&Options::recv_buffer_size, 4096, 1048576)});
  s.push_back({"recv-buffers", "MAMUTE_RECV_BUFFERS", "N", "Provided receive buffers per shard (power of two).",
               [](Options& o) { return std::to_string(o.recv_buffers); },
               [](Options& o, std::string_view v, bool) {
                 auto n = util::ParseU64(v);
                 if (!n || *n == 0 || *n > 32768 || (*n & (*n - 1)) != 0) return false;
                 o.recv_buffers = static_cast<uint32_t>(*n);
                 return true;
               }});
  s.push_back({"ring-entries", "MAMUTE_RING_ENTRIES", "N", "Submission queue entries per shard ring.",
               [](Options& o) { return std::to_string(o.ring_entries); }, U32(&Options::ring_entries, 64, 32768)});
  s.push_back({"pin-threads", "MAMUTE_PIN_THREADS", "BOOL", "Pin each shard's thread to its core.",
               [](Options& o) { return o.pin_threads ? "true" : "false"; }, Bool(&Options::pin_threads)});
  s.push_back({"jwt-access-ttl-s", "MAMUTE_JWT_ACCESS_TTL_S", "SECONDS",
               "Lifetime of the management API's Bearer access tokens (POST /auth/login, /auth/refresh).",
               [](Options& o) { return std::to_string(o.jwt_access_ttl_s); }, U32(&Options::jwt_access_ttl_s, 1, 86400)});
  s.push_back({"jwt-refresh-ttl-s", "MAMUTE_JWT_REFRESH_TTL_S", "SECONDS",
               "Lifetime of a refresh token; each refresh issues a new one for this long.",
               [](Options& o) { return std::to_string(o.jwt_refresh_ttl_s); },
               U32(&Options::jwt_refresh_ttl_s, 1, 31536000)});
  s.push_back({"jwt-key-max-age-s", "MAMUTE_JWT_KEY_MAX_AGE_S", "SECONDS",
               "Age at which the JWT signing key is rotated before the next token is signed; 0 = only on POST /security/jwks/rotate.",
               [](Options& o) { return std::to_string(o.jwt_key_max_age_s); },
               U32(&Options::jwt_key_max_age_s, 0, 315360000)});
  s.push_back({"session-prune-interval-s", "MAMUTE_SESSION_PRUNE_INTERVAL_S", "SECONDS",
               "Period of the sweep that deletes dead refresh-token records (expired or revoked sessions).",
               [](Options& o) { return std::to_string(o.session_prune_interval_s); },
               U32(&Options::session_prune_interval_s, 1, 86400)});
  s.push_back({"login-workers", "MAMUTE_LOGIN_WORKERS", "N", "Threads that hash passwords for POST /auth/login.",
               [](Options& o) { return std::to_string(o.login_workers); }, U32(&Options::login_workers, 1, 64)});
  s.push_back({"login-queue", "MAMUTE_LOGIN_QUEUE", "N", "Logins waiting for a password worker; more get 503.",
               [](Options& o) { return std::to_string(o.login_queue); }, U32(&Options::login_queue, 1, 100000)});
  s.push_back({"login-account-burst", "MAMUTE_LOGIN_ACCOUNT_BURST", "N",
               "Failed logins an account may have in a burst (token bucket); beyond: 429 with Retry-After.",
               [](Options& o) { return std::to_string(o.login_account_burst); },
               U32(&Options::login_account_burst, 1, 1000000)});
  s.push_back({"login-account-per-min", "MAMUTE_LOGIN_ACCOUNT_PER_MIN", "N",
               "Failed logins per minute an account regains.",
               [](Options& o) { return std::to_string(o.login_account_per_min); },
               U32(&Options::login_account_per_min, 1, 1000000)});
  s.push_back({"login-ip-burst", "MAMUTE_LOGIN_IP_BURST", "N",
               "Login attempts a client IP may make in a burst (token bucket); beyond: 429 with Retry-After.",
               [](Options& o) { return std::to_string(o.login_ip_burst); }, U32(&Options::login_ip_burst, 1, 1000000)});
  s.push_back({"login-ip-per-min", "MAMUTE_LOGIN_IP_PER_MIN", "N", "Login attempts per minute a client IP regains.",
               [](Options& o) { return std::to_string(o.login_ip_per_min); },
               U32(&Options::login_ip_per_min, 1, 1000000)});
  s.push_back({"unlink-grace-ms", "MAMUTE_UNLINK_GRACE_MS", "MS",
               "Delay before the data file of an overwritten, deleted or purged object is unlinked.",
               [](Options& o) { return std::to_string(o.unlink_grace_ms); },
               U32(&Options::unlink_grace_ms, 0, 3600000)});
  s.push_back({"direct-io", "MAMUTE_DIRECT_IO", "BOOL",
               "Write large PUTs' data files with O_DIRECT (declared size >= 1 MiB), preallocated.",
               [](Options& o) { return o.direct_io ? "true" : "false"; }, Bool(&Options::direct_io)});
  s.push_back({"multipart-min-part-size", "MAMUTE_MULTIPART_MIN_PART_SIZE", "BYTES",
               "Smallest part but the last that CompleteMultipartUpload accepts (AWS: 5 MiB; lower only for tests).",
               [](Options& o) { return std::to_string(o.multipart_min_part_size); },
               U32(&Options::multipart_min_part_size, 1, uint64_t{5} << 30)});
  s.push_back({"multipart-expiry-s", "MAMUTE_MULTIPART_EXPIRY_S", "SECONDS",
               "Multipart uploads not completed or aborted this long after they began are aborted (parts removed).",
               [](Options& o) { return std::to_string(o.multipart_expiry_s); },
               U32(&Options::multipart_expiry_s, 1, uint64_t{10} * 365 * 86400)});
  s.push_back({"test-routes", "MAMUTE_TEST_ROUTES", "BOOL",
               "Serve /_test/* routes on the S3 port (tests and benchmarks only; never in production).",
               [](Options& o) { return o.test_routes ? "true" : "false"; }, Bool(&Options::test_routes)});
  return s;
}

void PrintHelp(const std::vector<OptionSpec>& specs) {
  Options defaults;
  std::printf(
      "mamute %s — S3-compatible storage gateway\n\n"
      "Usage: mamute [OPTIONS]\n\n"
      "Every option is also an environment variable (shown in brackets); a flag wins over the variable.\n\n",
      kVersion);
  for (const auto& s : specs) {
    std::string left = std::string("  --") + s.flag + "=" + s.value_name;
    std::printf("%-34s %s\n%-34s [%s] Default: %s\n", left.c_str(), s.help, "", s.env, s.get(defaults).c_str());
  }
  std::printf("  %-32s %s\n  %-32s %s\n", "--help", "Show this help.", "--version", "Show the version.");
  if (core::fault::Compiled()) {
    std::printf("\nThis build honours MAMUTE_FAULTS (fault injection for tests; docs/testing.md).\n");
  }
  std::printf("\nSubcommands:\n  mamute fsck [--data-dir DIR]... [--repair]   offline store check (see mamute fsck --help)\n");
}

std::vector<std::string_view> g_flag_names;

Options ParseOptions(int argc, char** argv, const std::vector<OptionSpec>& specs) {
  Options o;
  // Environment first, then flags.
  for (const auto& s : specs) {
    if (const char* v = std::getenv(s.env); v != nullptr) {
      if (!s.set(o, v, true)) throw std::runtime_error(std::string("invalid value for ") + s.env + ": '" + v + "'");
    }
  }
  std::vector<bool> seen(specs.size(), false);
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      PrintHelp(specs);
      std::exit(0);
    }
    if (a == "--version") {
      std::printf("mamute %s\n", kVersion);
      std::exit(0);
    }
    if (!a.starts_with("--")) throw std::runtime_error("unexpected argument '" + std::string(a) + "' (see --help)");
    a.remove_prefix(2);
    std::string_view name = a, value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string_view::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    bool found = false;
    for (std::size_t k = 0; k < specs.size(); ++k) {
      if (name != specs[k].flag) continue;
      found = true;
      if (!has_value) {
        if (i + 1 >= argc) throw std::runtime_error("--" + std::string(name) + " needs a value");
        value = argv[++i];
      }
      if (!specs[k].set(o, value, !seen[k])) {
        throw std::runtime_error("invalid value for --" + std::string(name) + ": '" + std::string(value) + "'");
      }
      seen[k] = true;
    }
    if (!found) throw std::runtime_error("unknown option --" + std::string(name) + " (see --help)");
  }
  return o;
}

struct ReadyLatch {
  std::mutex mu;
  std::condition_variable cv;
  int pending = 0;
  Status first_error;
  void Done(Status st) {
    std::lock_guard<std::mutex> lock(mu);
    if (!st.ok() && first_error.ok()) first_error = std::move(st);
    --pending;
    cv.notify_all();
  }
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [this] { return pending == 0; });
    return first_error;
  }
};

void PrintFsckReport(const store::FsckReport& r, bool repair) {
  std::printf("objects checked: %llu, parts checked: %llu, data files seen: %llu\n",
              static_cast<unsigned long long>(r.objects_checked), static_cast<unsigned long long>(r.parts_checked),
              static_cast<unsigned long long>(r.data_files_seen));
  for (const auto& f : r.orphan_files) std::printf("orphan data file%s: %s\n", repair ? " (removed)" : "", f.c_str());
  for (const auto& f : r.temp_files) std::printf("temp file%s: %s\n", repair ? " (removed)" : "", f.c_str());
  for (const auto& f : r.stray_files) std::printf("stray file (left alone): %s\n", f.c_str());
  for (const auto& m : r.missing) std::printf("record with missing data: %s\n", m.path.c_str());
  for (const auto& c : r.corrupt) std::printf("corrupt record: %s\n", c.c_str());
  for (const auto& p : r.orphan_parts) std::printf("part record without its upload: %s\n", p.c_str());
  for (store::BucketId b : r.dead_buckets) {
    std::printf("records of a deleted bucket%s: bucket id %016llx\n", repair ? " (removed)" : "",
                static_cast<unsigned long long>(b));
  }
  if (!r.dead_buckets.empty()) {
    std::printf("deleted buckets: %zu, their object records: %llu, uploads: %llu, records removed: %llu\n",
                r.dead_buckets.size(), static_cast<unsigned long long>(r.dead_bucket_objects),
                static_cast<unsigned long long>(r.dead_bucket_uploads),
                static_cast<unsigned long long>(r.records_reclaimed));
  }
  if (r.dirs.marker_missing) {
    std::printf("directory index never built%s\n", repair ? " (built)" : "");
  }
  for (const auto& d : r.dirs.samples) std::printf("directory index entry%s: %s\n", repair ? " (repaired)" : "", d.c_str());
  if (r.dirs.missing != 0 || r.dirs.stale != 0) {
    std::printf("directory index: %llu entries checked, %llu missing, %llu stale, %llu repaired\n",
                static_cast<unsigned long long>(r.dirs.entries_checked), static_cast<unsigned long long>(r.dirs.missing),
                static_cast<unsigned long long>(r.dirs.stale), static_cast<unsigned long long>(r.dirs.repaired));
  }
  for (const auto& e : r.errors) std::printf("error: %s\n", e.c_str());
  std::printf("%s\n", r.clean() ? "clean" : (repair ? "repaired what can be repaired" : "problems found"));
}

/// `mamute fsck --data-dir DIR... [--repair]`: offline check (the server must not be running).
int RunFsck(int argc, char** argv) {
  std::vector<std::string> dirs;
  bool repair = false;
  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--repair") {
      repair = true;
    } else if (a == "--data-dir" && i + 1 < argc) {
      dirs.emplace_back(argv[++i]);
    } else if (a.starts_with("--data-dir=")) {
      dirs.emplace_back(a.substr(11));
    } else if (a == "--help" || a == "-h") {
      std::printf("Usage: mamute fsck [--data-dir DIR]... [--repair]\n\n"
                  "Give every data dir, in the server's --data-dir order (default: ./data).\n"
                  "Reports data files without metadata, leftover temp files, records whose data file is\n"
                  "missing, undecodable records and records of deleted buckets (an interrupted purge).\n"
                  "--repair removes orphan and temp files and the records of deleted buckets, and rewrites\n"
                  "the directory index to match the objects (never other metadata).\n"
                  "Exit: 0 clean (or repaired), 1 problems remain, 2 error (e.g. the server holds the DB).\n");
      return 0;
    } else {
      std::fprintf(stderr, "mamute fsck: unexpected argument '%s' (see mamute fsck --help)\n", argv[i]);
      return 2;
    }
  }
  if (dirs.empty()) dirs.emplace_back("./data");
  auto r = store::Fsck(dirs, repair);
  if (!r) {
    std::fprintf(stderr, "mamute fsck: %s\n", r.error().ToString().c_str());
    return 2;
  }
  PrintFsckReport(*r, repair);
  bool remaining = !r->missing.empty() || !r->corrupt.empty() || !r->orphan_parts.empty() || !r->errors.empty() ||
                   (!repair && (!r->orphan_files.empty() || !r->temp_files.empty() || !r->dead_buckets.empty() ||
                                r->dirs.missing != 0 || r->dirs.stale != 0 || r->dirs.marker_missing));
  return remaining ? 1 : 0;
}

int Run(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "fsck") return RunFsck(argc, argv);
  // Signals are handled by this thread alone (sigwait); shards never see them. Blocked
  // first thing, so a SIGTERM during start-up (bootstrap, store recovery) is not lost
  // or fatal: it is taken at sigwait, right after start-up, as a graceful stop.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const auto specs = Specs();
  Options opt = ParseOptions(argc, argv, specs);
  log::Level level = log::Level::kInfo;
  log::ParseLevel(opt.log_level, &level);
  log::SetLevel(level);

  // Test builds only: make chosen store operations fail (core/fault.h, docs/testing.md).
  if (const char* faults = std::getenv("MAMUTE_FAULTS"); faults != nullptr) {
    if (Status st = core::fault::Configure(faults); !st.ok()) {
      std::fprintf(stderr, "mamute: %s\n", st.ToString().c_str());
      return 2;
    }
  }

  for (const auto& d : opt.data_dirs) {
    if (mkdir(d.c_str(), 0750) != 0 && errno != EEXIST) {
      MLOG_ERROR("cannot create data dir %s: %s", d.c_str(), std::strerror(errno));
      return 1;
    }
  }

  // The node's metadata store (RocksDB) and its group-commit thread.
  auto node_or = store::NodeStore::Open(opt.data_dirs);
  if (!node_or) {
    MLOG_ERROR("cannot open the store in %s: %s", opt.data_dirs.front().c_str(),
               node_or.error().ToString().c_str());
    return 1;
  }
  std::unique_ptr<store::NodeStore> node = std::move(*node_or);

  // Recovery: nothing is in flight yet, so temp files and data files no record names are
  // leftovers of interrupted PUTs or of replaced objects: remove them. Records whose data is
  // missing are reported, never deleted.
  if (auto rep = store::Fsck(*node->db, store::FsckOptions{opt.data_dirs, true}); !rep) {
    MLOG_ERROR("start-up recovery scan failed: %s", rep.error().ToString().c_str());
  } else {
    if (!rep->dead_buckets.empty()) {
      // An interrupted purge (crash or error during a bucket's force delete).
      MLOG_WARN("recovery: removed %llu record(s) of %zu deleted bucket(s) (an interrupted purge)",
                static_cast<unsigned long long>(rep->records_reclaimed), rep->dead_buckets.size());
    }
    if (rep->removed != 0) MLOG_INFO("recovery: removed %llu leftover file(s)", static_cast<unsigned long long>(rep->removed));
    for (const auto& m : rep->missing) MLOG_ERROR("recovery: a record names a missing data file: %s", m.path.c_str());
    for (const auto& c : rep->corrupt) MLOG_ERROR("recovery: corrupt record: %s", c.c_str());
    for (const auto& p : rep->orphan_parts) MLOG_WARN("recovery: part record without its upload: %s", p.c_str());
    if (rep->dirs.missing != 0 || rep->dirs.stale != 0) {
      MLOG_WARN("recovery: directory index: %llu missing and %llu stale entries repaired",
                static_cast<unsigned long long>(rep->dirs.missing), static_cast<unsigned long long>(rep->dirs.stale));
    }
    for (const auto& e : rep->errors) MLOG_ERROR("recovery: %s", e.c_str());
  }
  // The node master key, loaded once (never logged): it seals S3 secrets and the JWT signing keys
  // at rest. A bad master.key refuses the start.
  auto box_or = auth::SecretBox::Load(opt.data_dirs.front());
  if (!box_or) {
    MLOG_ERROR("cannot load the master key: %s", box_or.error().ToString().c_str());
    node->Close();
    return 1;
  }
  auto secret_box = std::make_shared<auth::SecretBox>(std::move(*box_or));
  if (!mgmt::Bootstrap(*node).ok()) { node->Close(); return 1; }  // first-start admin + API key
  s3::UnsealFn unseal = [secret_box](std::string_view sealed, std::string_view access_key_id) {
    return secret_box->Open(sealed, access_key_id);
  };


  const int cpus = core::AvailableCpus();
  int data_cores = opt.data_cores > 0 ? opt.data_cores : (cpus > 1 ? cpus - 1 : 1);
  const uint32_t per_shard_conns = std::max<uint32_t>(1, opt.max_connections / static_cast<uint32_t>(data_cores));

  http::MetricsRegistry registry;
  // New data files spread over the data dirs by free space (one dir: always dir #0).
  store::DataDirPlacement placement(opt.data_dirs);
  store::ObjectIoOptions io_options;
  io_options.placement = &placement;
  io_options.unlink_grace_ms = opt.unlink_grace_ms;
  io_options.direct_io = opt.direct_io;
  std::vector<std::unique_ptr<core::Shard>> shards;
  std::vector<std::unique_ptr<s3::S3Service>> s3_services(data_cores);
  std::vector<std::unique_ptr<store::ObjectIo>> object_ios(data_cores);
  std::vector<std::unique_ptr<http::Server>> servers(data_cores + 1);

  http::ServerConfig base;
  base.max_connections = per_shard_conns;
  base.header_timeout_ms = opt.header_timeout_ms;
  base.idle_timeout_ms = opt.idle_timeout_ms;
  base.body_timeout_ms = opt.body_timeout_ms;
  base.min_body_rate = opt.min_body_rate;
  base.min_body_rate_window_ms = opt.min_body_rate_window_ms;
  base.max_header_bytes = opt.max_header_bytes;
  base.max_uri_bytes = opt.max_uri_bytes;
  base.access_log = opt.access_log;
  // One non-blocking descriptor for every shard's access log: a stdout pipe nobody reads
  // must not stall a shard (records are dropped and counted instead).
  if (opt.access_log) base.access_log_fd = http::AccessLog::OpenNonBlockingOutput(STDOUT_FILENO);

  ReadyLatch latch;
  latch.pending = data_cores;
  for (int i = 0; i < data_cores; ++i) {
    core::ShardConfig sc;
    sc.id = i;
    sc.cpu = opt.pin_threads ? core::NthAllowedCpu(i) : -1;
    sc.ring_entries = opt.ring_entries;
    sc.recv_buffers = opt.recv_buffers;
    sc.recv_buffer_size = opt.recv_buffer_size;
    sc.name = "data shard";
    shards.push_back(std::make_unique<core::Shard>(sc));
    s3_services[i] = std::make_unique<s3::S3Service>(s3::ServiceConfig{opt.test_routes, opt.multipart_min_part_size, opt.multipart_expiry_s, opt.domain}, node.get(), unseal);
  }
  for (int i = 0; i < data_cores; ++i) {
    shards[i]->Start(
        [&, i](core::Shard& sh) {
          http::ServerConfig c = base;
          c.listen = opt.s3_listen;
          object_ios[i] = std::make_unique<store::ObjectIo>(sh, *node, io_options);
          MAMUTE_RETURN_IF_ERROR(object_ios[i]->Init());
          s3_services[i]->Attach(sh, object_ios[i].get());
          servers[i] = std::make_unique<http::Server>(&sh, s3_services[i].get(), c);
          return servers[i]->Start();
        },
        [&latch](Status st) { latch.Done(std::move(st)); });
  }
  Status st = latch.Wait();
  for (int i = 0; i < data_cores && st.ok(); ++i) registry.Add(&servers[i]->metrics());

  // The management shard: its own core (the last one) and port.
  std::unique_ptr<store::ObjectIo> mgmt_io;
  mgmt::MgmtService mgmt_service(&registry, node.get(), secret_box.get(),
                                 mgmt::TokenConfig{opt.jwt_access_ttl_s, opt.jwt_refresh_ttl_s, opt.jwt_key_max_age_s});
  if (st.ok()) st = mgmt_service.Init();
  if (st.ok()) {
    core::ShardConfig mc;
    mc.id = data_cores;
    mc.cpu = opt.pin_threads ? core::NthAllowedCpu(cpus > 1 ? cpus - 1 : 0) : -1;
    mc.ring_entries = 256;
    mc.recv_buffers = 256;
    mc.recv_buffer_size = 16384;
    mc.name = "management shard";
    shards.push_back(std::make_unique<core::Shard>(mc));
    ReadyLatch mlatch;
    mlatch.pending = 1;
    shards.back()->Start(
        [&](core::Shard& sh) {
          http::ServerConfig c = base;
          c.listen = opt.api_listen;
          c.max_connections = 1024;
          // The management shard's own ObjectIo: it purges force-deleted buckets' data files.
          mgmt_io = std::make_unique<store::ObjectIo>(sh, *node, io_options);
          MAMUTE_RETURN_IF_ERROR(mgmt_io->Init());
          mgmt::MgmtOptions mo;
          mo.login = {opt.login_workers, opt.login_queue, opt.login_account_burst, opt.login_account_per_min,
                      opt.login_ip_burst, opt.login_ip_per_min};
          mo.session_prune_interval_s = opt.session_prune_interval_s;
          mgmt_service.Attach(sh, mgmt_io.get(), mo);
          servers[data_cores] = std::make_unique<http::Server>(&sh, &mgmt_service, c);
          Status s = servers[data_cores]->Start();
          if (s.ok()) registry.Add(&servers[data_cores]->metrics());
          return s;
        },
        [&mlatch](Status s) { mlatch.Done(std::move(s)); });
    st = mlatch.Wait();
  }
  if (!st.ok()) {
    MLOG_ERROR("start-up failed: %s", st.ToString().c_str());
    for (auto& s : shards) s->RequestStop(0);
    for (auto& s : shards) s->Join();
    servers.clear();
    object_ios.clear();
    mgmt_io.reset();
    node->Close();
    return 1;
  }
  MLOG_INFO("mamute %s: S3 on %s (%d data shard%s), management API on %s, data in %s", kVersion,
            opt.s3_listen.c_str(), data_cores, data_cores == 1 ? "" : "s", opt.api_listen.c_str(),
            opt.data_dirs.front().c_str());

  int sig = 0;
  sigwait(&set, &sig);
  MLOG_INFO("received %s: stopping (in-flight requests get %u ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
            opt.shutdown_timeout_ms);
  for (auto& s : shards) s->RequestStop(opt.shutdown_timeout_ms);
  for (auto& s : shards) s->Join();
  servers.clear();
  object_ios.clear();
  mgmt_io.reset();
  node->Close();
  MLOG_INFO("stopped");
  return 0;
}

}  // namespace
}  // namespace mamute

int main(int argc, char** argv) {
  try {
    return mamute::Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mamute: %s\n", e.what());
    return 2;
  }
}
