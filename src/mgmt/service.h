// The management REST API service, served by the management shard on its own
// core and port. Errors are JSON: {"error": {"code", "message", "request_id"}}.
#pragma once

#include "http/metrics.h"
#include "http/router.h"

namespace mamute::mgmt {

class MgmtService final : public http::Service {
 public:
  explicit MgmtService(const http::MetricsRegistry* metrics) noexcept : metrics_(metrics) {}
  http::Route Dispatch(http::Exchange& ex) override;
  const std::string_view* route_names(std::size_t* count) const noexcept override;
  std::string_view name() const noexcept override { return "mgmt"; }
  const http::MetricsRegistry& metrics() const noexcept { return *metrics_; }

 private:
  const http::MetricsRegistry* metrics_;
};

/// Renders {"error": {"code", "message", "request_id"}} and responds.
void RespondJsonError(http::Exchange& ex, int status, std::string_view code, std::string_view message);

}  // namespace mamute::mgmt
