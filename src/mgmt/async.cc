// The management shard's asynchronous work: logins verified on worker threads, bucket purges
// through the shard's ObjectIo, and the periodic dead-session sweep (service.h).
#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "mgmt/service.h"
#include "store/object_io.h"
#include "util/log.h"

namespace mamute::mgmt {
namespace {

constexpr std::string_view kLoginRoute = "POST /auth/login";
constexpr std::string_view kDeleteRoute = "DELETE /storage/object-storage/buckets/{id}";

struct LoginJob final : PasswordJob {
  Later* later = nullptr;
  std::string user_id;  // the plan's (empty: unknown email or disabled user)
  std::string account;  // rate-limit key: the email, lower-cased
};

// Takes the `later` out: the exchange to answer, or null when the client left.
http::Exchange* Claim(Later* later) {
  http::Exchange* ex = later->ex;
  delete later;
  return ex;
}

void RespondRetryLater(http::Exchange& ex, int status, std::string_view code, std::string_view message,
                       int64_t retry_ms) {
  char secs[24];
  std::snprintf(secs, sizeof(secs), "%lld", static_cast<long long>((retry_ms + 999) / 1000 > 0 ? (retry_ms + 999) / 1000 : 1));
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}, {"request_id", ex.request_id()}}}};
  std::string body = j.dump() + "\n";
  const http::OutHeader headers[] = {
      {"Content-Type", "application/json"}, {"Cache-Control", "no-store"}, {"Retry-After", secs}};
  ex.Respond(status, headers, 3, body);
}

std::string AccountKey(std::string_view email) {
  std::string a(email);
  for (char& ch : a) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return a;
}

}  // namespace

MgmtService::~MgmtService() {
  if (workers_) workers_->Stop();
}

void MgmtService::Attach(core::Shard& shard, store::ObjectIo* io, const MgmtOptions& options) {
  shard_ = &shard;
  io_ = io;
  options_ = options;
  account_limits_.emplace(options.login.account_burst, options.login.account_per_min);
  ip_limits_.emplace(options.login.ip_burst, options.login.ip_per_min);
  workers_ = std::make_unique<PasswordWorkers>(options.login.workers, options.login.queue);
  workers_->Start(shard);
  prune_list_ = std::make_unique<core::TimerList>(options.session_prune_interval_s * 1000);
  shard.AddTimerList(prune_list_.get());
  prune_timer_.svc = this;
  prune_timer_.fire = &MgmtService::OnPruneTimer;
  prune_list_->Arm(&prune_timer_, shard.now_ms());
}

// ---------------------------------------------------------------- login

void MgmtService::StartLogin(http::Exchange& ex, Later* later, std::string_view email, std::string password) {
  const int64_t now = NowMs();
  if (workers_ == nullptr) {  // not attached to a shard (unit tests): hash right here
    auto s = tokens_.Login(email, password, now);
    OPENSSL_cleanse(password.data(), password.size());
    Claim(later);
    if (!s) return RespondStatus(ex, s.error(), kLoginRoute);
    return RespondSession(ex, *s);
  }
  std::string account = AccountKey(email);
  std::string ip = ex.PeerIp();
  if (ip.empty()) ip = "unknown";
  // Per IP: every attempt counts (each costs a PBKDF2). Per account: failed attempts count
  // (a success gives its token back), so a password can't be guessed from many addresses.
  int64_t wait_ms = ip_limits_->Take(ip, now);
  if (wait_ms == 0) {
    wait_ms = account_limits_->Take(account, now);
    if (wait_ms != 0) ip_limits_->Refund(ip, now);
  }
  if (wait_ms != 0) {
    OPENSSL_cleanse(password.data(), password.size());
    Claim(later);
    counters_.logins_rate_limited.fetch_add(1, std::memory_order_relaxed);
    return RespondRetryLater(ex, 429, "too_many_requests", "too many login attempts; retry later", wait_ms);
  }
  auto plan = tokens_.PrepareLogin(email, password);
  if (!plan) {
    OPENSSL_cleanse(password.data(), password.size());
    Claim(later);
    return RespondStatus(ex, plan.error(), kLoginRoute);
  }
  auto job = std::make_unique<LoginJob>();
  job->password = std::move(password);
  job->hash = std::move(plan->hash);
  job->user_id = std::move(plan->user_id);
  job->account = std::move(account);
  job->later = later;
  job->done = &MgmtService::OnLoginVerdict;
  Status st = workers_->Submit(job.get());
  if (!st.ok()) {
    OPENSSL_cleanse(job->password.data(), job->password.size());
    Claim(later);
    account_limits_->Refund(job->account, now);  // never checked: not a failed attempt
    counters_.logins_queue_full.fetch_add(1, std::memory_order_relaxed);
    return RespondRetryLater(ex, 503, "unavailable", "too many logins in progress; retry later", 1000);
  }
  job.release();  // owned by the workers until OnLoginVerdict
}

void MgmtService::OnLoginVerdict(PasswordJob* j) {
  std::unique_ptr<LoginJob> job(static_cast<LoginJob*>(j));
  MgmtService* svc = job->later->svc;
  http::Exchange* ex = Claim(job->later);
  const int64_t now = NowMs();
  if (job->cancelled) {
    if (ex != nullptr) RespondJsonError(*ex, 503, "unavailable", "the management API is stopping");
    return;
  }
  if (job->ok && !job->user_id.empty()) svc->account_limits_->Refund(job->account, now);
  if (ex == nullptr) return;  // the client left: issue nothing it would never see
  TokenService::LoginPlan plan;
  plan.user_id = std::move(job->user_id);
  auto s = svc->tokens_.CompleteLogin(plan, job->ok, now);
  if (!s) return RespondStatus(*ex, s.error(), kLoginRoute);
  RespondSession(*ex, *s);
}

