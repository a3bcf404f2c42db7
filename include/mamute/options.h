// Server options. Each is a command-line flag and a MAMUTE_* environment
// variable (the flag wins); `mamute --help` and docs/operations.md list them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mamute {

struct Options {
  /// --data-dir / MAMUTE_DATA_DIR. Default: ./data. Object data and metadata live here.
  std::vector<std::string> data_dirs = {"./data"};
  /// --s3-listen / MAMUTE_S3_LISTEN. Default: 127.0.0.1:9000. Every data shard listens here (SO_REUSEPORT).
  std::string s3_listen = "127.0.0.1:9000";
  /// --domain / MAMUTE_DOMAIN. Default: empty (off). With a domain such as s3.local, a request
  /// whose Host is "bucket.s3.local[:port]" is virtual-host style (the bucket from the host);
  /// path style keeps working, and a Host equal to the domain is path style.
  std::string domain;
  /// --api-listen / MAMUTE_API_LISTEN. Default: 127.0.0.1:9001. The management shard listens here.
  std::string api_listen = "127.0.0.1:9001";
  /// --data-cores / MAMUTE_DATA_CORES. Default: 0 = all online cores but one (at least 1).
  int data_cores = 0;
  /// --log-level / MAMUTE_LOG_LEVEL. Default: info. One of debug, info, warn, error, off.
  std::string log_level = "info";
  /// --access-log / MAMUTE_ACCESS_LOG. Default: true. One JSON line per request on stdout.
  bool access_log = true;
  /// --max-connections / MAMUTE_MAX_CONNECTIONS. Default: 16384, for the whole node (split over shards).
  uint32_t max_connections = 16384;
  /// --header-timeout-ms / MAMUTE_HEADER_TIMEOUT_MS. Default: 10000 ms to receive a whole request head.
  uint32_t header_timeout_ms = 10000;
  /// --idle-timeout-ms / MAMUTE_IDLE_TIMEOUT_MS. Default: 60000 ms a keep-alive connection may sit idle.
  uint32_t idle_timeout_ms = 60000;
  /// --body-timeout-ms / MAMUTE_BODY_TIMEOUT_MS. Default: 30000 ms without progress while reading a body.
  uint32_t body_timeout_ms = 30000;
  /// --min-body-rate / MAMUTE_MIN_BODY_RATE. Default: 1024 bytes/s a request body must average
  /// over each --min-body-rate-window-ms window (a trickled body); 0 disables the rule.
  uint32_t min_body_rate = 1024;
  /// --min-body-rate-window-ms / MAMUTE_MIN_BODY_RATE_WINDOW_MS. Default: 20000 ms per window.
  uint32_t min_body_rate_window_ms = 20000;
  /// --shutdown-timeout-ms / MAMUTE_SHUTDOWN_TIMEOUT_MS. Default: 10000 ms for in-flight requests on SIGTERM.
  uint32_t shutdown_timeout_ms = 10000;
  /// --max-header-bytes / MAMUTE_MAX_HEADER_BYTES. Default: 16384 bytes (request line + headers); over → 431.
  uint32_t max_header_bytes = 16384;
  /// --max-uri-bytes / MAMUTE_MAX_URI_BYTES. Default: 8192 bytes; over → 414.
  uint32_t max_uri_bytes = 8192;
  /// --recv-buffer-size / MAMUTE_RECV_BUFFER_SIZE. Default: 32768 bytes per provided receive buffer.
  uint32_t recv_buffer_size = 32768;
  /// --recv-buffers / MAMUTE_RECV_BUFFERS. Default: 1024 provided receive buffers per shard (power of two).
  uint32_t recv_buffers = 1024;
  /// --ring-entries / MAMUTE_RING_ENTRIES. Default: 4096 submission queue entries per shard ring.
  uint32_t ring_entries = 4096;
  /// --pin-threads / MAMUTE_PIN_THREADS. Default: true. Pin each shard's thread to its core.
  bool pin_threads = true;
  /// --jwt-access-ttl-s / MAMUTE_JWT_ACCESS_TTL_S. Default: 900 s. Lifetime of a management API
  /// Bearer access token (1..86400).
  uint32_t jwt_access_ttl_s = 900;
  /// --jwt-refresh-ttl-s / MAMUTE_JWT_REFRESH_TTL_S. Default: 2592000 s (30 days). Lifetime of a
  /// refresh token (60..31536000); each refresh issues a new one.
  uint32_t jwt_refresh_ttl_s = 2592000;
  /// --jwt-key-max-age-s / MAMUTE_JWT_KEY_MAX_AGE_S. Default: 2592000 s (30 days). The signing key
  /// is rotated when older, before the next token is signed; 0 = only on POST /security/jwks/rotate.
  uint32_t jwt_key_max_age_s = 2592000;
  /// --session-prune-interval-s. Default: 60 s. Period of the management shard's sweep of dead
  /// refresh-token records (expired, or of a revoked session); each sweep visits at most 1000.
  uint32_t session_prune_interval_s = 60;
  /// --login-workers. Default: 2. Threads that hash passwords for POST /auth/login.
  uint32_t login_workers = 2;
  /// --login-queue. Default: 64. Logins waiting for a worker; more answer 503 with Retry-After.
  uint32_t login_queue = 64;
  /// --login-account-burst / --login-account-per-min. Defaults: 10 and 10. Failed logins per
  /// account (token bucket; a success gives its token back); beyond: 429 with Retry-After.
  uint32_t login_account_burst = 10;
  uint32_t login_account_per_min = 10;
  /// --login-ip-burst / --login-ip-per-min. Defaults: 60 and 60. Login attempts per client IP.
  uint32_t login_ip_burst = 60;
  uint32_t login_ip_per_min = 60;
  /// --unlink-grace-ms. Default: 10000 ms. Delay before the data file of an overwritten or
  /// deleted object (or of a purged bucket) is unlinked: covers a reader that looked up the old
  /// record but has not opened the file yet.
  uint32_t unlink_grace_ms = 10000;
  /// --direct-io / MAMUTE_DIRECT_IO. Default: false. Writes the data file of a PUT whose
  /// declared size (Content-Length) is at least 1 MiB with O_DIRECT, preallocated; falls back to
  /// buffered writes on a filesystem that refuses it (store::ObjectIoOptions::direct_io).
  bool direct_io = false;
  /// --test-routes / MAMUTE_TEST_ROUTES. Default: false. Enables /_test/* routes on the S3 port
  /// (echo, sleep) used by the integration tests and the HTTP benchmark. Never enable in production.
  bool test_routes = false;
  /// --multipart-min-part-size / MAMUTE_MULTIPART_MIN_PART_SIZE. Default: 5242880 bytes (5 MiB, as
  /// AWS): the smallest part but the last that CompleteMultipartUpload accepts.
  uint64_t multipart_min_part_size = uint64_t{5} << 20;
  /// --multipart-expiry-s / MAMUTE_MULTIPART_EXPIRY_S. Default: 604800 s (7 days). Uploads begun
  /// longer ago are aborted by a periodic sweep.
  uint64_t multipart_expiry_s = 604800;
};

}  // namespace mamute
