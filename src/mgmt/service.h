// The management REST API service, served by the management shard on its own
// core and port. Errors are JSON: {"error": {"code", "message", "request_id"}}.
// Routes, authentication and errors: docs/management-api.md and docs/openapi.yaml.
#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include "auth/secret_box.h"
#include "core/shard.h"
#include "http/metrics.h"
#include "http/router.h"
#include "mgmt/login.h"
#include "mgmt/resources.h"
#include "mgmt/tokens.h"
#include "store/bucket_purge.h"
#include "store/node.h"

namespace mamute::store {
class ObjectIo;
}

namespace mamute::mgmt {

/// Largest request body a management route accepts; more is 413.
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;

/// Run-time options of the management shard (docs/operations.md).
struct MgmtOptions {
  LoginOptions login;
  /// Period of the dead-session sweep (expired or revoked refresh tokens). Default: 60 s
  /// (--session-prune-interval-s).
  uint32_t session_prune_interval_s = 60;
  /// Most refresh records one sweep visits. Default: 1000.
  uint32_t session_prune_budget = 1000;
};

/// A response given later (a login's verdict, a bucket purge): `ex` becomes null when the
/// client goes away first (the handler's OnAbort).
class MgmtService;
struct Later {
  http::Exchange* ex = nullptr;
  MgmtService* svc = nullptr;
};

/// Counters of the management shard's background work (GET /metrics).
struct MgmtCounters {
  std::atomic<uint64_t> logins_rate_limited{0};
  std::atomic<uint64_t> logins_queue_full{0};
  std::atomic<uint64_t> sessions_pruned{0};
  std::atomic<uint64_t> buckets_purged{0};
  std::atomic<uint64_t> objects_purged{0};
  std::atomic<uint64_t> uploads_purged{0};
};

class MgmtService final : public http::Service {
 public:
  /// `box` is the node master key main loaded (it seals S3 secrets and JWT signing keys); it
  /// outlives the service. Without it, credential and token routes answer 500.
  MgmtService(const http::MetricsRegistry* metrics, store::NodeStore* node, const auth::SecretBox* box,
              const TokenConfig& tokens);
  ~MgmtService() override;
  /// Loads (or creates) the JWT signing keys. Start-up only, before the shard serves.
  Status Init();
  /// On the management shard, in its setup: `io` (that shard's ObjectIo) purges force-deleted
  /// buckets; starts the password workers and the dead-session sweep. Without it (unit tests)
  /// logins hash on the calling thread and force-deletes answer 500.
  void Attach(core::Shard& shard, store::ObjectIo* io, const MgmtOptions& options);

  /// POST /auth/login after its body was parsed: rate limits, then the password check on a
  /// worker; `later` gets the response. Takes ownership of `later`.
  void StartLogin(http::Exchange& ex, Later* later, std::string_view email, std::string password);
  /// DELETE ...?force=true once the bucket record is gone: purges its contents
  /// (store::PurgeBucketContents, data files included), then `later` gets 204. Takes `later`.
  void StartPurge(Later* later, uint64_t bucket);
  /// One dead-session sweep now (the timer's work; tests).
  void PruneSessions();
  const MgmtCounters& counters() const noexcept { return counters_; }
  store::NodeStore& node() noexcept { return *node_; }
  const store::NodeStore& node() const noexcept { return *node_; }
  Resources& resources() noexcept { return resources_; }
  TokenService& tokens() noexcept { return tokens_; }
  http::Route Dispatch(http::Exchange& ex) override;
  const std::string_view* route_names(std::size_t* count) const noexcept override;
  std::string_view name() const noexcept override { return "mgmt"; }
  const http::MetricsRegistry& metrics() const noexcept { return *metrics_; }

 private:
  struct PruneTimer : core::Timer {
    MgmtService* svc = nullptr;
  };
  static void OnPruneTimer(core::Timer* t);
  static void OnLoginVerdict(PasswordJob* job);
  static void OnPurged(void* ctx, Status st, const store::PurgeStats& stats);

  const http::MetricsRegistry* metrics_;
  store::NodeStore* node_;
  Resources resources_;
  TokenService tokens_;
  core::Shard* shard_ = nullptr;
  store::ObjectIo* io_ = nullptr;
  MgmtOptions options_;
  std::unique_ptr<PasswordWorkers> workers_;
  std::optional<RateLimiter> account_limits_;
  std::optional<RateLimiter> ip_limits_;
  std::unique_ptr<core::TimerList> prune_list_;
  PruneTimer prune_timer_;
  MgmtCounters counters_;
};

/// Renders {"error": {"code", "message", "request_id"}} and responds.
void RespondJsonError(http::Exchange& ex, int status, std::string_view code, std::string_view message);
/// The one mapping of a Status to the JSON error vocabulary (500s are logged, not detailed).
void RespondStatus(http::Exchange& ex, const Status& st, std::string_view route);
/// 200 with the tokens of a login or refresh.
void RespondSession(http::Exchange& ex, const Session& s);
/// The management counters in Prometheus text (appended to GET /metrics).
std::string RenderMgmtMetrics(const MgmtCounters& c, int shard);
/// The node's store metrics (metadata DB health, commit queue), unlabelled: one per node.
std::string RenderStoreMetrics(const store::NodeStore& node);

}  // namespace mamute::mgmt
