#include "s3/cors.h"

#include <charconv>

#include "http/request.h"
#include "s3/xml.h"
#include "s3/xml_reader.h"

namespace mamute::s3 {
namespace {

constexpr std::string_view kMethods[] = {"GET", "PUT", "POST", "DELETE", "HEAD"};
constexpr std::size_t kMaxRuleIdBytes = 255;
constexpr char kCorsVersion = 1;

char Lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::size_t CountStars(std::string_view s) noexcept {
  std::size_t n = 0;
  for (char c : s) n += c == '*' ? 1 : 0;
  return n;
}

std::string_view TrimSpaces(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Calls f(item) for each non-empty comma-separated item; stops when f returns false.
template <typename F>
bool ForEachListItem(std::string_view list, F&& f) {
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view item = TrimSpaces(list.substr(0, comma));
    if (!item.empty() && !f(item)) return false;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return true;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out.append(", ");
    out.append(s);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- validation and XML

std::optional<CorsFailure> ValidateCors(const CorsConfig& config) {
  if (config.rules.empty()) return CorsFailure{S3Error::kMalformedXML, {}};
  if (config.rules.size() > kMaxCorsRules) {
    return CorsFailure{S3Error::kInvalidRequest,
                       "The number of CORS rules should not exceed allowed limit of 100 rules."};
  }
  for (const CorsRule& r : config.rules) {
    if (r.allowed_origins.empty() || r.allowed_methods.empty()) return CorsFailure{S3Error::kMalformedXML, {}};
    if (r.id.size() > kMaxRuleIdBytes) {
      return CorsFailure{S3Error::kInvalidArgument, "ID length should not exceed allowed limit of 255"};
    }
    for (const std::string& m : r.allowed_methods) {
      bool ok = false;
      for (auto k : kMethods) ok = ok || m == k;
      if (!ok) {
        return CorsFailure{S3Error::kInvalidRequest,
                           "Found unsupported HTTP method in CORS config. Unsupported method is " + m};
      }
    }
    for (const std::string& o : r.allowed_origins) {
      if (CountStars(o) > 1) {
        return CorsFailure{S3Error::kInvalidRequest, "AllowedOrigin \"" + o + "\" can not have more than one wildcard."};
      }
    }
    for (const std::string& h : r.allowed_headers) {
      if (CountStars(h) > 1) {
        return CorsFailure{S3Error::kInvalidRequest, "AllowedHeader \"" + h + "\" can not have more than one wildcard."};
      }
    }
    for (const std::string& h : r.expose_headers) {
      if (CountStars(h) != 0) {
        return CorsFailure{S3Error::kInvalidRequest,
                           "ExposeHeader \"" + h +
                               "\" contains wildcard. We currently do not support wildcard for ExposeHeader."};
      }
    }
    if (r.max_age_seconds && *r.max_age_seconds < 0) return CorsFailure{S3Error::kMalformedXML, {}};
  }
  return std::nullopt;
}

Result<CorsConfig> ParseCorsXml(std::string_view body, CorsFailure* failure) {
  auto malformed = [&](std::string why) -> Result<CorsConfig> {
    *failure = CorsFailure{S3Error::kMalformedXML, {}};
    return Err(Status::InvalidArgument(std::move(why)));
  };
  if (body.size() > kMaxCorsConfigBytes) {
    *failure = CorsFailure{S3Error::kInvalidRequest, "The CORS configuration must not exceed 64 KiB."};
    return Err(Status::InvalidArgument("CORS configuration too large"));
  }
  XmlLimits limits;
  limits.max_bytes = kMaxCorsConfigBytes;
  limits.max_depth = 4;
  limits.max_text = 4096;
  auto doc = ParseXml(body, limits);
  if (!doc) return malformed(doc.error().message());
  if (doc->name != "CORSConfiguration") return malformed("root is not CORSConfiguration");
  CorsConfig config;
  for (const XmlNode& rn : doc->children) {
    if (rn.name != "CORSRule") return malformed("unexpected element " + rn.name);
    if (config.rules.size() > kMaxCorsRules) break;  // ValidateCors answers the limit
    CorsRule& r = config.rules.emplace_back();
    bool have_id = false, have_age = false;
    for (const XmlNode& f : rn.children) {
      if (!f.children.empty()) return malformed("nested element in " + f.name);
      if (f.name == "AllowedOrigin") {
        r.allowed_origins.push_back(f.text);
      } else if (f.name == "AllowedMethod") {
        r.allowed_methods.push_back(f.text);
      } else if (f.name == "AllowedHeader") {
        r.allowed_headers.push_back(f.text);
      } else if (f.name == "ExposeHeader") {
        r.expose_headers.push_back(f.text);
      } else if (f.name == "ID" && !have_id) {
        have_id = true;
        r.id = f.text;
      } else if (f.name == "MaxAgeSeconds" && !have_age) {
        have_age = true;
        std::string_view t = TrimSpaces(f.text);
        int64_t v = 0;
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (t.empty() || ec != std::errc() || p != t.data() + t.size()) return malformed("bad MaxAgeSeconds");
        r.max_age_seconds = v;
      } else {
        return malformed("unexpected element " + f.name);
      }
    }
  }
  if (auto f = ValidateCors(config)) {
    *failure = std::move(*f);
    return Err(Status::InvalidArgument("invalid CORS configuration"));
  }
  return config;
}

std::string RenderCorsXml(const CorsConfig& config) {
  std::string out;
  XmlWriter w(&out);
  w.OpenRoot("CORSConfiguration");
  for (const CorsRule& r : config.rules) {
    w.Open("CORSRule");
    if (!r.id.empty()) w.Element("ID", r.id);
    for (const auto& v : r.allowed_headers) w.Element("AllowedHeader", v);
    for (const auto& v : r.allowed_methods) w.Element("AllowedMethod", v);
    for (const auto& v : r.allowed_origins) w.Element("AllowedOrigin", v);
    for (const auto& v : r.expose_headers) w.Element("ExposeHeader", v);
    if (r.max_age_seconds) w.Element("MaxAgeSeconds", std::to_string(*r.max_age_seconds));
    w.Close("CORSRule");
  }
  w.Close("CORSConfiguration");
  return out;
}

// ---------------------------------------------------------------- storage

std::string EncodeCors(const CorsConfig& config) {
  std::string out(1, kCorsVersion);
  out.append(RenderCorsXml(config));
  return out;
}

Result<CorsConfig> DecodeCors(std::string_view value) {
  if (value.empty() || value[0] != kCorsVersion) {
    return Err(Status::Corruption("CORS configuration: unknown format version"));
  }
  CorsFailure f{S3Error::kMalformedXML, {}};
  auto c = ParseCorsXml(value.substr(1), &f);
  if (!c) return Err(Status::Corruption("CORS configuration: " + c.error().message()));
  return c;
}

// ---------------------------------------------------------------- matching

bool WildcardMatch(std::string_view pattern, std::string_view s, bool fold_case) noexcept {
  auto eq = [fold_case](std::string_view a, std::string_view b) { return fold_case ? http::EqualsIgnoreCase(a, b) : a == b; };
  auto star = pattern.find('*');
  if (star == std::string_view::npos) return eq(pattern, s);
  std::string_view pre = pattern.substr(0, star), post = pattern.substr(star + 1);
  if (s.size() < pre.size() + post.size()) return false;
  return eq(pre, s.substr(0, pre.size())) && eq(post, s.substr(s.size() - post.size()));
}

namespace {
bool OriginAllowed(const CorsRule& r, std::string_view origin) noexcept {
  for (const std::string& o : r.allowed_origins) {
    if (WildcardMatch(o, origin, false)) return true;
  }
  return false;
}
bool MethodAllowed(const CorsRule& r, std::string_view method) noexcept {
  for (const std::string& m : r.allowed_methods) {
    if (m == method) return true;
  }
  return false;
}
bool HeaderAllowed(const CorsRule& r, std::string_view header) noexcept {
  for (const std::string& h : r.allowed_headers) {
    if (WildcardMatch(h, header, true)) return true;
  }
  return false;
}
}  // namespace

const CorsRule* MatchCors(const CorsConfig& config, std::string_view origin, std::string_view method) noexcept {
  for (const CorsRule& r : config.rules) {
    if (OriginAllowed(r, origin) && MethodAllowed(r, method)) return &r;
  }
  return nullptr;
}

const CorsRule* MatchPreflight(const CorsConfig& config, std::string_view origin, std::string_view method,
                               std::string_view request_headers) noexcept {
  for (const CorsRule& r : config.rules) {
    if (!OriginAllowed(r, origin) || !MethodAllowed(r, method)) continue;
    if (ForEachListItem(request_headers, [&](std::string_view h) { return HeaderAllowed(r, h); })) return &r;
  }
  return nullptr;
}

std::vector<std::pair<std::string_view, std::string>> CorsResponseHeaders(const CorsRule& rule, std::string_view origin,
                                                                          bool preflight,
                                                                          std::string_view request_headers) {
  std::vector<std::pair<std::string_view, std::string>> out;
  // A rule that allows any origin ("*") answers "*" and no credentials, as S3 does.
  bool any = false;
  for (const std::string& o : rule.allowed_origins) any = any || o == "*";
  out.emplace_back("Access-Control-Allow-Origin", any ? std::string("*") : std::string(origin));
  out.emplace_back("Access-Control-Allow-Methods", Join(rule.allowed_methods));
  if (!any) out.emplace_back("Access-Control-Allow-Credentials", "true");
  if (preflight) {
    std::string hdrs;
    ForEachListItem(request_headers, [&](std::string_view h) {
      if (!hdrs.empty()) hdrs.append(", ");
      for (char c : h) hdrs.push_back(Lower(c));
      return true;
    });
    if (!hdrs.empty()) out.emplace_back("Access-Control-Allow-Headers", std::move(hdrs));
  }
  if (!rule.expose_headers.empty()) out.emplace_back("Access-Control-Expose-Headers", Join(rule.expose_headers));
  if (rule.max_age_seconds) out.emplace_back("Access-Control-Max-Age", std::to_string(*rule.max_age_seconds));
  out.emplace_back("Vary", kCorsVary);
  return out;
}

}  // namespace mamute::s3