// ---------------------------------------------------------------- bucket purge

void MgmtService::StartPurge(Later* later, uint64_t bucket) {
  Status st = io_ == nullptr ? Status::Internal("no ObjectIo on the management shard")
                             : store::PurgeBucketContents(*io_, *node_->db, bucket, &MgmtService::OnPurged, later);
  if (!st.ok()) {
    if (http::Exchange* ex = Claim(later)) RespondStatus(*ex, st, kDeleteRoute);
  }
}

void MgmtService::OnPurged(void* ctx, Status st, const store::PurgeStats& stats) {
  auto* later = static_cast<Later*>(ctx);
  MgmtService* svc = later->svc;
  http::Exchange* ex = Claim(later);
  svc->counters_.objects_purged.fetch_add(stats.objects, std::memory_order_relaxed);
  svc->counters_.uploads_purged.fetch_add(stats.uploads, std::memory_order_relaxed);
  if (!st.ok()) {
    // The bucket is gone; what was not purged stays until fsck (docs/management-api.md).
    MLOG_ERROR("management API: purge of a deleted bucket stopped: %s", st.ToString().c_str());
    if (ex != nullptr) RespondStatus(*ex, st, kDeleteRoute);
    return;
  }
  svc->counters_.buckets_purged.fetch_add(1, std::memory_order_relaxed);
  const http::OutHeader headers[] = {{"Cache-Control", "no-store"}};
  if (ex != nullptr) ex->Respond(204, headers, 1, "");
}

// ---------------------------------------------------------------- dead sessions

void MgmtService::PruneSessions() {
  auto n = tokens_.PruneSessions(NowMs(), options_.session_prune_budget);
  if (!n) {
    MLOG_WARN("management API: session sweep failed: %s", n.error().ToString().c_str());
    return;
  }
  counters_.sessions_pruned.fetch_add(*n, std::memory_order_relaxed);
  if (account_limits_) account_limits_->Prune(NowMs());
  if (ip_limits_) ip_limits_->Prune(NowMs());
}

void MgmtService::OnPruneTimer(core::Timer* t) {
  MgmtService* svc = static_cast<PruneTimer*>(t)->svc;
  svc->PruneSessions();
  svc->prune_list_->Arm(&svc->prune_timer_, svc->shard_->now_ms());
}

std::string RenderMgmtMetrics(const MgmtCounters& c, int shard) {
  struct Counter {
    const char* name;
    const char* help;
    const std::atomic<uint64_t>* value;
  };
  const Counter counters[] = {
      {"mamute_mgmt_logins_rate_limited_total", "Logins refused with 429 by the per-account or per-IP limit.",
       &c.logins_rate_limited},
      {"mamute_mgmt_logins_queue_full_total", "Logins refused with 503: every password worker busy.",
       &c.logins_queue_full},
      {"mamute_mgmt_sessions_pruned_total", "Dead refresh-token records deleted by the periodic sweep.",
       &c.sessions_pruned},
      {"mamute_mgmt_buckets_purged_total", "Force-deleted buckets whose contents were purged.", &c.buckets_purged},
      {"mamute_mgmt_objects_purged_total", "Object records purged with their buckets.", &c.objects_purged},
      {"mamute_mgmt_uploads_purged_total", "Multipart uploads purged with their buckets.", &c.uploads_purged},
  };
  std::string out;
  for (const Counter& k : counters) {
    http::AppendCounter(&out, k.name, k.help, "mgmt", shard, k.value->load(std::memory_order_relaxed));
  }
  return out;
}

std::string RenderStoreMetrics(const store::NodeStore& node) {
  std::string out;
  if (!node.db || !node.commits) return out;
  const store::MetaDbHealth h = node.db->health();
  const store::CommitQueueStats c = node.commits->stats();
  http::AppendUnlabelled(&out, "mamute_store_meta_read_only", "gauge",
                    "1 while the metadata DB refuses writes after a disk error (2: until a restart), else 0.",
                    h.writes_stopped ? (h.fatal ? 2 : 1) : 0);
  http::AppendUnlabelled(&out, "mamute_store_meta_background_errors_total", "counter",
                    "Background errors RocksDB reported since start (failed WAL writes/syncs, flushes, compactions).",
                    static_cast<int64_t>(h.background_errors));
  http::AppendUnlabelled(&out, "mamute_store_meta_recoveries_total", "counter",
                    "Times metadata writes resumed after a background error stopped them.",
                    static_cast<int64_t>(h.recoveries));
  http::AppendUnlabelled(&out, "mamute_store_commits_total", "counter", "Commit requests completed by the commit thread.",
                    static_cast<int64_t>(c.requests));
  http::AppendUnlabelled(&out, "mamute_store_commit_failures_total", "counter", "Commit requests completed with an error.",
                    static_cast<int64_t>(c.failed));
  http::AppendUnlabelled(&out, "mamute_store_commit_syncs_total", "counter", "Synced RocksDB writes (commit groups).",
                    static_cast<int64_t>(c.syncs));
  return out;
}

}  // namespace mamute::mgmt
