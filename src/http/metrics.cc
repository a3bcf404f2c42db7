#include "http/metrics.h"

#include <cstdio>

#include "core/shard.h"

namespace mamute::http {
namespace {
void Line(std::string& out, const char* name, const ServerMetrics& m, uint64_t v) {
  char buf[256];
  int n = std::snprintf(buf, sizeof(buf), "%s{service=\"%s\",shard=\"%d\"} %llu\n", name, m.service.c_str(), m.shard,
                        static_cast<unsigned long long>(v));
  out.append(buf, static_cast<std::size_t>(n));
}
void Help(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}
}  // namespace

void AppendCounter(std::string* out, const char* name, const char* help, std::string_view service, int shard,
                   uint64_t value) {
  Help(*out, name, "counter", help);
  char buf[256];
  int n = std::snprintf(buf, sizeof(buf), "%s{service=\"%.*s\",shard=\"%d\"} %llu\n", name,
                        static_cast<int>(service.size()), service.data(), shard, static_cast<unsigned long long>(value));
  out->append(buf, static_cast<std::size_t>(n));
}

void AppendUnlabelled(std::string* out, const char* name, const char* type, const char* help, int64_t value) {
  Help(*out, name, type, help);
  char buf[160];
  int n = std::snprintf(buf, sizeof(buf), "%s %lld\n", name, static_cast<long long>(value));
  out->append(buf, static_cast<std::size_t>(n));
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::string out;
  out.reserve(8192);
  Help(out, "mamute_http_requests_total", "counter", "Requests answered, by service, shard, route and status.");
  for (const ServerMetrics* m : servers_) {
    for (std::size_t r = 0; r < m->route_count && r < kMaxRoutes; ++r) {
      for (int s = ServerMetrics::kMinStatus; s <= ServerMetrics::kMaxStatus; ++s) {
        uint64_t v = m->requests[r][s - ServerMetrics::kMinStatus].load(std::memory_order_relaxed);
        if (v == 0) continue;
        char buf[320];
        int n = std::snprintf(buf, sizeof(buf),
                              "mamute_http_requests_total{service=\"%s\",shard=\"%d\",route=\"%.*s\",status=\"%d\"} %llu\n",
                              m->service.c_str(), m->shard, static_cast<int>(m->route_names[r].size()),
                              m->route_names[r].data(), s, static_cast<unsigned long long>(v));
        out.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  struct Counter {
    const char* name;
    const char* help;
    std::atomic<uint64_t> ServerMetrics::*field;
  };
  static const Counter kCounters[] = {
      {"mamute_http_bytes_in_total", "Request bytes received.", &ServerMetrics::bytes_in},
      {"mamute_http_bytes_out_total", "Response bytes sent.", &ServerMetrics::bytes_out},
      {"mamute_http_connections_accepted_total", "Connections accepted.", &ServerMetrics::accepted},
      {"mamute_http_connections_rejected_total", "Connections refused at the max-connections limit (503).",
       &ServerMetrics::rejected_max_connections},
      {"mamute_http_header_timeouts_total", "Connections closed because the request head was too slow (408).",
       &ServerMetrics::header_timeouts},
      {"mamute_http_idle_timeouts_total", "Keep-alive connections closed after the idle timeout.",
       &ServerMetrics::idle_timeouts},
      {"mamute_http_body_timeouts_total", "Requests whose body stalled past the body timeout (408).",
       &ServerMetrics::body_timeouts},
      {"mamute_http_body_rate_cuts_total",
       "Requests whose body averaged less than --min-body-rate over a window (408).",
       &ServerMetrics::body_rate_cuts},
      {"mamute_http_write_timeouts_total", "Connections closed because the client stopped reading.",
       &ServerMetrics::write_timeouts},
      {"mamute_http_parse_errors_total", "Requests rejected by the HTTP parser (400/414/431/501/505).",
       &ServerMetrics::parse_errors},
      {"mamute_http_aborted_requests_total", "Requests whose connection ended before the response.",
       &ServerMetrics::aborted_requests},
      {"mamute_http_unconsumed_body_closes_total", "Connections closed because a handler left the body unread.",
       &ServerMetrics::unconsumed_body_closes},
      {"mamute_access_log_dropped_total",
       "Access log records dropped because stdout did not take them (a reader behind or gone).",
       &ServerMetrics::access_log_dropped},
  };
  for (const auto& c : kCounters) {
    Help(out, c.name, "counter", c.help);
    for (const ServerMetrics* m : servers_) Line(out, c.name, *m, (m->*c.field).load(std::memory_order_relaxed));
  }
  Help(out, "mamute_http_open_connections", "gauge", "Connections open now.");
  for (const ServerMetrics* m : servers_) {
    Line(out, "mamute_http_open_connections", *m,
         static_cast<uint64_t>(m->open_connections.load(std::memory_order_relaxed)));
  }
  Help(out, "mamute_shard_loops_total", "counter", "Event-loop iterations of each shard.");
  for (const ServerMetrics* m : servers_) {
    if (m->shard_ptr) Line(out, "mamute_shard_loops_total", *m, m->shard_ptr->stats().loops.load(std::memory_order_relaxed));
  }
  Help(out, "mamute_shard_completions_total", "counter", "io_uring completions reaped by each shard.");
  for (const ServerMetrics* m : servers_) {
    if (m->shard_ptr) {
      Line(out, "mamute_shard_completions_total", *m, m->shard_ptr->stats().completions.load(std::memory_order_relaxed));
    }
  }
  Help(out, "mamute_shard_messages_total", "counter", "Cross-shard messages received by each shard.");
  for (const ServerMetrics* m : servers_) {
    if (m->shard_ptr) Line(out, "mamute_shard_messages_total", *m, m->shard_ptr->stats().messages.load(std::memory_order_relaxed));
  }
  return out;
}

}  // namespace mamute::http
