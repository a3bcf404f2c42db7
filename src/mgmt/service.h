// The management REST API service, served by the management shard on its own
// core and port. Errors are JSON: {"error": {"code", "message", "request_id"}}.
// Routes, authentication and errors: docs/management-api.md and docs/openapi.yaml.
#pragma once

#include "auth/secret_box.h"
#include "http/metrics.h"
#include "http/router.h"
#include "mgmt/resources.h"
#include "mgmt/tokens.h"
#include "store/node.h"

namespace mamute::mgmt {

/// Largest request body a management route accepts; more is 413.
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;

class MgmtService final : public http::Service {
 public:
  /// `box` is the node master key main loaded (it seals S3 secrets and JWT signing keys); it
  /// outlives the service. Without it, credential and token routes answer 500.
  MgmtService(const http::MetricsRegistry* metrics, store::NodeStore* node, const auth::SecretBox* box,
              const TokenConfig& tokens);
  /// Loads (or creates) the JWT signing keys. Start-up only, before the shard serves.
  Status Init();
  store::NodeStore& node() noexcept { return *node_; }
  Resources& resources() noexcept { return resources_; }
  TokenService& tokens() noexcept { return tokens_; }
  http::Route Dispatch(http::Exchange& ex) override;
  const std::string_view* route_names(std::size_t* count) const noexcept override;
  std::string_view name() const noexcept override { return "mgmt"; }
  const http::MetricsRegistry& metrics() const noexcept { return *metrics_; }

 private:
  const http::MetricsRegistry* metrics_;
  store::NodeStore* node_;
  Resources resources_;
  TokenService tokens_;
};

/// Renders {"error": {"code", "message", "request_id"}} and responds.
void RespondJsonError(http::Exchange& ex, int status, std::string_view code, std::string_view message);

}  // namespace mamute::mgmt
