#include "mgmt/service.h"

#include <nlohmann/json.hpp>

#include <string>

namespace mamute::mgmt {
namespace {

enum RouteId : uint16_t { kUnmatched = 0, kHealthz, kMetrics, kNotImplemented, kMethodNotAllowed, kRouteCount };
constexpr std::string_view kRouteNames[kRouteCount] = {"unmatched", "GET /healthz", "GET /metrics",
                                                       "not_implemented", "method_not_allowed"};

class HealthzHandler final : public http::Handler {
 public:
  void OnHead(http::Exchange& ex) override { (void)ex; }
  void OnBodyEnd(http::Exchange& ex) override {
    const http::OutHeader headers[] = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
    ex.Respond(200, headers, 2, "{\"status\":\"ok\"}\n");
  }
};

class MetricsHandler final : public http::Handler {
 public:
  explicit MetricsHandler(const MgmtService* svc) : svc_(svc) {}
  void OnHead(http::Exchange& ex) override { (void)ex; }
  void OnBodyEnd(http::Exchange& ex) override {
    std::string text = svc_->metrics().RenderPrometheus();
    const http::OutHeader headers[] = {{"Content-Type", "text/plain; version=0.0.4"}, {"Cache-Control", "no-store"}};
    ex.Respond(200, headers, 2, text);
  }

 private:
  const MgmtService* svc_;
};

class ErrorHandler final : public http::Handler {
 public:
  ErrorHandler(int status, std::string_view code, std::string_view message)
      : status_(status), code_(code), message_(message) {}
  void OnHead(http::Exchange& ex) override { RespondJsonError(ex, status_, code_, message_); }

 private:
  int status_;
  std::string_view code_;
  std::string_view message_;
};

ErrorHandler g_not_found(404, "not_found", "no such route");
ErrorHandler g_method_not_allowed(405, "method_not_allowed", "method not allowed on this route");
ErrorHandler g_not_implemented(501, "not_implemented", "this management route is not implemented by this server yet");
HealthzHandler g_healthz;

bool IsSeedSurface(std::string_view path) {
  // Routes of the management API that the product documents but this build does
  // not serve yet: answer 501, not 404, so clients see the truth.
  static constexpr std::string_view kPrefixes[] = {"/storage/", "/security/", "/auth/", "/.well-known/",
                                                   "/projects", "/dns/", "/cdn/", "/ssl/", "/iam/",
                                                   "/billing/", "/analytics/", "/organization"};
  for (auto p : kPrefixes) {
    if (path.starts_with(p)) return true;
  }
  return false;
}

}  // namespace

void RespondJsonError(http::Exchange& ex, int status, std::string_view code, std::string_view message) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}, {"request_id", ex.request_id()}}}};
  std::string body = j.dump();
  body += '\n';
  const http::OutHeader headers[] = {{"Content-Type", "application/json"}};
  ex.Respond(status, headers, 1, body);
}

const std::string_view* MgmtService::route_names(std::size_t* count) const noexcept {
  *count = kRouteCount;
  return kRouteNames;
}

http::Route MgmtService::Dispatch(http::Exchange& ex) {
  const http::RequestHead& h = ex.head();
  bool get = h.method == http::Method::kGet || h.method == http::Method::kHead;
  if (h.path == "/healthz") {
    if (!get) return {&g_method_not_allowed, kMethodNotAllowed, false};
    return {&g_healthz, kHealthz, false};
  }
  if (h.path == "/metrics") {
    if (!get) return {&g_method_not_allowed, kMethodNotAllowed, false};
    return {http::MakeHandler<MetricsHandler>(ex, this), kMetrics, true};
  }
  if (IsSeedSurface(h.path)) return {&g_not_implemented, kNotImplemented, false};
  return {&g_not_found, kUnmatched, false};
}

}  // namespace mamute::mgmt
