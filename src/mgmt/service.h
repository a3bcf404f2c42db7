// The management REST API service, served by the management shard on its own
// core and port. Errors are JSON: {"error": {"code", "message", "request_id"}}.
#pragma once

#include "http/metrics.h"
#include "http/router.h"
#include "store/node.h"

namespace mamute::mgmt {

class MgmtService final : public http::Service {
 public:
  MgmtService(const http::MetricsRegistry* metrics, store::NodeStore* node) noexcept
      : metrics_(metrics), node_(node) {}
  store::NodeStore& node() noexcept { return *node_; }
  http::Route Dispatch(http::Exchange& ex) override;
  const std::string_view* route_names(std::size_t* count) const noexcept override;
  std::string_view name() const noexcept override { return "mgmt"; }
  const http::MetricsRegistry& metrics() const noexcept { return *metrics_; }

 private:
  const http::MetricsRegistry* metrics_;
  store::NodeStore* node_;
};

/// Renders {"error": {"code", "message", "request_id"}} and responds.
void RespondJsonError(http::Exchange& ex, int status, std::string_view code, std::string_view message);

}  // namespace mamute::mgmt
